// SPDX-License-Identifier: Apache-2.0
// Routing: which account governs a script, and which handler runs it. The rules of checks
// `target` and `handler` that need no file of the script's looked at, in one place:
// decide() uses them to judge, suwrap-cgid to route — a daemon that makes no decision.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "suwrap/config/accounts.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/util/expected.hpp"
#include "suwrap/config/names.hpp"

namespace suwrap::policy {

// The account that governs `script` (suwrap.toml(5), ACCOUNT FILES): in owner mode the one
// naming `owner` (the script's owner's user name; none known: no account), in account mode
// the one whose docroot holds the script. `accounts.problem()` is answered first, as a
// broken answer.
AccountAnswer governing_account(const Config& config, AccountSource& accounts, std::string_view script,
                                const std::optional<std::string>& owner);

// Which handler a script runs with, as check `handler` chooses it: the handler whose
// extensions hold the extension of `physical_path` — the file that will run; a symlink's
// name chooses nothing — (none: a .jpg never runs); for a PHP one, the account's
// php_handler instead; SUWRAP_HANDLER (`requested`), when given, chooses within that family
// (PHP or CGI); and the account, if any, must be allowed to use it. Pure: whether the
// handler is usable (its program, its php.ini, a cgi script's mode) is not judged here.
struct HandlerRefusal {
  Verdict verdict = Verdict::deny;  // error: the configuration names a handler it lacks
  std::string reason;
};
util::Expected<const Handler*, HandlerRefusal> select_handler(const Config& config, std::string_view physical_path,
                                                        const Account* account,
                                                        const std::optional<std::string>& requested);

}  // namespace suwrap::policy
