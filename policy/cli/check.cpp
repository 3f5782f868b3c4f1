// SPDX-License-Identifier: Apache-2.0
// suwrap-policy check, config check and version: explain and validate suwrap's policy
// (suwrap-policy(8)). Every answer comes from the same library code suwrap decides with.
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "suwrap/build_config.hpp"
#include "suwrap/config/accounts.hpp"
#include "suwrap/policy/checks.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/policy/facts.hpp"
#include "suwrap/policy/log_record.hpp"

namespace suwrap::cli {

namespace {

using namespace suwrap::policy;

struct CheckOptions {
  std::string config = suwrap::build::config_path;
  std::string script;
  std::optional<std::string> handler;
  std::optional<std::string> server_name;
  bool json = false;
};

void print_check_json(const Decision& d) {
  std::string out = json_object_start() + "\"decision\":" + json_string(verdict_name(d.verdict));
  out += ",\"script\":" + json_string(d.script);
  const bool known = d.target.has_value();
  out += ",\"user\":" + (known ? json_string(d.target->user.name) : "null");
  out += ",\"uid\":" + (known ? std::to_string(d.target->user.uid) : "null");
  out += ",\"gid\":" + (known ? std::to_string(d.target->group.gid) : "null");
  out += ",\"handler\":" + (d.handler_name.empty() ? "null" : json_string(d.handler_name));
  out += ",\"check\":" + (d.failed ? json_string(check_name(*d.failed)) : "null");
  out += ",\"reason\":" + json_string(d.reason);
  out += ",\"checks\":[";
  for (size_t i = 0; i < d.checks.size(); ++i) {
    const auto& c = d.checks[i];
    if (i != 0) out += ',';
    out += "{\"name\":" + json_string(check_name(c.check)) +
           ",\"result\":" + json_string(outcome_name(c.outcome)) + ",\"detail\":" + json_string(c.detail) +
           "}";
  }
  out += "]}\n";
  std::fputs(out.c_str(), stdout);
}

void print_check_text(const Decision& d) {
  for (const auto& c : d.checks) {
    switch (c.outcome) {
      case Outcome::pass: std::printf("PASS %s %s\n", check_name(c.check).data(), c.detail.c_str()); break;
      case Outcome::fail: std::printf("FAIL %s %s\n", check_name(c.check).data(), c.detail.c_str()); break;
      case Outcome::skip: std::printf("SKIP %s\n", check_name(c.check).data()); break;
    }
  }
}

// `check`: checks 1-12 as suwrap would run them for the caller. Run as root, the caller is
// taken to be the configured caller, so an administrator can ask on the caller's behalf.
int run_check(const CheckOptions& opt) {
  SystemFacts facts;
  const LoadedConfig config = load_config(opt.config);
  // As suwrap finds the account: through the index, which root keeps current.
  AccountOptions account_options;
  account_options.write_index = ::geteuid() == 0;
  AccountList no_accounts({});
  std::optional<AccountDirectory> directory;
  if (config) directory.emplace(*config, account_options);
  AccountSource& accounts = directory ? static_cast<AccountSource&>(*directory) : no_accounts;
  Request request;
  request.real_uid = ::getuid();
  if (request.real_uid == 0 && config.has_value()) {
    if (auto caller = facts.user_by_name(config->caller)) request.real_uid = caller->uid;
  }
  request.script = opt.script;
  request.handler = opt.handler;
  request.server_name = opt.server_name;
  const Decision decision = decide(request, config, accounts, facts);
  if (opt.json)
    print_check_json(decision);
  else
    print_check_text(decision);
  switch (decision.verdict) {
    case Verdict::allow: return exit_ok;
    case Verdict::deny: return exit_refused;
    case Verdict::error: return exit_error;
  }
  return exit_error;
}

// The user and group databases, read whole once: with 10,000 accounts, one NSS look-up per
// account would read /etc/passwd 10,000 times.
class Names {
 public:
  Names() {
    ::setpwent();
    while (const passwd* entry = ::getpwent())  // NOLINT(concurrency-mt-unsafe): one thread
      users_.emplace(entry->pw_name, UserInfo{entry->pw_name, entry->pw_uid, entry->pw_gid, entry->pw_dir});
    ::endpwent();
    ::setgrent();
    while (const struct group* entry = ::getgrent()) {  // NOLINT(concurrency-mt-unsafe): one thread
      groups_.emplace(entry->gr_name, GroupInfo{entry->gr_name, entry->gr_gid});
      gids_.emplace(entry->gr_gid, GroupInfo{entry->gr_name, entry->gr_gid});
    }
    ::endgrent();
  }
  [[nodiscard]] const UserInfo* user(const std::string& name) const { return find(users_, name); }
  [[nodiscard]] const GroupInfo* group(const std::string& name) const { return find(groups_, name); }
  [[nodiscard]] const GroupInfo* group(gid_t gid) const { return find(gids_, gid); }

