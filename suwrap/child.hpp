// SPDX-License-Identifier: Apache-2.0
// The child that run.cpp forks: checks 13-15 as the account user, then the exec of the
// handler (or, for a pool, of the gate: pool.cpp). A refusal is written to the client and
// reported to the supervisor over a close-on-exec pipe.
#pragma once

#include <limits.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "run.hpp"

namespace suwrap {

// What the child tells the supervisor when check 13, 14 or 15 fails. One write, smaller
// than PIPE_BUF, so it arrives whole or not at all.
struct ChildFailure {
  int check = 0;
  int verdict = 0;
  char reason[400] = {};
};
static_assert(sizeof(ChildFailure) < PIPE_BUF);

// Checks 13-15, then the exec; never returns. `report_fd` is the write end of the report
// channel, `gate_log_fd` (a pool's) the write end of the gate's log pipe, `supervisor` the
// parent's pid.
[[noreturn]] void child_main(const RunContext& ctx, int report_fd, int gate_log_fd, pid_t supervisor);

// The child's parts that the gate's exec (pool.cpp) shares.

// Reports a failed check to the supervisor, answers the client, and exits.
[[noreturn]] void child_refuse(int report_fd, const RunContext& ctx, policy::Check check,
                               policy::Verdict verdict, int http_status, const std::string& reason);

// The NULL-terminated array execve() takes, pointing into `strings` (which must outlive it).
std::vector<char*> exec_vector(std::vector<std::string>& strings);

// Signals at their defaults, none blocked: what the supervisor blocked stays its own.
// (Ignored dispositions survive execve; the two suwrap ignores for itself are reset.)
void default_signals();

}  // namespace suwrap
