// SPDX-License-Identifier: Apache-2.0
// suwrap-policy account apply FILE: many account edits under one lock, all or nothing
// (suwrap-policy(8), docs/hosting-panels.md; the input's shape is schemas/account-apply-input.schema.json).
//
// FILE holds either the desired set of accounts ({"accounts": [...]}: afterwards accounts_dir
// holds exactly these) or a list of changes ({"changes": [{"action": "add|set|remove", ...}]}).
// The steps, each finished before the next begins:
//
//  1. plan:     every account read as it is now, every change turned into what will be written;
//  2. validate: each new or changed account as `account add` would (user, group, docroots,
//               handlers, php_ini_dir, parsed back with the loader's own parser), and the state
//               afterwards as a whole (no docroot of two accounts, in owner mode no user named
//               twice). Any problem: every problem is reported, nothing was written;
//  3. stage:    each new file written under a hidden name, and each file that will be replaced
//               or removed hard-linked to a hidden backup name; one syncfs makes them durable.
//               A failure here removes what was staged: nothing was changed;
//  4. journal:  the list of the operations, fsync'ed, in <accounts_dir>/.apply-journal;
//  5. commit:   one rename (or unlink) per account; then the directory is fsync'ed and the
//               journal marked committed;
//  6. clean up: backups and the journal removed.
//
// A failure in step 5 rolls back from the journal at once: an operation done is undone from
// its backup (a created file is unlinked), one not yet done is recognised by its staged file
// still being there. A process killed in step 5 leaves the journal, and the next edit of
// accounts_dir (any `account` command, which takes the same lock) rolls back the same way
// before it does anything else; one killed in step 6 (journal marked committed) has its
// clean-up finished instead. Requests served while step 5 runs (a few milliseconds for 1,000
// accounts) may see some accounts changed and others not yet; every file they read is whole.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "account_edit.hpp"
#include "commands.hpp"
#include "output.hpp"
#include "suwrap/build_config.hpp"
#include "suwrap/config/accounts.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/config/paths.hpp"
#include "suwrap/config/trusted.hpp"
#include "suwrap/policy/account_file.hpp"
#include "suwrap/policy/caching_facts.hpp"
#include "suwrap/policy/facts.hpp"
#include "suwrap/policy/log_record.hpp"
#include "suwrap/util/text.hpp"

namespace suwrap::cli::edit {

using util::child_path;
using util::errno_text;
using util::Fd;

namespace {

using namespace suwrap::policy;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t max_apply_bytes = std::size_t{64} << 20;
constexpr std::string_view journal_name = ".apply-journal";

struct ApplyOptions {
  std::string config = suwrap::build::config_path;
  std::string file;
  bool json = false;
  bool dry_run = false;
  double lock_timeout = 30;
};

// ---------------------------------------------------------------------------------------
// The input.

enum class Action { add, set, remove };

struct Change {
  Action action = Action::add;
  std::string name;
  json fields;  // the object as given: for set, only its keys change
  bool if_absent = false;
  bool if_present = false;
};

struct Input {
  bool desired_set = false;
  std::vector<Change> changes;  // the desired set: one add per account
};

// Reads the input's JSON, strictly: unknown keys and wrong types are problems naming where.
class InputReader {
 public:
  explicit InputReader(Problems& problems) : problems_(problems) {}

  std::optional<Input> read(const std::string& text) {
    json doc;
    try {
      doc = json::parse(text);
    } catch (const json::parse_error& e) {
      problems_.error(std::string("the input is not JSON: ") + e.what());
      return std::nullopt;
    }
    if (!doc.is_object()) {
      problems_.error("the input must be a JSON object with \"accounts\" (the desired set) or \"changes\"");
      return std::nullopt;
    }
    for (const auto& [key, value] : doc.items()) {
      if (key != "schema_version" && key != "accounts" && key != "changes")
        problems_.error("unknown key \"" + key + "\" at the top; expected schema_version, accounts or changes");
    }
    if (doc.contains("schema_version") &&
        (!doc["schema_version"].is_number_integer() || doc["schema_version"].get<std::int64_t>() != schema_version))
      problems_.error("schema_version must be " + std::to_string(schema_version));
    if (doc.contains("accounts") == doc.contains("changes")) {
      problems_.error("give exactly one of \"accounts\" (the desired set) and \"changes\" (a list of changes)");
      return std::nullopt;
    }
    Input input;
    input.desired_set = doc.contains("accounts");
    const json& list = input.desired_set ? doc["accounts"] : doc["changes"];
    const std::string where = input.desired_set ? "accounts" : "changes";
    if (!list.is_array()) {
      problems_.error(where + " must be an array");
      return std::nullopt;
    }
    std::set<std::string> named;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string at = where + "[" + std::to_string(i) + "]";
      auto change = input.desired_set ? desired(list[i], at) : listed(list[i], at);
      if (!change) continue;
      if (!named.insert(change->name).second) {
        problems_.error(at + ": account " + change->name + " is named twice; give each account once",
                        change->name);
        continue;
      }
      input.changes.push_back(std::move(*change));
    }
    if (problems_.any_error()) return std::nullopt;
    return input;
  }

