// SPDX-License-Identifier: Apache-2.0
// suwrap-gate: warm mode's gate of one account (docs/warm-mode.md). It is started
// only by `suwrap --pool`, which checked the first request, dropped to the account user and
// passed the pool's listening socket as fd 0, the start channel as fd 1 and a log pipe as
// fd 2. Read top to bottom, main() is its start-up as a checklist; a step that fails is one
// call to fail_start(), which does not return.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <optional>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include "suwrap/config/watch.hpp"
#include "php_pool.hpp"
#include "pool_rule.hpp"
#include "records.hpp"
#include "direct.hpp"
#include "server.hpp"
#include "suwrap/build_config.hpp"
#include "suwrap/fastcgi/server/completion.hpp"
#include "suwrap/util/fd.hpp"
#include "suwrap/policy/log_record.hpp"
#include "suwrap/util/process.hpp"

namespace {

using namespace suwrap;
using policy::Check;

constexpr int exit_start_failed = 3;
constexpr std::chrono::seconds php_ready_within{10};

constexpr const char* description =
    "suwrap-gate: the warm-mode gate of one hosting account, part of suwrap.\n"
    "\n"
    "It runs as the account's user, takes FastCGI requests from suwrap-cgid on the pool's socket,\n"
    "checks every request with the same policy code as suwrap (docroot, the walk by descriptor,\n"
    "owner, permissions, handler), and passes the allowed ones to the account's php-cgi workers,\n"
    "which it starts and ends. Refusals are written as records on its standard error.\n"
    "\n"
    "It is started only by `suwrap --pool`, which checks the first request and drops to the\n"
    "account user, with the pool's listening socket as fd 0, the start channel as fd 1 and a log\n"
    "pipe as fd 2. Run by hand without them, it refuses to start.";

// The start failed. suwrap-cgid reads a CGI 500 on the start channel and passes it to the
// client; the supervisor reads the record. Run by hand at a terminal: a plain sentence.
[[noreturn]] void fail_start(Check check, const std::string& reason) {
  if (::isatty(STDERR_FILENO) == 1) {
    (void)gate::write_all(STDERR_FILENO, "suwrap-gate: " + reason + "\n");
  } else {
    gate::write_record({policy::Verdict::error, check, 500, "", reason});
  }
  if (::isatty(STDOUT_FILENO) != 1)
    (void)gate::write_all(STDOUT_FILENO, policy::cgi_refusal(500, false, check, reason));
  std::exit(exit_start_failed);
}

// True if a tracer is attached (TracerPid in /proc/self/status): one that attached before
// PR_SET_DUMPABLE took effect keeps its hold, so a traced gate does not start.
bool traced() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("TracerPid:", 0) == 0) return std::stol(line.substr(10)) != 0;
  return true;  // cannot tell: fail closed
}

bool is_listening_unix_stream_socket(int fd) {
  const auto option = [fd](int name) {
    int value = -1;
    socklen_t length = sizeof(value);
    return ::getsockopt(fd, SOL_SOCKET, name, &value, &length) == 0 ? value : -1;
  };
  return option(SO_ACCEPTCONN) == 1 && option(SO_DOMAIN) == AF_UNIX && option(SO_TYPE) == SOCK_STREAM;
}

int start_and_serve(int argc, char** argv);

}  // namespace

// Exceptions end here, once: one that escapes the start is a failed start (a record, and
// the 500 on the start channel); one that escapes the serving ends the pool (a record).
int main(int argc, char** argv) {
  try {
    return start_and_serve(argc, argv);
  } catch (...) {
    fail_start(Check::exec, "the gate failed: " + fastcgi::describe(std::current_exception()));
  }
}

