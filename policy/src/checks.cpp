// SPDX-License-Identifier: Apache-2.0
// The check pipeline of suwrap(8), CHECKS. Each check judges facts that the FactSource
// gathered; the first failure decides and every later check is reported as skipped.
#include "suwrap/policy/checks.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include "suwrap/build_config.hpp"
#include "suwrap/policy/environment.hpp"
#include "suwrap/config/paths.hpp"
#include "suwrap/util/text.hpp"
#include "suwrap/util/trusted_open.hpp"

namespace suwrap::policy {

using util::join;
using util::lowercase;
using util::mode_text;

namespace {

std::string user_label(uid_t uid, FactSource& facts) {
  if (auto u = facts.user_by_uid(uid)) return "uid " + std::to_string(uid) + " (" + u->name + ")";
  return "uid " + std::to_string(uid);
}

bool valid_handler_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
  });
}

// The concrete directory a docroot pattern matched for `path`: as many leading components
// of `path` as the pattern has ("/home/*/public_html" -> "/home/alice/public_html").
std::string concrete_docroot(std::string_view path, std::string_view pattern) {
  const size_t depth = split_components(pattern).size();
  std::string out;
  size_t taken = 0;
  for (auto component : split_components(path)) {
    if (taken++ == depth) break;
    out += '/';
    out += component;
  }
  return out.empty() ? "/" : out;
}

// Runs the checks in order. One object per decision; each check is one member function
// that either records a pass and returns true, or records the refusal and returns false.
class Pipeline {
 public:
  Pipeline(const Request& request, const LoadedConfig& loaded, AccountSource& accounts, FactSource& facts)
      : request_(request), loaded_(loaded), accounts_(accounts), facts_(facts) {
    decision_.script = request.script.value_or("");
  }

  Decision run() {
    // Checks 1-12, in the order of suwrap(8), CHECKS; the first failure ends the run.
    (void)(check_caller() && check_config() && check_request() && check_docroot() &&
           check_path() && check_target() && check_user() && check_owner() &&
           check_dir_perms() && check_file_perms() && check_handler() && check_vhost() &&
           allow());
    skip_remaining();
    return std::move(decision_);
  }

 private:
  bool pass(Check check, std::string detail) {
    decision_.checks.push_back({check, Outcome::pass, std::move(detail)});
    return true;
  }

  bool deny(Check check, std::string reason, int http_status = 403) {
    return refuse(check, Verdict::deny, std::move(reason), http_status);
  }

  bool error(Check check, std::string reason) {
    return refuse(check, Verdict::error, std::move(reason), 500);
  }

  bool refuse(Check check, Verdict verdict, std::string reason, int http_status) {
    decision_.checks.push_back({check, Outcome::fail, reason});
    decision_.verdict = verdict;
    decision_.failed = check;
    decision_.reason = std::move(reason);
    decision_.http_status = http_status;
    return false;
  }

  void skip_remaining() {
    for (int i = static_cast<int>(decision_.checks.size()) + 1; i <= last_policy_check; ++i)
      decision_.checks.push_back({static_cast<Check>(i), Outcome::skip, {}});
  }

  bool allow() {
    decision_.verdict = Verdict::allow;
    decision_.failed.reset();
    decision_.reason = "all checks passed";
    decision_.http_status = 200;
    decision_.limits = account_ ? account_->limits.applied_to(config().limits) : config().limits;
    decision_.target = Target{user_, group_, account_};
    return true;
  }

  [[nodiscard]] const Config& config() const { return loaded_.value(); }

  // 1. caller: the real uid is the configured caller. The caller's name is part of the
  // configuration, so without one it cannot be judged; `config` then fails and decides.
  bool check_caller() {
    if (!loaded_.has_value()) {
      decision_.checks.push_back(
          {Check::caller, Outcome::skip, "cannot be judged without a valid configuration"});
      return true;
    }
    const auto caller = facts_.user_by_name(config().caller);
    if (!caller)
      return error(Check::caller,
                   "the configured caller " + config().caller + " is not a user of this system");
    if (caller->uid != request_.real_uid)
      return deny(Check::caller, user_label(request_.real_uid, facts_) +
                                     " is not the configured caller " + config().caller);
    return pass(Check::caller, "uid " + std::to_string(caller->uid) + " is the configured caller " +
                                   config().caller);
  }

