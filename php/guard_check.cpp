// SPDX-License-Identifier: Apache-2.0
// The per-request check inside a php-cgi worker (guard_check.h): what the gate's judge()
// does, made by the worker that will run the request, with the same code — decide() for
// checks 1-12, the pool rule for "may it run here", build_environment() for what PHP sees.
//
// The pool is read once, in php-cgi's parent, before any request: from the environment its
// starter gave it (SUWRAP_POOL_HANDLER, SUWRAP_POOL_LIMITS, SUWRAP_POOL_ACCOUNT, PHPRC) and
// from the process itself (uid, gid, groups). The account's code never ran in that process,
// so nothing it can do (putenv() in a worker) changes what a worker checks against.
// What watches the configuration and /etc is made in each worker after the fork: inotify
// instances shared between processes would hand each event to one of them only.
#include "guard_check.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "board.hpp"
#include "name_cache.hpp"
#include "pool_rule.hpp"
#include "walk_cache.hpp"
#include "suwrap/build_config.hpp"
#include "suwrap/config/gate_record.hpp"
#include "suwrap/config/names.hpp"
#include "suwrap/config/watch.hpp"
#include "suwrap/policy/checks.hpp"
#include "suwrap/policy/environment.hpp"
#include "suwrap/policy/facts.hpp"

namespace {

using namespace suwrap;
using policy::Check;
using policy::Verdict;

// Fixed in the parent, before any request.
struct Pool {
  bool wanted = false;
  std::string problem;  // non-empty: every request is refused with it
  gate::PoolIdentity identity;
  int records = -1;  // the pool's record pipe (SUWRAP_POOL_RECORDS), or -1: PHP's error log only
  std::optional<gate::Board> board;  // the gate's board (SUWRAP_POOL_BOARD), or none: nobody enforces wall_seconds
};
Pool& pool() {
  static Pool p;
  return p;
}

// This process's id, asked of the kernel once per process rather than at every request:
// glibc keeps no copy of it, and a system call is dear here. A child that fork() makes asks
// again (the handler runs in it before fork() returns there): a process forked from a
// worker (pcntl_fork()) is not the worker, and must not mark the worker's slot.
pid_t known_pid = 0;
void forget_pid() {
  known_pid = 0;
}
pid_t current_pid() {
  static const bool registered = ::pthread_atfork(nullptr, nullptr, forget_pid) == 0;
  if (!registered) return ::getpid();  // no handler: nothing may be kept
  if (known_pid == 0) known_pid = ::getpid();
  return known_pid;
}

// Made in each worker, on its first request.
struct Worker {
  // The pool's variables were read in the parent: the programs PHP starts do not get them.
  Worker() {
    for (const char* name : {"SUWRAP_POOL_HANDLER", "SUWRAP_POOL_LIMITS", "SUWRAP_POOL_ACCOUNT", "SUWRAP_POOL_RECORDS"})
      ::unsetenv(name);
  }
  pid_t pid = current_pid();
  policy::CurrentConfig config{suwrap::build::config_path};
  policy::SystemFacts system;
  // The script's walk and the handler's stat()s, until inotify reports a change on them.
  gate::WalkCache walks{system};
  gate::NameCache facts{walks};
  std::shared_ptr<policy::ConfigSnapshot> caller_config;  // caller_uid was read from it
  std::optional<uid_t> caller_uid;
  std::string physical_path;
  std::vector<std::string> environment;  // what the allowed request's PHP sees
  std::uint64_t wall_seconds = 0;         // the allowed request's
  std::string wall_record;                // written if it runs past them

