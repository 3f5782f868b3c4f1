// SPDX-License-Identifier: Apache-2.0
// The child: read top to bottom, it is the rest of the checklist of suwrap(8), CHECKS —
// the account's limits and root's files while still root, then 13 drop, 14 identity,
// 15 exec. Every refusal is one call to child_refuse(), which does not return.
#include "child.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "pool.hpp"
#include "privileges.hpp"
#include "response.hpp"
#include "root_owned.hpp"
#include "suwrap/build_config.hpp"
#include "suwrap/util/fd.hpp"
#include "suwrap/util/trusted_open.hpp"
#include "suwrap/policy/environment.hpp"
#include "suwrap/policy/facts.hpp"

namespace suwrap {

namespace {

using policy::Check;
using policy::Verdict;

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

}  // namespace

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

namespace {

// The PHP guard's directory (php/suwrap_guard.c): php-cgi reads every ini file in it, so the
// directory, its ini file and the library must all be root's alone. Checked as root before
// the drop, for every PHP handler and pool; nothing PHP runs without it.
constexpr const char* guard_library = "suwrap_guard.so";
constexpr const char* guard_ini = "suwrap-guard.ini";
std::optional<std::string> php_guard_problem() {
  util::Fd dir;
  struct stat st {};
  if (auto why = open_root_owned(build::php_guard_dir, "PHP guard", dir, st)) return "the PHP guard: " + *why;
  if (!S_ISDIR(st.st_mode)) return std::string("the PHP guard: ") + build::php_guard_dir + " is not a directory";
  for (const char* name : {guard_library, guard_ini}) {
    if (!util::open_trusted_in(dir.get(), build::php_guard_dir, name,
                               {.kind = util::TrustedOpenOptions::Kind::regular_file}))
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
  const util::Fd program(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
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

}  // namespace

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
  util::Fd gate;
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
  util::Fd script(::open(d.physical_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
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
    util::Fd ini(::open(d.phprc.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
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

}  // namespace suwrap
