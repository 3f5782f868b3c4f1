// SPDX-License-Identifier: Apache-2.0
// suwrap-policy account add|set|remove|list|show: what a hosting panel calls to provision,
// suspend, switch the PHP of and remove an account (suwrap-policy(8), docs/hosting-panels.md).
//
// An edit is validated whole before anything is written: the account as the panel asked for
// it is checked against the system (user, group, docroots, php_ini_dir) and the configuration
// (handlers, other accounts' docroots, found through the account index), written as text,
// parsed back with the loader's own parse_account, and only then renamed into place; the
// index is then brought up to date. The file is written
// beside its final name (O_EXCL, 0644, root-owned), fsync'ed, renamed, and the directory
// fsync'ed, so a crash leaves either the old file or the new one, never half of one. Edits
// hold an exclusive flock on accounts_dir, so two panel calls cannot both pass the overlap
// check against a state the other is changing.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "account_edit.hpp"
#include "commands.hpp"
#include "output.hpp"
#include "suwrap/build_config.hpp"
#include "suwrap/policy/account_file.hpp"
#include "suwrap/config/accounts.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/config/trusted.hpp"
#include "suwrap/policy/facts.hpp"
#include "suwrap/util/fd.hpp"
#include "suwrap/policy/log_record.hpp"
#include "suwrap/config/paths.hpp"
#include "suwrap/util/text.hpp"

namespace suwrap::cli::edit {

using util::child_path;
using util::errno_text;
using util::join;
using util::lowercase;
using util::mode_text;
using util::Expected;
using util::Fd;
using util::unexpected;

namespace {

using namespace suwrap::policy;

// ---------------------------------------------------------------------------------------
// Options.

struct LimitOption {
  std::string_view flag;
  std::string_view key;
  std::optional<std::uint64_t> LimitOverrides::*field;
  std::uint64_t max;
};

constexpr std::uint64_t max_count = std::numeric_limits<std::int64_t>::max();
constexpr std::uint64_t max_megabytes = std::uint64_t{1} << 40;

constexpr std::array<LimitOption, 6> limit_options{{
    {"--cpu-seconds", "cpu_seconds", &LimitOverrides::cpu_seconds, max_count},
    {"--wall-seconds", "wall_seconds", &LimitOverrides::wall_seconds, max_count},
    {"--memory-mb", "memory_mb", &LimitOverrides::memory_mb, max_megabytes},
    {"--nproc", "nproc", &LimitOverrides::nproc, max_count},
    {"--nofile", "nofile", &LimitOverrides::nofile, max_count},
    {"--fsize-mb", "fsize_mb", &LimitOverrides::fsize_mb, max_megabytes},
}};

// What `add` and `set` were given. Strings throughout, so that `set` can tell "not given"
// from "given empty" (which clears an optional key) and limits can say "default".
struct EditOptions {
  std::string config = suwrap::build::config_path;
  bool json = false;
  std::string name;
  std::optional<std::string> user;
  std::optional<std::string> group;
  std::vector<std::string> docroots;
  std::vector<std::string> domains;
  std::optional<std::string> php_handler;
  std::optional<std::string> handlers;
  std::optional<std::string> php_ini_dir;
  std::optional<std::string> disabled;  // set: "true" | "false"
  bool disabled_flag = false;           // add: --disabled
  std::array<std::optional<std::string>, limit_options.size()> limits;
  bool if_absent = false;     // add: an account that exists as asked is not an error
  double lock_timeout = 30;   // seconds to wait for another edit's lock
  CLI::Option* docroots_option = nullptr;
  CLI::Option* domains_option = nullptr;
};

struct ReadOptions {
  std::string config = suwrap::build::config_path;
  bool json = false;
  std::string name;
  bool if_present = false;  // remove: an account that is not there is not an error
  double lock_timeout = 30;
};

constexpr std::string_view lock_timeout_help =
    "Seconds to wait for another edit of accounts_dir to end (default 30); then exit 5 (locked)";

// ---------------------------------------------------------------------------------------
// Reporting.

std::string json_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ',';
    out += json_string(items[i]);
  }
  return out + "]";
}

std::string json_optional(const std::optional<std::string>& value) {
  return value ? json_string(*value) : "null";
}

}  // namespace

