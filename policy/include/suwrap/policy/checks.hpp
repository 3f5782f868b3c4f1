// The checks of CONTRACT.md §3, in order, as a pipeline: a request and the facts in,
// a decision out. The first check that fails decides; the rest are skipped.
#pragma once

#include <sys/types.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "suwrap/policy/config.hpp"
#include "suwrap/policy/expected.hpp"
#include "suwrap/policy/facts.hpp"
#include "suwrap/policy/walk.hpp"

namespace suwrap::policy {

// The stable names and order of CONTRACT.md §3. Checks 13-15 are made by suwrap itself.
enum class Check {
  caller = 1,
  config,
  request,
  docroot,
  path,
  target,
  user,
  owner,
  dir_perms,
  file_perms,
  handler,
  vhost,
  drop,
  identity,
  exec,
};
inline constexpr int last_policy_check = 12;  // checks 1..12 are the library's

std::string_view check_name(Check c);
std::optional<Check> check_from_name(std::string_view name);

enum class Verdict { allow, deny, error };
std::string_view verdict_name(Verdict v);

enum class Outcome { pass, fail, skip };
std::string_view outcome_name(Outcome o);

struct CheckReport {
  Check check;
  Outcome outcome;
  std::string detail;  // pass: what was verified; fail: the reason a person understands
};

// What the request asks for, already extracted from the CGI environment.
struct Request {
  uid_t real_uid = 0;                      // who runs suwrap (check `caller`)
  std::optional<std::string> script;       // SCRIPT_FILENAME (or PATH_TRANSLATED in action mode)
  std::optional<std::string> handler;      // SUWRAP_HANDLER
  std::optional<std::string> server_name;  // SERVER_NAME
  std::vector<std::string> environment;    // the raw environment, "NAME=value" (check `request`)
};

struct Target {
  UserInfo user;
  GroupInfo group;
  const Account* account = nullptr;  // the account that applies, if any
};

struct Decision {
  Verdict verdict = Verdict::error;
  std::optional<Check> failed;  // the check that decided a deny/error
  std::string reason;           // why (or "all checks passed")
  int http_status = 500;        // 200 for allow; 403, 404 or 500 for a refusal
  std::vector<CheckReport> checks;  // one per check 1..12, in order

  std::string script;         // the script as requested
  std::string physical_path;  // the script after the walk (symlinks resolved)
  std::string script_dir;     // physical directory holding it
  FileFacts script_facts;     // what was checked: the `identity` check compares with these
  std::string handler_name;
  const Handler* handler = nullptr;
  std::optional<Target> target;
  std::string phprc;  // PHP kinds: the php.ini file PHPRC names
  Limits limits;      // [limits] with the account's overrides

  // Exit status of suwrap for this decision: 0 allow, 1 deny, 2 configuration, 3 internal.
  [[nodiscard]] int exit_code() const;
};

// The configuration as loaded, or why it could not be (check `config`).
using LoadedConfig = Expected<Config, ConfigError>;

// Which handler a script runs with, as check `handler` chooses it (CONTRACT.md §3): the
// handler whose extensions hold the script's extension (none: a .jpg never runs); for a PHP
// one, the account's php_handler instead; SUWRAP_HANDLER (`requested`), when given, chooses
// within that family (PHP or CGI); and the account, if any, must be allowed to use it.
// Pure: no file is looked at, so whether the handler is usable (its program, its php.ini, a
// cgi script's mode) is not judged here. suwrap-cgid routes warm requests by it, so that it
// picks the handler decide() will, without running any check.
struct HandlerRefusal {
  Verdict verdict = Verdict::deny;  // error: the configuration names a handler it lacks
  std::string reason;
};
Expected<const Handler*, HandlerRefusal> select_handler(const Config& config, std::string_view script,
                                                        const Account* account,
                                                        const std::optional<std::string>& requested);

// Runs checks 1..12. `config` is consulted only after `caller` passes; a load error fails
// `config`. Checks report in order; all after the failing one are `skip`.
Decision decide(const Request& request, const LoadedConfig& config, FactSource& facts);

// Appends a report for a check made outside the library (13..15) and, on failure, turns
// the decision into a refusal with that check.
void record_check(Decision& decision, Check check, Outcome outcome, std::string detail,
                  Verdict verdict_on_fail = Verdict::error, int http_status_on_fail = 500);

}  // namespace suwrap::policy
