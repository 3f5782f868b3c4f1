// SPDX-License-Identifier: Apache-2.0
#include "name_value.hpp"

#include <algorithm>

namespace suwrap::fastcgi::detail {

bool NameValueDecoder::read_length(std::string_view& input, std::uint32_t& length) {
  while (!input.empty()) {
    length_bytes_[length_filled_++] = static_cast<unsigned char>(input.front());
    input.remove_prefix(1);
    if (length_filled_ == 1 && (length_bytes_[0] & 0x80U) == 0) {
      length = length_bytes_[0];
      length_filled_ = 0;
      return true;
    }
    if (length_filled_ == 4) {
      length = (static_cast<std::uint32_t>(length_bytes_[0] & 0x7fU) << 24) |
               (static_cast<std::uint32_t>(length_bytes_[1]) << 16) |
               (static_cast<std::uint32_t>(length_bytes_[2]) << 8) |
               static_cast<std::uint32_t>(length_bytes_[3]);
      length_filled_ = 0;
      return true;
    }
  }
  return false;
}

namespace {

// Appends up to what `target` still lacks of `length` bytes; true once full.
bool fill(std::string& target, std::uint32_t length, std::string_view& input) {
  const std::size_t missing = length - target.size();
  const std::size_t taken = std::min(missing, input.size());
  target.append(input.substr(0, taken));
  input.remove_prefix(taken);
  return target.size() == length;
}

}  // namespace

bool NameValueDecoder::next_pair(std::string_view& input) {
  // Each stage falls through to the next as soon as it is complete, so a pair
  // whose name and value are both empty completes without further input.
  while (true) {
    switch (stage_) {
      case Stage::name_length:
        if (!read_length(input, name_length_)) return false;
        name_.clear();
        value_.clear();
        stage_ = Stage::value_length;
        break;
      case Stage::value_length:
        if (!read_length(input, value_length_)) return false;
        stage_ = Stage::name;
        break;
      case Stage::name:
        if (!fill(name_, name_length_, input)) return false;
        stage_ = Stage::value;
        break;
      case Stage::value:
        if (!fill(value_, value_length_, input)) return false;
        stage_ = Stage::name_length;
        return true;
    }
  }
}

}  // namespace suwrap::fastcgi::detail
