// SPDX-License-Identifier: Apache-2.0
// The checks of suwrap(8), CHECKS, in order, as a pipeline: a request and the facts in,
// a decision out. The first check that fails decides; the rest are skipped.
#pragma once

#include <sys/types.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "suwrap/config/accounts.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/config/names.hpp"
#include "suwrap/config/routing.hpp"
#include "suwrap/util/expected.hpp"
#include "suwrap/policy/facts.hpp"
#include "suwrap/policy/walk.hpp"

namespace suwrap::policy {

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
  std::shared_ptr<const Account> account;  // the account that applies, if any
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

// Runs checks 1..12. `config` is consulted only after `caller` passes; a load error fails
// `config`. The account is asked of `accounts` (an AccountDirectory on `config`, or a list in
// tests). Checks report in order; all after the failing one are `skip`.
Decision decide(const Request& request, const LoadedConfig& config, AccountSource& accounts, FactSource& facts);

// Appends a report for a check made outside the library (13..15) and, on failure, turns
// the decision into a refusal with that check.
void record_check(Decision& decision, Check check, Outcome outcome, std::string detail,
                  Verdict verdict_on_fail = Verdict::error, int http_status_on_fail = 500);

}  // namespace suwrap::policy
