// SPDX-License-Identifier: Apache-2.0
// FastCGI 1.0 wire constants and the types every part of the codec shares.
//
// The codec is pure: it turns bytes into records and events and back, and
// does no I/O. Byte payloads are carried in std::string / std::string_view
// (a byte each, any value, NUL included); every entry point that takes bytes
// also has a std::span<const std::byte> overload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace suwrap::fastcgi {

inline constexpr std::uint8_t protocol_version = 1;        // FCGI_VERSION_1
inline constexpr std::size_t header_size = 8;              // FCGI_HEADER_LEN
inline constexpr std::size_t max_content_length = 0xffff;  // FCGI_MAX_LENGTH
inline constexpr std::uint16_t management_request_id = 0;  // FCGI_NULL_REQUEST_ID

// Record types. The stream types are spelled *_stream because stdin, stdout and
// stderr are macros of <cstdio>.
enum class RecordType : std::uint8_t {
  begin_request = 1,
  abort_request = 2,
  end_request = 3,
  params = 4,
  stdin_stream = 5,
  stdout_stream = 6,
  stderr_stream = 7,
  data = 8,
  get_values = 9,
  get_values_result = 10,
  unknown_type = 11,
};
inline constexpr std::uint8_t max_known_record_type = 11;  // FCGI_MAXTYPE

enum class Role : std::uint16_t {
  responder = 1,
  authorizer = 2,
  filter = 3,
};

inline constexpr std::uint8_t keep_conn_flag = 1;  // FCGI_KEEP_CONN

enum class ProtocolStatus : std::uint8_t {
  request_complete = 0,
  cant_mpx_conn = 1,
  overloaded = 2,
  unknown_role = 3,
};

// The variable names of FCGI_GET_VALUES.
inline constexpr std::string_view max_conns_name = "FCGI_MAX_CONNS";
inline constexpr std::string_view max_reqs_name = "FCGI_MAX_REQS";
inline constexpr std::string_view mpxs_conns_name = "FCGI_MPXS_CONNS";

using NameValuePair = std::pair<std::string, std::string>;
using NameValuePairs = std::vector<NameValuePair>;

// Why a byte stream was given up on. After any of these the connection is over:
// the peer and we no longer agree on where records begin.
enum class Violation : std::uint8_t {
  bad_version,             // a header whose version is not 1
  unexpected_record_type,  // a type this side never receives, or an unknown application type
  zero_request_id,         // an application record with requestId 0
  nonzero_request_id,      // a management record (GET_VALUES) with a requestId
  malformed_record,        // a body of the wrong size, or undecodable name-value pairs
  request_id_busy,         // BEGIN_REQUEST for an id that is still active
  request_not_active,      // PARAMS/STDIN/DATA for an id that was never begun
  stream_out_of_order,     // PARAMS after their end, STDIN before PARAMS ended, ...
  params_too_large,        // the PARAMS stream of one request is over the configured bytes
  too_many_params,         // ... or over the configured number of pairs
  params_truncated,        // the PARAMS stream ended inside a name-value pair
  internal_error,          // allocation failure: fail closed rather than go on half-done
};

std::string_view to_string(Violation violation) noexcept;
std::string_view to_string(RecordType type) noexcept;  // "FCGI_STDIN", ...; "unknown" otherwise

// The event that ends a session: what went wrong, in words fit for a log line.
struct ProtocolError {
  Violation violation;
  std::string reason;
  friend bool operator==(const ProtocolError&, const ProtocolError&) = default;
};

// Views a byte span as characters without copying: both are "a byte each".
inline std::string_view as_chars(std::span<const std::byte> bytes) noexcept {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace suwrap::fastcgi