// The object of `account list --json` and `account show --json` (suwrap-policy(8)). Keys the
// account leaves unset are null (group: the user's primary group; handlers: all of them);
// limits are the effective ones, [limits] with the account's overrides, all six; "overrides"
// are the account's own (what `account apply` takes as "limits").
std::string account_json(const Account& account, const Config& config, std::optional<bool> changed) {
  const Limits limits = account.limits.applied_to(config.limits);
  std::string out = json_object_start() + "\"name\":" + json_string(account.name);
  out += ",\"user\":" + json_string(account.user);
  out += ",\"group\":" + json_optional(account.group);
  out += ",\"docroots\":" + json_array(account.docroots);
  out += ",\"domains\":" + json_array(account.domains);
  out += ",\"php_handler\":" + json_optional(account.php_handler);
  out += ",\"handlers\":" + (account.handlers ? json_array(*account.handlers) : std::string("null"));
  out += ",\"php_ini_dir\":" + json_optional(account.php_ini_dir);
  out += ",\"disabled\":" + std::string(account.disabled ? "true" : "false");
  out += ",\"limits\":{\"cpu_seconds\":" + std::to_string(limits.cpu_seconds);
  out += ",\"wall_seconds\":" + std::to_string(limits.wall_seconds);
  out += ",\"memory_mb\":" + std::to_string(limits.memory_mb);
  out += ",\"nproc\":" + std::to_string(limits.nproc);
  out += ",\"nofile\":" + std::to_string(limits.nofile);
  out += ",\"fsize_mb\":" + std::to_string(limits.fsize_mb) + "}";
  out += ",\"overrides\":{";
  bool first = true;
  for (const LimitOption& option : limit_options) {
    if (const auto& value = account.limits.*option.field) {
      out += (first ? "\"" : ",\"") + std::string(option.key) + "\":" + std::to_string(*value);
      first = false;
    }
  }
  out += "}";
  out += ",\"file\":" + json_string(account.file);
  if (changed) out += std::string(",\"changed\":") + (*changed ? "true" : "false");
  return out + "}";
}

std::string account_file_text(const Account& account, std::string_view command) {
  return "# Account " + account.name + ", written by suwrap-policy account " + std::string(command) +
         ".\n# Change it with `suwrap-policy account set " + account.name + " ...`.\n" + account_to_toml(account);
}

