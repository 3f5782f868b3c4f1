// SPDX-License-Identifier: Apache-2.0
#include "run.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>

#include "privileges.hpp"
#include "response.hpp"
#include "suwrap/build_config.hpp"
#include "suwrap/policy/environment.hpp"
#include "suwrap/policy/facts.hpp"
#include "suwrap/config/fd.hpp"
#include "suwrap/config/gate_record.hpp"
#include "suwrap/policy/log_record.hpp"

namespace suwrap {

namespace {

using policy::Check;
using policy::Verdict;

// After SIGTERM at the wall-clock limit, the group has this long before SIGKILL.
constexpr int kill_grace_ms = 2000;

// What the child tells the supervisor when check 13, 14 or 15 fails. One write, smaller
// than PIPE_BUF, so it arrives whole or not at all.
struct ChildFailure {
  int check = 0;
  int verdict = 0;
  char reason[400] = {};
};
static_assert(sizeof(ChildFailure) < PIPE_BUF);

std::int64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

rlim_t limit_value(std::uint64_t value, std::uint64_t unit) {
  if (value == 0) return RLIM_INFINITY;  // 0 means unlimited (suwrap.toml(5))
  return static_cast<rlim_t>(value * unit);
}

// Descriptors cannot be unlimited: the kernel's ceiling is fs.nr_open (1048576 by default).
constexpr rlim_t unlimited_descriptors = 1024 * 1024;

bool set_limit(int resource, rlim_t soft, rlim_t hard) {
  const rlimit lim{soft, hard};
  return ::setrlimit(resource, &lim) == 0;
}

// The account's limits. CPU gets a hard limit one second above the soft one: SIGXCPU
// first, then the kernel's SIGKILL. No core dumps: a dump of php-cgi holds request data.
bool apply_limits(const policy::Limits& l) {
  constexpr std::uint64_t mib = 1024 * 1024;
  const rlim_t cpu = limit_value(l.cpu_seconds, 1);
  return set_limit(RLIMIT_CPU, cpu, cpu == RLIM_INFINITY ? RLIM_INFINITY : cpu + 1) &&
         set_limit(RLIMIT_AS, limit_value(l.memory_mb, mib), limit_value(l.memory_mb, mib)) &&
         set_limit(RLIMIT_NPROC, limit_value(l.nproc, 1), limit_value(l.nproc, 1)) &&
         set_limit(RLIMIT_NOFILE, l.nofile == 0 ? unlimited_descriptors : limit_value(l.nofile, 1),
                   l.nofile == 0 ? unlimited_descriptors : limit_value(l.nofile, 1)) &&
         set_limit(RLIMIT_FSIZE, limit_value(l.fsize_mb, mib), limit_value(l.fsize_mb, mib)) &&
         set_limit(RLIMIT_CORE, 0, 0);
}

// --- the child -------------------------------------------------------------------------

[[noreturn]] void child_refuse(int report_fd, const RunContext& ctx, Check check, Verdict verdict,
                               int http_status, const std::string& reason) {
  ChildFailure failure;
  failure.check = static_cast<int>(check);
  failure.verdict = static_cast<int>(verdict);
  std::strncpy(failure.reason, reason.c_str(), sizeof(failure.reason) - 1);
  (void)!::write(report_fd, &failure, sizeof(failure));
  write_refusal(http_status, ctx.config.errors_to_browser, check, reason);
  ::_exit(127);
}

// The NULL-terminated array execve() takes, pointing into `strings` (which must outlive it).
std::vector<char*> exec_vector(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Signals at their defaults, none blocked: what the supervisor blocked stays its own.
// (Ignored dispositions survive execve; the two suwrap ignores for itself are reset.)
void default_signals() {
  ::signal(SIGPIPE, SIG_DFL);
  ::signal(SIGXFSZ, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Opens `path` the way the walk opens a script: from "/", one component at a time, never
// following a link. Every directory on the way and the object itself must be root's and
// writable by nobody else, or an account could replace what root installed (the gate that
// a pool runs, the PHP guard) for another account. `what` names it in messages.
std::optional<std::string> open_root_owned(const std::string& path, const char* what, policy::Fd& out,
                                           struct stat& found) {
  if (path.empty() || path.front() != '/') return std::string("the compiled-in ") + what + " path is not absolute: " + path;
  policy::Fd at(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::size_t start = 1;
  std::string walked;
  for (;;) {
    struct stat st {};
    if (!at || ::fstat(at.get(), &st) != 0)
      return "cannot open " + (walked.empty() ? std::string("/") : walked) + ": " + std::strerror(errno);
    const bool last = start > path.size();
    if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
      return (walked.empty() ? std::string("/") : walked) + " must be owned by root and writable only by root";
    if (last) {
      out = std::move(at);
      found = st;
      return std::nullopt;
    }
    if (!S_ISDIR(st.st_mode)) return walked + " is not a directory";
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string::npos ? path.size() : slash;
    const std::string component = path.substr(start, end - start);
    if (component.empty() || component == "." || component == "..")
      return std::string("the compiled-in ") + what + " path is not canonical: " + path;
    walked += "/" + component;
    at = policy::Fd(::openat(at.get(), component.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    start = end + 1;
  }
}

// The compiled-in gate, opened as root and checked before the drop.
std::optional<std::string> open_gate(policy::Fd& out) {
  struct stat st {};
  if (auto why = open_root_owned(build::gate_path, "gate", out, st)) return why;
  // Executable but not readable by the account: exec of a file the process cannot read
  // leaves it undumpable from the start, so the account's own processes cannot ptrace
  // the gate before it has set that itself.
  if (!S_ISREG(st.st_mode) || (st.st_mode & S_IXOTH) == 0 || (st.st_mode & (S_IRGRP | S_IROTH)) != 0 ||
      (st.st_mode & (S_ISUID | S_ISGID)) != 0)
    return std::string(build::gate_path) +
           " must be a regular file that others may execute but not read (mode 0711), without set-uid or set-gid";
  return std::nullopt;
}

// The PHP guard's directory (php/suwrap_guard.c): php-cgi reads every ini file in it, so the
// directory, its ini file and the library must all be root's alone. Checked as root before
// the drop, for every PHP handler and pool; nothing PHP runs without it.
constexpr const char* guard_library = "suwrap_guard.so";
constexpr const char* guard_ini = "suwrap-guard.ini";
std::optional<std::string> php_guard_problem() {
  policy::Fd dir;
  struct stat st {};
  if (auto why = open_root_owned(build::php_guard_dir, "PHP guard", dir, st)) return "the PHP guard: " + *why;
  if (!S_ISDIR(st.st_mode)) return std::string("the PHP guard: ") + build::php_guard_dir + " is not a directory";
  for (const char* name : {guard_library, guard_ini}) {
    struct stat file {};
    if (::fstatat(dir.get(), name, &file, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(file.st_mode) || file.st_uid != 0 ||
        (file.st_mode & (S_IWGRP | S_IWOTH)) != 0)
      return std::string("the PHP guard: ") + build::php_guard_dir + "/" + name +
             " must be a regular file owned by root and writable only by root";
  }
  return std::nullopt;
}

// A CGI whose "#!" line leads to php-cgi: php-cgi ignores the /dev/fd/N it is given, opens
// SCRIPT_FILENAME again by its name and reads ini files from the script's directory, all
// without the guard. The line is read as the kernel reads it (at most 256 bytes; the name
// ends at a blank, a newline or a NUL; the rest of the line is one argument), and followed
// where the kernel or the interpreter would go on: an interpreter that is itself a "#!"
// script (the kernel allows four levels), and the argument when it names a program —
// `#!/usr/bin/env php-cgi` (looked up in the handler's PATH), `#!/lib64/ld-linux… php-cgi`.
// A problem when any of them is php-cgi, or exists but cannot be read to tell; a line the
// kernel cannot use (no interpreter, one that does not exist) is left to the exec to fail.
// The first line of a file as the kernel reads it for "#!": at most 256 bytes, the rest
// NUL. Empty when it cannot be read.
using ShebangLine = std::array<char, 256>;
bool read_first_line(int fd, ShebangLine& line) { return ::pread(fd, line.data(), line.size(), 0) >= 0; }
bool is_shebang(const ShebangLine& line) { return line[0] == '#' && line[1] == '!'; }

std::optional<std::string> shebang_problem(const ShebangLine& line, const std::string& safe_path, int depth);

// The program `name` would run: a path as it is, a bare name through `safe_path`.
std::optional<std::string> program_path(const std::string& name, const std::string& safe_path) {
  if (name.find('/') != std::string::npos) return name;
  std::string_view rest = safe_path;
  while (!rest.empty()) {
    const std::size_t colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

// The program at `path`, reached from a "#!" line: php-cgi itself, or a "#!" script that
// leads to it.
std::optional<std::string> php_cgi_problem_at(const std::string& path, const std::string& safe_path, int depth) {
  const policy::Fd program(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!program.valid()) {
    const int error = errno;
    if (error == EACCES || error == EPERM)
      return path + " cannot be read to tell whether it is php-cgi: " + std::strerror(error);
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(program.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;  // exec fails
  ShebangLine line{};
  if (!read_first_line(program.get(), line)) return path + " cannot be read to tell whether it leads to php-cgi";
  if (is_shebang(line)) return shebang_problem(line, safe_path, depth + 1);
  const auto sapi = policy::php_sapi_of(program.get());
  if (!sapi) return path + " cannot be read to tell whether it is php-cgi";
  if (sapi->starts_with("cgi-fcgi"))
    return path + " is php-cgi, which would open the script again by its name and read ini files beside it; "
                  "PHP runs only through a handler of kind php or php-fcgi";
  return std::nullopt;
}

// A "#!" line (`line` starts with it) that leads to php-cgi: its interpreter, and the
// line's argument where it names a program.
std::optional<std::string> shebang_problem(const ShebangLine& line, const std::string& safe_path, int depth) {
  if (depth >= 5) return std::nullopt;  // deeper than the kernel goes: the exec fails
  const std::string_view text(line.data(), line.size());
  const std::size_t newline = text.find_first_of(std::string_view("\n\0", 2), 2);
  if (newline == std::string_view::npos) return std::nullopt;  // too long for the kernel
  const std::string_view first = text.substr(0, newline);
  const std::size_t start = first.find_first_not_of(" \t", 2);
  if (start == std::string_view::npos) return std::nullopt;
  const std::size_t end = std::min(first.find_first_of(" \t", start), first.size());
  const std::string interpreter(first.substr(start, end - start));
  if (auto why = php_cgi_problem_at(interpreter, safe_path, depth)) return why;
  // The rest of the line, one argument to the interpreter: a program it may run.
  std::string_view argument = first.substr(end);
  while (!argument.empty() && (argument.front() == ' ' || argument.front() == '\t')) argument.remove_prefix(1);
  while (!argument.empty() && (argument.back() == ' ' || argument.back() == '\t' || argument.back() == '\r'))
    argument.remove_suffix(1);
  const std::size_t word_end = std::min(argument.find_first_of(" \t"), argument.size());
  const std::string word(argument.substr(0, word_end));
  if (word.empty() || word.front() == '-') return std::nullopt;
  if (const auto path = program_path(word, safe_path)) return php_cgi_problem_at(*path, safe_path, depth);
  return std::nullopt;
}

// Warm mode's step 15: the gate runs as the account user with fd 0 the pool's listening
// socket (inherited from the caller, checked in main), fd 1 the start channel and fd 2 the
// pipe its refusal lines go to. Its arguments and environment come from the configuration
// and the decision alone.
[[noreturn]] void exec_gate(const RunContext& ctx, int report_fd, const policy::Fd& gate, int gate_log_fd) {
  const policy::Decision& d = ctx.decision;
  const policy::Target& target = *d.target;
  const policy::Limits& l = d.limits;
  std::vector<std::string> args{build::gate_path, "--handler", d.handler_name, "--phprc", d.phprc, "--limits",
                                std::to_string(l.cpu_seconds) + "," + std::to_string(l.memory_mb) + "," +
                                    std::to_string(l.nproc) + "," + std::to_string(l.nofile) + "," +
                                    std::to_string(l.fsize_mb)};
  // Account mode: a pool serves one account (its processes carry that account's limits).
  if (ctx.config.mode == policy::Mode::account && target.account) {
    args.emplace_back("--account");
    args.push_back(target.account->name);
  }
  std::vector<std::string> environment{"PATH=" + ctx.config.safe_path, "HOME=" + target.user.home,
                                       "USER=" + target.user.name, "LOGNAME=" + target.user.name};
  std::vector<char*> argv = exec_vector(args);
  std::vector<char*> envp = exec_vector(environment);

  ::umask(ctx.config.umask);
  if (::chdir("/") != 0)
    child_refuse(report_fd, ctx, Check::exec, Verdict::error, 500, std::string("cannot enter /: ") + std::strerror(errno));
  if (::dup2(gate_log_fd, STDERR_FILENO) != STDERR_FILENO)
    child_refuse(report_fd, ctx, Check::exec, Verdict::error, 500, "cannot give the gate its log pipe");
  ::close(gate_log_fd);
  default_signals();
  ::syscall(SYS_execveat, gate.get(), "", argv.data(), envp.data(), AT_EMPTY_PATH);
  child_refuse(report_fd, ctx, Check::exec, Verdict::error, 500,
               std::string("cannot execute ") + build::gate_path + ": " + std::strerror(errno));
}

[[noreturn]] void child_main(const RunContext& ctx, int report_fd, int gate_log_fd, pid_t supervisor) {
  const policy::Decision& d = ctx.decision;
  const policy::Target& target = *d.target;
  const policy::Handler& handler = *d.handler;

  // A session of its own: no controlling terminal, and a process group the supervisor
  // can signal as a whole.
  if (::setsid() < 0) child_refuse(report_fd, ctx, Check::drop, Verdict::error, 500, "setsid failed");

  // The account's limits are set while still root, before the drop: raising a hard limit
  // needs root, and the kernel judges RLIMIT_NPROC when setresuid() changes the user (it
  // marks the process, and the exec then fails with EAGAIN), so the account's nproc must
  // already be in force then, not the caller's.
  //
  // A pool's processes live for many requests, and RLIMIT_CPU is a lifetime total per
  // process: cpu_seconds would kill a busy worker after the sum of its requests. A worker
  // serves at most max_requests requests (php-cgi replaces it then), so a pool gets
  // cpu_seconds x max_requests: each request is bounded by the gate's wall limit, and
  // whatever escapes a request is still bounded (the supervisor kills escaped processes).
  policy::Limits limits = d.limits;
  if (ctx.pool && limits.cpu_seconds != 0) {
    constexpr std::uint64_t max_pool_cpu_seconds = 10ULL * 365 * 24 * 3600;
    const std::uint64_t per_request = std::min<std::uint64_t>(limits.cpu_seconds, max_pool_cpu_seconds);
    limits.cpu_seconds = std::min<std::uint64_t>(per_request * std::max(1U, handler.max_requests), max_pool_cpu_seconds);
  }
  if (!apply_limits(limits))
    child_refuse(report_fd, ctx, Check::drop, Verdict::error, 500,
                 std::string("setting the account's limits failed: ") + std::strerror(errno));

  // The gate is opened as root and checked before the drop, and executed through that
  // descriptor: what runs is the root-owned file that was checked.
  policy::Fd gate;
  if (ctx.pool) {
    if (auto why = open_gate(gate))
      child_refuse(report_fd, ctx, Check::exec, Verdict::error, 500, *why);
  }
  if (handler.is_php()) {
    if (auto why = php_guard_problem()) child_refuse(report_fd, ctx, Check::exec, Verdict::error, 500, *why);
  }
  // Root's log descriptor never reaches the account user, not even before the exec.
  ctx.log.close();

  // 13. drop: groups, gid, uid; proved by failing to regain root.
  if (auto why = drop_privileges(target.user.name, target.user.uid, target.group.gid))
    child_refuse(report_fd, ctx, Check::drop, Verdict::error, 500, *why);
  // The parent-death signal is cleared by a change of credentials, so it is set after the
  // drop: if the supervisor is killed, the handler does not run on unsupervised.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != supervisor)
    child_refuse(report_fd, ctx, Check::drop, Verdict::error, 500, "the supervisor went away");

  // 14. identity: the script opened as the target user is the file that was checked:
  // the same device and inode, and the same change time and owner (a file created in the
  // meantime may reuse a freed inode number, never its change time). This descriptor is
  // what a CGI is executed from (execveat), and what php-cgi's guard compares with.
  policy::Fd script(::open(d.physical_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  struct stat script_st {};
  if (!script || ::fstat(script.get(), &script_st) != 0)
    child_refuse(report_fd, ctx, Check::identity, Verdict::deny, 403,
                 d.physical_path + " cannot be opened as " + target.user.name + ": " + std::strerror(errno));
  {
    if (!policy::FileFacts::from(script_st).same_identity(d.script_facts))
      child_refuse(report_fd, ctx, Check::identity, Verdict::deny, 403,
                   d.physical_path + " changed after it was checked (device, inode, change time or owner differ)");
  }

  // The php.ini that PHPRC names must be readable by the account: php-cgi would otherwise
  // fall back, silently, to a php.ini in the script's own directory.
  if (handler.is_php()) {
    policy::Fd ini(::open(d.phprc.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!ini)
      child_refuse(report_fd, ctx, Check::handler, Verdict::deny, 403,
                   d.phprc + " cannot be read by " + target.user.name + ": " + std::strerror(errno));
  }

  if (ctx.pool) exec_gate(ctx, report_fd, gate, gate_log_fd);

  // 15. exec: environment from nothing, umask, working directory, then the handler.
  policy::HandlerEnvironment own;
  own.safe_path = ctx.config.safe_path;
  own.script_filename = d.physical_path;
  own.php = handler.is_php();
  own.phprc = d.phprc;
  own.home = target.user.home;
  own.user = target.user.name;
  std::vector<std::string> environment = policy::build_environment(ctx.request_environment, own);
  if (handler.is_php()) {
    // php-cgi loads the guard from root's directory (an environment variable: php-cgi
    // ignores its options for a query string that starts with '-'), after its own ini
    // directory, and the guard compiles only the file with this identity (php/suwrap_guard.c).
    environment.push_back(std::string("PHP_INI_SCAN_DIR=:") + build::php_guard_dir);
    environment.push_back(std::string(policy::script_identity_name) + "=" + d.script_facts.identity());
  }

  std::vector<std::string> args;
  if (handler.is_php()) {
    args.push_back(handler.path);
    args.insert(args.end(), handler.args.begin(), handler.args.end());
  } else {
    // kind cgi: the script runs itself, with no argument from the request.
    args.push_back(d.physical_path);
  }
  std::vector<char*> argv = exec_vector(args);
  std::vector<char*> envp = exec_vector(environment);

  ::umask(ctx.config.umask);
  if (::chdir(d.script_dir.c_str()) != 0)
    child_refuse(report_fd, ctx, Check::exec, Verdict::error, 500,
                 "cannot enter " + d.script_dir + ": " + std::strerror(errno));

  default_signals();
  if (handler.is_php()) {
    ::execve(handler.path.c_str(), argv.data(), envp.data());
    // Over the account's RLIMIT_NPROC, execve fails with EAGAIN.
    child_refuse(report_fd, ctx, Check::exec, Verdict::error, 500,
                 "cannot execute " + handler.path + ": " + std::strerror(errno));
  }

  // kind cgi: executed through the descriptor checked above, so that no rename between the
  // check and the exec can put another file in its place. A script with a "#!" line is run
  // by the kernel as `interpreter /dev/fd/N`, so for one (and only for one) that descriptor
  // stays open across the exec: the handler then has fds 0, 1, 2 and N, read-only on the
  // script itself. A binary keeps it close-on-exec and gets 0, 1, 2 only.
  ShebangLine line{};
  if (!read_first_line(script.get(), line))
    child_refuse(report_fd, ctx, Check::exec, Verdict::error, 500,
                 "cannot read " + d.physical_path + ": " + std::strerror(errno));
  if (is_shebang(line)) {
    // php-cgi as the interpreter ignores /dev/fd/N: it opens SCRIPT_FILENAME again by its
    // name and reads ini files from the script's directory, without the guard. PHP runs
    // only through a handler of kind php or php-fcgi.
    if (auto why = shebang_problem(line, ctx.config.safe_path, 0))
      child_refuse(report_fd, ctx, Check::exec, Verdict::deny, 403, d.physical_path + ": " + *why);
    if (::fcntl(script.get(), F_SETFD, 0) != 0 ||
        ::fcntl(script.get(), F_SETFL, ::fcntl(script.get(), F_GETFL) & ~O_NONBLOCK) != 0)
      child_refuse(report_fd, ctx, Check::exec, Verdict::error, 500,
                   "cannot keep " + d.physical_path + " open for its interpreter: " + std::strerror(errno));
  }
  ::syscall(SYS_execveat, script.get(), "", argv.data(), envp.data(), AT_EMPTY_PATH);
  // Over the account's RLIMIT_NPROC, execve fails with EAGAIN.
  child_refuse(report_fd, ctx, Check::exec, Verdict::error, 500,
               "cannot execute " + d.physical_path + ": " + std::strerror(errno));
}

// --- the supervisor ----------------------------------------------------------------------

// Sends a signal to the handler's process group; before the child's setsid() the group
// does not exist yet, so the child itself gets it.
void signal_group(pid_t leader, int sig) {
  if (::kill(-leader, sig) != 0 && errno == ESRCH) ::kill(leader, sig);
}

// The supervisor is a child subreaper: whatever the handler left behind (a background
// child, a double fork out of its session) is re-parented here. Kill and reap all of it,
// so nothing of the request outlives it.
void end_descendants() {
  const std::string children_file =
      "/proc/self/task/" + std::to_string(::getpid()) + "/children";
  for (int round = 0; round < 500; ++round) {
    int status = 0;
    pid_t reaped = 0;
    while ((reaped = ::waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
    }
    if (reaped < 0 && errno == ECHILD) return;
    std::ifstream children(children_file);
    pid_t pid = 0;
    while (children >> pid) ::kill(pid, SIGKILL);
    const timespec pause{0, 10 * 1000 * 1000};
    ::nanosleep(&pause, nullptr);
  }
}

// The gate's refusal lines, read by the supervisor: each complete line that is a record
// becomes a §6 decision line whose identity fields come from the pool's own decision. A
// line over the limit is dropped whole, up to its newline.
//
// The account controls what is written on that pipe (its gate runs as the account user),
// so the supervisor takes at most one bounded read per round of its loop — signals and the
// gate's end are never starved — and logs at most `records_per_second` lines (bursts up to
// `record_burst`). Lines over that are counted, and the count is logged once the rate
// allows it again, and when the pool ends.
class GateLogReader {
 public:
  explicit GateLogReader(const RunContext& ctx) : ctx_(ctx), last_refill_ms_(now_ms()) {}

  // One read of what is there; false once the pipe is at its end (or broken).
  bool read_once(int fd) {
    std::array<char, 16384> chunk{};
    ssize_t n = -1;
    do {
      n = ::read(fd, chunk.data(), chunk.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) return true;
    if (n <= 0) return false;
    take(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
    return true;
  }

  // Logs the count of lines the rate limit held back, if any.
  void flush_suppressed() {
    if (suppressed_ == 0) return;
    policy::DecisionRecord record = policy::record_of(ctx_.decision, ::getpid(), ctx_.caller, ctx_.labels);
    record.script.clear();
    record.request_id.clear();
    record.host.clear();
    record.verdict = Verdict::error;
    record.check.reset();
    record.reason = "gate: " + std::to_string(suppressed_) + " more refusals than the log takes (" +
                    std::to_string(records_per_second) + " a second) were counted, not logged";
    ctx_.log.reopen_if_rotated();
    ctx_.log.write(policy::decision_line(record));
    suppressed_ = 0;
  }

 private:
  static constexpr std::int64_t records_per_second = 100;
  static constexpr std::int64_t record_burst = 1000;

  void take(std::string_view bytes) {
    while (!bytes.empty()) {
      const std::size_t newline = bytes.find('\n');
      const std::string_view part = bytes.substr(0, newline);
      if (!discarding_) {
        if (line_.size() + part.size() + 1 > policy::max_gate_record_bytes) {
          discarding_ = true;
          line_.clear();
        } else {
          line_.append(part);
        }
      }
      if (newline == std::string_view::npos) return;
      if (!discarding_) write_record(line_);
      line_.clear();
      discarding_ = false;
      bytes.remove_prefix(newline + 1);
    }
  }

  bool take_token() {
    const std::int64_t now = now_ms();
    tokens_ = std::min(record_burst, tokens_ + (now - last_refill_ms_) * records_per_second / 1000);
    if ((now - last_refill_ms_) * records_per_second >= 1000) last_refill_ms_ = now;
    if (tokens_ <= 0) return false;
    --tokens_;
    return true;
  }

  void write_record(const std::string& line) {
    const auto refusal = policy::parse_gate_refusal(line);
    if (!refusal) return;  // not a record (a stray write of the account's own code): not logged
    if (!take_token()) {
      ++suppressed_;
      return;
    }
    flush_suppressed();
    policy::DecisionRecord record = policy::record_of(ctx_.decision, ::getpid(), ctx_.caller, ctx_.labels);
    // The request the gate refused, not the one that started the pool.
    record.request_id = refusal->request_id;
    record.host = refusal->host;
    record.script = refusal->script;
    record.verdict = refusal->verdict;
    record.check = refusal->check;
    record.reason = "gate: " + refusal->reason;
    ctx_.log.reopen_if_rotated();
    ctx_.log.write(policy::decision_line(record));
  }

  const RunContext& ctx_;
  std::string line_;
  bool discarding_ = false;
  std::int64_t tokens_ = record_burst;
  std::int64_t last_refill_ms_;
  std::uint64_t suppressed_ = 0;
};

// A pool lives long: a process that escaped a request (a double fork, a background job
// whose worker was replaced) is re-parented to the supervisor, the subreaper. Only the
// gate is the supervisor's own; everything else re-parented here is killed and reaped
// at once, so nothing outlives its request and no zombie piles up.
void end_escaped(pid_t gate) {
  const std::string children_file = "/proc/self/task/" + std::to_string(::getpid()) + "/children";
  std::ifstream children(children_file);
  pid_t pid = 0;
  while (children >> pid) {
    if (pid == gate) continue;
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, WNOHANG | __WALL);
  }
}

}  // namespace

int run_and_supervise(const RunContext& ctx) {
  const policy::Decision& d = ctx.decision;
  const pid_t supervisor = ::getpid();

  // The child's report channel: closed by a successful exec (O_CLOEXEC).
  std::array<int, 2> pipe_fds{};
  if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) return -1;
  policy::Fd report_read(pipe_fds[0]);
  policy::Fd report_write(pipe_fds[1]);
  // A pool's gate reports its refusals on a pipe of their own (its stderr).
  policy::Fd gate_log_read;
  policy::Fd gate_log_write;
  if (ctx.pool) {
    if (::pipe2(pipe_fds.data(), O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    gate_log_read = policy::Fd(pipe_fds[0]);
    gate_log_write = policy::Fd(pipe_fds[1]);
    // The gate writes blocking; only the supervisor's end is non-blocking.
    if (::fcntl(gate_log_write.get(), F_SETFL, 0) != 0) return -1;
  }

  // Block the signals the supervisor reads through a signalfd; the child unblocks them.
  sigset_t watched;
  sigemptyset(&watched);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&watched, sig);
  if (::sigprocmask(SIG_BLOCK, &watched, nullptr) != 0) return -1;
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return -1;

  const std::int64_t started = now_ms();
  const pid_t child = ::fork();
  if (child < 0) return -1;
  if (child == 0) {
    report_read.reset();
    gate_log_read.reset();
    child_main(ctx, report_write.get(), gate_log_write.get(), supervisor);
  }
  report_write.reset();
  gate_log_write.reset();
  GateLogReader gate_log(ctx);

  // The supervisor keeps no descriptor of the request: the client talks to the handler.
  const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd <= 2; ++fd) ::dup2(devnull, fd);
  if (devnull > 2) ::close(devnull);

  policy::Fd signals(::signalfd(-1, &watched, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals) signal_group(child, SIGKILL);  // cannot supervise: end it, and report below

  std::optional<ChildFailure> failure;
  bool timed_out = false;
  bool terminating = false;  // a SIGTERM was relayed
  bool killed = false;
  bool reaped = false;
  int status = 0;
  rusage usage{};
  const std::uint64_t wall = d.limits.wall_seconds;
  // At most ten years: a larger value is "unlimited" for any request, and cannot overflow.
  constexpr std::uint64_t max_wall_seconds = 10ULL * 365 * 24 * 3600;
  // A pool has no wall limit of its own (the gate applies it to each request), and a
  // SIGTERM lets its running requests finish: their wall limit, at most five minutes.
  std::int64_t deadline = wall == 0 || ctx.pool
                              ? -1
                              : started + static_cast<std::int64_t>(std::min(wall, max_wall_seconds)) * 1000;
  const std::int64_t term_grace_ms =
      ctx.pool ? static_cast<std::int64_t>(std::min<std::uint64_t>(wall == 0 ? 300 : wall, 300)) * 1000 + kill_grace_ms
               : kill_grace_ms;

  auto read_report = [&] {
    ChildFailure report;
    ssize_t n = 0;
    do {
      n = ::read(report_read.get(), &report, sizeof(report));
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof(report))) {
      report.reason[sizeof(report.reason) - 1] = '\0';
      failure = report;
    }
    if (n <= 0 || failure) report_read.reset();
  };

  while (!reaped) {
    std::array<pollfd, 3> fds{};
    fds[0] = {signals.get(), POLLIN, 0};
    fds[1] = {report_read ? report_read.get() : -1, POLLIN, 0};
    fds[2] = {gate_log_read ? gate_log_read.get() : -1, POLLIN, 0};
    int timeout = -1;
    if (deadline >= 0)
      timeout = static_cast<int>(std::clamp<std::int64_t>(deadline - now_ms(), 0, 60 * 60 * 1000));
    const int ready = ::poll(fds.data(), fds.size(), signals ? timeout : 100);
    if (ready < 0 && errno != EINTR) {
      signal_group(child, SIGKILL);
      killed = true;
    }
    if (ready == 0 && deadline >= 0 && now_ms() >= deadline) {
      // Past wall_seconds: SIGTERM to the whole group, then SIGKILL after the grace.
      if (!timed_out && !terminating) {
        timed_out = true;
        signal_group(child, SIGTERM);
        deadline = now_ms() + kill_grace_ms;
      } else if (!killed) {
        killed = true;
        signal_group(child, SIGKILL);
        deadline = -1;
      }
    }
    if ((fds[1].revents & (POLLIN | POLLHUP)) != 0) read_report();
    if ((fds[2].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !gate_log.read_once(gate_log_read.get()))
      gate_log_read.reset();
    if ((fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      bool child_changed = false;
      while (::read(signals.get(), &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
        const int sig = static_cast<int>(info.ssi_signo);
        if (sig == SIGCHLD) child_changed = true;
        if (sig != SIGCHLD) signal_group(child, sig);  // relay SIGTERM, SIGINT, SIGHUP
        // SIGTERM ends the request (the daemon's --timeout, a web server's own): a
        // group that ignores it is killed after the same grace as at wall_seconds.
        if (sig == SIGTERM && !terminating && !timed_out) {
          terminating = true;
          const std::int64_t by = now_ms() + term_grace_ms;
          if (deadline < 0 || by < deadline) deadline = by;
        }
      }
      if (ctx.pool && child_changed) end_escaped(child);
    }
    // When the handler is done, its group is killed while its zombie still holds the pid —
    // so the group id cannot have been reused by anyone — and only then is it reaped.
    // SIGCHLD also comes for re-parented orphans, which end_descendants() reaps.
    siginfo_t exited{};
    if (::waitid(P_PID, static_cast<id_t>(child), &exited, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        exited.si_pid == child) {
      ::kill(-child, SIGKILL);
      if (::wait4(child, &status, 0, &usage) == child) reaped = true;
    }
    if (!signals && !reaped) {
      ::wait4(child, &status, 0, &usage);
      reaped = true;
    }
  }
  if (report_read) read_report();
  end_descendants();
  // What the gate wrote last: a few bounded reads without blocking, so that a copy of the
  // pipe passed to a process outside the tree cannot keep the supervisor from ending.
  for (int round = 0; gate_log_read && round < 4; ++round)
    if (!gate_log.read_once(gate_log_read.get())) gate_log_read.reset();
  if (ctx.pool) {
    gate_log.flush_suppressed();
    ctx.log.reopen_if_rotated();
  }

  policy::ExitRecord exit_record = policy::exit_record_of(d, supervisor, ctx.labels);
  if (WIFEXITED(status)) exit_record.status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) exit_record.signal = WTERMSIG(status);
  exit_record.wall_ms = static_cast<std::uint64_t>(now_ms() - started);
  const auto ms = [](const timeval& tv) {
    return static_cast<std::uint64_t>(tv.tv_sec) * 1000 + static_cast<std::uint64_t>(tv.tv_usec) / 1000;
  };
  exit_record.cpu_ms = ms(usage.ru_utime) + ms(usage.ru_stime);
  exit_record.maxrss_kb = static_cast<std::uint64_t>(usage.ru_maxrss);
  exit_record.timed_out = timed_out;

  int exit_code = 0;
  if (failure) {
    // Check 13, 14 or 15 failed in the child: a second decision line names it.
    policy::DecisionRecord record = policy::record_of(d, supervisor, ctx.caller, ctx.labels);
    record.verdict = static_cast<Verdict>(failure->verdict);
    record.check = static_cast<Check>(failure->check);
    record.reason = failure->reason;
    ctx.log.write(policy::decision_line(record));
    exit_code = record.verdict == Verdict::deny ? 1 : 3;
  } else if (!signals) {
    exit_code = 3;
  }
  ctx.log.write(policy::exit_line(exit_record));
  return exit_code;
}

}  // namespace suwrap
