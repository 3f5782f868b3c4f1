// SPDX-License-Identifier: Apache-2.0
#include "pool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <vector>

#include "child.hpp"
#include "clock.hpp"
#include "root_owned.hpp"
#include "suwrap/build_config.hpp"
#include "suwrap/config/children.hpp"
#include "suwrap/config/gate_record.hpp"
#include "suwrap/policy/log_record.hpp"

namespace suwrap {

using policy::Check;
using policy::Verdict;

// --- the child: the gate's exec ------------------------------------------------------------

std::optional<std::string> open_gate(util::Fd& out) {
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

[[noreturn]] void exec_gate(const RunContext& ctx, int report_fd, const util::Fd& gate, int gate_log_fd) {
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
  // A direct pool (the handler's `direct`, root's configuration): the account's php-cgi
  // takes the pool's connections itself and checks each request; the gate supervises.
  if (d.handler->direct) args.emplace_back("--direct");
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

// --- the supervisor: the gate's refusal lines ------------------------------------------------

GateLogReader::GateLogReader(const RunContext& ctx) : ctx_(ctx), last_refill_ms_(now_ms()) {}

bool GateLogReader::read_once(int fd) {
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

void GateLogReader::flush_suppressed() {
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

void GateLogReader::take(std::string_view bytes) {
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

bool GateLogReader::take_token() {
  const std::int64_t now = now_ms();
  tokens_ = std::min(record_burst, tokens_ + (now - last_refill_ms_) * records_per_second / 1000);
  if ((now - last_refill_ms_) * records_per_second >= 1000) last_refill_ms_ = now;
  if (tokens_ <= 0) return false;
  --tokens_;
  return true;
}

void GateLogReader::write_record(const std::string& line) {
  const auto refusal = policy::parse_gate_refusal(line);
  if (!refusal) return;  // not a record (a stray write of the account's own code): not logged
  if (!take_token()) {
    ++suppressed_;
    return;
  }
  flush_suppressed();
  // Identity from the pool's own decision; the refused request's id, host, script and reason
  // as the gate reports them (the account's word, like everything on this pipe).
  policy::DecisionRecord record = policy::record_of(ctx_.decision, ::getpid(), ctx_.caller, ctx_.labels);
  record.request_id = refusal->request_id;
  record.host = refusal->host;
  record.script = refusal->script;
  record.verdict = refusal->verdict;
  record.check = refusal->check;
  record.reason = "gate: " + refusal->reason;
  ctx_.log.reopen_if_rotated();
  ctx_.log.write(policy::decision_line(record));
}

// --- the supervisor: escaped processes --------------------------------------------------------

void end_escaped(pid_t gate) {
  for (const pid_t pid : policy::children_of("self", ::getpid())) {
    if (pid == gate) continue;
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, WNOHANG | __WALL);
  }
}

}  // namespace suwrap
