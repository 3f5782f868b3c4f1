// SPDX-License-Identifier: Apache-2.0
// A direct pool (docs/warm-mode.md, "Direct pools"): php-cgi's workers accept the pool's
// connections on fd 0 themselves and each makes the per-request check with the PHP guard
// (php/guard_check.h), so the gate is out of the request's path. It supervises instead,
// from outside the workers, where the account's code cannot reach its state:
//  - each worker says on the event pipe (its fd 4) when a request starts (with its
//    wall_seconds and the record to write if it runs past them) and when it ends;
//  - a worker still in a request at its wall_seconds is killed and the record written;
//  - whatever left a request (re-parented to the gate, a child subreaper) is ended, each
//    second;
//  - the pool ends when no worker has been in a request for idle_seconds, at
//    max_lifetime_seconds, on SIGTERM, and when php-cgi's parent ends (a worker asks for
//    that when the configuration moved on from the pool);
//  - ending, php-cgi's parent gets SIGTERM (its workers finish the request they hold and
//    accept no more; connections still queued stay on the socket for the next pool), and
//    whatever is left a few seconds later is killed.
// Refusals are recorded by the workers themselves on the supervisor's pipe (their fd 3).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "php_pool.hpp"

namespace suwrap::gate {

struct DirectOptions {
  std::chrono::seconds idle_after{30};
  std::chrono::seconds max_lifetime{0};  // 0: none
  std::chrono::seconds stop_patience{10};
};

// One message of a worker on the event pipe, one line each:
//   "S <pid> <wall_seconds> <record>"  a request started (the record: the gate's refusal
//                                      record to write if it runs past wall_seconds, or "-")
//   "E <pid>"                          it ended
struct WorkerEvent {
  bool started = false;
  pid_t pid = 0;
  std::uint64_t wall_seconds = 0;
  std::string record;  // as written, without its newline; empty: none
};
std::optional<WorkerEvent> parse_worker_event(std::string_view line);

// The requests running in a pool's workers, as their events tell.
class RunningRequests {
 public:
  using Clock = std::chrono::steady_clock;
  void apply(const WorkerEvent& event, Clock::time_point now);
  // Workers past their wall_seconds at `now`: forgotten here, returned with their records.
  std::vector<std::pair<pid_t, std::string>> overdue(Clock::time_point now);
  // Forgets workers that are no longer php-cgi's (they ended).
  void keep_only(const std::vector<pid_t>& workers, Clock::time_point now);
  [[nodiscard]] bool any() const { return !running_.empty(); }
  [[nodiscard]] Clock::time_point last_event() const { return last_event_; }

 private:
  struct Running {
    std::optional<Clock::time_point> deadline;
    std::string record;
  };
  std::map<pid_t, Running> running_;
  Clock::time_point last_event_ = Clock::now();
};

// Supervises `php` until the pool ends, reading the workers' events from `events`; the
// gate's exit status.
int supervise_direct(PhpPool& php, int events, const DirectOptions& options);

}  // namespace suwrap::gate
