// SPDX-License-Identifier: Apache-2.0
// How a request forwarded to php-cgi ends, and what the client is owed for each ending.
// Pure bookkeeping, so that the rules (504 only before the first byte, which endings end
// the worker, which are logged) are written once and tested without processes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "suwrap/policy/checks.hpp"

namespace suwrap::gate {

enum class Ending {
  answered,          // php-cgi sent END_REQUEST with request_complete
  php_refused,       // php-cgi sent END_REQUEST with another protocol status
  worker_lost,       // the connection to php-cgi closed without END_REQUEST
  malformed_answer,  // php-cgi's record stream broke the protocol
  wall_limit,        // the request ran past the account's wall_seconds
  client_gone,       // the client aborted (the worker ran on, its output dropped), or
                     // suwrap-cgid closed the connection (then the worker is ended)
};

// What a refusal record on fd 2 says about an ending that is one.
struct EndingRecord {
  policy::Verdict verdict = policy::Verdict::error;
  policy::Check check = policy::Check::exec;
  int http_status = 502;
};

struct Closing {
  // Send this status as the whole response first: only while no byte of php's output
  // went out (after that, the response can only be cut short).
  std::optional<int> error_response;
  std::optional<EndingRecord> record;  // write a refusal record on fd 2
  std::uint32_t app_status = 0;        // END_REQUEST's appStatus
};

// Whether the php worker that holds the request's connection must be killed for this
// ending: it may still be running the script (or talking nonsense), and php-cgi's parent
// forks a fresh worker in its place.
bool kills_worker(Ending ending);

// `output_started`: a byte of php's STDOUT went to the client. `php_app_status`: the
// appStatus of php's END_REQUEST (for `answered`).
Closing closing_for(Ending ending, bool output_started, std::uint32_t php_app_status);

// END_REQUEST appStatus of a request refused or ended early with `check`.
std::uint32_t app_status_for(policy::Check check);

// The moment a request started at `start` runs past `wall_seconds` (0: never).
std::optional<std::chrono::steady_clock::time_point> wall_deadline(
    std::chrono::steady_clock::time_point start, std::uint64_t wall_seconds);

}  // namespace suwrap::gate