namespace {

void print_account_text(const Account& account, const Config& config) {
  const Limits l = account.limits.applied_to(config.limits);
  std::printf("name:         %s\n", account.name.c_str());
  std::printf("user:         %s\n", account.user.c_str());
  std::printf("group:        %s\n", account.group ? account.group->c_str() : "(the user's primary group)");
  std::printf("docroots:     %s\n", join(account.docroots, ", ").c_str());
  std::printf("domains:      %s\n",
              account.domains.empty() ? "(none)" : join(account.domains, ", ").c_str());
  std::printf("php_handler:  %s\n", account.php_handler ? account.php_handler->c_str() : "(by extension)");
  std::printf("handlers:     %s\n", account.handlers ? join(*account.handlers, ", ").c_str() : "(all)");
  std::printf("php_ini_dir:  %s\n",
              account.php_ini_dir ? account.php_ini_dir->c_str() : "(the handler's ini_dir)");
  std::printf("disabled:     %s\n", account.disabled ? "yes" : "no");
  std::printf("limits:       %s\n", limits_text(l).c_str());
  std::printf("file:         %s\n", account.file.c_str());
}

// ---------------------------------------------------------------------------------------
// Validation against the system and the configuration.

std::optional<std::string> directory_path_problem(std::string_view path) {
  if (path.empty() || path.front() != '/') return "is not an absolute path";
  if (path.find_first_of(std::string_view("\0\n\r", 3)) != std::string_view::npos)
    return "holds a NUL or a line break";
  if (path == "/") return "is the whole file system";
  if (path.back() == '/') return "ends with '/'; write it without";
  if (path.find("//") != std::string_view::npos) return "has an empty component ('//')";
  for (const std::string_view component : split_components(path))
    if (component == "." || component == "..") return "has a '.' or '..' component";
  if (path.find('*') != std::string_view::npos) return "holds '*' (an account's docroot is one directory)";
  return std::nullopt;
}

void check_user_and_group(const Account& account, const Config& config, FactSource& facts, Problems& problems,
                          std::optional<UserInfo>& user) {
  user = facts.user_by_name(account.user);
  if (!user) return problems.error("user " + account.user + " does not exist");
  if (user->uid == 0) {
    user.reset();  // nothing else is judged against root
    return problems.error("user " + account.user + " is root");
  }
  if (user->uid < config.min_uid)
    problems.error("user " + account.user + " has uid " + std::to_string(user->uid) + ", below min_uid " +
                   std::to_string(config.min_uid));
  std::optional<GroupInfo> group =
      account.group ? facts.group_by_name(*account.group) : facts.group_by_gid(user->gid);
  const std::string which =
      account.group ? "group " + *account.group
                    : "the primary group (gid " + std::to_string(user->gid) + ") of " + account.user;
  if (!group) return problems.error(which + " does not exist");
  if (group->gid == 0) return problems.error(which + " is root's group");
  if (group->gid < config.min_gid)
    problems.error(which + " has gid " + std::to_string(group->gid) + ", below min_gid " +
                   std::to_string(config.min_gid) + (account.group ? "" : "; name another with --group"));
}

void check_docroots(const Account& account, const Config& config, FactSource& facts, Problems& problems,
                    const std::optional<UserInfo>& user) {
  if (account.docroots.empty()) problems.error("an account needs at least one docroot (--docroot)");
  for (const auto& docroot : account.docroots) {
    if (auto why = directory_path_problem(docroot)) {
      problems.error("docroot " + docroot + " " + *why);
      continue;
    }
    const auto facts_of = facts.stat_path(docroot);
    if (!facts_of) {
      problems.error("docroot " + docroot + " does not exist");
      continue;
    }
    if (!facts_of->is_dir()) {
      problems.error("docroot " + docroot + " is not a directory");
      continue;
    }
    // Not errors: the panel may be about to fix them; but every script there would be refused.
    if (!matching_docroot(docroot, config.docroots))
      problems.warning("docroot " + docroot + " is not inside any [global] docroots (" +
                       join(config.docroots, ", ") +
                       "); its scripts are refused (check docroot) until it is");
    if (user && facts_of->uid != 0 && facts_of->uid != user->uid)
      problems.warning("docroot " + docroot + " is owned by uid " + std::to_string(facts_of->uid) +
                       ", neither root nor " + account.user + "; its scripts are refused (check dir_perms)");
    if ((facts_of->mode & S_IWOTH) != 0)
      problems.warning("docroot " + docroot + " is writable by others (mode " + mode_text(facts_of->mode) +
                       "); its scripts are refused (check dir_perms)");
  }
}

// Found through the index, whatever the number of accounts: the docroots at, above and below
// each of the account's.
void check_docroot_overlaps(const Account& account, AccountDirectory& accounts, Problems& problems) {
  for (const auto& docroot : account.docroots) {
    if (directory_path_problem(docroot)) continue;  // said already
    if (auto claims = accounts.claims_overlapping(docroot); !claims) {
      problems.error(claims.error().to_string());
    } else {
      for (const auto& theirs : *claims) {
        if (theirs.account == account.name) continue;
        problems.error("docroot " + docroot + " overlaps " + theirs.docroot + " of account " + theirs.account +
                       "; a script must belong to one account only");
      }
    }
  }
}

void check_handlers(const Account& account, const Config& config, Problems& problems) {
  std::string known;
  for (const auto& [name, handler] : config.handlers) known += (known.empty() ? "" : ", ") + name;
  if (known.empty()) known = "(none configured)";
  if (account.handlers) {
    for (const auto& name : *account.handlers) {
      if (!config.handler(name))
        problems.error("handler " + name + " is not configured in " + config.file + " (configured: " + known +
                       ")");
    }
  }
  if (!account.php_handler) return;
  const Handler* php = config.handler(*account.php_handler);
  if (php == nullptr)
    problems.error("php handler " + *account.php_handler + " is not configured in " + config.file +
                   " (configured: " + known + ")");
  else if (!php->is_php())
    problems.error("php handler " + *account.php_handler + " is of kind " +
                   std::string(to_string(php->kind)) + "; it must be \"php\" or \"php-fcgi\"");
  else if (!account.may_use(*account.php_handler))
    problems.error("php handler " + *account.php_handler + " is not among the account's handlers (" +
                   join(*account.handlers, ", ") + ")");
}

// PHPRC names <php_ini_dir>/php.ini: the directory and the file must be the account user's or
// root's and not writable by others, as check `handler` requires at every request.
void check_php_ini_dir(const Account& account, FactSource& facts, Problems& problems,
                       const std::optional<UserInfo>& user) {
  if (!account.php_ini_dir) return;
  const std::string& dir = *account.php_ini_dir;
  if (auto why = directory_path_problem(dir)) return problems.error("php_ini_dir " + dir + " " + *why);
  const auto dir_facts = facts.stat_path(dir);
  if (!dir_facts) return problems.error("php_ini_dir " + dir + " does not exist");
  if (!dir_facts->is_dir()) return problems.error("php_ini_dir " + dir + " is not a directory");
  const auto allowed = [&](uid_t uid) { return uid == 0 || (user && uid == user->uid); };
  if (!allowed(dir_facts->uid))
    problems.error("php_ini_dir " + dir + " is owned by uid " + std::to_string(dir_facts->uid) +
                   "; it must be owned by root or " + account.user);
  if ((dir_facts->mode & S_IWOTH) != 0)
    problems.error("php_ini_dir " + dir + " is writable by others (mode " + mode_text(dir_facts->mode) + ")");
  const std::string ini = dir + "/php.ini";
  const auto ini_facts = facts.stat_path(ini);
  if (!ini_facts || !ini_facts->is_regular())
    return problems.error(ini + " does not exist; PHPRC must name a php.ini file");
  if (!allowed(ini_facts->uid) || (ini_facts->mode & S_IWOTH) != 0)
    problems.error(ini + " must be owned by root or " + account.user + " and not writable by others");
}

// In owner mode a user's requests take the one account file naming it: a second one would
// refuse them all (check target).
void check_user_named_once(const Account& account, const Config& config, AccountDirectory& accounts,
                           Problems& problems) {
  if (config.mode != Mode::owner) return;
  auto files = accounts.files_naming(account.user);
  if (!files) return problems.error(files.error().to_string());
  for (const auto& file : *files) {
    if (file == account.name + ".toml") continue;
    problems.error("user " + account.user + " is already named by " + child_path(config.accounts_dir, file) +
                   "; in owner mode one account file names one user (a second refuses its requests, check target)");
  }
}

}  // namespace

