// SPDX-License-Identifier: Apache-2.0
#include "php_pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string_view>
#include <variant>

#include "suwrap/fastcgi/encoder.hpp"
#include "suwrap/fastcgi/response_parser.hpp"
#include "suwrap/util/text.hpp"

namespace suwrap::gate {

namespace {

using util::errno_text;
using util::Expected;
using util::Fd;
using util::unexpected;
using clock = std::chrono::steady_clock;

Expected<sockaddr_un, std::string> address_of(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) return unexpected(path + " is too long for a socket address");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

// In the child, between fork and exec: only async-signal-safe calls. Reports errno on
// `report` and exits if anything fails, so the parent never mistakes a half-set-up child
// for php-cgi.
[[noreturn]] void exec_php(pid_t gate, int listener, int devnull, int report, int records, int board,
                           char* const* argv, char* const* envp) {
  const auto fail = [report]() {
    const int error = errno;
    (void)!::write(report, &error, sizeof(error));
    ::_exit(127);
  };
  // If the gate dies without stop(), php-cgi's parent gets SIGTERM, and its handler passes
  // SIGTERM on to its workers.
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) fail();
  if (::getppid() != gate) {
    errno = ESRCH;
    fail();
  }
  if (::setpgid(0, 0) != 0) fail();
  // dup2 clears close-on-exec on 0-2; every other descriptor of the gate is close-on-exec.
  if (::dup2(listener, STDIN_FILENO) < 0 || ::dup2(devnull, STDOUT_FILENO) < 0 ||
      ::dup2(devnull, STDERR_FILENO) < 0)
    fail();
  // A direct pool's record pipe as fd 3, its request board as fd 4 (the parent put them
  // and the report pipe above 9).
  if (records >= 0 && ::dup2(records, 3) != 3) fail();
  if (board >= 0 && ::dup2(board, 4) != 4) fail();
  // Signals as a fresh program expects them: none blocked, SIGPIPE (ignored by the gate)
  // at its default.
  sigset_t none;
  sigemptyset(&none);
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0 || ::sigaction(SIGPIPE, &default_action, nullptr) != 0)
    fail();
  ::execve(argv[0], argv, envp);
  fail();
  ::_exit(127);  // fail safe
}

}  // namespace

Expected<std::unique_ptr<PhpPool>, std::string> PhpPool::start(const PhpLaunch& launch,
                                                               std::chrono::milliseconds ready_within) {
  std::unique_ptr<PhpPool> pool(new PhpPool());

  // A directory only this user can enter (mkdtemp makes it 0700), so that only the gate,
  // running as the account user, reaches the workers' socket.
  std::array<char, 32> dir_template{};
  std::memcpy(dir_template.data(), "/tmp/suwrap-gate.XXXXXX", sizeof("/tmp/suwrap-gate.XXXXXX"));
  if (::mkdtemp(dir_template.data()) == nullptr) return unexpected("mkdtemp /tmp: " + errno_text(errno));
  pool->dir_ = dir_template.data();
  pool->socket_path_ = pool->dir_ + "/php.sock";

  auto address = address_of(pool->socket_path_);
  if (!address) return unexpected(address.error());
  Fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener) return unexpected("socket: " + errno_text(errno));
  if (::bind(listener.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(sockaddr_un)) != 0)
    return unexpected("bind " + pool->socket_path_ + ": " + errno_text(errno));
  if (::listen(listener.get(), SOMAXCONN) != 0) return unexpected("listen: " + errno_text(errno));

  if (auto started = pool->exec_child(launch, listener.get(), -1, -1); !started) return unexpected(started.error());
  listener.reset();  // the workers hold it; when they are gone, nobody accepts any more

  auto ready = pool->wait_ready(ready_within);
  if (!ready) return unexpected(ready.error());
  return pool;
}

Expected<std::unique_ptr<PhpPool>, std::string> PhpPool::start_direct(const PhpLaunch& launch, int listener,
                                                                      int records, int board) {
  std::unique_ptr<PhpPool> pool(new PhpPool());
  if (auto started = pool->exec_child(launch, listener, records, board); !started)
    return unexpected(started.error());
  return pool;
}

