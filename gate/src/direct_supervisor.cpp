// SPDX-License-Identifier: Apache-2.0
// The direct pool's supervision loop (direct.hpp): signals, php-cgi's parent, and once a
// second (and at a request's deadline) the board: the wall limit, escaped processes and the
// idle end.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string>

#include "direct.hpp"
#include "records.hpp"
#include "server.hpp"
#include "suwrap/config/children.hpp"
#include "suwrap/config/gate_record.hpp"
#include "suwrap/util/fd.hpp"

namespace suwrap::gate {

namespace {

using clock = std::chrono::steady_clock;

// Ends and reaps every child of the gate but php-cgi's parent: only what escaped a request
// is re-parented here.
// Looked at again until none is left (at most 100 rounds, a millisecond apart): a process
// killed here can have a child that is re-parented to the gate after the list was read.
// Never waits for one: a child held stopped (a tracer of the account's) would stop the gate
// with it; it is killed again, and reaped, at a later look.
void end_escaped(pid_t php) {
  for (int round = 0; round < 100; ++round) {
    bool any = false;
    for (const pid_t pid : policy::children_of("self", ::getpid())) {
      if (pid == php) continue;
      ::kill(pid, SIGKILL);
      if (::waitpid(pid, nullptr, WNOHANG | __WALL) != pid) any = true;
    }
    if (!any) return;
    ::usleep(1000);
  }
}

bool exited(int pidfd, std::chrono::milliseconds within) {
  pollfd watched{pidfd, POLLIN, 0};
  const int n = ::poll(&watched, 1, static_cast<int>(within.count()));
  return n > 0 && (watched.revents & POLLIN) != 0;
}

// SIGTERM to php-cgi's parent (it passes it on to its workers), then, if it is still there
// after `patience`, everything killed.
void stop_pool(PhpPool& php, std::chrono::seconds patience) {
  if (php.parent() > 0 && !exited(php.pidfd(), std::chrono::milliseconds(0))) {
    ::kill(php.parent(), SIGTERM);
    (void)exited(php.pidfd(), patience);
  }
  php.stop();
  end_escaped(-1);
}

}  // namespace

int supervise_direct(PhpPool& php, Board& board, const DirectOptions& options) {
  sigset_t handled;
  sigemptyset(&handled);
  for (const int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&handled, sig);
  util::Fd signals;
  if (::sigprocmask(SIG_BLOCK, &handled, nullptr) == 0) signals.reset(::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals) {
    write_record({policy::Verdict::error, policy::Check::exec, 500, "", "the gate cannot watch its signals"});
    stop_pool(php, options.stop_patience);
    return exit_php_died;
  }
  const auto started = clock::now();
  RunningRequests running(started);
  // The board is looked at once a second, and at the deadline of a request it showed.
  auto next_tick = started + std::chrono::seconds(1);
  auto last_look = started;
  for (;;) {
    // A deadline wakes the gate no more often than every 100 ms, however the slots spread them.
    auto wake = next_tick;
    if (const auto deadline = running.next_deadline())
      wake = std::min(wake, std::max(*deadline, last_look + std::chrono::milliseconds(100)));
    std::array<pollfd, 2> watched{{{signals.get(), POLLIN, 0}, {php.pidfd(), POLLIN, 0}}};
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake - clock::now());
    const int n = ::poll(watched.data(), watched.size(), static_cast<int>(std::max<long long>(0, wait.count())));
    if (n < 0 && errno != EINTR) break;
    if ((watched[1].revents & POLLIN) != 0) {
      // php-cgi's parent ended: its workers asked for a new pool, or it died.
      stop_pool(php, std::chrono::seconds(0));
      return exit_php_died;
    }
    if ((watched[0].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      while (::read(signals.get(), &info, sizeof(info)) == sizeof(info)) {
        if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) {
          stop_pool(php, options.stop_patience);
          return exit_idle_or_stopped;
        }
      }
    }
    const auto now = clock::now();
    if (now < wake) continue;
    last_look = now;
    const bool tick = now >= next_tick;
    if (tick) next_tick = now + std::chrono::seconds(1);

    // A slot is held while the process that took it lives: asked of the kernel per pid when
    // it is looked at (no list to go stale, no /proc, which hidepid would hide from us), and
    // whatever group or session the worker moved to. Only a pid the kernel does not know
    // (ESRCH) has ended; any other answer keeps the slot, and its deadline.
    const pid_t php_parent = php.parent();
    const auto alive = [](pid_t pid) { return pid > 1 && (::getpgid(pid) >= 0 || errno != ESRCH); };
    running.look(board, alive, now);
    for (auto& [pid, record] : running.overdue(now)) {
      // A slot names only a process of the account (the board is written by its workers), and
      // the gate, as the account's user, can signal no other user's: never php-cgi's parent
      // nor the gate itself.
      if (pid == php_parent || pid == ::getpid() || !alive(pid)) continue;
      ::kill(pid, SIGKILL);
      const auto refusal = policy::parse_gate_refusal(record);
      write_record(refusal ? *refusal
                           : policy::GateRefusal{policy::Verdict::error, policy::Check::exec, 504, "",
                                                 "a request ran past wall_seconds; its worker was killed"});
    }
    if (!tick) continue;
    end_escaped(php.parent());
    if ((!running.any() && now - running.last_activity() >= options.idle_after) ||
        (options.max_lifetime.count() > 0 && now - started >= options.max_lifetime)) {
      stop_pool(php, options.stop_patience);
      return exit_idle_or_stopped;
    }
  }
  stop_pool(php, options.stop_patience);
  return exit_php_died;
}

}  // namespace suwrap::gate
