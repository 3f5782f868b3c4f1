// SPDX-License-Identifier: Apache-2.0
// The fork between checks 1-12 and checks 13-15: the channels and the signal mask are set
// up, the child runs child_main() (child.cpp), the parent supervises it (supervisor.cpp).
#include "run.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdint>
#include <utility>

#include "child.hpp"
#include "clock.hpp"
#include "supervisor.hpp"
#include "suwrap/util/fd.hpp"

namespace suwrap {

int run_and_supervise(const RunContext& ctx) {
  const pid_t supervisor = ::getpid();

  // The child's report channel: closed by a successful exec (O_CLOEXEC).
  std::array<int, 2> pipe_fds{};
  if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) return -1;
  util::Fd report_read(pipe_fds[0]);
  util::Fd report_write(pipe_fds[1]);
  // A pool's gate reports its refusals on a pipe of their own (its stderr).
  util::Fd gate_log_read;
  util::Fd gate_log_write;
  if (ctx.pool) {
    if (::pipe2(pipe_fds.data(), O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    gate_log_read = util::Fd(pipe_fds[0]);
    gate_log_write = util::Fd(pipe_fds[1]);
    // The gate writes blocking; only the supervisor's end is non-blocking.
    if (::fcntl(gate_log_write.get(), F_SETFL, 0) != 0) return -1;
  }

  // Block the signals the supervisor reads through a signalfd; the child unblocks them.
  sigset_t watched;
  sigemptyset(&watched);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&watched, sig);
  if (::sigprocmask(SIG_BLOCK, &watched, nullptr) != 0) return -1;
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return -1;

  const std::int64_t started = now_ms();
  const pid_t child = ::fork();
  if (child < 0) return -1;
  if (child == 0) {
    report_read.reset();
    gate_log_read.reset();
    child_main(ctx, report_write.get(), gate_log_write.get(), supervisor);
  }
  report_write.reset();
  gate_log_write.reset();
  return supervise(ctx,
                   {child, supervisor, started, std::move(report_read), std::move(gate_log_read), watched});
}

}  // namespace suwrap