namespace {

int start_and_serve(int argc, char** argv) {
  // 1. Descriptors 0-2 exist, so that nothing we open lands on one of them.
  //    A closed one would be handed out by the next open(): /dev/null takes its place.
  (void)util::ensure_standard_fds();

  // 2. Arguments: built by suwrap from the configuration only.
  std::string handler_name;
  std::string phprc;
  std::optional<std::string> account;
  std::string limits_text;
  CLI::App app{description};
  app.add_option("--handler", handler_name, "The php-fcgi handler this pool serves")->required();
  app.add_option("--phprc", phprc, "The php.ini php-cgi is started with (PHPRC)")->required();
  app.add_option("--account", account, "Account mode: the account this pool serves");
  bool direct = false;
  app.add_flag("--direct", direct,
               "A direct pool: php-cgi's workers take the pool's connections themselves and check every request "
               "with the PHP guard; the gate supervises them");
  app.set_version_flag("-V,--version", std::string("suwrap-gate ") + suwrap::build::version);
  app.add_option("--limits", limits_text,
                 "The limits the pool's processes were started with: cpu_seconds,memory_mb,nproc,nofile,fsize_mb")
      ->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help or --version, on stdout
  } catch (const CLI::ParseError& e) {
    fail_start(Check::request, std::string("bad arguments: ") + e.what());
  }

  // 3. fd 0 is the pool's listening socket.
  if (!is_listening_unix_stream_socket(STDIN_FILENO))
    fail_start(Check::request,
               "fd 0 is not a listening unix stream socket: suwrap-gate is started only by `suwrap --pool`, "
               "which passes the pool's socket there");

  // 4. A known start: nothing inherited beyond 0-2, no signal blocked, a peer that goes
  // away cannot kill us with SIGPIPE, and no directory held.
  if (::close_range(3, ~0U, 0) != 0)
    fail_start(Check::exec, std::string("close_range: ") + std::strerror(errno));
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  if (::chdir("/") != 0) fail_start(Check::exec, std::string("chdir /: ") + std::strerror(errno));

  // 5. The account user, never root, never set-uid: suwrap dropped to it before the exec.
  if (::getuid() == 0 || ::geteuid() != ::getuid() || ::getegid() != ::getgid())
    fail_start(Check::user, "suwrap-gate runs as an account user, never as root or set-uid");

  // The account's own PHP runs as the same user: without this it could ptrace the gate
  // and speak for it on the log pipe and the pool's socket.
  if (::prctl(PR_SET_DUMPABLE, 0) != 0)
    fail_start(Check::exec, std::string("PR_SET_DUMPABLE: ") + std::strerror(errno));
  if (traced()) fail_start(Check::exec, "suwrap-gate is being traced; it does not start under a tracer");

  // 6. The configuration (it holds no secret; the account user may read it) and the handler.
  policy::CurrentConfig config(suwrap::build::config_path);
  const auto snapshot = config.get();
  const policy::LoadedConfig& loaded = snapshot->config;
  if (!loaded) fail_start(Check::config, loaded.error().to_string());
  const policy::Handler* handler = loaded->handler(handler_name);
  if (handler == nullptr || handler->kind != policy::HandlerKind::php_fcgi)
    fail_start(Check::handler,
               "--handler " + handler_name + " is not a php-fcgi handler of the configuration");

  // 7. Who we are, for php-cgi's HOME, USER and LOGNAME.
  policy::SystemFacts facts;
  const auto user = facts.user_by_uid(::getuid());
  if (!user) fail_start(Check::user, "uid " + std::to_string(::getuid()) + " has no user entry");

  // 8. PHPRC names a file we can read: php-cgi would otherwise fall back, silently, to a
  // php.ini in the script's own directory.
  if (phprc.empty() || phprc.front() != '/') fail_start(Check::handler, "--phprc must be an absolute path");
  if (util::Fd ini(::open(phprc.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)); !ini)
    fail_start(Check::handler, phprc + " cannot be read by " + user->name + ": " + std::strerror(errno));

