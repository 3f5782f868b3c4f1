// SPDX-License-Identifier: Apache-2.0
#include "supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>

#include "child.hpp"
#include "clock.hpp"
#include "pool.hpp"
#include "suwrap/config/children.hpp"
#include "suwrap/policy/log_record.hpp"

namespace suwrap {

namespace {

using policy::Check;
using policy::Verdict;

// After SIGTERM at the wall-clock limit, the group has this long before SIGKILL.
constexpr int kill_grace_ms = 2000;

// Sends a signal to the handler's process group; before the child's setsid() the group
// does not exist yet, so the child itself gets it.
void signal_group(pid_t leader, int sig) {
  if (::kill(-leader, sig) != 0 && errno == ESRCH) ::kill(leader, sig);
}

// How far the supervisor is in ending the child's process group. The signals it relays
// (SIGTERM, SIGINT, SIGHUP) go to the group in every state; these are the steps of its own.
//
//   running ──wall_seconds──────▶ timed_out ───kill_grace_ms──▶ timed_out_killed
//      │                          (SIGTERM)                     (SIGKILL)
//      └──SIGTERM relayed──▶ terminating ──term_grace_ms──▶ terminating_killed
//                                                             (SIGKILL)
//   poll() failing: SIGKILL at once, whatever the state; running ─▶ killed,
//   terminating ─▶ terminating_killed, timed_out ─▶ timed_out_killed. From killed the
//   wall limit still sends its SIGTERM (─▶ timed_out_killed), and a relayed SIGTERM still
//   sets its grace (─▶ terminating_killed). Once SIGKILL was sent, a deadline that passes
//   sends nothing more (after a failed poll() it stays, passed, and the loop polls without
//   waiting until the child is reaped).
//   Every state ──the child reaped──▶ reaped, which ends the loop.
enum class State {
  running,             // nothing sent of the supervisor's own; the deadline is wall_seconds, if any
  terminating,         // a SIGTERM was relayed; the deadline is the end of its grace
  timed_out,           // past wall_seconds: SIGTERM sent; the deadline is the end of kill_grace_ms
  killed,              // poll() failed: SIGKILL sent, before any SIGTERM
  terminating_killed,  // SIGKILL sent after a relayed SIGTERM
  timed_out_killed,    // SIGKILL sent after the wall limit's SIGTERM
  reaped,              // the child's status is in
};

// The transitions above, and the deadline of the next step (in now_ms() time, -1: none).
class Supervision {
 public:
  Supervision(pid_t child, std::int64_t deadline, std::int64_t term_grace_ms)
      : child_(child), deadline_(deadline), term_grace_ms_(term_grace_ms) {}

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] std::int64_t deadline() const { return deadline_; }

  // poll() failed: the group is killed at once.
  void poll_failed() {
    signal_group(child_, SIGKILL);
    switch (state_) {
      case State::running: state_ = State::killed; return;
      case State::terminating: state_ = State::terminating_killed; return;
      case State::timed_out: state_ = State::timed_out_killed; return;
      case State::killed:
      case State::terminating_killed:
      case State::timed_out_killed:
      case State::reaped:
        return;
    }
  }

  // The deadline passed: past wall_seconds, SIGTERM to the whole group; at the end of a
  // grace, SIGKILL.
  void deadline_passed() {
    switch (state_) {
      case State::running:
      case State::killed:
        state_ = state_ == State::running ? State::timed_out : State::timed_out_killed;
        signal_group(child_, SIGTERM);
        deadline_ = now_ms() + kill_grace_ms;
        return;
      case State::terminating:
      case State::timed_out:
        state_ = state_ == State::terminating ? State::terminating_killed : State::timed_out_killed;
        signal_group(child_, SIGKILL);
        deadline_ = -1;
        return;
      case State::terminating_killed:
      case State::timed_out_killed:
      case State::reaped:
        return;
    }
  }

