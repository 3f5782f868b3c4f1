// SPDX-License-Identifier: Apache-2.0
// Small text helpers of the line formats the configuration library reads (the account
// index, the gate's refusal records).
#pragma once

#include <string_view>
#include <vector>

namespace suwrap::policy {

// "a\tb\t" -> {"a", "b", ""}: every field, empty ones included.
inline std::vector<std::string_view> split_fields(std::string_view line, char separator = '\t') {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = line.find(separator, start);
    if (at == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, at - start));
    start = at + 1;
  }
}

}  // namespace suwrap::policy
