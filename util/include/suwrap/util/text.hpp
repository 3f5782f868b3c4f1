// SPDX-License-Identifier: Apache-2.0
// Small text helpers, written once.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace suwrap::util {

// The text of an errno value ("No such file or directory"). Safe from several threads,
// unlike strerror.
std::string errno_text(int error);

// "dir/name", "/name" for the root.
std::string child_path(std::string_view dir, std::string_view name);

// The permission bits as four octal digits: "0644".
std::string mode_text(mode_t mode);

// ASCII letters lowercased, every other byte as it is (whatever the locale).
std::string lowercase(std::string_view text);

// The items with `separator` between each two: {"a", "b"}, ", " -> "a, b".
template <class Items>
std::string join(const Items& items, std::string_view separator) {
  std::string out;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += separator;
    first = false;
    out += item;
  }
  return out;
}

}  // namespace suwrap::util
