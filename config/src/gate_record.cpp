// SPDX-License-Identifier: Apache-2.0
// The gate's refusal line: a strict, line-oriented format that is trivial to parse in the
// set-uid supervisor and cannot carry a second line inside a field.
#include "suwrap/config/gate_record.hpp"

#include <array>
#include <charconv>
#include <vector>

#include "suwrap/config/request_id.hpp"
#include "suwrap/config/text.hpp"

namespace suwrap::policy {
namespace {

constexpr std::string_view tag = "suwrap-gate";
constexpr std::array allowed_statuses{403, 404, 500, 502, 504};
constexpr std::string_view hex_digits = "0123456789ABCDEF";

bool needs_escape(unsigned char byte) { return byte < 0x20U || byte == 0x7fU || byte == '%'; }

// Percent-encodes `value` into `out`, stopping before `budget` bytes would be exceeded so
// that an escape is never cut in half.
void append_escaped(std::string& out, std::string_view value, std::size_t budget) {
  std::size_t used = 0;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    const std::size_t width = needs_escape(byte) ? 3 : 1;
    if (used + width > budget) return;
    if (width == 3) {
      out += '%';
      out += hex_digits[byte >> 4U];
      out += hex_digits[byte & 0x0fU];
    } else {
      out += c;
    }
    used += width;
  }
}

std::optional<unsigned> hex_value(char c) {
  if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
  if (c >= 'A' && c <= 'F') return static_cast<unsigned>(c - 'A' + 10);
  return std::nullopt;  // lower case is never written, so it is never accepted
}

std::optional<std::string> unescape(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    const auto byte = static_cast<unsigned char>(field[i]);
    if (byte < 0x20U || byte == 0x7fU) return std::nullopt;
    if (field[i] != '%') {
      out += field[i];
      continue;
    }
    if (field.size() - i < 3) return std::nullopt;
    const auto high = hex_value(field[i + 1]);
    const auto low = hex_value(field[i + 2]);
    if (!high || !low) return std::nullopt;
    const auto decoded = static_cast<unsigned char>((*high << 4U) | *low);
    if (!needs_escape(decoded)) return std::nullopt;  // one spelling per value
    out += static_cast<char>(decoded);
    i += 2;
  }
  return out;
}

}  // namespace

std::string encode_gate_refusal(const GateRefusal& refusal) {
  std::string line{tag};
  line += '\t';
  line += verdict_name(refusal.verdict);
  line += '\t';
  line += check_name(refusal.check);
  line += '\t';
  line += std::to_string(refusal.http_status);
  line += '\t';
  if (is_request_id(refusal.request_id)) line += refusal.request_id;  // at most 128 bytes, nothing to escape
  line += '\t';
  append_escaped(line, request_host(refusal.host), 3 * max_request_host_bytes);
  line += '\t';
  // Whatever the fixed fields leave, shared: the script first (at most half), the reason
  // gets the rest. Two tabs and the newline are still to come.
  const std::size_t fixed = line.size() + 2;
  const std::size_t room = max_gate_record_bytes > fixed ? max_gate_record_bytes - fixed : 0;
  const std::size_t before_script = line.size();
  append_escaped(line, refusal.script, room / 2);
  line += '\t';
  const std::size_t script_used = line.size() - before_script - 1;
  append_escaped(line, refusal.reason, room - script_used);
  line += '\n';
  return line;
}

std::optional<GateRefusal> parse_gate_refusal(std::string_view line) {
  if (line.size() + 1 > max_gate_record_bytes) return std::nullopt;
  const std::vector<std::string_view> fields = split_fields(line);
  if (fields.size() != 8 || fields[0] != tag) return std::nullopt;

  GateRefusal refusal;
  if (fields[1] == verdict_name(Verdict::deny)) {
    refusal.verdict = Verdict::deny;
  } else if (fields[1] == verdict_name(Verdict::error)) {
    refusal.verdict = Verdict::error;
  } else {
    return std::nullopt;
  }
  const auto check = check_from_name(fields[2]);
  if (!check || *check == Check::caller || *check == Check::drop || *check == Check::identity) return std::nullopt;
  refusal.check = *check;

  int status = 0;
  const std::string_view digits = fields[3];
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), status);
  if (error != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  bool known = false;
  for (const int allowed : allowed_statuses) known = known || allowed == status;
  if (!known) return std::nullopt;
  refusal.http_status = status;

  if (!fields[4].empty() && !is_request_id(fields[4])) return std::nullopt;
  refusal.request_id = std::string(fields[4]);
  auto host = unescape(fields[5]);
  auto script = unescape(fields[6]);
  auto reason = unescape(fields[7]);
  if (!host || !script || !reason || host->size() > max_request_host_bytes) return std::nullopt;
  refusal.host = std::move(*host);
  refusal.script = std::move(*script);
  refusal.reason = std::move(*reason);
  return refusal;
}

}  // namespace suwrap::policy
