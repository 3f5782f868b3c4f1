// SPDX-License-Identifier: Apache-2.0
#include "direct.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "server.hpp"
#include "suwrap/config/children.hpp"
#include "suwrap/util/fd.hpp"

namespace suwrap::gate {

namespace {

using clock = std::chrono::steady_clock;

// Ends and reaps every child of the gate but php-cgi's parent: only what escaped a request
// is re-parented here.
void end_escaped(pid_t php) {
  for (const pid_t pid : policy::children_of("self", ::getpid())) {
    if (pid == php) continue;
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
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

Activity activity_of(const std::vector<pid_t>& pids) {
  Activity activity;
  for (const pid_t pid : pids) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("voluntary_ctxt_switches:", 0) != 0) continue;
      activity.switches += std::stoull(line.substr(sizeof("voluntary_ctxt_switches:") - 1));
      ++activity.processes;
      break;
    }
  }
  return activity;
}

int supervise_direct(PhpPool& php, const DirectOptions& options) {
  sigset_t handled;
  sigemptyset(&handled);
  for (const int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&handled, sig);
  if (::sigprocmask(SIG_BLOCK, &handled, nullptr) != 0) {
    stop_pool(php, options.stop_patience);
    return exit_php_died;
  }
  util::Fd signals(::signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK));
  const auto started = clock::now();
  auto last_active = started;
  Activity seen = activity_of(policy::children_of(std::to_string(php.parent()), php.parent()));
  for (;;) {
    std::array<pollfd, 2> watched{{{signals.get(), POLLIN, 0}, {php.pidfd(), POLLIN, 0}}};
    const int n = ::poll(watched.data(), signals ? 2 : 1, 1000);
    if (n < 0 && errno != EINTR) break;
    if ((watched[1].revents & POLLIN) != 0 || (!signals && n > 0)) {
      // php-cgi's parent ended: its workers asked for a new pool, or it died.
      stop_pool(php, std::chrono::seconds(0));
      return exit_php_died;
    }
    if (signals && (watched[0].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      while (::read(signals.get(), &info, sizeof(info)) == sizeof(info)) {
        if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) {
          stop_pool(php, options.stop_patience);
          return exit_idle_or_stopped;
        }
      }
    }
    end_escaped(php.parent());
    const auto now = clock::now();
    const Activity current = activity_of(policy::children_of(std::to_string(php.parent()), php.parent()));
    if (current != seen) {
      seen = current;
      last_active = now;
    }
    if (now - last_active >= options.idle_after ||
        (options.max_lifetime.count() > 0 && now - started >= options.max_lifetime)) {
      stop_pool(php, options.stop_patience);
      return exit_idle_or_stopped;
    }
  }
  stop_pool(php, options.stop_patience);
  return exit_php_died;
}

}  // namespace suwrap::gate