  // Before a request's check: one poll() of every watch the check would read (the
  // configuration's three, /etc's, the walks'). Each with nothing to read is told so and
  // reads nothing for this request; each with an event, or that cannot be polled, or all
  // of them when the poll fails, reads for itself as it would without this. An event that
  // comes after the poll waits in its queue for the next request's.
  void look_for_changes() {
    std::vector<int> fds;
    config.descriptors(fds);
    const std::size_t config_fds = fds.size();
    fds.push_back(facts.descriptor());
    fds.push_back(walks.descriptor());
    std::vector<pollfd> polled;
    for (const int fd : fds) polled.push_back(pollfd{fd, POLLIN, 0});  // poll() passes over -1
    const bool answered = ::poll(polled.data(), polled.size(), 0) >= 0;
    const auto quiet = [&](std::size_t from, std::size_t to) {
      for (std::size_t i = from; i < to; ++i)
        if (!answered || polled[i].fd < 0 || polled[i].revents != 0) return false;
      return true;
    };
    config.set_quiet(quiet(0, config_fds));
    facts.set_quiet(quiet(config_fds, config_fds + 1));
    walks.set_quiet(quiet(config_fds + 1, config_fds + 2));
  }
};
// The board's slot this process held for its last request (claim() checks it is still its).
std::optional<std::size_t>& board_slot() {
  static std::optional<std::size_t> slot;
  return slot;
}

// At a worker's exit its slot is free at once (not a second later, when the gate sees it
// gone): php-cgi replaces a worker after max_requests.
void release_board_slot() {
  auto& board = pool().board;
  if (board && board_slot()) board->release(*board_slot(), ::getpid());
}

// The allowed request marked started on the board, in the slot this process holds (taken
// now if it holds none, or lost it): false when no slot can be had. True without a board.
bool mark_started(std::uint64_t wall_seconds, std::string_view record) {
  auto& board = pool().board;
  if (!board) return true;
  if (!record.empty() && record.back() == '\n') record.remove_suffix(1);
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool first = !board_slot();
    board_slot() = board->claim(current_pid(), attempt == 0 ? board_slot() : std::nullopt);
    if (!board_slot()) return false;
    if (first) std::atexit(release_board_slot);
    // False only when the slot is no longer this worker's (something wrote the board).
    if (board->start(*board_slot(), current_pid(), now_ns, wall_seconds, record)) return true;
  }
  return false;
}

std::unique_ptr<Worker>& worker_slot() {
  static std::unique_ptr<Worker> w;
  return w;
}

// This process's Worker, for the check of a request (its only caller), with its watches
// looked at once for the whole check.
Worker& worker() {
  auto& slot = worker_slot();
  if (!slot || slot->pid != current_pid()) {
    // Forked from a process that had one (php-cgi's parent never checks): its descriptors
    // belong to the other process's watch; this one makes its own.
    (void)slot.release();
    slot = std::make_unique<Worker>();
  }
  slot->look_for_changes();
  return *slot;
}

void copy(char* to, std::size_t size, std::string_view text) {
  const std::size_t n = std::min(size - 1, text.size());
  std::memcpy(to, text.data(), n);
  to[n] = '\0';
}

void refusal(suwrap_check_outcome* out, Verdict verdict, Check check, int status, std::string_view reason) {
  out->allowed = 0;
  out->http_status = status;
  copy(out->verdict, sizeof(out->verdict), policy::verdict_name(verdict));
  copy(out->check, sizeof(out->check), policy::check_name(check));
  copy(out->reason, sizeof(out->reason), reason);
}

std::optional<std::string_view> find(std::span<const std::string> environment, std::string_view name) {
  return policy::find_variable(environment, name);
}

std::optional<std::string> owned(std::optional<std::string_view> v) {
  return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
}

