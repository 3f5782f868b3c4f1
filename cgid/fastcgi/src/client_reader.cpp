// SPDX-License-Identifier: Apache-2.0
#include "suwrap/fastcgi/client_reader.hpp"

#include <exception>
#include <string>
#include <utility>

namespace suwrap::fastcgi {

namespace {

std::uint32_t read_u32(std::string_view bytes) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[0])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[3]));
}

// Built in place: moving a whole variant trips a false -Wmaybe-uninitialized in GCC 12.
template <class E>
void push(std::vector<ClientEvent>& events, E event) {
  events.emplace_back(std::in_place_type<E>, std::move(event));
}

}  // namespace

void ClientReader::feed(std::string_view input, std::vector<ClientEvent>& events) noexcept {
  if (failed_) return;
  try {
    while (!failed_ && !input.empty()) {
      if (ended_) {
        take_padding_after_end(input, events);
        return;
      }
      const RecordParser::Status status = parser_.consume(input);
      if (status == RecordParser::Status::need_more) break;
      if (status == RecordParser::Status::error) {
        fail(events, parser_.error().violation, parser_.error().reason);
        break;
      }
      dispatch(parser_.record(), events);
    }
  } catch (const std::exception&) {
    failed_ = true;
    try {
      push(events, ProtocolError{Violation::internal_error, "out of memory decoding a record"});
    } catch (const std::exception&) {
      // failed() still says the stream is over.
    }
  }
}

std::vector<ClientEvent> ClientReader::feed(std::string_view input) noexcept {
  std::vector<ClientEvent> events;
  feed(input, events);
  return events;
}

void ClientReader::fail(std::vector<ClientEvent>& events, Violation violation, std::string reason) {
  failed_ = true;
  push(events, ProtocolError{violation, std::move(reason)});
}

// END_REQUEST's own padding may follow it (at most 255 bytes); anything past that is
// data after the end. Byte by byte so that the parser can never start on a next record.
void ClientReader::take_padding_after_end(std::string_view& input, std::vector<ClientEvent>& events) {
  while (!input.empty()) {
    if (parser_.at_record_boundary()) {
      fail(events, Violation::stream_out_of_order,
           "bytes after FCGI_END_REQUEST for request " + std::to_string(request_id_));
      return;
    }
    std::string_view one = input.substr(0, 1);
    input.remove_prefix(1);
    (void)parser_.consume(one);
  }
}

void ClientReader::dispatch(const RecordView& record, std::vector<ClientEvent>& events) {
  if (record.request_id != request_id_) {
    fail(events, Violation::request_not_active,
         "record type " + std::to_string(record.type) + " for request " + std::to_string(record.request_id) +
             ", expected request " + std::to_string(request_id_));
    return;
  }
  switch (record.type) {
    case static_cast<std::uint8_t>(RecordType::stdout_stream):
    case static_cast<std::uint8_t>(RecordType::stderr_stream): {
      const bool is_stdout = record.type == static_cast<std::uint8_t>(RecordType::stdout_stream);
      bool& stream_ended = is_stdout ? stdout_ended_ : stderr_ended_;
      if (stream_ended) {
        fail(events, Violation::stream_out_of_order,
             std::string(is_stdout ? "FCGI_STDOUT" : "FCGI_STDERR") + " for request " +
                 std::to_string(request_id_) + " after its stream ended");
        return;
      }
      if (record.content.empty()) {
        stream_ended = true;
      } else if (is_stdout) {
        push(events, Stdout{request_id_, std::string(record.content)});
      } else {
        push(events, Stderr{request_id_, std::string(record.content)});
      }
      return;
    }
    case static_cast<std::uint8_t>(RecordType::end_request):
      if (record.content.size() != 8) {
        fail(events, Violation::malformed_record,
             "FCGI_END_REQUEST for request " + std::to_string(request_id_) + " has a body of " +
                 std::to_string(record.content.size()) + " bytes, expected 8");
        return;
      }
      ended_ = true;
      push(events, EndRequest{request_id_, read_u32(record.content),
                              static_cast<ProtocolStatus>(static_cast<unsigned char>(record.content[4]))});
      return;
    default:
      fail(events, Violation::unexpected_record_type,
           "record type " + std::to_string(record.type) + " for request " + std::to_string(request_id_) +
               " is not one a responder answers a request with");
      return;
  }
}

}  // namespace suwrap::fastcgi