 private:
  template <class Map, class Key>
  static const typename Map::mapped_type* find(const Map& map, const Key& key) {
    const auto found = map.find(key);
    return found == map.end() ? nullptr : &found->second;
  }
  std::map<std::string, UserInfo> users_;
  std::map<std::string, GroupInfo> groups_;
  std::map<gid_t, GroupInfo> gids_;
};

class Report {
 public:
  explicit Report(ConfigReport& report) : report_(report) {}
  void error(const std::string& where, const std::string& what) { report_.errors.push_back({where, what}); }
  void warning(const std::string& where, const std::string& what) { report_.warnings.push_back({where, what}); }

 private:
  ConfigReport& report_;
};

std::string listed(const std::vector<std::string>& items, std::size_t at_most = 5) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < at_most; ++i) out += (i == 0 ? "" : ", ") + items[i];
  if (items.size() > at_most) out += " and " + std::to_string(items.size() - at_most) + " more";
  return out;
}

// Which requests a broken file refuses, as suwrap judges it (suwrap.toml(5), ACCOUNT FILES).
std::string refused_by(const IndexedFile& file, Mode mode) {
  const auto& scope = mode == Mode::owner ? file.users : file.docroots;
  if (scope.empty()) return "it refuses every request until it is fixed or removed";
  return mode == Mode::owner ? "it refuses the requests of user(s) " + listed(scope)
                             : "it refuses the requests under " + listed(scope);
}

bool may_run_php(const Config& config, const Account& account) {
  if (account.php_handler) return true;
  return std::any_of(config.handlers.begin(), config.handlers.end(),
                     [&](const auto& entry) { return entry.second.is_php() && account.may_use(entry.first); });
}

void check_account(const Config& config, const Account& account, const Names& names, FactSource& facts,
                   Report& report) {
  const UserInfo* user = names.user(account.user);
  if (user == nullptr) {
    report.error(account.file, "user: " + account.user + " does not exist; requests for account " + account.name +
                                   " are refused (check user)");
  } else if (user->uid < config.min_uid) {
    report.error(account.file, "user: " + account.user + " has uid " + std::to_string(user->uid) +
                                   ", below min_uid " + std::to_string(config.min_uid));
  }
  if (account.group && names.group(*account.group) == nullptr)
    report.error(account.file, "group: " + *account.group + " does not exist");
  for (const auto& docroot : account.docroots) {
    if (!facts.stat_path(docroot)) report.warning(account.file, "docroots: " + docroot + " does not exist");
  }
  if (account.php_ini_dir && !facts.stat_path(*account.php_ini_dir + "/php.ini"))
    report.error(account.file, "php_ini_dir: " + *account.php_ini_dir + "/php.ini does not exist");
  const Limits limits = account.limits.applied_to(config.limits);
  if (account.limits.memory_mb && limits.memory_mb != 0 && limits.memory_mb < 256 && may_run_php(config, account))
    report.warning(account.file, "limits.memory_mb: " + std::to_string(limits.memory_mb) +
                                     " is below 256; php-cgi maps about 200 MB at start and may fail");
}

}  // namespace

