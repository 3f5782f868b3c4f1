// Starting suwrap for one request: posix_spawn (vfork-style, cheap with many connections
// open) with the params as its environment and three pipes as its stdin, stdout, stderr.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "suwrap/policy/fd.hpp"

namespace suwrap::cgid {

struct SpawnedChild {
  pid_t pid = -1;
  policy::Fd pidfd;       // readable when the child has exited
  policy::Fd stdin_fd;    // write end: the request body
  policy::Fd stdout_fd;   // read end: the CGI response
  policy::Fd stderr_fd;   // read end: FCGI_STDERR
};

// Spawns `wrapper` with argv {wrapper} and exactly `environment`. Our ends of the pipes
// are non-blocking and close-on-exec; the child gets only descriptors 0, 1 and 2.
// Returns false with errno-style text in `error`.
bool spawn_wrapper(const std::string& wrapper, const std::vector<std::string>& environment,
                   SpawnedChild& child, std::string& error);

}  // namespace suwrap::cgid
