// SPDX-License-Identifier: Apache-2.0
#include "spawn.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>

namespace suwrap::cgid {

namespace {

struct Pipe {
  util::Fd read;
  util::Fd write;
};

bool make_pipe(Pipe& p) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) return false;
  p.read.reset(fds[0]);
  p.write.reset(fds[1]);
  return true;
}

bool set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// RAII for the spawn attribute and file-action objects.
struct SpawnSetup {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attr{};
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// The child starts with no signal blocked and SIGPIPE and the others we handle at their
// defaults, whatever the daemon's own settings; `actions` are its descriptors. Returns the
// pid and a pidfd for it, or false with the reason.
bool spawn_with(const std::string& program, std::vector<std::string> argv_strings,
                const std::vector<std::string>& environment, SpawnSetup& setup, pid_t& pid, util::Fd& pidfd,
                std::string& error) {
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGCHLD);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGHUP);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &defaults);
  posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> env_copy = environment;
  std::vector<char*> envp;
  envp.reserve(env_copy.size() + 1);
  for (auto& e : env_copy) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  argv.reserve(argv_strings.size() + 1);
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  const int rc = ::posix_spawn(&pid, program.c_str(), &setup.actions, &setup.attr, argv.data(), envp.data());
  if (rc != 0) {
    error = "posix_spawn " + program + ": " + std::strerror(rc);
    return false;
  }
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    // Without a pidfd the child cannot be awaited; end it now rather than lose it.
    error = std::string("pidfd_open: ") + std::strerror(errno);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return false;
  }
  pidfd.reset(fd);
  return true;
}

// A child that was started but cannot be used: ended and reaped through its pidfd.
void end_child(const util::Fd& pidfd) {
  ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
  siginfo_t info{};
  ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd.get()), &info, WEXITED);
}

}  // namespace

bool spawn_wrapper(const std::string& wrapper, const std::vector<std::string>& environment,
                   SpawnedChild& child, std::string& error) {
  Pipe in, out, err;
  if (!make_pipe(in) || !make_pipe(out) || !make_pipe(err)) {
    error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }

  SpawnSetup setup;
  // dup2 clears close-on-exec on the copies 0-2; everything else we hold is close-on-exec.
  posix_spawn_file_actions_adddup2(&setup.actions, in.read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, out.write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, err.write.get(), STDERR_FILENO);

  pid_t pid = -1;
  util::Fd pidfd;
  if (!spawn_with(wrapper, {wrapper}, environment, setup, pid, pidfd, error)) return false;
  if (!set_nonblocking(in.write.get()) || !set_nonblocking(out.read.get()) || !set_nonblocking(err.read.get())) {
    error = std::string("fcntl: ") + std::strerror(errno);
    end_child(pidfd);
    return false;
  }
  child.pid = pid;
  child.pidfd = std::move(pidfd);
  child.stdin_fd = std::move(in.write);
  child.stdout_fd = std::move(out.read);
  child.stderr_fd = std::move(err.read);
  return true;
}

bool spawn_pool(const std::string& wrapper, const std::vector<std::string>& environment, int listening_socket,
                SpawnedPool& pool, std::string& error) {
  Pipe start;
  if (!make_pipe(start)) {
    error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  SpawnSetup setup;
  // fd 2 is left as it is: suwrap --pool writes nothing there that cgid would need to read,
  // and what it does write belongs with the daemon's own diagnostics.
  posix_spawn_file_actions_adddup2(&setup.actions, listening_socket, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, start.write.get(), STDOUT_FILENO);

  pid_t pid = -1;
  util::Fd pidfd;
  if (!spawn_with(wrapper, {wrapper, "--pool"}, environment, setup, pid, pidfd, error)) return false;
  if (!set_nonblocking(start.read.get())) {
    error = std::string("fcntl: ") + std::strerror(errno);
    end_child(pidfd);
    return false;
  }
  pool.pid = pid;
  pool.pidfd = std::move(pidfd);
  pool.start_channel = std::move(start.read);
  return true;
}

bool wait_with_usage(int pidfd, siginfo_t& info, rusage& usage) {
  // glibc's waitid() has no rusage argument; the system call has (as wait4 for a pid).
  return ::syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, &usage) == 0;
}

double cpu_seconds(const rusage& usage) {
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace suwrap::cgid
