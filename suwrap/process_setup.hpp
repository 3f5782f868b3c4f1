// SPDX-License-Identifier: Apache-2.0
// The first things suwrap does, before it trusts anything: a known set of descriptors,
// signals, limits and an empty environment. Everything here runs as root.
#pragma once

#include <string>
#include <vector>

namespace suwrap {

// Closes every inherited descriptor above 2: nothing the caller leaves open reaches the
// handler. Returns false if they could not be closed.
bool close_inherited_fds();

// Copies the environment ("NAME=value" entries) and empties the process's own, so that
// nothing later (NSS modules, syslog, the dynamic loader of the handler) reads it.
std::vector<std::string> take_environment(char** envp);

// Default dispositions for every signal, SIGPIPE and SIGXFSZ ignored (a refusal written
// to a closed pipe, or a log line past a file-size limit, must fail, not kill suwrap
// before it logs), and an empty signal mask.
void reset_signals();

// Limits for suwrap itself, whatever the caller set: no core dumps, room for descriptors,
// no file-size or CPU limit that could kill it between a decision and its log line.
// Returns false if a limit could not be set.
bool set_own_limits();

}  // namespace suwrap
