// SPDX-License-Identifier: Apache-2.0
// suwrap: the set-uid wrapper. Read top to bottom, it is the checklist of suwrap(8), CHECKS:
// a defensive start, checks 1-12 by the policy library, then checks 13-15 in the child
// that run.cpp forks (child.cpp). Every refusal is one call to refuse(), which does not return.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "log_sink.hpp"
#include "process_setup.hpp"
#include "response.hpp"
#include "run.hpp"
#include "suwrap/build_config.hpp"
#include "suwrap/policy/checks.hpp"
#include "suwrap/config/accounts.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/policy/environment.hpp"
#include "suwrap/policy/facts.hpp"
#include "suwrap/policy/log_record.hpp"
#include "suwrap/util/process.hpp"

namespace {

using namespace suwrap;
using namespace suwrap::policy;

constexpr int exit_configuration = 2;
constexpr int exit_internal = 3;

// Who asked, and the labels that tie this request's lines together.
struct Teller {
  std::string caller;
  RequestLabels labels;
};

// Writes the refusal to the client and its line to the log, and exits with the
// decision's status (1 deny, 2 configuration, 3 internal).
[[noreturn]] void refuse(const Decision& decision, const LoadedConfig& config, const LogSink& log,
                         const Teller& who) {
  // The log line first: a caller that kills suwrap as soon as the answer arrives must
  // not be able to keep the refusal out of the log.
  log.write(decision_line(record_of(decision, ::getpid(), who.caller, who.labels)));
  const bool errors_to_browser = config.has_value() && config->errors_to_browser;
  write_refusal(decision.http_status, errors_to_browser, decision.failed, decision.reason);
  std::exit(decision.exit_code());
}

// A refusal by a check suwrap makes after the pipeline allowed the request.
[[noreturn]] void refuse_allowed(const Decision& allowed, Check check, const std::string& reason,
                                 const LoadedConfig& config, const LogSink& log, const Teller& who) {
  Decision refused = allowed;
  record_check(refused, check, Outcome::fail, reason, Verdict::deny, 403);
  refuse(refused, config, log, who);
}

// A refusal that no check of the pipeline made: the process itself could not be set up.
[[noreturn]] void refuse_internal(const std::string& reason, const LoadedConfig& config, const LogSink& log,
                                  const Teller& who, std::optional<Check> check = std::nullopt,
                                  int exit_code = exit_internal) {
  Decision decision;
  decision.verdict = Verdict::error;
  decision.failed = check;
  decision.reason = reason;
  decision.http_status = 500;
  log.write(decision_line(record_of(decision, ::getpid(), who.caller, who.labels)));
  const bool errors_to_browser = config.has_value() && config->errors_to_browser;
  write_refusal(decision.http_status, errors_to_browser, check, reason);
  std::exit(exit_code);
}

// True when `path` names this very program: suwrap run as a web server's action handler,
// where the script is PATH_TRANSLATED (suwrap(8), CHECKS).
bool names_this_program(const std::string& path) {
  struct stat self {};
  struct stat named {};
  return ::stat("/proc/self/exe", &self) == 0 && ::stat(path.c_str(), &named) == 0 &&
         self.st_dev == named.st_dev && self.st_ino == named.st_ino;
}

Request request_from_environment(const std::vector<std::string>& environment, uid_t real_uid) {
  Request request;
  request.real_uid = real_uid;
  request.environment = environment;
  const auto value = [&](std::string_view name) -> std::optional<std::string> {
    if (auto v = find_variable(environment, name)) return std::string(*v);
    return std::nullopt;
  };
  request.script = value("SCRIPT_FILENAME");
  if (request.script && !request.script->empty() && request.script->front() == '/' &&
      names_this_program(*request.script))
    request.script = value("PATH_TRANSLATED");
  request.handler = value("SUWRAP_HANDLER");
  request.server_name = value("SERVER_NAME");
  return request;
}

// SUWRAP_ACCOUNTS_CHANGED: when suwrap-cgid last saw an account file change (CLOCK_REALTIME,
// nanoseconds). It can only make the account lookup refresh its index; anything that is not
// a plain number is no hint at all.
// A time after now is no hint: suwrap-cgid saw the change before it started suwrap.
std::int64_t accounts_changed_hint(const std::vector<std::string>& environment) {
  const auto hint = find_variable(environment, "SUWRAP_ACCOUNTS_CHANGED");
  if (!hint || hint->empty() || hint->front() < '0' || hint->front() > '9') return 0;
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(hint->data(), hint->data() + hint->size(), value);
  if (error != std::errc() || end != hint->data() + hint->size()) return 0;
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const std::int64_t now_ns = static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
  return value <= now_ns ? value : 0;
}

// `suwrap --pool` is given the pool's socket as fd 0 by suwrap-cgid: a listening unix
// stream socket. Nothing else is accepted, so a web server that passes query words as
// arguments (RFC 3875 §4.4) can never start a pool with a request's own stdin.
std::optional<std::string> pool_socket_problem() {
  int domain = 0;
  int type = 0;
  int listening = 0;
  socklen_t size = sizeof(int);
  if (::getsockopt(STDIN_FILENO, SOL_SOCKET, SO_DOMAIN, &domain, &size) != 0)
    return "--pool: fd 0 is not a socket";
  size = sizeof(int);
  if (::getsockopt(STDIN_FILENO, SOL_SOCKET, SO_TYPE, &type, &size) != 0 || domain != AF_UNIX || type != SOCK_STREAM)
    return "--pool: fd 0 is not a unix stream socket";
  size = sizeof(int);
  if (::getsockopt(STDIN_FILENO, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || listening != 1)
    return "--pool: fd 0 is not a listening socket";
  return std::nullopt;
}

// A handler's stdin is the request body. A listening (or unconnected) socket there would make
// php-cgi a FastCGI server (it takes fd 0 for one when getpeername() fails with ENOTCONN)
// that runs whatever its peer names, as the account, unchecked and unlogged. Judging the
// socket's state is not enough: the caller may keep a copy and change it after the judgement
// (connect(AF_UNSPEC) dissolves a TCP connection). So only what cannot change its kind is
// taken: a pipe or FIFO (suwrap-cgid, lighttpd), a regular file (a body spooled to disk), a
// character device (/dev/null), or a connected unix stream socket (Apache mod_cgid), which
// can neither be disconnected nor made to listen. Only `suwrap --pool` serves a listening
// socket, and only through the gate.
std::optional<std::string> stdin_listener_problem() {
  struct stat st {};
  if (::fstat(STDIN_FILENO, &st) != 0) return std::string("cannot tell what fd 0 is: ") + std::strerror(errno);
  if (S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)) return std::nullopt;
  if (!S_ISSOCK(st.st_mode))
    return "fd 0 is neither a pipe, a file, a character device nor a socket; a request's stdin must be its body";
  const auto option = [](int name) {
    int value = -1;
    socklen_t size = sizeof(value);
    return ::getsockopt(STDIN_FILENO, SOL_SOCKET, name, &value, &size) == 0 ? value : -1;
  };
  if (option(SO_DOMAIN) != AF_UNIX || option(SO_TYPE) != SOCK_STREAM)
    return "fd 0 is a socket other than a unix stream socket, which its holder could turn into a listening one; "
           "a request's stdin must be its body";
  if (option(SO_ACCEPTCONN) != 0) return "fd 0 is a listening socket; a request's stdin must be its body";
  sockaddr_storage peer{};
  socklen_t peer_size = sizeof(peer);
  if (::getpeername(STDIN_FILENO, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0)
    return "fd 0 is an unconnected socket; a request's stdin must be its body";
  return std::nullopt;
}

// `suwrap -V` (or --version): the version and compiled-in paths, only for root and the caller.
int print_version(const LoadedConfig& config, SystemFacts& facts) {
  const uid_t uid = ::getuid();
  bool allowed = uid == 0;
  if (config.has_value()) {
    if (auto caller = facts.user_by_name(config->caller)) allowed = allowed || caller->uid == uid;
  }
  if (!allowed) {
    std::fputs("suwrap: -V and --version are answered only to root and the configured caller\n", stderr);
    return 1;
  }
  std::printf("suwrap %s\nconfig: %s\ncaller group: %s\ngate: %s\n", suwrap::build::version,
              suwrap::build::config_path, suwrap::build::caller_group, suwrap::build::gate_path);
  return 0;
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  // A defensive start: before anything is trusted, a known set of descriptors, an empty
  // environment, default signals, our own umask and limits. What fails here is reported
  // once the log is open; nothing runs.
  if (!util::ensure_standard_fds()) return exit_internal;  // no stdout to answer on
  const bool closed_inherited = close_inherited_fds();
  const std::vector<std::string> environment = take_environment(envp);
  reset_signals();
  ::umask(077);
  const bool limits_set = set_own_limits();

  SystemFacts facts;
  const LoadedConfig config = load_config(suwrap::build::config_path);
  const uid_t real_uid = ::getuid();
  const auto caller_user = facts.user_by_uid(real_uid);
  const Teller who{caller_user ? caller_user->name : std::to_string(real_uid), request_labels(environment)};

  // Options exist only outside CGI: a web server may pass query words as arguments, and
  // nothing from a request ever becomes one.
  // The one option a request may come with is --pool, and only with a listening socket
  // as fd 0 (checked below): warm mode, started by suwrap-cgid.
  const bool cgi = find_variable(environment, "GATEWAY_INTERFACE").has_value();
  const bool pool = argc == 2 && std::string_view(argv[1]) == "--pool";
  if (!pool && !cgi && argc > 1) {
    const std::string_view option = argv[1];
    if ((option == "-V" || option == "--version") && argc == 2) return print_version(config, facts);
    std::fputs("usage: suwrap -V\n"
               "suwrap is run by a web server or suwrap-cgid, with the request in its environment "
               "(suwrap(8), CHECKS).\n"
               "suwrap --pool is run by suwrap-cgid for warm mode: checks 1-13 for the request's script, "
               "then the account's gate serves the listening socket given as fd 0.\n",
               stderr);
    return exit_configuration;
  }

  // The log, opened as root before any drop; without a configuration, syslog.
  LogSink log;
  std::string log_error;
  if (!config.has_value()) {
    log.open_syslog(log_error);  // best effort: no trusted destination is known
  } else if (!log.open(config->log, log_error)) {
    std::string ignored;
    log.open_syslog(ignored);
    refuse_internal(log_error + "; refusing to run unlogged", config, log, who, Check::config,
                    exit_configuration);
  }
  if (!closed_inherited) refuse_internal("cannot close inherited descriptors", config, log, who);
  if (!limits_set) refuse_internal("cannot set suwrap's own resource limits", config, log, who);

  // Checks 1-12: caller, config, request, docroot, path, target, user, owner, dir_perms,
  // file_perms, handler, vhost — the same code suwrap-policy check runs. The account is
  // found through accounts_dir's index, which suwrap keeps current as root (suwrap.toml(5),
  // ACCOUNT FILES); suwrap-cgid may say when it last saw an account file change, so that an
  // index older than that is refreshed rather than believed.
  const Request request = request_from_environment(environment, real_uid);
  AccountOptions account_options;
  account_options.write_index = ::geteuid() == 0;
  account_options.distrust_before_ns = accounts_changed_hint(environment);
  AccountList no_accounts({});
  std::optional<AccountDirectory> directory;
  if (config) directory.emplace(*config, account_options);
  AccountSource& accounts = directory ? static_cast<AccountSource&>(*directory) : no_accounts;
  const Decision decision = decide(request, config, accounts, facts);
  if (decision.verdict != Verdict::allow) refuse(decision, config, log, who);
  if (pool) {
    // Warm mode: only a php-fcgi handler has a pool, and only a listening socket is served.
    if (decision.handler == nullptr || decision.handler->kind != HandlerKind::php_fcgi) {
      refuse_allowed(decision, Check::handler,
                     "handler " + decision.handler_name + " is not of kind php-fcgi; only a php-fcgi handler has a pool",
                     config, log, who);
    }
    if (auto why = pool_socket_problem()) refuse_internal(*why, config, log, who, Check::request);
    // The socket was made for one user's pool (SUWRAP_POOL_UID, set by suwrap-cgid from the
    // owner it routed by): a script swapped since then must not start another user's
    // gate on it. It can only narrow what is allowed.
    const auto pool_uid = find_variable(environment, "SUWRAP_POOL_UID");
    const std::string decided_uid = std::to_string(decision.target->user.uid);
    if (!pool_uid || *pool_uid != decided_uid) {
      refuse_allowed(decision, Check::target,
                     pool_uid ? "the pool's socket is for uid " + std::string(*pool_uid) + ", but the script's user is " +
                                    decision.target->user.name + " (uid " + decided_uid + ")"
                              : "--pool needs SUWRAP_POOL_UID, the uid the pool's socket is for",
                     config, log, who);
    }
  } else if (auto why = stdin_listener_problem()) {
    refuse_allowed(decision, Check::request, *why, config, log, who);
  }

  // Allowed, and logged before anything runs: a run that cannot be logged does not happen.
  if (!log.write(decision_line(record_of(decision, ::getpid(), who.caller, who.labels))))
    refuse_internal("the decision could not be written to the log; refusing to run unlogged", config, log, who);

  // Checks 13-15 in the child (drop, identity, exec); the parent supervises.
  const int status = run_and_supervise({decision, *config, environment, log, who.caller, who.labels, pool});
  if (status < 0) refuse_internal("cannot start the supervised child", config, log, who);
  return status;
}