  // A SIGTERM was relayed to the group. It ends the request (the daemon's --timeout, a web
  // server's own): a group that ignores it is killed after term_grace_ms, as at wall_seconds.
  void sigterm_relayed() {
    if (state_ != State::running && state_ != State::killed) return;
    state_ = state_ == State::running ? State::terminating : State::terminating_killed;
    const std::int64_t by = now_ms() + term_grace_ms_;
    if (deadline_ < 0 || by < deadline_) deadline_ = by;
  }

  // The child was reaped. Answers whether the wall limit ended it (the exit line's timed_out).
  bool reaped() {
    const bool timed_out = state_ == State::timed_out || state_ == State::timed_out_killed;
    state_ = State::reaped;
    return timed_out;
  }

 private:
  pid_t child_;
  State state_ = State::running;
  std::int64_t deadline_;
  std::int64_t term_grace_ms_;
};

// The supervisor is a child subreaper: whatever the handler left behind (a background
// child, a double fork out of its session) is re-parented here. Kill and reap all of it,
// so nothing of the request outlives it.
void end_descendants() {
  for (int round = 0; round < 500; ++round) {
    int status = 0;
    pid_t reaped = 0;
    while ((reaped = ::waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
    }
    if (reaped < 0 && errno == ECHILD) return;
    for (const pid_t pid : policy::children_of("self", ::getpid())) ::kill(pid, SIGKILL);
    const timespec pause{0, 10 * 1000 * 1000};
    ::nanosleep(&pause, nullptr);
  }
}

}  // namespace

int supervise(const RunContext& ctx, Supervised supervised) {
  const policy::Decision& d = ctx.decision;
  const pid_t child = supervised.child;
  const pid_t supervisor = supervised.supervisor;
  const std::int64_t started = supervised.started;
  util::Fd& report_read = supervised.report_read;
  util::Fd& gate_log_read = supervised.gate_log_read;
  const sigset_t& watched = supervised.watched;
  GateLogReader gate_log(ctx);

  // The supervisor keeps no descriptor of the request: the client talks to the handler.
  const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd <= 2; ++fd) ::dup2(devnull, fd);
  if (devnull > 2) ::close(devnull);

  util::Fd signals(::signalfd(-1, &watched, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals) signal_group(child, SIGKILL);  // cannot supervise: end it, and report below

  std::optional<ChildFailure> failure;
  bool timed_out = false;  // the exit line's: the wall limit ended the group
  int status = 0;
  rusage usage{};
  const std::uint64_t wall = d.limits.wall_seconds;
  // At most ten years: a larger value is "unlimited" for any request, and cannot overflow.
  constexpr std::uint64_t max_wall_seconds = 10ULL * 365 * 24 * 3600;
  // A pool has no wall limit of its own (the gate applies it to each request), and a
  // SIGTERM lets its running requests finish: their wall limit, at most five minutes.
  const std::int64_t deadline =
      wall == 0 || ctx.pool ? -1
                            : started + static_cast<std::int64_t>(std::min(wall, max_wall_seconds)) * 1000;
  const std::int64_t term_grace_ms =
      ctx.pool ? static_cast<std::int64_t>(std::min<std::uint64_t>(wall == 0 ? 300 : wall, 300)) * 1000 + kill_grace_ms
               : kill_grace_ms;
  Supervision supervision(child, deadline, term_grace_ms);

  auto read_report = [&] {
    ChildFailure report;
    ssize_t n = 0;
    do {
      n = ::read(report_read.get(), &report, sizeof(report));
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof(report))) {
      report.reason[sizeof(report.reason) - 1] = '\0';
      failure = report;
    }
    if (n <= 0 || failure) report_read.reset();
  };

