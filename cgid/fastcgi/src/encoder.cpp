// SPDX-License-Identifier: Apache-2.0
#include "suwrap/fastcgi/encoder.hpp"

#include <algorithm>

namespace suwrap::fastcgi {

namespace {

inline constexpr std::size_t max_name_value_length = 0x7fffffff;

void append_byte(std::string& out, unsigned value) {
  out.push_back(static_cast<char>(static_cast<unsigned char>(value & 0xffU)));
}

void append_u16(std::string& out, std::uint16_t value) {
  append_byte(out, static_cast<unsigned>(value >> 8));
  append_byte(out, value);
}

void append_u32(std::string& out, std::uint32_t value) {
  append_byte(out, value >> 24);
  append_byte(out, value >> 16);
  append_byte(out, value >> 8);
  append_byte(out, value);
}

// A record whose content is known to fit; the one place a header is written.
void append_record_unchecked(std::string& out, std::uint8_t type, std::uint16_t request_id,
                             std::string_view content) {
  const std::size_t padding = (8 - content.size() % 8) % 8;
  append_byte(out, protocol_version);
  append_byte(out, type);
  append_u16(out, request_id);
  append_u16(out, static_cast<std::uint16_t>(content.size()));
  append_byte(out, static_cast<unsigned>(padding));
  append_byte(out, 0);  // reserved
  out.append(content);
  out.append(padding, '\0');
}

void append_length(std::string& out, std::size_t length) {
  if (length < 0x80) {
    append_byte(out, static_cast<unsigned>(length));
  } else {
    append_u32(out, static_cast<std::uint32_t>(length) | 0x80000000U);
  }
}

}  // namespace

bool append_record(std::string& out, std::uint8_t type, std::uint16_t request_id, std::string_view content) {
  if (content.size() > max_content_length) return false;
  append_record_unchecked(out, type, request_id, content);
  return true;
}

void append_stream(std::string& out, RecordType type, std::uint16_t request_id, std::string_view payload) {
  while (!payload.empty()) {
    const std::size_t chunk = std::min(payload.size(), max_stream_chunk);
    append_record_unchecked(out, static_cast<std::uint8_t>(type), request_id, payload.substr(0, chunk));
    payload.remove_prefix(chunk);
  }
}

void append_stream_end(std::string& out, RecordType type, std::uint16_t request_id) {
  append_record_unchecked(out, static_cast<std::uint8_t>(type), request_id, {});
}

void append_end_request(std::string& out, std::uint16_t request_id, std::uint32_t app_status,
                        ProtocolStatus protocol_status) {
  std::string body;
  append_u32(body, app_status);
  append_byte(body, static_cast<unsigned>(protocol_status));
  body.append(3, '\0');  // reserved
  append_record_unchecked(out, static_cast<std::uint8_t>(RecordType::end_request), request_id, body);
}

bool append_get_values_result(std::string& out, const NameValuePairs& values) {
  std::string body;
  for (const auto& [name, value] : values) {
    if (!append_name_value_pair(body, name, value)) return false;
  }
  // A management record has no stream to continue in: it is one record or nothing.
  if (body.size() > max_content_length) return false;
  append_record_unchecked(out, static_cast<std::uint8_t>(RecordType::get_values_result),
                          management_request_id, body);
  return true;
}

void append_unknown_type(std::string& out, std::uint8_t unknown_type) {
  std::string body;
  append_byte(body, unknown_type);
  body.append(7, '\0');  // reserved
  append_record_unchecked(out, static_cast<std::uint8_t>(RecordType::unknown_type), management_request_id,
                          body);
}

void append_begin_request(std::string& out, std::uint16_t request_id, Role role, bool keep_conn) {
  append_begin_request(out, request_id, static_cast<std::uint16_t>(role), keep_conn);
}

void append_begin_request(std::string& out, std::uint16_t request_id, std::uint16_t role, bool keep_conn) {
  std::string body;
  append_u16(body, role);
  append_byte(body, keep_conn ? keep_conn_flag : 0U);
  body.append(5, '\0');  // reserved
  append_record_unchecked(out, static_cast<std::uint8_t>(RecordType::begin_request), request_id, body);
}

void append_abort_request(std::string& out, std::uint16_t request_id) {
  append_record_unchecked(out, static_cast<std::uint8_t>(RecordType::abort_request), request_id, {});
}

bool append_name_value_pair(std::string& out, std::string_view name, std::string_view value) {
  if (name.size() > max_name_value_length || value.size() > max_name_value_length) return false;
  append_length(out, name.size());
  append_length(out, value.size());
  out.append(name);
  out.append(value);
  return true;
}

bool append_params(std::string& out, std::uint16_t request_id, const NameValuePairs& params) {
  std::string stream;
  for (const auto& [name, value] : params) {
    if (!append_name_value_pair(stream, name, value)) return false;
  }
  append_stream(out, RecordType::params, request_id, stream);
  append_stream_end(out, RecordType::params, request_id);
  return true;
}

bool append_get_values(std::string& out, std::span<const std::string_view> names) {
  std::string body;
  for (const std::string_view name : names) {
    if (!append_name_value_pair(body, name, {})) return false;
  }
  if (body.size() > max_content_length) return false;
  append_record_unchecked(out, static_cast<std::uint8_t>(RecordType::get_values), management_request_id,
                          body);
  return true;
}

}  // namespace suwrap::fastcgi
