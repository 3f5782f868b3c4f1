// suwrap-policy check, config check and version: explain and validate suwrap's policy
// (CONTRACT.md §8). Every answer comes from the same library code suwrap decides with.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "suwrap/build_config.hpp"
#include "suwrap/policy/checks.hpp"
#include "suwrap/policy/config.hpp"
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
  std::string out = "{\"decision\":" + json_string(verdict_name(d.verdict));
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
  Request request;
  request.real_uid = ::getuid();
  if (request.real_uid == 0 && config.has_value()) {
    if (auto caller = facts.user_by_name(config->caller)) request.real_uid = caller->uid;
  }
  request.script = opt.script;
  request.handler = opt.handler;
  request.server_name = opt.server_name;
  const Decision decision = decide(request, config, facts);
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

// `config check`: the configuration loads (syntax, keys, values, trust) and what it names
// exists on this system.
int run_config_check(const std::string& path) {
  const LoadedConfig config = load_config(path);
  if (!config) {
    std::fprintf(stderr, "error: %s\n", config.error().to_string().c_str());
    return exit_error;
  }
  SystemFacts facts;
  int errors = 0;
  int warnings = 0;
  auto error = [&](const std::string& where, const std::string& what) {
    std::fprintf(stderr, "error: %s: %s\n", where.c_str(), what.c_str());
    ++errors;
  };
  auto warning = [&](const std::string& where, const std::string& what) {
    std::fprintf(stderr, "warning: %s: %s\n", where.c_str(), what.c_str());
    ++warnings;
  };

  if (!facts.user_by_name(config->caller))
    error(config->file, "global.caller: user " + config->caller + " does not exist");
  bool has_php = false;
  for (const auto& [name, handler] : config->handlers) {
    const std::string key = "handlers." + name;
    if (!handler.is_php()) continue;
    has_php = true;
    auto program = facts.stat_path(handler.path);
    if (!program || !program->is_regular())
      error(config->file, key + ".path: " + handler.path + " does not exist");
    else if (program->uid != 0 || (program->mode & 022) != 0)
      error(config->file,
            key + ".path: " + handler.path + " must be owned by root and writable only by root");
    if (!facts.stat_path(handler.ini_dir + "/php.ini"))
      error(config->file, key + ".ini_dir: " + handler.ini_dir + "/php.ini does not exist");
  }
  if (has_php && config->limits.memory_mb != 0 && config->limits.memory_mb < 256)
    warning(config->file, "limits.memory_mb: " + std::to_string(config->limits.memory_mb) +
                              " is below 256; php-cgi maps about 200 MB at start and may fail");
  for (const auto& account : config->accounts) {
    auto user = facts.user_by_name(account.user);
    if (!user) {
      error(account.file, "user: " + account.user + " does not exist; requests for account " + account.name +
                              " are refused (check user)");
      continue;
    }
    if (user->uid < config->min_uid)
      error(account.file, "user: " + account.user + " has uid " + std::to_string(user->uid) +
                              ", below min_uid " + std::to_string(config->min_uid));
    if (account.group && !facts.group_by_name(*account.group))
      error(account.file, "group: " + *account.group + " does not exist");
    for (const auto& docroot : account.docroots) {
      if (!facts.stat_path(docroot)) warning(account.file, "docroots: " + docroot + " does not exist");
    }
    if (account.php_ini_dir && !facts.stat_path(*account.php_ini_dir + "/php.ini"))
      error(account.file, "php_ini_dir: " + *account.php_ini_dir + "/php.ini does not exist");
  }
  if (errors != 0) {
    std::fprintf(stderr, "%s: %d error(s), %d warning(s)\n", config->file.c_str(), errors, warnings);
    return exit_error;
  }
  std::printf("OK %s: %zu handler(s), %zu account(s), %d warning(s)\n", config->file.c_str(),
              config->handlers.size(), config->accounts.size(), warnings);
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
  std::printf(
      "limits:        cpu_seconds=%llu wall_seconds=%llu memory_mb=%llu nproc=%llu nofile=%llu "
      "fsize_mb=%llu\n",
      static_cast<unsigned long long>(l.cpu_seconds), static_cast<unsigned long long>(l.wall_seconds),
      static_cast<unsigned long long>(l.memory_mb), static_cast<unsigned long long>(l.nproc),
      static_cast<unsigned long long>(l.nofile), static_cast<unsigned long long>(l.fsize_mb));
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

  auto config_path = std::make_shared<std::string>(suwrap::build::config_path);
  auto* config = app.add_subcommand("config", "Work with the configuration");
  config->require_subcommand(1);
  auto* config_check = config->add_subcommand(
      "check",
      "Validate the configuration and accounts: syntax, keys, permissions, users.\nExit 0 valid, 2 not.");
  config_check->add_option("--config", *config_path, "Configuration file (default: the compiled-in one)");
  commands.push_back({config_check, [config_path] { return run_config_check(*config_path); }});

  auto* version = app.add_subcommand("version", "Print the version and the compiled-in paths and defaults");
  commands.push_back({version, [] { return run_version(); }});
}

}  // namespace suwrap::cli
