// SPDX-License-Identifier: Apache-2.0
// Finding the php worker that serves one of the gate's connections, to end it.
//
// php-cgi's workers all accept on one socket, so which of them took a connection is known
// only to the kernel. The gate asks it: NETLINK_SOCK_DIAG (unix_diag, UDIAG_SHOW_PEER)
// names the inode of the socket at the other end of the gate's connection, and the worker
// is the child of php-cgi's parent whose /proc/PID/fd holds "socket:[that inode]".
//
// The same /proc lists find what escaped a request (end_escaped_processes).
//
// The byte layouts are pure functions, tested on their own; the rest asks the kernel.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "suwrap/util/expected.hpp"

namespace suwrap::gate {

// The netlink request "the unix socket with this inode, with its peer", numbered `sequence`.
std::string unix_diag_request(std::uint32_t inode, std::uint32_t sequence);

// From the kernel's answer to unix_diag_request(inode, sequence): the peer's inode. An
// error names why: the kernel's error, a socket without a peer, or bytes that are not a
// well-formed answer (every length is checked before it is used).
util::Expected<std::uint32_t, std::string> parse_unix_diag_peer(std::string_view reply, std::uint32_t inode,
                                                                  std::uint32_t sequence);

// "socket:[12345]" (a /proc/PID/fd link) -> 12345; anything else -> nullopt.
std::optional<std::uint64_t> socket_inode_from_link(std::string_view link);

// The inode of the socket at the other end of the connected unix socket `socket_fd`.
util::Expected<std::uint32_t, std::string> peer_socket_inode(int socket_fd);

// Whether process `pid` has a descriptor for the socket `inode`.
bool holds_socket(pid_t pid, std::uint64_t inode);

// The child of `parent` that has a descriptor for the socket `inode`, if any.
std::optional<pid_t> find_socket_holder(pid_t parent, std::uint64_t inode);

// The children of `parent`, as /proc lists them (zombies too, until they are reaped).
std::vector<pid_t> children_of(pid_t parent);

// The gate is a child subreaper: a process that escaped a request (a background job, a
// double fork, the children of a killed worker) is re-parented to it. Every child of this
// process (`self`, its pid: the caller knows it, and getpid() is a system call each time)
// but `keep` (php-cgi's parent) is such a process: it is killed (SIGKILL) and, once dead,
// reaped; one that is still dying is reaped by a later call. Answers how many were
// signalled.
std::size_t end_escaped_processes(pid_t self, pid_t keep);

// Kills (SIGKILL) the child of `parent` that serves the other end of `socket_fd`, and
// answers its pid. The signal goes through a pidfd opened after the process was found and
// checked again to hold the socket, so it can never reach a process that reused the pid.
// An error says why none was killed (e.g. no worker has accepted the connection yet).
util::Expected<pid_t, std::string> kill_peer_worker(pid_t parent, int socket_fd);

}  // namespace suwrap::gate