  // 9. php-cgi's parent and workers, with an environment built from nothing. The gate is a
  // child subreaper: whatever escapes a request is re-parented to it, and ended.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
    fail_start(Check::exec, std::string("PR_SET_CHILD_SUBREAPER: ") + std::strerror(errno));
  gate::PhpLaunch launch;
  launch.program = handler->path;
  launch.args = handler->args;
  launch.environment = {"PHPRC=" + phprc,
                        "PATH=" + loaded->safe_path,
                        "PHP_FCGI_CHILDREN=" + std::to_string(handler->workers),
                        "PHP_FCGI_MAX_REQUESTS=" + std::to_string(handler->max_requests),
                        "HOME=" + user->home,
                        "USER=" + user->name,
                        "LOGNAME=" + user->name,
                        // The PHP guard (php/suwrap_guard.c), from root's directory, which
                        // suwrap --pool checked before it started this gate.
                        std::string("PHP_INI_SCAN_DIR=:") + suwrap::build::php_guard_dir};
  if (direct != handler->direct)
    fail_start(Check::handler, "--direct does not match handler " + handler_name + "'s `direct` in the configuration");
  if (direct) {
    // The pool the workers check against, read once by the guard in php-cgi's parent; the
    // supervisor's pipe (our stderr) for their records, as fd 3.
    if (!gate::limits_from_argument(limits_text))
      fail_start(Check::request, "--limits " + limits_text + " is not five whole numbers");
    launch.environment.push_back("SUWRAP_POOL_HANDLER=" + handler_name);
    launch.environment.push_back("SUWRAP_POOL_LIMITS=" + limits_text);
    if (account) launch.environment.push_back("SUWRAP_POOL_ACCOUNT=" + *account);
    launch.environment.push_back("SUWRAP_POOL_RECORDS=3");
    // Where the workers mark when a request starts and ends (the board): the gate enforces
    // wall_seconds and idle_seconds from there, outside the account's processes.
    launch.environment.push_back("SUWRAP_POOL_BOARD=4");
    auto board = gate::Board::create(gate::Board::slots_for(handler->workers));
    if (!board) fail_start(Check::exec, "the pool's board: " + board.error());
    auto php = gate::PhpPool::start_direct(launch, STDIN_FILENO, STDERR_FILENO, board->fd());
    if (!php) fail_start(Check::exec, "php-cgi did not start: " + php.error());
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null < 0 || ::dup2(null, STDOUT_FILENO) < 0) {
      (*php)->stop();
      fail_start(Check::exec, std::string("cannot close the start channel: ") + std::strerror(errno));
    }
    ::close(null);
    gate::DirectOptions options;
    options.idle_after = std::chrono::seconds(handler->idle_seconds);
    options.max_lifetime = std::chrono::seconds(handler->max_lifetime_seconds);
    return gate::supervise_direct(**php, *board, options);
  }
  auto php = gate::PhpPool::start(launch, php_ready_within);
  if (!php) fail_start(Check::exec, "php-cgi did not start: " + php.error());

  gate::PoolIdentity pool;
  pool.uid = ::getuid();
  pool.user = user->name;
  pool.handler = handler_name;
  pool.phprc = phprc;
  pool.account = account;
  const auto limits = gate::limits_from_argument(limits_text);
  if (!limits) fail_start(Check::request, "--limits " + limits_text + " is not five whole numbers");
  pool.limits = *limits;
  // The groups suwrap gave this process (initgroups): the pool's processes keep them.
  pool.gid = ::getgid();
  pool.groups.resize(static_cast<std::size_t>(std::max(0, ::getgroups(0, nullptr))));
  if (::getgroups(static_cast<int>(pool.groups.size()), pool.groups.data()) != static_cast<int>(pool.groups.size()))
    fail_start(Check::drop, std::string("getgroups: ") + std::strerror(errno));
  std::sort(pool.groups.begin(), pool.groups.end());
  pool.groups.erase(std::unique(pool.groups.begin(), pool.groups.end()), pool.groups.end());
  pool = gate::with_handler_settings(std::move(pool), *handler);

  try {
    asio::io_context io(1);
    gate::Server server(io, STDIN_FILENO, pool, std::chrono::seconds(handler->idle_seconds), config, **php);

    // 10. Ready: the start channel ends with zero bytes.
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null < 0 || ::dup2(null, STDOUT_FILENO) < 0) {
      (*php)->stop();
      fail_start(Check::exec, std::string("cannot close the start channel: ") + std::strerror(errno));
    }
    ::close(null);

    // 11. Serve until idle, SIGTERM, or the end of php-cgi. SIGHUP reads the configuration again.
    asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
    std::function<void(const std::error_code&, int)> on_signal = [&](const std::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        server.reload_config();
        signals.async_wait(on_signal);
        return;
      }
      server.stop();
    };
    signals.async_wait(on_signal);
    server.start();
    io.run();
    (*php)->stop();
    return server.exit_status();
  } catch (...) {
    (*php)->stop();
    gate::write_record({policy::Verdict::error, Check::exec, 500, "",
                        "the gate failed: " + fastcgi::describe(std::current_exception())});
    return exit_start_failed;
  }
}

}  // namespace
