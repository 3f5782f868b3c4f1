// SPDX-License-Identifier: Apache-2.0
// The web server's side of a connection: what an application sends back.
//
// The gate talks to php-cgi as a FastCGI client, and the tests read the
// daemon's answers, so both need to decode STDOUT, STDERR and END_REQUEST.
// This parser checks framing and which ids each type may carry; which request
// ids are outstanding is the caller's to track.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "suwrap/fastcgi/protocol.hpp"
#include "suwrap/fastcgi/record_parser.hpp"

namespace suwrap::fastcgi {

struct Stdout {
  std::uint16_t request_id;
  std::string bytes;
  friend bool operator==(const Stdout&, const Stdout&) = default;
};
struct StdoutEnd {
  std::uint16_t request_id;
  friend bool operator==(const StdoutEnd&, const StdoutEnd&) = default;
};
struct Stderr {
  std::uint16_t request_id;
  std::string bytes;
  friend bool operator==(const Stderr&, const Stderr&) = default;
};
struct StderrEnd {
  std::uint16_t request_id;
  friend bool operator==(const StderrEnd&, const StderrEnd&) = default;
};
struct EndRequest {
  std::uint16_t request_id;
  std::uint32_t app_status;
  ProtocolStatus protocol_status;  // the raw byte; values above 3 are possible
  friend bool operator==(const EndRequest&, const EndRequest&) = default;
};
struct GetValuesResult {
  NameValuePairs values;
  friend bool operator==(const GetValuesResult&, const GetValuesResult&) = default;
};
struct UnknownTypeReply {
  std::uint8_t type;  // the type the application did not know
  friend bool operator==(const UnknownTypeReply&, const UnknownTypeReply&) = default;
};

using ResponseEvent = std::variant<Stdout, StdoutEnd, Stderr, StderrEnd, EndRequest, GetValuesResult,
                                   UnknownTypeReply, ProtocolError>;

class ResponseParser {
 public:
  // Takes the next bytes from the application; appends events. After a
  // ProtocolError nothing more is taken. Never throws.
  void feed(std::string_view input, std::vector<ResponseEvent>& events) noexcept;
  void feed(std::span<const std::byte> input, std::vector<ResponseEvent>& events) noexcept {
    feed(as_chars(input), events);
  }
  std::vector<ResponseEvent> feed(std::string_view input) noexcept;

  [[nodiscard]] bool failed() const noexcept { return failed_; }
  [[nodiscard]] bool at_record_boundary() const noexcept { return parser_.at_record_boundary(); }

 private:
  void dispatch(const RecordView& record, std::vector<ResponseEvent>& events);
  void fail(std::vector<ResponseEvent>& events, Violation violation, std::string reason);

  RecordParser parser_;
  bool failed_ = false;
};

}  // namespace suwrap::fastcgi