  // 2. config: root-owned, not group/other-writable, and valid (judged while loading). An
  // account file is judged where it is found, at `target`: a broken one fails `config` only
  // for the requests it could govern, and the report is put back here, where it belongs.
  bool check_config() {
    if (!loaded_.has_value()) return error(Check::config, loaded_.error().to_string());
    if (auto problem = accounts_.problem()) return error(Check::config, problem->to_string());
    return pass(Check::config, config().file + " is root-owned and valid");
  }

  // A broken account file found at `target`: `config` fails, and what ran after it is skipped.
  bool fail_config(const ConfigError& problem) {
    decision_.checks.resize(static_cast<std::size_t>(Check::config) - 1);
    decision_.target.reset();
    return error(Check::config, problem.to_string());
  }

  // 3. request: a well-formed script path, handler name and environment.
  bool check_request() {
    if (!request_.script) return deny(Check::request, "no script was named (SCRIPT_FILENAME is missing)");
    if (auto why = validate_script_path(*request_.script)) return deny(Check::request, *why);
    if (request_.handler && !valid_handler_name(*request_.handler))
      return deny(Check::request, "SUWRAP_HANDLER is not a handler name");
    if (auto why = validate_environment(request_.environment)) return deny(Check::request, *why);
    return pass(Check::request, "the script path and the environment are well-formed");
  }

  // 4. docroot: inside a configured docroot, component by component.
  bool check_docroot() {
    auto docroot = matching_docroot(*request_.script, config().docroots);
    if (!docroot)
      return deny(Check::docroot, *request_.script + " is not inside any docroot (" +
                                      join(config().docroots, ", ") + ")");
    docroot_ = concrete_docroot(*request_.script, *docroot);
    return pass(Check::docroot, "inside docroot " + *docroot);
  }

  // 5. path: every component resolves by descriptor; symlinks as the policy says, and
  // what they lead to stays inside the same docroot.
  bool check_path() {
    auto walked = facts_.walk(*request_.script);
    if (!walked) {
      const auto& e = walked.error();
      switch (e.kind) {
        case WalkErrorKind::missing:
        case WalkErrorKind::not_directory:
          return deny(Check::path, e.to_string(), 404);
        case WalkErrorKind::too_many_links:
        case WalkErrorKind::too_long:
        case WalkErrorKind::denied:
          return deny(Check::path, e.to_string());
        case WalkErrorKind::io:
          break;
      }
      return error(Check::path, e.to_string());
    }
    walk_ = std::move(*walked);
    const FileFacts& object = walk_->object.facts;
    for (const auto& link : walk_->links) {
      if (config().symlinks == SymlinkPolicy::deny)
        return deny(Check::path, link.path + " is a symbolic link and symlinks = \"deny\"");
      if (link.link.uid != object.uid || link.resolved.uid != object.uid)
        return deny(Check::path, link.path + " is a symbolic link owned by " +
                                     user_label(link.link.uid, facts_) + " to " +
                                     link.resolved_path + " owned by " +
                                     user_label(link.resolved.uid, facts_) +
                                     "; symlinks = \"owner-match\" needs both owned by the script's owner");
    }
    if (!walk_->links.empty() && !path_inside(walk_->physical_path(), docroot_))
      return deny(Check::path, *request_.script + " leads to " + walk_->physical_path() +
                                   ", outside the docroot " + docroot_);
    decision_.physical_path = walk_->physical_path();
    decision_.script_dir = walk_->dirs.empty() ? "/" : walk_->dirs.back().path;
    decision_.script_facts = object;
    return pass(Check::path, walk_->links.empty()
                                 ? "every component resolves"
                                 : "every component resolves; " + std::to_string(walk_->links.size()) +
                                       " symbolic link(s) owned by the script's owner");
  }