// What `config check` and `config install` judge once the main file has loaded: what it names
// exists on this system; then every account file is read and judged: each broken one is
// listed with the requests it refuses, and users named twice and overlapping docroots are
// found. With `write_index` (root, config check) it also brings the account index up to date.
ConfigReport check_configuration(const Config& loaded, bool write_index) {
  const Config* config = &loaded;
  SystemFacts facts;
  ConfigReport result;
  Report report(result);
  const Names names;

  if (names.user(config->caller) == nullptr)
    report.error(config->file, "global.caller: user " + config->caller + " does not exist");
  bool has_php = false;
  for (const auto& [name, handler] : config->handlers) {
    const std::string key = "handlers." + name;
    if (!handler.is_php()) continue;
    has_php = true;
    auto program = facts.stat_path(handler.path);
    if (!program || !program->is_regular())
      report.error(config->file, key + ".path: " + handler.path + " does not exist");
    else if (program->uid != 0 || (program->mode & 022) != 0)
      report.error(config->file, key + ".path: " + handler.path + " must be owned by root and writable only by root");
    else if (const auto sapi = facts.php_sapi(handler.path); sapi && *sapi == "cgi-fcgi-other")
      report.error(config->file, key + ".path: " + handler.path + " is php-cgi of another PHP build than suwrap's " +
                                     "PHP guard (" + build::php_build_id + "), which it would not load: build and " +
                                     "install suwrap against that PHP; suwrap refuses it meanwhile (check handler)");
    else if (!sapi || *sapi != "cgi-fcgi")
      report.error(config->file, key + ".path: " + handler.path + " is " +
                                     (sapi && *sapi == "cli" ? "the PHP command-line binary" : "not php-cgi") +
                                     ": run with the request body on its stdin, as suwrap runs a PHP handler, it "
                                     "would execute the body as code; name php-cgi (like /usr/bin/php-cgi); "
                                     "suwrap refuses it meanwhile (check handler)");
    if (!facts.stat_path(handler.ini_dir + "/php.ini"))
      report.error(config->file, key + ".ini_dir: " + handler.ini_dir + "/php.ini does not exist");
  }
  if (has_php && config->limits.memory_mb != 0 && config->limits.memory_mb < 256)
    report.warning(config->file, "limits.memory_mb: " + std::to_string(config->limits.memory_mb) +
                                     " is below 256; php-cgi maps about 200 MB at start and may fail");
  if (config->allow_dir_group_writable)
    report.warning(config->file,
                   "global.allow_dir_group_writable: every member of a directory's group can then replace a "
                   "script or add a .user.ini in it, and so run code as the directory's owner; allow it only "
                   "where each such group has no member but its owner");
  if (config->allow_file_group_writable)
    report.warning(config->file,
                   "global.allow_file_group_writable: every member of a script's group can then rewrite it, "
                   "and so run code as its owner; allow it only where each such group has no member but its owner");

  AccountOptions options;
  options.write_index = write_index;
  options.distrust_before_ns = std::numeric_limits<std::int64_t>::max();  // every file's stamp is read
  AccountDirectory accounts(*config, options);
  std::size_t valid = 0;
  std::size_t broken = 0;
  if (auto files = accounts.files(); !files) {
    report.error(config->accounts_dir, files.error().to_string() + "; every request is refused");
  } else {
    std::map<std::string, std::vector<std::string>> named;  // user -> accounts naming it
    std::vector<DocrootClaim> claims;
    for (const IndexedFile& file : *files) {
      const AccountRead read = accounts.read_file(file.name);
      if (read.missing) continue;
      if (read.problem) {
        ++broken;
        report.error(read.problem->file, read.problem->to_string().substr(read.problem->file.size() + 2) + "; " +
                                             refused_by(file, config->mode));
        continue;
      }
      ++valid;
      const Account& account = *read.account;
      named[account.user].push_back(account.name);
      for (const auto& docroot : account.docroots) claims.push_back({docroot, account.name});
      check_account(*config, account, names, facts, report);
    }
    if (config->mode == Mode::owner) {
      for (const auto& [user, accounts_of] : named) {
        if (accounts_of.size() > 1)
          report.error(config->accounts_dir, "user " + user + " is named by " + std::to_string(accounts_of.size()) +
                                                 " account files (" + listed(accounts_of) +
                                                 "); its requests are refused (check target)");
      }
    }
    for (const auto& overlap : overlapping_docroots(std::move(claims))) {
      const std::string what = "docroot " + overlap.docroot + " of account " + overlap.account + " is " +
                               (overlap.docroot == overlap.other_docroot ? "also" : "inside") + " docroot " +
                               overlap.other_docroot + " of account " + overlap.other_account;
      if (config->mode == Mode::account)
        report.error(config->accounts_dir, what + "; the scripts there are refused (check config)");
      else
        report.warning(config->accounts_dir, what + " (owner mode does not use account docroots)");
    }
  }
  result.handlers = config->handlers.size();
  result.accounts = valid;
  result.broken = broken;
  return result;
}

std::string counts_text(const ConfigReport& report) {
  return std::to_string(report.handlers) + " handler(s), " + std::to_string(report.accounts) + " account(s), " +
         std::to_string(report.broken) + " broken account file(s)";
}

std::string findings_json(const std::vector<ConfigFinding>& findings) {
  std::string out = "[";
  for (size_t i = 0; i < findings.size(); ++i) {
    out += (i == 0 ? "" : ",") + std::string("{\"file\":") + json_string(findings[i].file) +
           ",\"message\":" + json_string(findings[i].message) + "}";
  }
  return out + "]";
}

