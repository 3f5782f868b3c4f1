// SPDX-License-Identifier: Apache-2.0
// The record layer: an incremental FastCGI record parser.
//
// Fed byte chunks split anywhere, it yields one complete record at a time
// (header fields and content; padding is skipped). It holds at most one
// record's content (64 KiB) plus a header, whatever the chunks look like.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "suwrap/fastcgi/protocol.hpp"

namespace suwrap::fastcgi {

// One record. `type` is the raw byte: unknown types are the session's to judge.
// `content` stays valid until the parser that produced it is called again.
struct RecordView {
  std::uint8_t type = 0;
  std::uint16_t request_id = 0;
  std::string_view content;
};

class RecordParser {
 public:
  enum class Status : std::uint8_t {
    need_more,  // every byte of the input was taken; no record completed
    record,     // record() is one complete record; the input may have more
    error,      // error() says why; the parser takes nothing more
  };

  // Takes bytes from the front of `input` (advancing it) until one record is
  // complete, the input is used up, or the stream is found broken. Call it in a
  // loop until it answers need_more (input empty) or error.
  Status consume(std::string_view& input);

  [[nodiscard]] const RecordView& record() const noexcept { return record_; }
  [[nodiscard]] const ProtocolError& error() const noexcept { return error_; }
  [[nodiscard]] bool failed() const noexcept { return stage_ == Stage::failed; }

  // Whether the bytes so far end exactly after a record (its padding included):
  // a peer that closes the connection here closed it cleanly.
  [[nodiscard]] bool at_record_boundary() const noexcept {
    return stage_ == Stage::header && header_filled_ == 0;
  }

 private:
  enum class Stage : std::uint8_t { header, content, padding, failed };

  void start_record();

  Stage stage_ = Stage::header;
  std::array<unsigned char, header_size> header_{};
  std::size_t header_filled_ = 0;
  std::uint8_t type_ = 0;
  std::uint16_t request_id_ = 0;
  std::size_t content_length_ = 0;
  std::size_t padding_left_ = 0;
  std::string content_;  // a record's content when it arrives in pieces
  RecordView record_;
  ProtocolError error_{Violation::internal_error, {}};
};

}  // namespace suwrap::fastcgi