 private:
  std::optional<Change> desired(const json& item, const std::string& at) {
    if (!item.is_object()) {
      problems_.error(at + " must be an object (an account)");
      return std::nullopt;
    }
    Change change;
    change.action = Action::add;
    if (!name_of(item, at, change.name)) return std::nullopt;
    if (!fields_ok(item, at, change.name, {"name"}, true)) return std::nullopt;
    change.fields = item;
    return change;
  }

  std::optional<Change> listed(const json& item, const std::string& at) {
    if (!item.is_object()) {
      problems_.error(at + " must be an object (a change)");
      return std::nullopt;
    }
    Change change;
    if (!name_of(item, at, change.name)) return std::nullopt;
    const auto action = item.find("action");
    if (action == item.end() || !action->is_string()) {
      problems_.error(at + ": \"action\" must be \"add\", \"set\" or \"remove\"", change.name);
      return std::nullopt;
    }
    const std::string verb = action->get<std::string>();
    if (verb == "add") {
      change.action = Action::add;
      if (!flag(item, at, change.name, "if_absent", change.if_absent)) return std::nullopt;
      if (!fields_ok(item, at, change.name, {"name", "action", "if_absent"}, true)) return std::nullopt;
    } else if (verb == "set") {
      change.action = Action::set;
      if (!fields_ok(item, at, change.name, {"name", "action"}, false)) return std::nullopt;
    } else if (verb == "remove") {
      change.action = Action::remove;
      if (!flag(item, at, change.name, "if_present", change.if_present)) return std::nullopt;
      for (const auto& [key, value] : item.items()) {
        if (key != "name" && key != "action" && key != "if_present")
          problems_.error(at + ": unknown key \"" + key + "\" for remove (name, action, if_present)", change.name);
      }
    } else {
      problems_.error(at + ": \"action\" must be \"add\", \"set\" or \"remove\", not \"" + verb + "\"", change.name);
      return std::nullopt;
    }
    change.fields = item;
    return change;
  }

  bool name_of(const json& item, const std::string& at, std::string& name) {
    const auto found = item.find("name");
    if (found == item.end() || !found->is_string()) {
      problems_.error(at + ": \"name\" (the account's name) must be a string");
      return false;
    }
    name = found->get<std::string>();
    if (auto why = account_name_error(name)) {
      problems_.error(at + ": " + *why, name);
      return false;
    }
    return true;
  }

  bool flag(const json& item, const std::string& at, const std::string& name, const char* key, bool& value) {
    const auto found = item.find(key);
    if (found == item.end()) return true;
    if (!found->is_boolean()) {
      problems_.error(at + ": \"" + key + "\" must be true or false", name);
      return false;
    }
    value = found->get<bool>();
    return true;
  }

