// SPDX-License-Identifier: Apache-2.0
// The JSON Lines log of suwrap(8), LOG, and the CGI refusal response of suwrap(8), EXIT STATUS.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "suwrap/policy/checks.hpp"

namespace suwrap::policy {

// JSON string escaping (quotes, backslash, control characters as \uXXXX; bytes >= 0x80 that
// are not valid UTF-8 as \u00XX) so that nothing in a value can forge a line.
std::string json_escape(std::string_view s);
// "\"...\"" with escaping.
std::string json_string(std::string_view s);

// RFC 3339 UTC with milliseconds: "2026-11-21T22:19:17.123Z".
std::string rfc3339_now();

struct DecisionRecord {
  pid_t pid = 0;
  std::string caller;  // user name of the real uid
  std::string script;
  std::string handler;
  std::string user;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  Verdict verdict = Verdict::error;
  std::optional<Check> check;
  std::string reason;
};

struct ExitRecord {
  pid_t pid = 0;
  std::optional<int> status;  // exit status if the handler exited
  std::optional<int> signal;  // signal number if it was killed
  std::uint64_t wall_ms = 0;
  std::uint64_t cpu_ms = 0;
  std::uint64_t maxrss_kb = 0;
  bool timed_out = false;
};

// One line each, ending in '\n': {"ts":..,"event":"decision",...}
std::string decision_line(const DecisionRecord& r);
std::string exit_line(const ExitRecord& r);

// The record for a decision (fields taken from it).
DecisionRecord record_of(const Decision& d, pid_t pid, std::string caller);

// The CGI response for a refusal: "Status: 403 Forbidden\r\nContent-Type: text/plain\r\n\r\n"
// and a body; the check and reason are in the body only if `errors_to_browser`.
std::string cgi_refusal(int http_status, bool errors_to_browser, std::optional<Check> check,
                        std::string_view reason);

}  // namespace suwrap::policy