  // 6. target: the script's owner (owner mode) or the account whose docroot holds it.
  bool check_target() {
    std::optional<std::string> owner;
    if (config().mode == Mode::owner) {
      const uid_t uid = walk_->object.facts.uid;
      auto user = facts_.user_by_uid(uid);
      if (!user) return deny(Check::target, "no user has uid " + std::to_string(uid) + ", the owner of " +
                                                walk_->physical_path());
      user_ = *user;
      owner = user_.name;
    }
    AccountAnswer found = governing_account(config(), accounts_, *request_.script, owner);
    switch (found.kind) {
      case AccountAnswer::Kind::broken:
        return fail_config(found.problem);
      case AccountAnswer::Kind::ambiguous:
        // Two account files for one user would make which `disabled` applies a matter of file
        // names; two accounts' docroots holding one script, whose it is: refuse, never guess.
        if (config().mode == Mode::owner)
          return deny(Check::target, "user " + user_.name + " is named by two account files (" +
                                         join(found.files, ", ") + ")");
        return fail_config(ConfigError{config().accounts_dir, 0, "docroots",
                                       "the docroots of accounts " + join(found.files, " and ") + " both hold " +
                                           *request_.script + "; expected docroots that are neither equal to "
                                           "nor inside another account's"});
      case AccountAnswer::Kind::none:
        if (config().mode == Mode::account)
          return deny(Check::target, "no account's docroot holds " + *request_.script);
        break;
      case AccountAnswer::Kind::account:
        // The file that runs decides as the name does (as for the handler): a link into
        // another account's docroot would run that account's file under this one's settings.
        if (config().mode == Mode::account && walk_->physical_path() != *request_.script) {
          const AccountAnswer there = governing_account(config(), accounts_, walk_->physical_path(), owner);
          if (there.kind != AccountAnswer::Kind::account || there.account->name != found.account->name)
            return deny(Check::target, *request_.script + " leads to " + walk_->physical_path() + ", which " +
                                           (there.kind == AccountAnswer::Kind::account
                                                ? "is account " + there.account->name + "'s"
                                                : std::string("no account holds alone")) +
                                           ", not account " + found.account->name + "'s");
        }
        account_ = std::move(found.account);
        // `config` passed for the main file; this account file is judged valid too.
        decision_.checks[static_cast<std::size_t>(Check::config) - 1].detail +=
            "; account file " + account_->file + " too";
        break;
    }
    if (account_ && account_->disabled)
      return deny(Check::target, "account " + account_->name + " is disabled");
    return pass(Check::target, account_
                                   ? "account " + account_->name + " (user " + account_->user + ")"
                                   : "owner " + user_.name + " (no account file)");
  }

  // 7. user: the user and group exist, are not root, and are at or above the minimums.
  bool check_user() {
    if (config().mode == Mode::account) {
      auto user = facts_.user_by_name(account_->user);
      if (!user)
        return deny(Check::user, "user " + account_->user + " of account " + account_->name +
                                     " does not exist");
      user_ = *user;
    }
    std::optional<GroupInfo> group;
    if (account_ != nullptr && account_->group) {
      group = facts_.group_by_name(*account_->group);
      if (!group) return deny(Check::user, "group " + *account_->group + " does not exist");
    } else {
      group = facts_.group_by_gid(user_.gid);
      if (!group)
        return deny(Check::user, "the primary group " + std::to_string(user_.gid) + " of " +
                                     user_.name + " does not exist");
    }
    group_ = *group;
    if (user_.uid == 0) return deny(Check::user, user_.name + " is root");
    if (group_.gid == 0) return deny(Check::user, "group " + group_.name + " is root's group (gid 0)");
    if (user_.uid < config().min_uid)
      return deny(Check::user, user_.name + " has uid " + std::to_string(user_.uid) +
                                   ", below min_uid " + std::to_string(config().min_uid));
    if (group_.gid < config().min_gid)
      return deny(Check::user, "group " + group_.name + " has gid " + std::to_string(group_.gid) +
                                   ", below min_gid " + std::to_string(config().min_gid));
    // Known from here on: a later refusal's log line names whom it would have run as.
    decision_.target = Target{user_, group_, account_};
    return pass(Check::user, user_.name + " (uid " + std::to_string(user_.uid) + "), group " +
                                 group_.name + " (gid " + std::to_string(group_.gid) + ")");
  }

  // 8. owner: the script belongs to the target user.
  bool check_owner() {
    const uid_t owner = walk_->object.facts.uid;
    if (owner != user_.uid)
      return deny(Check::owner, walk_->physical_path() + " is owned by " + user_label(owner, facts_) +
                                    ", not by " + user_.name + " (uid " + std::to_string(user_.uid) + ")");
    return pass(Check::owner, "owned by " + user_.name);
  }