int report_failure(const ConfigReport& report, const std::string& file) {
  for (const auto& w : report.warnings) std::fprintf(stderr, "warning: %s: %s\n", w.file.c_str(), w.message.c_str());
  std::vector<Problem> problems;
  for (const auto& e : report.errors) problems.push_back(Problem{e.file + ": " + e.message, {}, e.file});
  const int status = fail(ErrorCode::invalid, problems);
  if (!json_failures())
    std::fprintf(stderr, "%s: %s; %zu error(s), %zu warning(s)\n", file.c_str(), counts_text(report).c_str(),
                 report.errors.size(), report.warnings.size());
  return status;
}

namespace {

// `config check`: the main file loads (syntax, keys, values, trust), then check_configuration.
int run_config_check(const std::string& path, bool json) {
  const LoadedConfig config = load_config(path);
  if (!config) return fail(ErrorCode::invalid, config.error().to_string());
  const ConfigReport report = check_configuration(*config, ::geteuid() == 0);
  if (!report.errors.empty()) return report_failure(report, config->file);
  if (json) {
    std::printf("%s\"valid\":true,\"file\":%s,\"accounts_dir\":%s,\"handlers\":%zu,\"accounts\":%zu,"
                "\"broken\":%zu,\"warnings\":%s}\n",
                json_object_start().c_str(), json_string(config->file).c_str(),
                json_string(config->accounts_dir).c_str(), report.handlers, report.accounts, report.broken,
                findings_json(report.warnings).c_str());
    return exit_ok;
  }
  for (const auto& w : report.warnings) std::fprintf(stderr, "warning: %s: %s\n", w.file.c_str(), w.message.c_str());
  std::printf("OK %s: %s, %zu warning(s)\n", config->file.c_str(), counts_text(report).c_str(),
              report.warnings.size());
  return exit_ok;
}

}  // namespace

int run_version() {
  const Config defaults;
  const Limits& l = defaults.limits;
  std::printf("suwrap-policy %s\n", suwrap::build::version);
  std::printf("config:        %s\n", suwrap::build::config_path);
  std::printf("caller group:  %s\n", suwrap::build::caller_group);
  std::printf("wrapper:       %s\n", suwrap::build::wrapper_path);
  std::printf("gate:          %s\n", suwrap::build::gate_path);
  std::printf("defaults:      caller=%s mode=%s min_uid=%u min_gid=%u symlinks=%s umask=%03o\n",
              defaults.caller.c_str(), std::string(to_string(defaults.mode)).c_str(), defaults.min_uid,
              defaults.min_gid, std::string(to_string(defaults.symlinks)).c_str(),
              static_cast<unsigned>(defaults.umask));
  std::printf("limits:        %s\n", limits_text(l).c_str());
  return exit_ok;
}

void add_check_commands(CLI::App& app, Commands& commands) {
  auto check_opt = std::make_shared<CheckOptions>();
  auto* check =
      app.add_subcommand("check",
                         "Run checks 1-12 for SCRIPT as suwrap would for the caller, one line each:\n"
                         "PASS name detail / FAIL name reason / SKIP name. Exit 0 allow, 1 deny, 2 error.");
  check->add_option("script", check_opt->script, "Absolute path of the script (SCRIPT_FILENAME)")->required();
  check->add_flag("--json", check_opt->json, "Print one JSON object instead");
  check->add_option("--handler", check_opt->handler, "Handler name, as SUWRAP_HANDLER would give it");
  check->add_option("--server-name", check_opt->server_name, "SERVER_NAME, for check_vhost");
  check->add_option("--config", check_opt->config, "Configuration file (default: the compiled-in one)");
  commands.push_back({check, [check_opt] { return run_check(*check_opt); }});

  struct ConfigCheckOptions {
    std::string config = suwrap::build::config_path;
    bool json = false;
  };
  auto config_opt = std::make_shared<ConfigCheckOptions>();
  auto* config = app.add_subcommand("config", "Work with the configuration");
  config->require_subcommand(1);
  auto* config_check = config->add_subcommand(
      "check",
      "Validate the configuration and accounts: syntax, keys, permissions, users.\nExit 0 valid, 2 not.");
  config_check->add_option("--config", config_opt->config, "Configuration file (default: the compiled-in one)");
  config_check->add_flag("--json", config_opt->json,
                         "Print {\"schema_version\", \"valid\", \"file\", \"accounts_dir\", \"handlers\", "
                         "\"accounts\", \"broken\", \"warnings\"}; the errors as a JSON failure");
  commands.push_back({config_check, [config_opt] { return run_config_check(config_opt->config, config_opt->json); }});
  add_config_install_command(*config, commands);

  auto* version = app.add_subcommand("version", "Print the version and the compiled-in paths and defaults");
  commands.push_back({version, [] { return run_version(); }});
}

}  // namespace suwrap::cli