void validate_alone(const Account& account, const Config& config, FactSource& facts, Problems& problems) {
  std::optional<UserInfo> user;
  check_user_and_group(account, config, facts, problems, user);
  check_docroots(account, config, facts, problems, user);
  check_handlers(account, config, problems);
  check_php_ini_dir(account, facts, problems, user);
}

namespace {

void validate(const Account& account, const Config& config, AccountDirectory& accounts, FactSource& facts,
              Problems& problems) {
  validate_alone(account, config, facts, problems);
  check_user_named_once(account, config, accounts, problems);
  check_docroot_overlaps(account, accounts, problems);
}

// ---------------------------------------------------------------------------------------
// Building the account from the options.

std::optional<std::uint64_t> parse_count(const std::string& text, std::uint64_t max) {
  if (text.empty() || text.size() > 20 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (max - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::vector<std::string> comma_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

// Applies the given options to `account` (empty for add). An empty string clears an optional
// key; "default" clears a limit override. Returns false after noting what was malformed.
bool apply_options(const EditOptions& opt, Account& account, bool is_add, Problems& problems) {
  bool ok = true;
  const auto bad = [&](const std::string& message) {
    problems.error(message);
    ok = false;
  };
  if (opt.user) account.user = *opt.user;
  const auto optional_text = [](const std::optional<std::string>& given, std::optional<std::string>& key) {
    if (!given) return;
    if (given->empty())
      key.reset();
    else
      key = *given;
  };
  optional_text(opt.group, account.group);
  optional_text(opt.php_handler, account.php_handler);
  optional_text(opt.php_ini_dir, account.php_ini_dir);
  if (opt.handlers) {
    if (opt.handlers->empty())
      account.handlers.reset();
    else
      account.handlers = comma_list(*opt.handlers);
  }
  if (opt.docroots_option->count() > 0) account.docroots = opt.docroots;
  if (opt.domains_option->count() > 0) {
    account.domains.clear();
    for (const auto& domain : opt.domains)
      if (!domain.empty()) account.domains.push_back(lowercase(domain));
  }
  if (is_add) {
    account.disabled = opt.disabled_flag;
  } else if (opt.disabled) {
    if (*opt.disabled == "true")
      account.disabled = true;
    else if (*opt.disabled == "false")
      account.disabled = false;
    else
      bad("--disabled takes true or false, not " + *opt.disabled);
  }
  for (size_t i = 0; i < limit_options.size(); ++i) {
    const auto& given = opt.limits[i];
    if (!given) continue;
    const LimitOption& limit = limit_options[i];
    if (*given == "default") {
      (account.limits.*limit.field).reset();
    } else if (auto value = parse_count(*given, limit.max)) {
      account.limits.*limit.field = *value;
    } else {
      bad(std::string(limit.flag) + " takes a whole number from 0 (unlimited) to " +
          std::to_string(limit.max) + ", or \"default\"; got " + *given);
    }
  }
  return ok;
}

// ---------------------------------------------------------------------------------------
// The file system: accounts_dir, locked, and the atomic write.

}  // namespace

Expected<AccountsDir, DirFailure> lock_accounts_dir(const std::string& path, std::chrono::milliseconds timeout) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    return unexpected(DirFailure{ErrorCode::io, "cannot create " + path + ": " + errno_text(errno)});
  if (auto problem = check_trusted_path(path)) return unexpected(DirFailure{ErrorCode::invalid, problem->to_string()});
  AccountsDir dir{path, Fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))};
  if (!dir.fd) return unexpected(DirFailure{ErrorCode::io, "cannot open " + path + ": " + errno_text(errno)});
  // Polled rather than blocking, so that a panel waits a bounded time (--lock-timeout) and
  // then hears "locked", which it may retry, instead of hanging behind a stuck edit.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(2);
  while (::flock(dir.fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK)
      return unexpected(DirFailure{ErrorCode::io, "cannot lock " + path + ": " + errno_text(errno)});
    if (std::chrono::steady_clock::now() >= deadline)
      return unexpected(DirFailure{
          ErrorCode::locked, "another edit of " + path + " held its lock for more than " +
                                 std::to_string(timeout.count() / 1000) +
                                 " s; run the command again (or give a longer --lock-timeout)"});
    ::usleep(static_cast<useconds_t>(pause.count() * 1000));
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  if (auto error = recover_interrupted_apply(dir)) return unexpected(DirFailure{ErrorCode::io, *error});
  return dir;
}

std::optional<std::string> sync_directory(const AccountsDir& dir) {
  if (::fsync(dir.fd.get()) != 0) return "cannot fsync " + dir.path + ": " + errno_text(errno);
  return std::nullopt;
}

std::string hidden_name(const std::string& name, std::string_view what) {
  std::random_device random;
  return "." + name + ".toml." + std::string(what) + "." + std::to_string(::getpid()) + "." +
         std::to_string(random());
}

std::optional<std::string> write_new_file(const AccountsDir& dir, const std::string& temp_name,
                                          const std::string& text) {
  const std::string path = dir.path + "/" + temp_name;
  Fd file(
      ::openat(dir.fd.get(), temp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!file) return "cannot create " + path + ": " + errno_text(errno);
  const auto abandon = [&](const std::string& why) -> std::optional<std::string> {
    ::unlinkat(dir.fd.get(), temp_name.c_str(), 0);
    return why;
  };
  // Explicitly root's and 0644 whatever the umask: the loader refuses anything else (check config).
  if (::fchown(file.get(), 0, 0) != 0 || ::fchmod(file.get(), 0644) != 0)
    return abandon("cannot set owner and mode of " + path + ": " + errno_text(errno));
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(file.get(), text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return abandon("cannot write " + path + ": " + errno_text(errno));
    written += static_cast<size_t>(n);
  }
  if (::close(file.release()) != 0) return abandon("cannot close " + path + ": " + errno_text(errno));
  return std::nullopt;
}

bool running_as_root() {
  return ::geteuid() == 0;
}

// The accounts as the tools see them: through the index, kept current as root. (Found
// through it, the docroots an edit is checked against are those suwrap would find; an
// overlap that an edit made in place elsewhere hides from it is still refused, request by
// request, where both files hold a script.)
AccountOptions tool_accounts() {
  AccountOptions options;
  options.write_index = running_as_root();
  return options;
}

namespace {

enum class Replace { never, always };

// Writes <name>.toml atomically. The temporary name starts with '.', which the loader never
// reads, so a crash between the write and the rename leaves nothing that suwrap would load.
Expected<bool, DirFailure> write_account_file(const AccountsDir& dir, const std::string& name,
                                              const std::string& text, Replace replace) {
  const std::string final_name = name + ".toml";
  const std::string final_path = dir.path + "/" + final_name;
  const std::string temp_name = hidden_name(name, "tmp");
  if (auto error = write_new_file(dir, temp_name, text)) return unexpected(DirFailure{ErrorCode::io, *error});
  const auto abandon = [&](ErrorCode code, const std::string& why) -> Expected<bool, DirFailure> {
    ::unlinkat(dir.fd.get(), temp_name.c_str(), 0);
    return unexpected(DirFailure{code, why});
  };
  {
    const Fd file(::openat(dir.fd.get(), temp_name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!file || ::fsync(file.get()) != 0)
      return abandon(ErrorCode::io, "cannot fsync " + final_path + ": " + errno_text(errno));
  }
  const unsigned flags = replace == Replace::never ? RENAME_NOREPLACE : 0U;
  if (::renameat2(dir.fd.get(), temp_name.c_str(), dir.fd.get(), final_name.c_str(), flags) != 0) {
    const int err = errno;
    if (err == EEXIST) return abandon(ErrorCode::exists, "account " + name + " exists (" + final_path + ")");
    return abandon(ErrorCode::io, "cannot rename into " + final_path + ": " + errno_text(err));
  }
  if (auto error = sync_directory(dir)) return unexpected(DirFailure{ErrorCode::io, *error});
  return true;
}

int refuse_unless_root(std::string_view command) {
  return fail(ErrorCode::invalid, "account " + std::string(command) +
                                      " changes root's configuration (accounts_dir); run it as root");
}

// ---------------------------------------------------------------------------------------
// The commands.

std::chrono::milliseconds lock_timeout(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

// add and set share everything but where the account starts from and whether it may exist.
int run_edit(const EditOptions& opt, bool is_add) {
  const std::string_view command = is_add ? "add" : "set";
  if (!running_as_root()) return refuse_unless_root(command);
  if (auto why = account_name_error(opt.name)) return fail(ErrorCode::invalid, *why);

  const LoadedConfig first = load_config(opt.config);
  if (!first) return fail(ErrorCode::invalid, first.error().to_string());
  auto dir = lock_accounts_dir(first->accounts_dir, lock_timeout(opt.lock_timeout));
  if (!dir) return fail(dir.error().code, dir.error().message);
  // Loaded again under the lock: the state this edit is validated against is the one it changes.
  LoadedConfig config = load_config(opt.config);
  if (!config) return fail(ErrorCode::invalid, config.error().to_string());
  if (config->accounts_dir != first->accounts_dir)
    return fail(ErrorCode::invalid, "accounts_dir changed while this edit waited for its lock; run it again");
  AccountDirectory accounts(*config, tool_accounts());

  const AccountRead existing = accounts.read_file(opt.name + ".toml");
  const std::string file = child_path(config->accounts_dir, opt.name + ".toml");
  Account account;
  if (is_add) {
    if (!existing.missing && !opt.if_absent)
      return fail(ErrorCode::exists,
                  "account " + opt.name + " exists (" + file + "); change it with `suwrap-policy account set`");
  } else {
    if (existing.missing) return fail(ErrorCode::not_found, "no account " + opt.name + " in " + config->accounts_dir);
    if (existing.problem)
      return fail(ErrorCode::invalid, "account " + opt.name + " cannot be changed: its file is broken: " +
                                          existing.problem->to_string() +
                                          "; fix it by hand, or remove it and add it again");
    account = *existing.account;
  }
  account.name = opt.name;
  account.file = dir->path + "/" + opt.name + ".toml";
  Problems problems;
  if (!apply_options(opt, account, is_add, problems)) return fail(ErrorCode::invalid, problems.errors());

  // add --if-absent of an account that exists: done already if it is the one asked for.
  if (is_add && !existing.missing) {
    if (!existing.problem && account_to_toml(*existing.account) == account_to_toml(account)) {
      if (opt.json)
        std::printf("%s\n", account_json(*existing.account, *config, false).c_str());
      else
        std::printf("account %s exists as asked (%s); nothing changed\n", opt.name.c_str(), file.c_str());
      return exit_ok;
    }
    return fail(ErrorCode::exists, "account " + opt.name + " exists (" + file + ") and differs from what was asked" +
                                       (existing.problem ? " (its file is broken)" : "") +
                                       "; change it with `suwrap-policy account set`, or remove it first");
  }

  SystemFacts facts;
  validate(account, *config, accounts, facts, problems);
  problems.print_warnings();
  if (problems.any_error()) {
    const int status = fail(ErrorCode::invalid, problems.errors());
    if (!json_failures()) std::fprintf(stderr, "account %s: not %s\n", opt.name.c_str(), is_add ? "added" : "changed");
    return status;
  }

  // What suwrap will load is what the loader's own parser makes of the text: check that it
  // accepts it, that it means what was asked, and that the configuration accepts it.
  const std::string text = account_file_text(account, command);
  auto parsed = parse_account(text, account.file, opt.name);
  if (!parsed) return fail(ErrorCode::invalid, "the account file would not load: " + parsed.error().to_string());
  if (account_to_toml(*parsed) != account_to_toml(account))
    return fail(ErrorCode::invalid, "the account file would not read back as written; nothing was changed");
  if (auto problem = account_handler_problem(*config, *parsed)) return fail(ErrorCode::invalid, problem->to_string());

  // set that changes nothing writes nothing: a retried set is a no-op.
  const bool changed = is_add || account_to_toml(*existing.account) != account_to_toml(account);
  // The index is not written now: the directory has just changed, so any index made now
  // would be racy; the next request makes it.
  if (changed) {
    auto written = write_account_file(*dir, opt.name, text, is_add ? Replace::never : Replace::always);
    if (!written) return fail(written.error().code, written.error().message);
  }
  if (opt.json)
    std::printf("%s\n", account_json(*parsed, *config, changed).c_str());
  else if (changed)
    std::printf("%s account %s (%s)\n", is_add ? "added" : "changed", opt.name.c_str(), parsed->file.c_str());
  else
    std::printf("account %s already as asked (%s); nothing changed\n", opt.name.c_str(), parsed->file.c_str());
  return exit_ok;
}

int run_remove(const ReadOptions& opt) {
  if (!running_as_root()) return refuse_unless_root("remove");
  if (auto why = account_name_error(opt.name)) return fail(ErrorCode::invalid, *why);
  const LoadedConfig config = load_config(opt.config);
  if (!config) return fail(ErrorCode::invalid, config.error().to_string());
  auto dir = lock_accounts_dir(config->accounts_dir, lock_timeout(opt.lock_timeout));
  if (!dir) return fail(dir.error().code, dir.error().message);
  const std::string file_name = opt.name + ".toml";
  const std::string path = dir->path + "/" + file_name;
  bool changed = true;
  if (::unlinkat(dir->fd.get(), file_name.c_str(), 0) != 0) {
    if (errno != ENOENT) return fail(ErrorCode::io, "cannot remove " + path + ": " + errno_text(errno));
    if (!opt.if_present) return fail(ErrorCode::not_found, "no account " + opt.name + " in " + dir->path);
    changed = false;
  }
  if (changed) {
    if (auto error = sync_directory(*dir)) return fail(ErrorCode::io, *error);
  }
  if (opt.json)
    std::printf("%s\"removed\":%s,\"file\":%s,\"changed\":%s}\n", json_object_start().c_str(),
                json_string(opt.name).c_str(), json_string(path).c_str(), changed ? "true" : "false");
  else if (changed)
    std::printf("removed account %s (%s)\n", opt.name.c_str(), path.c_str());
  else
    std::printf("no account %s (%s); nothing to remove\n", opt.name.c_str(), path.c_str());
  return exit_ok;
}

// Every valid account, by name; a broken file is named on stderr instead (its requests are
// refused until it is fixed: `suwrap-policy config check` says which).
int run_list(const ReadOptions& opt) {
  const LoadedConfig config = load_config(opt.config);
  if (!config) return fail(ErrorCode::invalid, config.error().to_string());
  AccountDirectory accounts(*config, tool_accounts());
  auto files = accounts.files();
  if (!files) return fail(ErrorCode::invalid, files.error().to_string());
  std::vector<std::shared_ptr<const Account>> listed;
  listed.reserve(files->size());
  for (const auto& file : *files) {
    const AccountRead read = accounts.read_file(file.name);
    if (read.missing) continue;
    if (read.problem) {
      std::fprintf(stderr, "warning: not listed, broken: %s\n", read.problem->to_string().c_str());
      continue;
    }
    listed.push_back(read.account);
  }
  if (opt.json) {
    // An array, as suwrap-policy(8) fixes it; each object carries schema_version.
    std::string out = "[";
    for (size_t i = 0; i < listed.size(); ++i) {
      if (i != 0) out += ",\n";
      out += account_json(*listed[i], *config);
    }
    std::printf("%s]\n", out.c_str());
    return exit_ok;
  }
  std::printf("%-20s %-16s %-8s %-12s %s\n", "NAME", "USER", "STATE", "PHP", "DOCROOTS");
  for (const auto& a : listed) {
    std::printf("%-20s %-16s %-8s %-12s %s\n", a->name.c_str(), a->user.c_str(),
                a->disabled ? "disabled" : "enabled", a->php_handler ? a->php_handler->c_str() : "-",
                join(a->docroots, ", ").c_str());
  }
  return exit_ok;
}

int run_show(const ReadOptions& opt) {
  if (auto why = account_name_error(opt.name)) return fail(ErrorCode::invalid, *why);
  const LoadedConfig config = load_config(opt.config);
  if (!config) return fail(ErrorCode::invalid, config.error().to_string());
  AccountDirectory accounts(*config, {});
  const AccountRead read = accounts.read_file(opt.name + ".toml");
  if (read.missing) return fail(ErrorCode::not_found, "no account " + opt.name + " in " + config->accounts_dir);
  if (read.problem) return fail(ErrorCode::invalid, read.problem->to_string());
  if (opt.json)
    std::printf("%s\n", account_json(*read.account, *config).c_str());
  else
    print_account_text(*read.account, *config);
  return exit_ok;
}

void add_edit_options(CLI::App* sub, EditOptions& opt, bool is_add) {
  sub->add_option("name", opt.name, "Account name: letters, digits, '_', '.', '-' (the file <name>.toml)")
      ->required();
  auto* user = sub->add_option("--user", opt.user, "The account's user (uid >= min_uid)");
  if (is_add) user->required();
  sub->add_option("--group", opt.group, "Its group (default: the user's primary group)");
  opt.docroots_option =
      sub->add_option("--docroot", opt.docroots, "A docroot: an existing directory, absolute (repeatable)");
  opt.domains_option =
      sub->add_option("--domain", opt.domains, "A domain (SERVER_NAME) of the account (repeatable)");
  if (is_add) {
    opt.docroots_option->required();
    opt.domains_option->required();
  }
  sub->add_option("--php-handler", opt.php_handler, "The account's PHP: a handler of kind php or php-fcgi");
  sub->add_option("--handlers", opt.handlers, "The handlers it may use, comma-separated (default: all)");
  sub->add_option("--php-ini-dir", opt.php_ini_dir,
                  "Directory of the account's php.ini (owned by root or the user); PHPRC names its php.ini");
  if (is_add)
    sub->add_flag("--disabled", opt.disabled_flag,
                  "Create it disabled (every request refused, check target)");
  else
    sub->add_option("--disabled", opt.disabled,
                    "true: suspend (every request refused, check target); false: resume");
  for (size_t i = 0; i < limit_options.size(); ++i) {
    const std::string flag(limit_options[i].flag);
    sub->add_option(flag, opt.limits[i],
                    "Override [limits] " + std::string(limit_options[i].key) + " (0 = unlimited" +
                        (is_add ? ")" : "; \"default\" drops the override)"));
  }
  if (is_add)
    sub->add_flag("--if-absent", opt.if_absent,
                  "Succeed without a change when the account exists exactly as asked (a retried add); "
                  "one that differs is still exit 3");
  sub->add_option("--lock-timeout", opt.lock_timeout, std::string(lock_timeout_help))
      ->check(CLI::Range(0.0, 86400.0));
  sub->add_flag("--json", opt.json,
                "Print the resulting account as JSON (as `account show --json`, with \"changed\"); "
                "failures as JSON too");
  sub->add_option("--config", opt.config, "Configuration file (default: the compiled-in one)");
}

}  // namespace

}  // namespace suwrap::cli::edit

namespace suwrap::cli {

void add_account_commands(CLI::App& app, Commands& commands) {
  using namespace edit;
  auto* account = app.add_subcommand(
      "account",
      "Manage accounts (<accounts_dir>/<name>.toml), atomically; editing needs root.\n"
      "Exit 0 done, 2 invalid, 3 exists, 4 not found, 5 locked, 6 io (suwrap-policy(8)).");
  account->require_subcommand(1);

  auto add_opt = std::make_shared<EditOptions>();
  auto* add = account->add_subcommand(
      "add",
      "Create an account after validating it (user, docroots, handlers, php_ini_dir).\n"
      "Exit 0 done, 2 invalid, 3 it exists (0 with --if-absent when it exists as asked), 5 locked, 6 io.");
  add_edit_options(add, *add_opt, true);
  commands.push_back({add, [add_opt] { return run_edit(*add_opt, true); }});

  auto set_opt = std::make_shared<EditOptions>();
  auto* set = account->add_subcommand(
      "set",
      "Change an existing account: only the options given change, with the same validation as add.\n"
      "An empty value clears an optional key (--group '' --php-handler '' --handlers '' --php-ini-dir '').\n"
      "Exit 0 done (also when nothing changed), 2 invalid, 4 no such account, 5 locked, 6 io.");
  add_edit_options(set, *set_opt, false);
  commands.push_back({set, [set_opt] { return run_edit(*set_opt, false); }});

  auto remove_opt = std::make_shared<ReadOptions>();
  auto* remove = account->add_subcommand(
      "remove", "Remove an account's file. Exit 0 done, 4 there is none (0 with --if-present), 5 locked, 6 io.");
  remove->add_option("name", remove_opt->name, "Account name")->required();
  remove->add_flag("--if-present", remove_opt->if_present,
                   "Succeed without a change when there is no such account (a retried remove)");
  remove->add_option("--lock-timeout", remove_opt->lock_timeout, std::string(lock_timeout_help))
      ->check(CLI::Range(0.0, 86400.0));
  remove->add_flag("--json", remove_opt->json, "Print {\"schema_version\", \"removed\", \"file\", \"changed\"}");
  remove->add_option("--config", remove_opt->config, "Configuration file (default: the compiled-in one)");
  commands.push_back({remove, [remove_opt] { return run_remove(*remove_opt); }});

  auto list_opt = std::make_shared<ReadOptions>();
  auto* list = account->add_subcommand("list", "List the accounts");
  list->add_flag("--json", list_opt->json, "Print a JSON array of account objects");
  list->add_option("--config", list_opt->config, "Configuration file (default: the compiled-in one)");
  commands.push_back({list, [list_opt] { return run_list(*list_opt); }});

  auto show_opt = std::make_shared<ReadOptions>();
  auto* show = account->add_subcommand("show", "Show one account, with its effective limits. Exit 4 if there is none.");
  show->add_option("name", show_opt->name, "Account name")->required();
  show->add_flag("--json", show_opt->json, "Print one JSON object");
  show->add_option("--config", show_opt->config, "Configuration file (default: the compiled-in one)");
  commands.push_back({show, [show_opt] { return run_show(*show_opt); }});

  add_account_apply_command(account, commands);
}

}  // namespace suwrap::cli
