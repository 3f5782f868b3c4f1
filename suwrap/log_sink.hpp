// SPDX-License-Identifier: Apache-2.0
// Where suwrap's log lines go: the configured file (opened before any privilege is
// dropped, O_APPEND, one write(2) per line) or syslog (one datagram per line on a socket
// connected to /dev/log, whose sending is checked).
#pragma once

#include <string>
#include <string_view>

#include "suwrap/util/fd.hpp"

namespace suwrap {

class LogSink {
 public:
  // Opens `destination`: an absolute path or "syslog". Returns false (with the reason in
  // `error`) if it cannot be opened; suwrap then refuses rather than run unlogged.
  bool open(const std::string& destination, std::string& error);
  // Connects to the system logger at /dev/log. False if there is none to reach.
  bool open_syslog(std::string& error);

  // Writes one complete line with a single write(2) or send(2). Returns false if it was
  // not written whole.
  bool write(std::string_view line) const;

  // A pool's supervisor lives for hours: after logrotate moved the file away, the next
  // line goes to a new file at the configured path, opened with the same checks. If that
  // cannot be opened, the lines keep going to the file already open.
  void reopen_if_rotated();

  // The child closes the log before it drops privileges: the account user must never
  // hold root's log descriptor, not even before the exec.
  void close() { fd_.reset(); }

 private:
  util::Fd fd_;
  bool syslog_ = false;
  std::string destination_;
};

}  // namespace suwrap
