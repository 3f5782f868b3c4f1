// SPDX-License-Identifier: Apache-2.0
// The JSON Lines log of suwrap(8), LOG, and the CGI refusal response of suwrap(8), EXIT STATUS.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "suwrap/config/json.hpp"
#include "suwrap/config/request_id.hpp"
#include "suwrap/policy/checks.hpp"

namespace suwrap::policy {

// What ties a request's lines together (suwrap(8), LOG): its id, and the host it was for.
struct RequestLabels {
  std::string request_id;  // never empty once made by request_labels()
  std::string host;        // empty: not known
};

// The labels of a request from its environment: the id is SUWRAP_REQUEST_ID (set by
// suwrap-cgid), else UNIQUE_ID (Apache's mod_unique_id), if well formed, else a new one;
// the host is HTTP_HOST, else SERVER_NAME, cut to 255 bytes.
RequestLabels request_labels(const std::vector<std::string>& environment);

struct DecisionRecord {
  pid_t pid = 0;
  std::string request_id;
  std::string caller;  // user name of the real uid
  std::string script;
  std::string handler;
  std::string user;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::string account;  // the account file's name, if one applies
  std::string host;
  Verdict verdict = Verdict::error;
  std::optional<Check> check;
  std::string reason;
};

// Self-contained: who ran what for which host, and how it ended, without a join.
struct ExitRecord {
  pid_t pid = 0;
  std::string request_id;
  std::string account;
  std::string user;
  std::string handler;
  std::string script;
  std::string host;
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

// The record for a decision (fields taken from it and the request's labels).
DecisionRecord record_of(const Decision& d, pid_t pid, std::string caller, const RequestLabels& labels);

// The exit record's identity fields for a decision: account, user, handler, script, host.
ExitRecord exit_record_of(const Decision& d, pid_t pid, const RequestLabels& labels);

// The CGI response for a refusal: "Status: 403 Forbidden\r\nContent-Type: text/plain\r\n\r\n"
// and a body; the check and reason are in the body only if `errors_to_browser`.
std::string cgi_refusal(int http_status, bool errors_to_browser, std::optional<Check> check,
                        std::string_view reason);

}  // namespace suwrap::policy
