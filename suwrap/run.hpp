// SPDX-License-Identifier: Apache-2.0
// Checks 13-15 and the supervisor: after an `allow`, suwrap forks (run.cpp). The child
// drops to the target user, verifies the script, builds the environment and execs the
// handler (child.cpp; a pool's gate: pool.cpp); the parent stays root only to supervise:
// relay signals, enforce the wall-clock limit on the whole process group, reap it, and log
// how it ended (supervisor.cpp).
#pragma once

#include <string>
#include <vector>

#include "log_sink.hpp"
#include "suwrap/policy/log_record.hpp"
#include "suwrap/policy/checks.hpp"
#include "suwrap/config/config.hpp"

namespace suwrap {

struct RunContext {
  const policy::Decision& decision;  // an `allow` with its target and handler
  const policy::Config& config;
  const std::vector<std::string>& request_environment;  // validated by check `request`
  LogSink& log;
  std::string caller;  // user name of the real uid, for the log
  policy::RequestLabels labels;  // the request's id and host, for the log
  // `suwrap --pool` (warm mode): the child execs the account's gate instead of the handler,
  // with fd 0 the pool's listening socket and fd 1 the start channel; the supervisor has
  // no wall limit and writes the gate's refusal lines to the log.
  bool pool = false;
};

// Runs the handler (or, for a pool, the gate) and supervises it. Returns suwrap's exit status: 0 after a run,
// 1 or 3 when check 13-15 refused it in the child (it has answered the client).
int run_and_supervise(const RunContext& context);

}  // namespace suwrap
