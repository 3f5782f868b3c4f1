// SPDX-License-Identifier: Apache-2.0
// The supervisor: the parent after the fork, still root, holding no descriptor of the
// request. It relays signals to the child's process group, ends the group at the wall
// limit, reaps it and whatever it left behind, and writes how it ended to the log.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>

#include "run.hpp"
#include "suwrap/util/fd.hpp"

namespace suwrap {

// What the fork leaves the supervisor.
struct Supervised {
  pid_t child = -1;          // the child; after its setsid(), the leader of its process group
  pid_t supervisor = -1;     // this process
  std::int64_t started = 0;  // now_ms() just before the fork
  util::Fd report_read;    // the child's report channel: a ChildFailure, or EOF at its exec
  util::Fd gate_log_read;  // a pool's: the gate's refusal lines (non-blocking)
  sigset_t watched{};        // blocked, and read through a signalfd
};

// Supervises `supervised.child` until it is reaped, then logs how it ended. Returns suwrap's
// exit status (run_and_supervise).
int supervise(const RunContext& ctx, Supervised supervised);

}  // namespace suwrap
