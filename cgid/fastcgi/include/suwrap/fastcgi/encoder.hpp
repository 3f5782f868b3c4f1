// SPDX-License-Identifier: Apache-2.0
// Encoders: records as bytes, appended to an output buffer.
//
// Every function appends to `out` and never clears it, so a caller can batch
// several records into one write. Records are padded to a multiple of 8 bytes,
// as the specification recommends. Only allocation failure can throw.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "suwrap/fastcgi/protocol.hpp"

namespace suwrap::fastcgi {

// The most content one record carries from the stream encoders: the largest
// multiple of 8 that fits the 16-bit length, so full records need no padding.
inline constexpr std::size_t max_stream_chunk = 65528;

// One record with `content` (at most 65535 bytes: a caller error otherwise,
// answered with false and nothing appended). Padding to a multiple of 8.
[[nodiscard]] bool append_record(std::string& out, std::uint8_t type, std::uint16_t request_id,
                                 std::string_view content);

// A stream's data (STDIN, STDOUT, STDERR, DATA, PARAMS), cut into as many
// records as needed. An empty payload appends nothing: an empty record would
// end the stream, which only append_stream_end does.
void append_stream(std::string& out, RecordType type, std::uint16_t request_id, std::string_view payload);
// The empty record that ends a stream.
void append_stream_end(std::string& out, RecordType type, std::uint16_t request_id);

// --- the application's side: what a responder sends ------------------------

inline void append_stdout(std::string& out, std::uint16_t request_id, std::string_view payload) {
  append_stream(out, RecordType::stdout_stream, request_id, payload);
}
inline void append_stderr(std::string& out, std::uint16_t request_id, std::string_view payload) {
  append_stream(out, RecordType::stderr_stream, request_id, payload);
}
void append_end_request(std::string& out, std::uint16_t request_id, std::uint32_t app_status,
                        ProtocolStatus protocol_status);
// False (nothing appended) if the values do not fit one record.
[[nodiscard]] bool append_get_values_result(std::string& out, const NameValuePairs& values);
void append_unknown_type(std::string& out, std::uint8_t unknown_type);

// --- the web server's side: what a client of a responder sends ------------

void append_begin_request(std::string& out, std::uint16_t request_id, Role role, bool keep_conn);
// One role value as raw 16 bits, to test how an application treats roles it does not know.
void append_begin_request(std::string& out, std::uint16_t request_id, std::uint16_t role, bool keep_conn);
void append_abort_request(std::string& out, std::uint16_t request_id);

// One name-value pair: each length in 1 byte below 128, else in 4 bytes with
// the top bit set. False (nothing appended) for a name or value of 2 GiB or more.
[[nodiscard]] bool append_name_value_pair(std::string& out, std::string_view name, std::string_view value);
// The whole PARAMS stream of a request: the pairs, cut into records, then the
// empty record that ends it. False (nothing appended) if a pair cannot be encoded.
[[nodiscard]] bool append_params(std::string& out, std::uint16_t request_id, const NameValuePairs& params);
inline void append_stdin(std::string& out, std::uint16_t request_id, std::string_view payload) {
  append_stream(out, RecordType::stdin_stream, request_id, payload);
}
inline void append_stdin_end(std::string& out, std::uint16_t request_id) {
  append_stream_end(out, RecordType::stdin_stream, request_id);
}
// FCGI_GET_VALUES asking for `names` (with empty values, as the query is written).
[[nodiscard]] bool append_get_values(std::string& out, std::span<const std::string_view> names);

}  // namespace suwrap::fastcgi