  // 9. dir_perms: every directory from "/" down is the user's or root's, and not writable
  // by others (nor by group unless allowed).
  bool check_dir_perms() {
    for (const auto& dir : walk_->dirs) {
      const FileFacts& f = dir.facts;
      if (f.uid != 0 && f.uid != user_.uid)
        return deny(Check::dir_perms, dir.path + " is owned by " + user_label(f.uid, facts_) +
                                          ", not by root or " + user_.name);
      if ((f.mode & S_IWOTH) != 0)
        return deny(Check::dir_perms, dir.path + " is writable by others (mode " + mode_text(f.mode) + ")");
      if ((f.mode & S_IWGRP) != 0 && !config().allow_dir_group_writable)
        return deny(Check::dir_perms, dir.path + " is writable by group (mode " + mode_text(f.mode) + ")");
    }
    return pass(Check::dir_perms, std::to_string(walk_->dirs.size()) +
                                      " directories owned by root or " + user_.name + ", not writable by others");
  }

  // 10. file_perms: a regular file, not writable by others (nor group unless allowed),
  // not set-uid/set-gid, exactly one hard link.
  bool check_file_perms() {
    const FileFacts& f = walk_->object.facts;
    const std::string& p = walk_->physical_path();
    if (!f.is_regular()) return deny(Check::file_perms, p + " is not a regular file");
    if ((f.mode & S_IWOTH) != 0)
      return deny(Check::file_perms, p + " is writable by others (mode " + mode_text(f.mode) + ")");
    if ((f.mode & S_IWGRP) != 0 && !config().allow_file_group_writable)
      return deny(Check::file_perms, p + " is writable by group (mode " + mode_text(f.mode) + ")");
    if ((f.mode & (S_ISUID | S_ISGID)) != 0)
      return deny(Check::file_perms, p + " is set-uid or set-gid (mode " + mode_text(f.mode) + ")");
    if (f.nlink != 1)
      return deny(Check::file_perms, p + " has " + std::to_string(f.nlink) + " hard links; one is required");
    return pass(Check::file_perms, "regular file, mode " + mode_text(f.mode) + ", one link");
  }

  // 11. handler: chosen, existing, allowed for the account, and usable.
  bool check_handler() {
    auto chosen = select_handler(config(), walk_->physical_path(), account_.get(), request_.handler);
    if (!chosen) {
      if (chosen.error().verdict == Verdict::error) return error(Check::handler, chosen.error().reason);
      return deny(Check::handler, chosen.error().reason);
    }
    const Handler* handler = *chosen;
    decision_.handler = handler;
    decision_.handler_name = handler->name;

    if (handler->kind == HandlerKind::cgi) {
      if ((walk_->object.facts.mode & S_IXUSR) == 0)
        return deny(Check::handler, walk_->physical_path() + " is not executable by its owner (mode " +
                                        mode_text(walk_->object.facts.mode) + ")");
      return pass(Check::handler, "cgi: the script runs itself");
    }
    if (!check_handler_program(*handler)) return false;
    if (!check_php_ini(*handler)) return false;
    return pass(Check::handler, std::string(to_string(handler->kind)) + " handler " + handler->name + " (" +
                                    handler->path + "), PHPRC=" + decision_.phprc);
  }

  // The program of a php handler: a root-owned executable nobody else can change.
  bool check_handler_program(const Handler& handler) {
    auto program = facts_.stat_path(handler.path);
    if (!program) return error(Check::handler, "handler " + handler.name + ": " + handler.path + " does not exist");
    if (!program->is_regular() || (program->mode & S_IXOTH) == 0)
      return error(Check::handler, "handler " + handler.name + ": " + handler.path + " is not an executable file");
    if (util::untrusted(program->uid, program->mode))
      return error(Check::handler, "handler " + handler.name + ": " + handler.path +
                                       " must be owned by root and writable only by root");
    // suwrap runs a PHP handler as php-cgi is run: the program alone, the request body on its
    // stdin. The command-line binary run so executes the body as code: whoever sends a POST
    // runs code as the account. Only php-cgi (the CGI SAPI) may be a PHP handler.
    const auto sapi = facts_.php_sapi(handler.path);
    if (!sapi)
      return error(Check::handler, "handler " + handler.name + ": " + handler.path + " cannot be read");
    if (*sapi == "cgi-fcgi-other")
      return error(Check::handler, "handler " + handler.name + ": " + handler.path +
                                       " is php-cgi of another PHP build than suwrap's PHP guard (" +
                                       build::php_build_id +
                                       "), which it would not load; build and install suwrap against that PHP");
    if (*sapi != "cgi-fcgi")
      return error(Check::handler,
                   "handler " + handler.name + ": " + handler.path + " is " +
                       (*sapi == "cli" ? std::string("the PHP command-line binary") : std::string("not php-cgi")) +
                       ", which would run the request body as PHP code; a handler of kind " +
                       std::string(to_string(handler.kind)) + " must be php-cgi (like /usr/bin/php-cgi)");
    return true;
  }

