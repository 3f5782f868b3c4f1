// SPDX-License-Identifier: Apache-2.0
#include "suwrap/util/text.hpp"

#include <system_error>

namespace suwrap::util {

std::string errno_text(int error) {
  return std::generic_category().message(error);
}

std::string child_path(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out != "/") out += '/';
  out += name;
  return out;
}

std::string mode_text(mode_t mode) {
  std::string digits = "0000";
  mode_t bits = mode & 07777U;
  for (std::size_t i = digits.size(); i-- > 0; bits >>= 3U) digits[i] = static_cast<char>('0' + (bits & 7U));
  return digits;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace suwrap::util
