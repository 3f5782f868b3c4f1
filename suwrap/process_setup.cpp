// SPDX-License-Identifier: Apache-2.0
#include "process_setup.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

namespace suwrap {

bool close_inherited_fds() {
  return ::close_range(3, ~0U, 0) == 0;
}

std::vector<std::string> take_environment(char** envp) {
  std::vector<std::string> environment;
  for (char** e = envp; e != nullptr && *e != nullptr; ++e) environment.emplace_back(*e);
  ::clearenv();
  return environment;
}

void reset_signals() {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    // Fails harmlessly for the numbers the C library reserves for threads.
    ::signal(sig, SIG_DFL);
  }
  ::signal(SIGPIPE, SIG_IGN);
  // A caller's file-size limit must make a log write fail, not kill suwrap unlogged.
  ::signal(SIGXFSZ, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

bool set_own_limits() {
  // A set-uid process must never dump core: the dump would hold root's memory.
  const rlimit no_core{0, 0};
  const rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
  const rlimit descriptors{1024, 1024};
  // A caller's tiny stack would crash suwrap before it could answer or log (SIGSEGV).
  const rlimit stack{8U << 20U, 8U << 20U};
  return ::setrlimit(RLIMIT_CORE, &no_core) == 0 && ::setrlimit(RLIMIT_FSIZE, &unlimited) == 0 &&
         ::setrlimit(RLIMIT_CPU, &unlimited) == 0 && ::setrlimit(RLIMIT_AS, &unlimited) == 0 &&
         ::setrlimit(RLIMIT_DATA, &unlimited) == 0 && ::setrlimit(RLIMIT_NOFILE, &descriptors) == 0 &&
         ::setrlimit(RLIMIT_STACK, &stack) == 0;
}

}  // namespace suwrap
