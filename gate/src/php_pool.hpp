// SPDX-License-Identifier: Apache-2.0
// php-cgi's parent and workers: started once per gate, ended with it.
//
// php-cgi in FastCGI mode with PHP_FCGI_CHILDREN forks that many workers, which all accept
// on its fd 0 and share one opcache; it forks a new worker for each that ends. Its socket
// is bound in a directory only the account user can enter (mode 0700), so nobody reaches
// the workers but through the gate.
//
// php-cgi's parent calls setsid() and, on SIGTERM, signals its whole process group. So it
// is started as the leader of a process group of its own (its setsid() then fails, and its
// group is known: its pid), never in the gate's group, where that SIGTERM would reach the
// gate. PR_SET_PDEATHSIG ends it (and, through its handler, its workers) if the gate dies
// without stop().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "suwrap/util/expected.hpp"
#include "suwrap/util/fd.hpp"

namespace suwrap::gate {

struct PhpLaunch {
  std::string program;                   // the handler's path
  std::vector<std::string> args;         // the handler's fixed args, after argv[0]
  std::vector<std::string> environment;  // exactly this, "NAME=value"
};

class PhpPool {
 public:
  // Starts php-cgi and waits until a worker answers FCGI_GET_VALUES, at most `ready_within`.
  static util::Expected<std::unique_ptr<PhpPool>, std::string> start(
      const PhpLaunch& launch, std::chrono::milliseconds ready_within);
  // A direct pool: php-cgi's workers accept on `listener` (the pool's socket, which the
  // caller keeps) and get `records` (the supervisor's pipe) as fd 3 and `board` (where they
  // mark when a request starts and ends) as fd 4. No socket of its own,
  // so no FCGI_GET_VALUES: started once php-cgi was executed.
  static util::Expected<std::unique_ptr<PhpPool>, std::string> start_direct(const PhpLaunch& launch, int listener,
                                                                          int records, int board);
  ~PhpPool();
  PhpPool(const PhpPool&) = delete;
  PhpPool& operator=(const PhpPool&) = delete;

  [[nodiscard]] pid_t parent() const { return pid_; }
  // Readable once php-cgi's parent has exited.
  [[nodiscard]] int pidfd() const { return pidfd_.get(); }

  // A new connection to the workers: non-blocking, close-on-exec. Unix sockets connect at
  // once or not at all; a full listen queue is an error here, never a wait.
  [[nodiscard]] util::Expected<util::Fd, std::string> connect() const;

  // Ends the parent and every worker (SIGKILL to the group), reaps the parent, and removes
  // the socket and its directory. Called again, it does nothing.
  void stop();

 private:
  PhpPool() = default;
  util::Expected<bool, std::string> wait_ready(std::chrono::milliseconds within) const;
  util::Expected<bool, std::string> exec_child(const PhpLaunch& launch, int listener, int records, int board);

  std::string dir_;
  std::string socket_path_;
  pid_t pid_ = -1;
  util::Fd pidfd_;
  bool stopped_ = false;
};

}  // namespace suwrap::gate
