// SPDX-License-Identifier: Apache-2.0
// A process's children, as the kernel lists them: the one reader of
// /proc/<process>/task/<thread>/children for suwrap's supervisor and the gate.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace suwrap::policy {

// The children of thread `thread` of `process`, from /proc/<process>/task/<thread>/children:
// zombies too, until they are reaped. `process` is "self" or a pid; a process's children are
// listed under the thread that created them (a single-threaded process: its pid). The whole
// list is read before it is returned. Empty when it cannot be read.
//
// "self" names the calling process in whatever pid namespace /proc was mounted from, where
// its own pid, from getpid(), might name another process: a caller that acts on its own
// children as root passes "self".
std::vector<pid_t> children_of(const std::string& process, pid_t thread);

}  // namespace suwrap::policy
