// SPDX-License-Identifier: Apache-2.0
#include "suwrap/fastcgi/response_parser.hpp"

#include <exception>

#include "name_value.hpp"

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
void push(std::vector<ResponseEvent>& events, E event) {
  events.emplace_back(std::in_place_type<E>, std::move(event));
}

// A stream record: its bytes, or its end when empty.
template <class Chunk, class End>
void push_stream(std::vector<ResponseEvent>& events, const RecordView& record) {
  if (record.content.empty()) {
    push(events, End{record.request_id});
  } else {
    push(events, Chunk{record.request_id, std::string(record.content)});
  }
}

}  // namespace

void ResponseParser::feed(std::string_view input, std::vector<ResponseEvent>& events) noexcept {
  if (failed_) return;
  try {
    while (!failed_) {
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

std::vector<ResponseEvent> ResponseParser::feed(std::string_view input) noexcept {
  std::vector<ResponseEvent> events;
  feed(input, events);
  return events;
}

void ResponseParser::fail(std::vector<ResponseEvent>& events, Violation violation, std::string reason) {
  failed_ = true;
  push(events, ProtocolError{violation, std::move(reason)});
}

void ResponseParser::dispatch(const RecordView& record, std::vector<ResponseEvent>& events) {
  const bool management = record.request_id == management_request_id;
  switch (record.type) {
    case static_cast<std::uint8_t>(RecordType::stdout_stream):
    case static_cast<std::uint8_t>(RecordType::stderr_stream): {
      if (management) {
        fail(events, Violation::zero_request_id, "an output stream record with request id 0");
        return;
      }
      if (record.type == static_cast<std::uint8_t>(RecordType::stdout_stream)) {
        push_stream<Stdout, StdoutEnd>(events, record);
      } else {
        push_stream<Stderr, StderrEnd>(events, record);
      }
      return;
    }
    case static_cast<std::uint8_t>(RecordType::end_request):
      if (management) {
        fail(events, Violation::zero_request_id, "FCGI_END_REQUEST with request id 0");
        return;
      }
      if (record.content.size() != 8) {
        fail(events, Violation::malformed_record,
             "FCGI_END_REQUEST for request " + std::to_string(record.request_id) + " has a body of " +
                 std::to_string(record.content.size()) + " bytes, expected 8");
        return;
      }
      push(events, EndRequest{record.request_id, read_u32(record.content),
                              static_cast<ProtocolStatus>(static_cast<unsigned char>(record.content[4]))});
      return;
    case static_cast<std::uint8_t>(RecordType::get_values_result): {
      if (!management) {
        fail(events, Violation::nonzero_request_id,
             "FCGI_GET_VALUES_RESULT with request id " + std::to_string(record.request_id));
        return;
      }
      detail::NameValueDecoder decoder;
      std::string_view rest = record.content;
      NameValuePairs values;
      while (decoder.next_pair(rest)) values.emplace_back(decoder.name(), decoder.value());
      if (!decoder.at_pair_boundary()) {
        fail(events, Violation::malformed_record, "FCGI_GET_VALUES_RESULT ends inside a name-value pair");
        return;
      }
      push(events, GetValuesResult{std::move(values)});
      return;
    }
    case static_cast<std::uint8_t>(RecordType::unknown_type):
      if (!management) {
        fail(events, Violation::nonzero_request_id,
             "FCGI_UNKNOWN_TYPE with request id " + std::to_string(record.request_id));
        return;
      }
      if (record.content.size() != 8) {
        fail(events, Violation::malformed_record,
             "FCGI_UNKNOWN_TYPE has a body of " + std::to_string(record.content.size()) +
                 " bytes, expected 8");
        return;
      }
      push(events, UnknownTypeReply{static_cast<unsigned char>(record.content[0])});
      return;
    default:
      fail(events, Violation::unexpected_record_type,
           "record type " + std::to_string(record.type) + " for request " +
               std::to_string(record.request_id) + " is not one an application sends");
      return;
  }
}

}  // namespace suwrap::fastcgi