void check(const char* const* raw, std::size_t count, suwrap_check_outcome* out) {
  const Pool& p = pool();
  if (!p.problem.empty()) return refusal(out, Verdict::error, Check::exec, 500, p.problem);
  Worker& w = worker();
  w.environment.clear();
  w.physical_path.clear();

  const auto config = w.config.get();
  const gate::NameCache::Question question(w.facts);
  policy::Request request;
  request.environment.reserve(count);
  for (std::size_t i = 0; i < count; ++i) request.environment.emplace_back(raw[i]);
  // The caller check is suwrap's (it started this pool for the caller); the web server's
  // connection to the pool's socket is the caller's by the socket's own permissions.
  if (config != w.caller_config) {
    w.caller_config = config;
    w.caller_uid.reset();
    if (config->config.has_value())
      if (auto caller = w.facts.user_by_name(config->config->caller)) w.caller_uid = caller->uid;
  }
  request.real_uid = w.caller_uid.value_or(static_cast<uid_t>(-1));
  // php-cgi (cgi.fix_pathinfo) cut SCRIPT_FILENAME back to a file and kept what the client
  // sent as ORIG_SCRIPT_FILENAME: the client named no file. suwrap and the relaying gate
  // answer such a request 404; so does this, rather than judge php-cgi's choice.
  if (find(request.environment, "ORIG_SCRIPT_FILENAME"))
    return refusal(out, Verdict::deny, Check::request, 404,
                   "SCRIPT_FILENAME names no file (php-cgi took its end for PATH_INFO)");
  request.script = owned(find(request.environment, "SCRIPT_FILENAME"));
  request.handler = owned(find(request.environment, "SUWRAP_HANDLER"));
  request.server_name = owned(find(request.environment, "SERVER_NAME"));
  const policy::Decision decision = policy::decide(request, config->config, config->account_source(), w.facts);
  if (decision.verdict != Verdict::allow) {
    Check failed = decision.failed.value_or(Check::request);
    if (failed == Check::caller) failed = Check::config;
    return refusal(out, decision.verdict, failed, decision.http_status, decision.reason);
  }
  const auto groups =
      w.facts.groups_of(p.identity.user, decision.target ? decision.target->group.gid : p.identity.gid);
  if (const auto mismatch = gate::mismatch_for_pool(decision, p.identity, groups.value_or(std::vector<gid_t>{}))) {
    out->retire = mismatch->retire_pool ? 1 : 0;
    return refusal(out, mismatch->verdict, mismatch->check, mismatch->http_status, mismatch->reason);
  }

  w.environment =
      policy::build_environment(request.environment, gate::php_environment(decision, config->config->safe_path));
  w.physical_path = decision.physical_path;
  w.wall_seconds = decision.limits.wall_seconds;
  out->allowed = 1;
  out->http_status = 200;
  copy(out->verdict, sizeof(out->verdict), policy::verdict_name(Verdict::allow));
  out->check[0] = '\0';
  copy(out->reason, sizeof(out->reason), decision.reason);
  out->dev = static_cast<unsigned long long>(decision.script_facts.dev);
  out->ino = static_cast<unsigned long long>(decision.script_facts.ino);
  out->ctime_sec = decision.script_facts.ctime_sec;
  out->ctime_nsec = decision.script_facts.ctime_nsec;
  out->physical_path = w.physical_path.c_str();
}

