// SPDX-License-Identifier: Apache-2.0
// JSON strings that keep a line one line: what every JSON Lines log of the suite writes with.
#include "suwrap/config/json.hpp"

#include <time.h>

#include <array>
#include <cstdio>
#include <string>

namespace suwrap::policy {
namespace {

using namespace std::string_view_literals;

void append_unicode_escape(std::string& out, unsigned code_point) {
  std::array<char, 7> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "\\u%04x", code_point);
  out += buffer.data();
}

bool is_continuation(unsigned char byte) { return (byte & 0xc0U) == 0x80U; }

// The length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 if there is none there.
// `code_point` gets its value.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i, unsigned& code_point) {
  const auto lead = static_cast<unsigned char>(s[i]);
  std::size_t length = 0;
  unsigned minimum = 0;
  if (lead >= 0xc2U && lead <= 0xdfU) {
    length = 2;
    minimum = 0x80U;
    code_point = lead & 0x1fU;
  } else if (lead >= 0xe0U && lead <= 0xefU) {
    length = 3;
    minimum = 0x800U;
    code_point = lead & 0x0fU;
  } else if (lead >= 0xf0U && lead <= 0xf4U) {
    length = 4;
    minimum = 0x10000U;
    code_point = lead & 0x07U;
  } else {
    return 0;  // ASCII is handled by the caller; 0x80-0xc1 and 0xf5-0xff never lead
  }
  if (s.size() - i < length) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto byte = static_cast<unsigned char>(s[i + k]);
    if (!is_continuation(byte)) return 0;
    code_point = (code_point << 6U) | (byte & 0x3fU);
  }
  if (code_point < minimum || code_point > 0x10ffffU) return 0;
  if (code_point >= 0xd800U && code_point <= 0xdfffU) return 0;
  return length;
}

// Code points that are valid in a JSON string but that some line-oriented readers take as
// a line break (Python's str.splitlines, JavaScript source): C1 controls, among them NEL,
// and the Unicode line and paragraph separators. Escaped, a line stays one line for all.
bool breaks_lines_somewhere(unsigned code_point) {
  return (code_point >= 0x80U && code_point <= 0x9fU) || code_point == 0x2028U ||
         code_point == 0x2029U;
}

}  // namespace

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80U) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (byte < 0x20U || byte == 0x7fU) {
            append_unicode_escape(out, byte);
          } else {
            out += c;
          }
      }
      ++i;
      continue;
    }

    unsigned code_point = 0;
    const std::size_t length = utf8_sequence_length(s, i, code_point);
    if (length == 0) {
      // Not UTF-8: the byte's value, so the log stays valid JSON and still shows what was
      // there. The next byte starts afresh.
      append_unicode_escape(out, byte);
      ++i;
    } else if (breaks_lines_somewhere(code_point)) {
      append_unicode_escape(out, code_point);
      i += length;
    } else {
      out.append(s.substr(i, length));
      i += length;
    }
  }
  return out;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  out += json_escape(s);
  out += '"';
  return out;
}

std::string rfc3339_now() {
  timespec now{};
  tm utc{};
  if (clock_gettime(CLOCK_REALTIME, &now) != 0 || gmtime_r(&now.tv_sec, &utc) == nullptr) {
    // Neither fails on Linux for the real clock; should it, the epoch is still a valid
    // timestamp and the line is still written.
    return "1970-01-01T00:00:00.000Z";
  }
  std::array<char, 96> buffer{};  // room for any int fields: -Wformat-truncation proves it
  std::snprintf(buffer.data(), buffer.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                utc.tm_sec, static_cast<int>(now.tv_nsec / 1'000'000));
  return buffer.data();
}

}  // namespace suwrap::policy
