// SPDX-License-Identifier: Apache-2.0
// A direct pool (docs/warm-mode.md, "Direct pools"): php-cgi's workers accept the pool's
// connections on fd 0 themselves and each makes the per-request check with the PHP guard
// (php/guard_check.h), so the gate is out of the request's path. It supervises instead:
//  - whatever left a request (re-parented to the gate, a child subreaper) is ended, each
//    second;
//  - the pool ends when its workers have been idle idle_seconds (no worker woke: the sum
//    of their voluntary context switches did not move), at max_lifetime_seconds, on
//    SIGTERM, and when php-cgi's parent ends (a worker asks for that when the configuration
//    moved on from the pool);
//  - ending, php-cgi's parent gets SIGTERM (its workers finish the request they hold and
//    accept no more; connections still queued stay on the socket for the next pool), and
//    whatever is left a few seconds later is killed.
// Refusals, and requests past wall_seconds, are recorded by the workers themselves on the
// supervisor's pipe, which php-cgi gets as fd 3.
#pragma once

#include <chrono>

#include "php_pool.hpp"

namespace suwrap::gate {

struct DirectOptions {
  std::chrono::seconds idle_after{30};
  std::chrono::seconds max_lifetime{0};  // 0: none
  std::chrono::seconds stop_patience{10};
};

// The sum of the voluntary context switches of `pids` (from /proc/<pid>/status), and how
// many of them could be read: a worker that woke for a request has moved it.
struct Activity {
  unsigned long long switches = 0;
  std::size_t processes = 0;
  bool operator==(const Activity&) const = default;
};
Activity activity_of(const std::vector<pid_t>& pids);

// Supervises `php` until the pool ends; the gate's exit status.
int supervise_direct(PhpPool& php, const DirectOptions& options);

}  // namespace suwrap::gate
