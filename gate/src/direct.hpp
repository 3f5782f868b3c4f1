// SPDX-License-Identifier: Apache-2.0
// A direct pool (docs/warm-mode.md, "Direct pools"): php-cgi's workers accept the pool's
// connections on fd 0 themselves and each makes the per-request check with the PHP guard
// (php/guard_check.h), so the gate is out of the request's path. It supervises instead,
// from outside the workers, where the account's code cannot reach its state:
//  - each worker marks on the pool's board (board.hpp, its fd 4 until php-cgi's parent
//    maps it) when a request starts (with its wall_seconds and the record to write if it
//    runs past them) and when it ends;
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
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "board.hpp"
#include "php_pool.hpp"

namespace suwrap::gate {

struct DirectOptions {
  std::chrono::seconds idle_after{30};
  std::chrono::seconds max_lifetime{0};  // 0: none
  std::chrono::seconds stop_patience{10};
};

// The requests running in a pool's workers, as the board tells.
class RunningRequests {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RunningRequests(Clock::time_point since) : last_look_(since), last_activity_(since) {}
  // Looks at every slot of `board` at `now`: the slots of processes that ended (not
  // `alive`) are freed, a request that started since the last look is learnt with its
  // deadline (from its start, which is taken between the last look and now).
  void look(Board& board, const std::function<bool(pid_t)>& alive, Clock::time_point now);
  // Workers past their wall_seconds at `now`: forgotten here, returned with their records.
  std::vector<std::pair<pid_t, std::string>> overdue(Clock::time_point now);
  // The next deadline of a running request, if any.
  [[nodiscard]] std::optional<Clock::time_point> next_deadline() const;
  [[nodiscard]] bool any() const;
  // The last moment a worker was seen starting or ending a request (or in one).
  [[nodiscard]] Clock::time_point last_activity() const { return last_activity_; }

 private:
  struct Known {
    pid_t pid = 0;
    std::uint32_t sequence = 0;
    bool running = false;
    std::optional<Clock::time_point> deadline;
    std::string record;
  };
  std::vector<Known> known_;  // by slot
  Clock::time_point last_look_;
  Clock::time_point last_activity_;
};

// Supervises `php` until the pool ends, watching its workers on `board`; the gate's exit
// status.
int supervise_direct(PhpPool& php, Board& board, const DirectOptions& options);

}  // namespace suwrap::gate