  // The account's keys: their types (null clears an optional key in a set), and, for a whole
  // account, the required ones.
  bool fields_ok(const json& item, const std::string& at, const std::string& name,
                 std::initializer_list<std::string_view> also, bool whole) {
    bool ok = true;
    const auto bad = [&](const std::string& message) {
      problems_.error(at + ": " + message, name);
      ok = false;
    };
    const auto strings = [](const json& v) {
      return v.is_array() && std::all_of(v.begin(), v.end(), [](const json& s) { return s.is_string(); });
    };
    for (const auto& [key, value] : item.items()) {
      if (std::find(also.begin(), also.end(), key) != also.end()) continue;
      if (key == "user") {
        if (!value.is_string()) bad("\"user\" must be a string");
      } else if (key == "group" || key == "php_handler" || key == "php_ini_dir") {
        if (!value.is_string() && !value.is_null()) bad("\"" + key + "\" must be a string, or null for none");
      } else if (key == "docroots" || key == "domains") {
        if (!strings(value)) bad("\"" + key + "\" must be an array of strings");
      } else if (key == "handlers") {
        if (!strings(value) && !value.is_null()) bad("\"handlers\" must be an array of strings, or null for all");
      } else if (key == "disabled") {
        if (!value.is_boolean()) bad("\"disabled\" must be true or false");
      } else if (key == "limits") {
        if (!value.is_object()) {
          bad("\"limits\" must be an object of overrides ({\"cpu_seconds\": 10, ...})");
          continue;
        }
        for (const auto& [limit, number] : value.items()) {
          const bool known = std::any_of(limit_fields.begin(), limit_fields.end(),
                                         [&](const LimitField& k) { return k.key == limit; });
          if (!known)
            bad("unknown limit \"" + limit +
                "\" (cpu_seconds, wall_seconds, memory_mb, nproc, nofile, fsize_mb)");
          else if (!number.is_number_unsigned() && !number.is_null() &&
                   !(number.is_number_integer() && number.get<std::int64_t>() >= 0))
            bad("limit \"" + limit + "\" must be a whole number from 0 (unlimited), or null for the default");
        }
      } else {
        bad("unknown key \"" + key +
            "\" (name, user, group, docroots, domains, php_handler, handlers, php_ini_dir, disabled, limits)");
      }
    }
    if (whole) {
      for (const char* key : {"user", "docroots"}) {
        if (!item.contains(key)) bad(std::string("\"") + key + "\" is required for a new account");
      }
    }
    return ok;
  }