// The refusal as a record on the pool's pipe, for the supervisor's decision line (the
// account's word, as the gate's records are: the supervisor fills in who from the pool).
void write_refusal(const suwrap_check_outcome& out, const std::string& script, const std::string& request_id,
                   const std::string& host) {
  const int fd = pool().records;
  if (fd < 0) return;
  try {
    const auto check = policy::check_from_name(out.check);
    const auto verdict = std::string_view(out.verdict) == "deny" ? Verdict::deny : Verdict::error;
    const std::string line = policy::encode_gate_refusal(
        {verdict, check.value_or(Check::exec), out.http_status, script, out.reason, request_id, host});
    std::string_view rest(line);
    while (!rest.empty()) {
      const ssize_t n = ::write(fd, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  } catch (...) {
  }
}

// The pipe named by the variable `name` (a descriptor number), made close-on-exec, in `fd`;
// nothing when the variable is not set.
std::optional<std::string> inherited_pipe(const char* name, int& fd) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  const std::string text(value);
  if (text.size() > 4 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::string(name) + " is not a descriptor number";
  const int number = std::stoi(text);
  struct stat st {};
  if (number < 3 || ::fstat(number, &st) != 0 || !S_ISFIFO(st.st_mode))
    return std::string(name) + " " + text + " is not an open pipe";
  if (::fcntl(number, F_SETFD, FD_CLOEXEC) != 0) return std::string("cannot keep ") + name + " from PHP's programs";
  fd = number;
  return std::nullopt;
}

// The board named by SUWRAP_POOL_BOARD (a descriptor number), mapped; the descriptor is
// closed, so that no program PHP starts, nor the account's code, holds it.
std::optional<std::string> inherited_board() {
  const char* value = std::getenv("SUWRAP_POOL_BOARD");
  if (value == nullptr || *value == '\0') return std::nullopt;
  const std::string text(value);
  ::unsetenv("SUWRAP_POOL_BOARD");
  if (text.size() > 4 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::string("SUWRAP_POOL_BOARD is not a descriptor number");
  const int number = std::stoi(text);
  if (number < 3) return std::string("SUWRAP_POOL_BOARD ") + text + " is not the pool's board";
  auto board = gate::Board::attach(number);
  ::close(number);
  if (!board) return std::string("SUWRAP_POOL_BOARD ") + text + ": " + board.error();
  pool().board = std::move(*board);
  return std::nullopt;
}

std::string startup() {
  const char* handler = std::getenv("SUWRAP_POOL_HANDLER");
  const char* limits = std::getenv("SUWRAP_POOL_LIMITS");
  const char* phprc = std::getenv("PHPRC");
  const char* account = std::getenv("SUWRAP_POOL_ACCOUNT");
  if (handler == nullptr || *handler == '\0') return "SUWRAP_POOL_HANDLER is not set";
  if (limits == nullptr) return "SUWRAP_POOL_LIMITS is not set";
  if (phprc == nullptr || phprc[0] != '/') return "PHPRC is not an absolute path";
  if (::getuid() == 0 || ::geteuid() != ::getuid() || ::getegid() != ::getgid())
    return "php-cgi checks requests only as an account user, never as root or set-uid";
  // The pipes its starter gave it, kept from the programs PHP starts.
  if (auto problem = inherited_pipe("SUWRAP_POOL_RECORDS", pool().records)) return *problem;
  if (auto problem = inherited_board()) return *problem;
  gate::PoolIdentity id;
  id.uid = ::getuid();
  id.handler = handler;
  id.phprc = phprc;
  if (account != nullptr && *account != '\0') id.account = account;
  const auto parsed = gate::limits_from_argument(limits);
  if (!parsed) return std::string("SUWRAP_POOL_LIMITS ") + limits + " is not five whole numbers";
  id.limits = *parsed;
  id.gid = ::getgid();
  id.groups.resize(static_cast<std::size_t>(std::max(0, ::getgroups(0, nullptr))));
  if (::getgroups(static_cast<int>(id.groups.size()), id.groups.data()) != static_cast<int>(id.groups.size()))
    return "getgroups failed";
  std::sort(id.groups.begin(), id.groups.end());
  id.groups.erase(std::unique(id.groups.begin(), id.groups.end()), id.groups.end());
  policy::SystemFacts facts;
  const auto user = facts.user_by_uid(id.uid);
  if (!user) return "uid " + std::to_string(id.uid) + " has no user entry";
  id.user = user->name;
  // The handler's settings as they are now: a request whose decision finds others later
  // is refused and, as with the gate, the pool should be started again.
  const auto snapshot = policy::CurrentConfig(suwrap::build::config_path).get();
  if (!snapshot->config) return snapshot->config.error().to_string();
  const policy::Handler* h = snapshot->config->handler(id.handler);
  if (h == nullptr || h->kind != policy::HandlerKind::php_fcgi)
    return "SUWRAP_POOL_HANDLER " + id.handler + " is not a php-fcgi handler of the configuration";
  pool().identity = gate::with_handler_settings(std::move(id), *h);
  return {};
}

}  // namespace

extern "C" {

int suwrap_check_wanted(void) {
  return std::getenv("SUWRAP_POOL_HANDLER") != nullptr ? 1 : 0;
}

const char* suwrap_check_startup(void) {
  Pool& p = pool();
  p.wanted = true;
  try {
    p.problem = startup();
  } catch (const std::exception& e) {
    p.problem = std::string("the pool cannot be read: ") + e.what();
  } catch (...) {
    p.problem = "the pool cannot be read";
  }
  return p.problem.empty() ? nullptr : p.problem.c_str();
}

void suwrap_check_request(const char* const* environment, size_t count, suwrap_check_outcome* out) {
  std::memset(out, 0, sizeof(*out));
  try {
    check(environment, count, out);
  } catch (const std::exception& e) {
    refusal(out, Verdict::error, Check::exec, 500, std::string("the check failed: ") + e.what());
  } catch (...) {
    refusal(out, Verdict::error, Check::exec, 500, "the check failed");
  }
  // What the record says of the request: its id, host and script, as the client sent them.
  std::string script, request_id, host;
  for (size_t i = 0; i < count; ++i) {
    const std::string_view entry(environment[i]);
    const auto take = [&entry](std::string_view name, std::string& into) {
      if (entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 && entry[name.size()] == '=')
        into = std::string(entry.substr(name.size() + 1));
    };
    take("SCRIPT_FILENAME", script);
    take("SUWRAP_REQUEST_ID", request_id);
    take("HTTP_HOST", host);
    if (host.empty()) take("SERVER_NAME", host);
  }
  auto& slot = worker_slot();
  if (!out->allowed) {
    if (slot) {
      slot->environment.clear();
      slot->physical_path.clear();
      slot->wall_seconds = 0;
      slot->wall_record.clear();
    }
    write_refusal(*out, script, request_id, host);
    return;
  }
  try {
    slot->wall_record = policy::encode_gate_refusal(
        {Verdict::error, Check::exec, 504, script,
         "the request ran past wall_seconds " + std::to_string(slot->wall_seconds) + "; the worker was killed",
         request_id, host});
  } catch (...) {
    slot->wall_record.clear();
  }
  // The gate must see the request on the board, or nothing bounds its time.
  if (!mark_started(slot->wall_seconds, slot->wall_record)) {
    refusal(out, Verdict::error, Check::exec, 503, "the pool's board has no free slot for this worker");
    slot->environment.clear();
    slot->physical_path.clear();
    slot->wall_seconds = 0;
    slot->wall_record.clear();
    write_refusal(*out, script, request_id, host);
  }
}

void suwrap_check_request_ended(void) {
  auto& board = pool().board;
  if (board && board_slot()) board->end(*board_slot(), current_pid());
}

size_t suwrap_check_environment_count(void) {
  const auto& slot = worker_slot();
  return slot ? slot->environment.size() : 0;
}

const char* suwrap_check_environment_entry(size_t index) {
  const auto& slot = worker_slot();
  return slot && index < slot->environment.size() ? slot->environment[index].c_str() : nullptr;
}

const char* suwrap_check_user_ini_note(void) {
  const auto& slot = worker_slot();
  if (!slot || slot->physical_path.empty()) return nullptr;
  try {
    const std::string* note = slot->walks.note(slot->physical_path);
    return note != nullptr && !note->empty() ? note->c_str() : nullptr;
  } catch (...) {
    return nullptr;
  }
}

void suwrap_check_user_ini_remember(const char* note) {
  auto& slot = worker_slot();
  if (!slot || slot->physical_path.empty() || note == nullptr) return;
  try {
    if (std::string* kept = slot->walks.note(slot->physical_path)) *kept = note;
  } catch (...) {
  }
}

const char* suwrap_check_getenv(const char* name, size_t length) {
  const auto& slot = worker_slot();
  if (!slot) return nullptr;
  const std::string_view wanted(name, length);
  for (const auto& entry : slot->environment)
    if (entry.size() > length && entry.compare(0, length, wanted) == 0 && entry[length] == '=')
      return entry.c_str() + length + 1;
  return nullptr;
}

}  // extern "C"
