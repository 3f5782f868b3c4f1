// SPDX-License-Identifier: Apache-2.0
// The client's side of one FastCGI request: what a responder sends back for it.
//
// suwrap-cgid forwards a warm request to an account's gate, and the gate
// forwards it to php-cgi; both then read one request's answer on a connection
// of its own (no FCGI_KEEP_CONN, no multiplexing). A ClientReader is fed those
// bytes, cut anywhere, and yields the STDOUT and STDERR data and the one
// END_REQUEST. It is stricter than ResponseParser, which serves any client:
// here any record that does not belong to this one request is a protocol error.
//
// The rules:
//  - STDOUT and STDERR records for the request id: their content, in order.
//    The empty record that ends a stream yields nothing; data on a stream
//    after its end is an error (stream_out_of_order).
//  - END_REQUEST for the request id: its appStatus and protocolStatus (any
//    value: what a status other than request_complete means is the caller's).
//    A body other than 8 bytes is an error (malformed_record).
//  - A record for another id, id 0 included: error (request_not_active).
//  - Any other record type: error (unexpected_record_type).
//  - Any byte after END_REQUEST: error (stream_out_of_order); the responder
//    was to close the connection there.
// After a ProtocolError nothing more is taken. A connection that closes
// before END_REQUEST is not this reader's to judge: ended() says whether it came.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "suwrap/fastcgi/protocol.hpp"
#include "suwrap/fastcgi/record_parser.hpp"
#include "suwrap/fastcgi/response_parser.hpp"

namespace suwrap::fastcgi {

// Stdout, Stderr and EndRequest as ResponseParser yields them (their
// request_id is always the reader's own).
using ClientEvent = std::variant<Stdout, Stderr, EndRequest, ProtocolError>;

class ClientReader {
 public:
  explicit ClientReader(std::uint16_t request_id) noexcept : request_id_(request_id) {}

  // Takes the next bytes from the responder; appends events. Never throws: an
  // allocation failure becomes a ProtocolError{internal_error}.
  void feed(std::string_view input, std::vector<ClientEvent>& events) noexcept;
  void feed(std::span<const std::byte> input, std::vector<ClientEvent>& events) noexcept {
    feed(as_chars(input), events);
  }
  std::vector<ClientEvent> feed(std::string_view input) noexcept;

  // END_REQUEST has come: the request is answered in full.
  [[nodiscard]] bool ended() const noexcept { return ended_; }
  [[nodiscard]] bool failed() const noexcept { return failed_; }

 private:
  void dispatch(const RecordView& record, std::vector<ClientEvent>& events);
  void take_padding_after_end(std::string_view& input, std::vector<ClientEvent>& events);
  void fail(std::vector<ClientEvent>& events, Violation violation, std::string reason);

  std::uint16_t request_id_;
  RecordParser parser_;
  bool stdout_ended_ = false;
  bool stderr_ended_ = false;
  bool ended_ = false;
  bool failed_ = false;
};

}  // namespace suwrap::fastcgi