  while (supervision.state() != State::reaped) {
    std::array<pollfd, 3> fds{};
    fds[0] = {signals.get(), POLLIN, 0};
    fds[1] = {report_read ? report_read.get() : -1, POLLIN, 0};
    fds[2] = {gate_log_read ? gate_log_read.get() : -1, POLLIN, 0};
    int timeout = -1;
    if (const std::int64_t deadline_ms = supervision.deadline(); deadline_ms >= 0)
      timeout = static_cast<int>(std::clamp<std::int64_t>(deadline_ms - now_ms(), 0, 60 * 60 * 1000));
    const int ready = ::poll(fds.data(), fds.size(), signals ? timeout : 100);
    if (ready < 0 && errno != EINTR) supervision.poll_failed();
    if (ready == 0 && supervision.deadline() >= 0 && now_ms() >= supervision.deadline())
      supervision.deadline_passed();
    if ((fds[1].revents & (POLLIN | POLLHUP)) != 0) read_report();
    if ((fds[2].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !gate_log.read_once(gate_log_read.get()))
      gate_log_read.reset();
    if ((fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      bool child_changed = false;
      while (::read(signals.get(), &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
        const int sig = static_cast<int>(info.ssi_signo);
        if (sig == SIGCHLD) child_changed = true;
        if (sig != SIGCHLD) signal_group(child, sig);  // relay SIGTERM, SIGINT, SIGHUP
        if (sig == SIGTERM) supervision.sigterm_relayed();
      }
      if (ctx.pool && child_changed) end_escaped(child);
    }
    // When the handler is done, its group is killed while its zombie still holds the pid —
    // so the group id cannot have been reused by anyone — and only then is it reaped.
    // SIGCHLD also comes for re-parented orphans, which end_descendants() reaps.
    siginfo_t exited{};
    if (::waitid(P_PID, static_cast<id_t>(child), &exited, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        exited.si_pid == child) {
      ::kill(-child, SIGKILL);
      if (::wait4(child, &status, 0, &usage) == child) timed_out = supervision.reaped();
    }
    if (!signals && supervision.state() != State::reaped) {
      ::wait4(child, &status, 0, &usage);
      timed_out = supervision.reaped();
    }
  }
  if (report_read) read_report();
  end_descendants();
  // What the gate wrote last: a few bounded reads without blocking, so that a copy of the
  // pipe passed to a process outside the tree cannot keep the supervisor from ending.
  for (int round = 0; gate_log_read && round < 4; ++round)
    if (!gate_log.read_once(gate_log_read.get())) gate_log_read.reset();
  if (ctx.pool) {
    gate_log.flush_suppressed();
    ctx.log.reopen_if_rotated();
  }

  policy::ExitRecord exit_record = policy::exit_record_of(d, supervisor, ctx.labels);
  if (ctx.pool) {
    // A pool served many requests: its end belongs to none of them.
    exit_record.request_id.clear();
    exit_record.script.clear();
    exit_record.host.clear();
  }
  if (WIFEXITED(status)) exit_record.status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) exit_record.signal = WTERMSIG(status);
  exit_record.wall_ms = static_cast<std::uint64_t>(now_ms() - started);
  const auto ms = [](const timeval& tv) {
    return static_cast<std::uint64_t>(tv.tv_sec) * 1000 + static_cast<std::uint64_t>(tv.tv_usec) / 1000;
  };
  exit_record.cpu_ms = ms(usage.ru_utime) + ms(usage.ru_stime);
  exit_record.maxrss_kb = static_cast<std::uint64_t>(usage.ru_maxrss);
  exit_record.timed_out = timed_out;

  int exit_code = 0;
  if (failure) {
    // Check 13, 14 or 15 failed in the child: a second decision line names it.
    policy::DecisionRecord record = policy::record_of(d, supervisor, ctx.caller, ctx.labels);
    record.verdict = static_cast<Verdict>(failure->verdict);
    record.check = static_cast<Check>(failure->check);
    record.reason = failure->reason;
    ctx.log.write(policy::decision_line(record));
    exit_code = record.verdict == Verdict::deny ? 1 : 3;
  } else if (!signals) {
    exit_code = 3;
  }
  ctx.log.write(policy::exit_line(exit_record));
  return exit_code;
}

}  // namespace suwrap
