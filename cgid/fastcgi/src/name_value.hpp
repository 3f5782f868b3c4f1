// SPDX-License-Identifier: Apache-2.0
// Incremental decoder of FastCGI name-value pairs (specification §3.4).
//
// A PARAMS stream may be cut into records anywhere, including inside a length
// or a name, so the decoder keeps its place between chunks. It stores only the
// bytes it was given; the caller bounds the total.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace suwrap::fastcgi::detail {

class NameValueDecoder {
 public:
  // Takes bytes from the front of `input` until one pair is complete (true:
  // name() and value() hold it, until the next call) or the input is used up.
  bool next_pair(std::string_view& input);

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::string& value() const noexcept { return value_; }

  // Whether the bytes so far end exactly after a pair (or there were none).
  [[nodiscard]] bool at_pair_boundary() const noexcept {
    return stage_ == Stage::name_length && length_filled_ == 0;
  }

 private:
  enum class Stage : std::uint8_t { name_length, value_length, name, value };

  // Reads one length (1 byte below 128, else 4 bytes with the top bit set);
  // true once it is complete.
  bool read_length(std::string_view& input, std::uint32_t& length);

  Stage stage_ = Stage::name_length;
  std::array<unsigned char, 4> length_bytes_{};
  std::size_t length_filled_ = 0;
  std::uint32_t name_length_ = 0;
  std::uint32_t value_length_ = 0;
  std::string name_;
  std::string value_;
};

}  // namespace suwrap::fastcgi::detail