// Forks and execs php-cgi with `listener` as fd 0 (and `records` and `board`, if any, as fds
// 3 and 4); returns once the exec happened (or failed, with the child's errno).
Expected<bool, std::string> PhpPool::exec_child(const PhpLaunch& launch, int listener, int records, int board) {
  Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) return unexpected("/dev/null: " + errno_text(errno));
  // Above 9, so that the child's dup2 onto 3 neither hits them nor keeps close-on-exec.
  std::array<int, 2> report_pipe{};
  if (::pipe2(report_pipe.data(), O_CLOEXEC) != 0) return unexpected("pipe: " + errno_text(errno));
  Fd report_low_read(report_pipe[0]);
  Fd report_low_write(report_pipe[1]);
  Fd report_read(::fcntl(report_low_read.get(), F_DUPFD_CLOEXEC, 10));
  Fd report_write(::fcntl(report_low_write.get(), F_DUPFD_CLOEXEC, 10));
  Fd records_high(records >= 0 ? ::fcntl(records, F_DUPFD_CLOEXEC, 10) : -1);
  Fd board_high(board >= 0 ? ::fcntl(board, F_DUPFD_CLOEXEC, 10) : -1);
  if (!report_read || !report_write || (records >= 0 && !records_high) || (board >= 0 && !board_high))
    return unexpected("fcntl: " + errno_text(errno));
  report_low_read.reset();
  report_low_write.reset();

  // argv and the environment are laid out before the fork: the child only execs.
  std::vector<std::string> args{launch.program};
  args.insert(args.end(), launch.args.begin(), launch.args.end());
  std::vector<std::string> environment = launch.environment;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);

  const pid_t gate = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return unexpected("fork: " + errno_text(errno));
  if (pid == 0)
    exec_php(gate, listener, devnull.get(), report_write.get(), records_high.get(), board_high.get(), argv.data(),
             envp.data());
  pid_ = pid;
  report_write.reset();

  // The report pipe closes on a successful exec; an errno on it is a failed set-up.
  int child_error = 0;
  ssize_t got = 0;
  do {
    got = ::read(report_read.get(), &child_error, sizeof(child_error));
  } while (got < 0 && errno == EINTR);
  if (got > 0) {
    ::waitpid(pid, nullptr, 0);
    pid_ = -1;
    return unexpected("cannot execute " + launch.program + ": " + errno_text(child_error));
  }
  pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd_) return unexpected("pidfd_open: " + errno_text(errno));  // stop() still ends it, by pid
  return true;
}

PhpPool::~PhpPool() {
  stop();
}

Expected<Fd, std::string> PhpPool::connect() const {
  auto address = address_of(socket_path_);
  if (!address) return unexpected(address.error());
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return unexpected("socket: " + errno_text(errno));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*address), sizeof(sockaddr_un)) != 0) {
    if (errno == EAGAIN) return unexpected(std::string("php-cgi's listen queue is full"));
    return unexpected("connect " + socket_path_ + ": " + errno_text(errno));
  }
  return fd;
}

// Ready means a worker accepted a connection and answered on it as FastCGI: what the start
// channel's end promises to suwrap-cgid.
Expected<bool, std::string> PhpPool::wait_ready(std::chrono::milliseconds within) const {
  const auto deadline = clock::now() + within;
  auto connection = connect();
  if (!connection) return unexpected(connection.error());
  std::string query;
  const std::array<std::string_view, 1> names{fastcgi::max_conns_name};
  if (!fastcgi::append_get_values(query, names))
    return unexpected(std::string("cannot encode FCGI_GET_VALUES"));
  if (::send(connection->get(), query.data(), query.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(query.size()))
    return unexpected("php-cgi: " + errno_text(errno));

  fastcgi::ResponseParser parser;
  std::vector<fastcgi::ResponseEvent> events;
  std::array<char, 4096> buffer{};
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0)
      return unexpected("php-cgi did not answer within " + std::to_string(within.count()) + " ms");
    std::array<pollfd, 2> watched{{{connection->get(), POLLIN, 0}, {pidfd_.get(), POLLIN, 0}}};
    const int n = ::poll(watched.data(), watched.size(), static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return unexpected("poll: " + errno_text(errno));
    if ((watched[1].revents & POLLIN) != 0) return unexpected(std::string("php-cgi exited as it started"));
    if (watched[0].revents == 0) continue;
    const ssize_t got = ::recv(connection->get(), buffer.data(), buffer.size(), 0);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) return unexpected(std::string("php-cgi closed the connection without answering"));
    events.clear();
    parser.feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)), events);
    for (const auto& event : events) {
      if (std::holds_alternative<fastcgi::GetValuesResult>(event)) return true;
      if (const auto* error = std::get_if<fastcgi::ProtocolError>(&event))
        return unexpected("php-cgi's answer is not FastCGI: " + error->reason);
    }
  }
}

void PhpPool::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (pid_ > 0) {
    // Not yet reaped, so neither the pid nor the group id can belong to anyone else.
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  pidfd_.reset();
  if (!socket_path_.empty()) ::unlink(socket_path_.c_str());
  if (!dir_.empty()) ::rmdir(dir_.c_str());
}

}  // namespace suwrap::gate
