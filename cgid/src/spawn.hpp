// SPDX-License-Identifier: Apache-2.0
// Starting suwrap: posix_spawn (vfork-style, cheap with many connections open) with the
// params as its environment. For one request, three pipes are its stdin, stdout, stderr;
// for a warm pool (`suwrap --pool`), the pool's listening socket and the start channel.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "suwrap/util/fd.hpp"

namespace suwrap::cgid {

struct SpawnedChild {
  pid_t pid = -1;
  util::Fd pidfd;       // readable when the child has exited
  util::Fd stdin_fd;    // write end: the request body
  util::Fd stdout_fd;   // read end: the CGI response
  util::Fd stderr_fd;   // read end: FCGI_STDERR
};

// Spawns `wrapper` with argv {wrapper} and exactly `environment`. Our ends of the pipes
// are non-blocking and close-on-exec; the child gets only descriptors 0, 1 and 2.
// Returns false with errno-style text in `error`.
bool spawn_wrapper(const std::string& wrapper, const std::vector<std::string>& environment,
                   SpawnedChild& child, std::string& error);

struct SpawnedPool {
  pid_t pid = -1;
  util::Fd pidfd;          // readable when the supervisor has exited
  util::Fd start_channel;  // read end: EOF with no byte = ready; bytes = suwrap's refusal
};

// Spawns `wrapper` with argv {wrapper, "--pool"} and exactly `environment`; fd 0 is
// `listening_socket`, fd 1 the write end of the start channel, fd 2 our own stderr.
bool spawn_pool(const std::string& wrapper, const std::vector<std::string>& environment, int listening_socket,
                SpawnedPool& pool, std::string& error);

// Reaps the exited child behind `pidfd` (waitid P_PIDFD) and gives its resource use: its
// own and that of every descendant it waited for. False when it could not be reaped.
bool wait_with_usage(int pidfd, siginfo_t& info, rusage& usage);

// User and system CPU of `usage`, in seconds.
double cpu_seconds(const rusage& usage);

}  // namespace suwrap::cgid