  Problems& problems_;
};

// `account` with the fields of `change` applied (for set: only those given; null clears).
void apply_fields(const json& fields, Account& account) {
  const auto optional_text = [&](const char* key, std::optional<std::string>& value) {
    const auto found = fields.find(key);
    if (found == fields.end()) return;
    if (found->is_null())
      value.reset();
    else
      value = found->get<std::string>();
  };
  if (const auto found = fields.find("user"); found != fields.end()) account.user = found->get<std::string>();
  optional_text("group", account.group);
  optional_text("php_handler", account.php_handler);
  optional_text("php_ini_dir", account.php_ini_dir);
  if (const auto found = fields.find("docroots"); found != fields.end())
    account.docroots = found->get<std::vector<std::string>>();
  if (const auto found = fields.find("domains"); found != fields.end()) {
    account.domains.clear();
    for (std::string domain : found->get<std::vector<std::string>>()) {
      for (char& c : domain)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (!domain.empty()) account.domains.push_back(domain);
    }
  }
  if (const auto found = fields.find("handlers"); found != fields.end()) {
    if (found->is_null())
      account.handlers.reset();
    else
      account.handlers = found->get<std::vector<std::string>>();
  }
  if (const auto found = fields.find("disabled"); found != fields.end()) account.disabled = found->get<bool>();
  if (const auto found = fields.find("limits"); found != fields.end()) {
    for (const auto& [limit, number] : found->items()) {
      for (const LimitField& key : limit_fields) {
        if (key.key != limit) continue;
        if (number.is_null())
          (account.limits.*key.value).reset();
        else
          account.limits.*key.value = number.get<std::uint64_t>();
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// The plan.

enum class OpKind { none, create, replace, remove };

struct Op {
  OpKind kind = OpKind::none;
  std::string name;
  Account account;  // create, replace: what is written
  std::string text;
  std::string temp;    // create, replace: the staged file
  std::string backup;  // replace, remove: the old file's second name
};

struct Plan {
  std::vector<Op> ops;  // in name order
  std::size_t unchanged = 0;
};

ErrorCode code_of(const std::vector<ErrorCode>& codes) {
  if (codes.empty()) return ErrorCode::invalid;
  const bool same = std::all_of(codes.begin(), codes.end(), [&](ErrorCode c) { return c == codes.front(); });
  return same ? codes.front() : ErrorCode::invalid;
}

// ---------------------------------------------------------------------------------------
// The journal.

std::optional<std::string> read_journal(const AccountsDir& dir, std::string& text) {
  const Fd file(::openat(dir.fd.get(), std::string(journal_name).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!file) {
    if (errno == ENOENT) return std::nullopt;
    return "cannot open " + dir.path + "/" + std::string(journal_name) + ": " + errno_text(errno);
  }
  std::array<char, 65536> buffer{};
  while (true) {
    const ssize_t got = ::read(file.get(), buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return "cannot read the journal in " + dir.path + ": " + errno_text(errno);
    if (got == 0) break;
    text.append(buffer.data(), static_cast<std::size_t>(got));
  }
  return std::nullopt;
}

bool exists_in(const AccountsDir& dir, const std::string& name) {
  struct stat st {};
  return ::fstatat(dir.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

// Undoes (or, once committed, finishes) what a journal lists. Each step can be repeated:
// a recovery that is itself cut short is taken up again by the next one.
std::optional<std::string> replay_journal(const AccountsDir& dir, const std::string& text) {
  std::vector<std::vector<std::string>> ops;
  bool committed = false;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> op;
    for (std::string word; words >> word;) op.push_back(word);
    if (op.empty() || op[0].starts_with("#")) continue;
    if (op[0] == "committed") {
      committed = true;
      continue;
    }
    const bool known = (op[0] == "create" && op.size() == 3) || (op[0] == "replace" && op.size() == 4) ||
                       (op[0] == "remove" && op.size() == 3);
    if (!known)
      return "the journal " + dir.path + "/" + std::string(journal_name) + " has a line this version cannot read (\"" +
             line + "\"); nothing was undone: look at it and remove it by hand";
    for (const std::string& word : op) {
      if (word.find('/') != std::string::npos || word == "." || word == "..")
        return "the journal " + dir.path + "/" + std::string(journal_name) + " names \"" + word +
               "\", which is not a file of accounts_dir; look at it and remove it by hand";
    }
    ops.push_back(std::move(op));
  }
  std::vector<std::string> failures;
  const auto unlink_if_there = [&](const std::string& name) {
    if (::unlinkat(dir.fd.get(), name.c_str(), 0) != 0 && errno != ENOENT)
      failures.push_back("cannot remove " + dir.path + "/" + name + ": " + errno_text(errno));
  };
  const auto restore = [&](const std::string& backup, const std::string& file) {
    if (!exists_in(dir, backup)) return;
    if (::renameat(dir.fd.get(), backup.c_str(), dir.fd.get(), file.c_str()) != 0)
      failures.push_back("cannot restore " + dir.path + "/" + file + " from " + backup + ": " + errno_text(errno));
  };
  for (auto op = ops.rbegin(); op != ops.rend(); ++op) {
    const std::vector<std::string>& o = *op;
    if (o[0] == "create" && o.size() == 3) {
      // create NAME TEMP: TEMP still there means the rename was not done.
      if (!committed && !exists_in(dir, o[2])) unlink_if_there(o[1] + ".toml");
      unlink_if_there(o[2]);
    } else if (o[0] == "replace" && o.size() == 4) {
      // replace NAME TEMP BACKUP
      if (!committed && !exists_in(dir, o[2])) restore(o[3], o[1] + ".toml");
      unlink_if_there(o[2]);
      unlink_if_there(o[3]);
    } else if (o[0] == "remove" && o.size() == 3) {
      // remove NAME BACKUP: the file still there means the unlink was not done.
      if (!committed && !exists_in(dir, o[1] + ".toml")) restore(o[2], o[1] + ".toml");
      unlink_if_there(o[2]);
    }
  }
  if (::fsync(dir.fd.get()) != 0) failures.push_back("cannot fsync " + dir.path + ": " + errno_text(errno));
  if (!failures.empty()) {
    std::string all;
    for (const auto& f : failures) all += (all.empty() ? "" : "; ") + f;
    return all + "; the journal " + dir.path + "/" + std::string(journal_name) +
           " is kept, and the next edit tries again";
  }
  if (::unlinkat(dir.fd.get(), std::string(journal_name).c_str(), 0) != 0 && errno != ENOENT)
    return "cannot remove the journal in " + dir.path + ": " + errno_text(errno);
  (void)::fsync(dir.fd.get());
  return std::nullopt;
}

std::optional<std::string> write_journal(const AccountsDir& dir, const std::string& text) {
  const std::string name(journal_name);
  Fd file(::openat(dir.fd.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!file) return "cannot create the journal in " + dir.path + ": " + errno_text(errno);
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(file.get(), text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return "cannot write the journal in " + dir.path + ": " + errno_text(errno);
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(file.get()) != 0) return "cannot fsync the journal in " + dir.path + ": " + errno_text(errno);
  return sync_directory(dir);
}

std::optional<std::string> mark_committed(const AccountsDir& dir) {
  const Fd file(
      ::openat(dir.fd.get(), std::string(journal_name).c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC));
  if (!file) return "cannot open the journal in " + dir.path + ": " + errno_text(errno);
  const std::string line = "committed\n";
  if (::write(file.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()) || ::fsync(file.get()) != 0)
    return "cannot mark the journal in " + dir.path + " committed: " + errno_text(errno);
  return std::nullopt;
}

std::string journal_text(const Plan& plan) {
  std::string out = "#suwrap-apply-journal 1\n";
  for (const Op& op : plan.ops) {
    switch (op.kind) {
      case OpKind::create: out += "create " + op.name + " " + op.temp + "\n"; break;
      case OpKind::replace: out += "replace " + op.name + " " + op.temp + " " + op.backup + "\n"; break;
      case OpKind::remove: out += "remove " + op.name + " " + op.backup + "\n"; break;
      case OpKind::none: break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The command.

std::string json_names(const Plan& plan, OpKind kind) {
  std::string out = "[";
  bool first = true;
  for (const Op& op : plan.ops) {
    if (op.kind != kind) continue;
    out += (first ? "" : ",") + json_string(op.name);
    first = false;
  }
  return out + "]";
}

std::size_t count_of(const Plan& plan, OpKind kind) {
  return static_cast<std::size_t>(
      std::count_if(plan.ops.begin(), plan.ops.end(), [&](const Op& op) { return op.kind == kind; }));
}

void print_result(const ApplyOptions& opt, const Plan& plan, double seconds) {
  if (opt.json) {
    std::array<char, 32> text{};
    std::snprintf(text.data(), text.size(), "%.3f", seconds);
    std::printf("%s\"dry_run\":%s,\"created\":%s,\"changed\":%s,\"removed\":%s,\"unchanged\":%zu,\"seconds\":%s}\n",
                json_object_start().c_str(), opt.dry_run ? "true" : "false",
                json_names(plan, OpKind::create).c_str(), json_names(plan, OpKind::replace).c_str(),
                json_names(plan, OpKind::remove).c_str(), plan.unchanged, text.data());
    return;
  }
  for (const Op& op : plan.ops) {
    const char* verb = op.kind == OpKind::create ? "create" : op.kind == OpKind::replace ? "change" : "remove";
    if (op.kind != OpKind::none) std::printf("%s %s\n", verb, op.name.c_str());
  }
  std::printf("%s%zu created, %zu changed, %zu removed, %zu unchanged in %.2f s\n",
              opt.dry_run ? "dry run, nothing written: " : "", count_of(plan, OpKind::create),
              count_of(plan, OpKind::replace), count_of(plan, OpKind::remove), plan.unchanged, seconds);
}

int run_apply(const ApplyOptions& opt) {
  const auto started = Clock::now();
  if (!running_as_root() && !opt.dry_run)
    return fail(ErrorCode::invalid, "account apply changes root's configuration (accounts_dir); run it as root");

  std::string text;
  if (opt.file == "-") {
    std::array<char, 65536> buffer{};
    while (true) {
      const ssize_t got = ::read(STDIN_FILENO, buffer.data(), buffer.size());
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return fail(ErrorCode::io, "cannot read standard input: " + errno_text(errno));
      if (got == 0) break;
      text.append(buffer.data(), static_cast<std::size_t>(got));
      if (text.size() > max_apply_bytes) return fail(ErrorCode::invalid, "the input is larger than 64 MiB");
    }
  } else if (auto error = read_text_file(opt.file, max_apply_bytes, text)) {
    return fail(ErrorCode::io, *error);
  }
  Problems problems;
  const auto input = InputReader(problems).read(text);
  if (!input) return fail(ErrorCode::invalid, problems.errors());

  const LoadedConfig first = load_config(opt.config);
  if (!first) return fail(ErrorCode::invalid, first.error().to_string());
  std::optional<AccountsDir> dir;
  if (!opt.dry_run || running_as_root()) {
    auto locked = lock_accounts_dir(first->accounts_dir,
                                    std::chrono::milliseconds(static_cast<std::int64_t>(opt.lock_timeout * 1000)));
    if (!locked) return fail(locked.error().code, locked.error().message);
    dir.emplace(std::move(*locked));
  }
  const LoadedConfig config = load_config(opt.config);
  if (!config) return fail(ErrorCode::invalid, config.error().to_string());
  if (config->accounts_dir != first->accounts_dir)
    return fail(ErrorCode::invalid, "accounts_dir changed while this apply waited for its lock; run it again");
  AccountOptions account_options = tool_accounts();
  if (!running_as_root()) account_options.require_trusted = false;
  AccountDirectory accounts(*config, account_options);
  auto files = accounts.files();
  if (!files) return fail(ErrorCode::invalid, files.error().to_string());

  // 1. The plan.
  std::map<std::string, const IndexedFile*> existing;  // by account name
  for (const IndexedFile& file : *files) existing.emplace(file.name.substr(0, file.name.size() - 5), &file);
  std::vector<ErrorCode> codes;
  const auto refuse = [&](ErrorCode code, const std::string& name, std::string message) {
    codes.push_back(code);
    problems.error(std::move(message), name);
  };
  std::map<std::string, Op> ops;
  for (const Change& change : input->changes) {
    const std::string file = child_path(config->accounts_dir, change.name + ".toml");
    const bool there = existing.count(change.name) != 0;
    AccountRead read;
    if (there) read = accounts.read_file(change.name + ".toml");
    const bool present = there && !read.missing;
    Op op;
    op.name = change.name;
    if (change.action == Action::remove) {
      if (!present) {
        if (!change.if_present) refuse(ErrorCode::not_found, change.name, "no account " + change.name + " to remove");
        continue;
      }
      op.kind = OpKind::remove;
      ops.emplace(change.name, std::move(op));
      continue;
    }
    Account account;
    if (change.action == Action::set) {
      if (!present) {
        refuse(ErrorCode::not_found, change.name, "no account " + change.name + " to change");
        continue;
      }
      if (read.problem) {
        refuse(ErrorCode::invalid, change.name,
               "its file is broken (" + read.problem->to_string() + "); give the whole account with add or in "
               "the desired set, or remove it");
        continue;
      }
      account = *read.account;
    }
    apply_fields(change.fields, account);
    account.name = change.name;
    account.file = file;
    const bool same = present && !read.problem && account_to_toml(*read.account) == account_to_toml(account);
    if (change.action == Action::add && present && !input->desired_set && !(change.if_absent && same)) {
      refuse(ErrorCode::exists, change.name,
             "account " + change.name + " exists (" + file + ")" +
                 (change.if_absent ? " and differs from what was asked" : "") +
                 "; change it with action set, or give if_absent for a retried add");
      continue;
    }
    if (same) {  // as asked already: nothing to write
      Op none;
      none.name = change.name;
      ops.emplace(change.name, std::move(none));
      continue;
    }
    op.kind = present ? OpKind::replace : OpKind::create;
    op.account = std::move(account);
    ops.emplace(change.name, std::move(op));
  }
  if (input->desired_set) {
    for (const auto& [name, file] : existing) {
      if (ops.count(name) != 0) continue;
      Op op;
      op.kind = OpKind::remove;
      op.name = name;
      ops.emplace(name, std::move(op));
    }
  }

  // 2. Validation: each account alone, then the state afterwards as a whole.
  SystemFacts system_facts;
  CachingFacts facts(system_facts);
  for (auto& [name, op] : ops) {
    if (op.kind != OpKind::create && op.kind != OpKind::replace) continue;
    Problems alone;
    validate_alone(op.account, *config, facts, alone);
    for (const Problem& p : alone.errors()) refuse(ErrorCode::invalid, name, p.message);
    op.text = account_file_text(op.account, "apply");
    auto parsed = parse_account(op.text, op.account.file, name);
    if (!parsed) {
      refuse(ErrorCode::invalid, name, "the account file would not load: " + parsed.error().to_string());
      continue;
    }
    if (account_to_toml(*parsed) != account_to_toml(op.account))
      refuse(ErrorCode::invalid, name, "the account file would not read back as written");
    else if (auto problem = account_handler_problem(*config, *parsed))
      refuse(ErrorCode::invalid, name, problem->to_string());
  }
  std::vector<DocrootClaim> claims;
  std::map<std::string, std::vector<std::string>> named;  // user -> accounts
  std::set<std::string> touched;
  for (const auto& [name, op] : ops) {
    if (op.kind != OpKind::none) touched.insert(name);
    if (op.kind == OpKind::create || op.kind == OpKind::replace) {
      for (const auto& docroot : op.account.docroots) claims.push_back({docroot, name});
      named[op.account.user].push_back(name);
    }
  }
  for (const auto& [name, file] : existing) {
    const auto op = ops.find(name);
    if (op != ops.end() && op->second.kind != OpKind::none) continue;  // changed or removed
    for (const auto& docroot : file->docroots) claims.push_back({docroot, name});
    for (const auto& user : file->users) named[user].push_back(name);
  }
  for (const auto& overlap : overlapping_docroots(std::move(claims))) {
    if (overlap.account == overlap.other_account) continue;
    if (touched.count(overlap.account) == 0 && touched.count(overlap.other_account) == 0) continue;
    const std::string& name = touched.count(overlap.account) != 0 ? overlap.account : overlap.other_account;
    refuse(ErrorCode::invalid, name,
           "docroot " + overlap.docroot + " of account " + overlap.account + " overlaps " + overlap.other_docroot +
               " of account " + overlap.other_account + "; a script must belong to one account only");
  }
  if (config->mode == Mode::owner) {
    for (const auto& [user, names] : named) {
      if (names.size() < 2) continue;
      const auto first_touched = std::find_if(names.begin(), names.end(),
                                              [&](const std::string& n) { return touched.count(n) != 0; });
      if (first_touched == names.end()) continue;
      std::string all;
      for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
      refuse(ErrorCode::invalid, *first_touched,
             "user " + user + " would be named by accounts " + all +
                 "; in owner mode one account file names one user (a second refuses its requests, check target)");
    }
  }
  problems.print_warnings();
  if (problems.any_error()) {
    const int status = fail(code_of(codes), problems.errors());
    if (!json_failures()) std::fprintf(stderr, "account apply: nothing was changed\n");
    return status;
  }

  Plan plan;
  for (auto& [name, op] : ops) {
    if (op.kind == OpKind::none)
      ++plan.unchanged;
    else
      plan.ops.push_back(std::move(op));
  }
  plan.unchanged += static_cast<std::size_t>(std::count_if(
      existing.begin(), existing.end(), [&](const auto& e) { return ops.count(e.first) == 0; }));
  if (opt.dry_run || plan.ops.empty()) {
    print_result(opt, plan, std::chrono::duration<double>(Clock::now() - started).count());
    return exit_ok;
  }

  // 3. Staging: new files and backups under hidden names, then made durable at once.
  const auto unstage = [&](const std::string& why) {
    for (const Op& op : plan.ops) {
      if (!op.temp.empty()) ::unlinkat(dir->fd.get(), op.temp.c_str(), 0);
      if (!op.backup.empty()) ::unlinkat(dir->fd.get(), op.backup.c_str(), 0);
    }
    return fail(ErrorCode::io, why + "; nothing was changed");
  };
  for (Op& op : plan.ops) {
    if (op.kind == OpKind::create || op.kind == OpKind::replace) {
      const std::string temp = hidden_name(op.name, "apply");
      if (auto error = write_new_file(*dir, temp, op.text)) return unstage(*error);
      op.temp = temp;
    }
    if (op.kind == OpKind::replace || op.kind == OpKind::remove) {
      const std::string backup = hidden_name(op.name, "backup");
      const std::string file = op.name + ".toml";
      if (::linkat(dir->fd.get(), file.c_str(), dir->fd.get(), backup.c_str(), 0) != 0)
        return unstage("cannot keep a copy of " + dir->path + "/" + file + ": " + errno_text(errno));
      op.backup = backup;
    }
  }
  if (::syncfs(dir->fd.get()) != 0) return unstage("cannot sync the file system of " + dir->path + ": " + errno_text(errno));

  // 4. The journal, 5. the commit.
  if (auto error = write_journal(*dir, journal_text(plan))) {
    ::unlinkat(dir->fd.get(), std::string(journal_name).c_str(), 0);
    return unstage(*error);
  }
  for (const Op& op : plan.ops) {
    const std::string file = op.name + ".toml";
    int rc = 0;
    switch (op.kind) {
      case OpKind::create:
        rc = ::renameat2(dir->fd.get(), op.temp.c_str(), dir->fd.get(), file.c_str(), RENAME_NOREPLACE);
        break;
      case OpKind::replace: rc = ::renameat(dir->fd.get(), op.temp.c_str(), dir->fd.get(), file.c_str()); break;
      case OpKind::remove: rc = ::unlinkat(dir->fd.get(), file.c_str(), 0); break;
      case OpKind::none: break;
    }
    if (rc != 0) {
      const std::string why = (op.kind == OpKind::create && errno == EEXIST)
                                  ? "account " + op.name + " was created by someone else meanwhile"
                                  : "cannot put " + dir->path + "/" + file + " in place: " + errno_text(errno);
      std::string journal;
      if (auto error = read_journal(*dir, journal))
        return fail(ErrorCode::io, why + "; and the roll-back cannot read its journal: " + *error);
      if (auto error = replay_journal(*dir, journal))
        return fail(ErrorCode::io, why + "; rolling back failed: " + *error);
      return fail(ErrorCode::io, why + "; every change was rolled back: nothing was changed");
    }
  }
  if (auto error = sync_directory(*dir)) {
    std::string journal;
    if (!read_journal(*dir, journal)) (void)replay_journal(*dir, journal);
    return fail(ErrorCode::io, *error + "; every change was rolled back");
  }
  // Committed: from here on, a recovery finishes the clean-up instead of rolling back.
  if (auto error = mark_committed(*dir)) std::fprintf(stderr, "warning: %s\n", error->c_str());

  // 6. Clean-up.
  std::string journal;
  if (auto error = read_journal(*dir, journal); error || replay_journal(*dir, journal))
    std::fprintf(stderr, "warning: the backups of this apply were not all removed; the next edit removes them\n");
  print_result(opt, plan, std::chrono::duration<double>(Clock::now() - started).count());
  return exit_ok;
}

}  // namespace

std::optional<std::string> recover_interrupted_apply(const AccountsDir& dir) {
  std::string journal;
  if (!exists_in(dir, std::string(journal_name))) return std::nullopt;
  if (auto error = read_journal(dir, journal)) return error;
  if (auto error = replay_journal(dir, journal)) return "an interrupted account apply could not be rolled back: " + *error;
  std::fprintf(stderr, "note: the journal of an interrupted account apply in %s was replayed first (rolled back, or its clean-up finished)\n", dir.path.c_str());
  return std::nullopt;
}

void add_account_apply_command(CLI::App* account, Commands& commands) {
  auto opt = std::make_shared<ApplyOptions>();
  auto* apply = account->add_subcommand(
      "apply",
      "Apply many account edits at once, all or nothing, under one lock. FILE (or - for standard\n"
      "input) is JSON: {\"accounts\": [...]} the desired set (afterwards exactly these accounts exist),\n"
      "or {\"changes\": [{\"action\": \"add|set|remove\", \"name\", ...}]}. Everything is validated first;\n"
      "a failure while writing rolls every change back. Exit 0 done, 2 invalid, 3 exists, 4 not found,\n"
      "5 locked, 6 io (nothing changed).");
  apply->add_option("file", opt->file, "The JSON file of accounts or changes; - for standard input")->required();
  apply->add_flag("--dry-run", opt->dry_run, "Validate and print what would change; write nothing");
  apply->add_option("--lock-timeout", opt->lock_timeout,
                    "Seconds to wait for another edit of accounts_dir to end (default 30); then exit 5 (locked)")
      ->check(CLI::Range(0.0, 86400.0));
  apply->add_flag("--json", opt->json,
                  "Print {\"schema_version\", \"dry_run\", \"created\", \"changed\", \"removed\", \"unchanged\", "
                  "\"seconds\"}; failures as JSON too");
  apply->add_option("--config", opt->config, "Configuration file (default: the compiled-in one)");
  commands.push_back({apply, [opt] { return run_apply(*opt); }});
}

}  // namespace suwrap::cli::edit