  // PHPRC names the file php.ini in the account's php_ini_dir, else the handler's ini_dir.
  // A file, never a directory: php-cgi reads an ini in its working directory before a
  // PHPRC directory, so only a file keeps an account's stray php.ini from being read.
  bool check_php_ini(const Handler& handler) {
    const bool from_account = account_ != nullptr && account_->php_ini_dir.has_value();
    const std::string dir = from_account ? *account_->php_ini_dir : handler.ini_dir;
    const auto allowed_owner = [&](uid_t uid) { return uid == 0 || (from_account && uid == user_.uid); };
    const std::string who = from_account ? "root or " + user_.name : "root";

    auto dir_facts = facts_.stat_path(dir);
    if (!dir_facts || !dir_facts->is_dir())
      return deny(Check::handler, "php ini directory " + dir + " does not exist");
    // Whoever can write the ini runs code in every account that uses it: only its owner.
    if (!allowed_owner(dir_facts->uid) || (dir_facts->mode & (S_IWGRP | S_IWOTH)) != 0)
      return deny(Check::handler, "php ini directory " + dir + " must be owned by " + who +
                                      " and writable only by its owner");
    const std::string ini = dir + "/php.ini";
    auto ini_facts = facts_.stat_path(ini);
    if (!ini_facts || !ini_facts->is_regular())
      return deny(Check::handler, ini + " does not exist; PHPRC must name a php.ini file");
    if (!allowed_owner(ini_facts->uid) || (ini_facts->mode & (S_IWGRP | S_IWOTH)) != 0)
      return deny(Check::handler, ini + " must be owned by " + who + " and writable only by its owner");
    decision_.phprc = ini;
    return true;
  }

  // 12. vhost: SERVER_NAME is one of the account's domains, when check_vhost is on.
  bool check_vhost() {
    if (!config().check_vhost) return pass(Check::vhost, "check_vhost is off");
    if (account_ == nullptr)
      return deny(Check::vhost, "check_vhost is on and no account applies to " + user_.name);
    if (!request_.server_name || request_.server_name->empty())
      return deny(Check::vhost, "check_vhost is on and SERVER_NAME is missing");
    std::string name = lowercase(*request_.server_name);
    if (!name.empty() && name.back() == '.') name.pop_back();
    const auto& domains = account_->domains;
    if (std::find(domains.begin(), domains.end(), name) == domains.end())
      return deny(Check::vhost, "SERVER_NAME " + name + " is not a domain of account " + account_->name);
    return pass(Check::vhost, name + " is a domain of account " + account_->name);
  }

  const Request& request_;
  const LoadedConfig& loaded_;
  AccountSource& accounts_;
  FactSource& facts_;
  Decision decision_;

  std::string docroot_;  // the concrete docroot the script is in
  std::optional<Walk> walk_;
  UserInfo user_;
  GroupInfo group_;
  std::shared_ptr<const Account> account_;
};

}  // namespace

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::pass: return "pass";
    case Outcome::fail: return "fail";
    case Outcome::skip: return "skip";
  }
  return "fail";
}

int Decision::exit_code() const {
  switch (verdict) {
    case Verdict::allow: return 0;
    case Verdict::deny: return 1;
    case Verdict::error: return failed == Check::config ? 2 : 3;
  }
  return 3;
}

Decision decide(const Request& request, const LoadedConfig& config, AccountSource& accounts, FactSource& facts) {
  return Pipeline(request, config, accounts, facts).run();
}

void record_check(Decision& decision, Check check, Outcome outcome, std::string detail,
                  Verdict verdict_on_fail, int http_status_on_fail) {
  if (outcome == Outcome::fail) {
    decision.verdict = verdict_on_fail;
    decision.failed = check;
    decision.reason = detail;
    decision.http_status = http_status_on_fail;
  }
  decision.checks.push_back({check, outcome, std::move(detail)});
}

}  // namespace suwrap::policy
