// SPDX-License-Identifier: Apache-2.0
// Warm routing: which requests go to an account's pool instead of one suwrap each.
//
// cgid decides nothing here. It reads the configuration only to pick where a request is
// sent, with the same account and handler rules suwrap uses (policy::governing_account,
// policy::select_handler, from the configuration-and-routing library), and anything it
// cannot judge — no configuration, a script it cannot stat, an account file that is broken
// or claimed twice, a handler it cannot choose — goes the per-request way, where suwrap
// decides and answers. A wrong route is refused by the pool (`suwrap --pool` before the
// pool starts, the gate for every request after).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "suwrap/fastcgi/protocol.hpp"
#include "suwrap/config/accounts.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/config/watch.hpp"

namespace suwrap::cgid {

// One pool per script owner and handler, and in account mode per account: a pool's
// processes carry the limits of the account they were started for.
struct RouteKey {
  uid_t uid = 0;
  std::string handler;
  std::string account;  // account mode: the account that governs the script; else empty
  friend bool operator==(const RouteKey&, const RouteKey&) = default;
  friend auto operator<=>(const RouteKey&, const RouteKey&) = default;
};

struct WarmRoute {
  RouteKey key;
  std::chrono::seconds idle{60};  // the handler's idle_seconds
  friend bool operator==(const WarmRoute&, const WarmRoute&) = default;
};

// The script as cgid's own stat(), realpath() and passwd lookup see it.
struct ScriptOwner {
  uid_t uid = 0;
  std::optional<std::string> user;  // nullopt: no user has that uid
  std::string physical_path;        // the file that runs: its extension chooses the handler
};

// The rule. The account is policy::governing_account's (owner mode: the one naming the
// owner's user; account mode: the one whose docroot holds the script); the handler is then
// policy::select_handler's choice for the file that runs. Warm only for a handler of kind
// php-fcgi; nullopt for everything else, including whatever suwrap would refuse before it
// chose a handler (a malformed script path, no user, a broken account file, an account
// named twice or held twice, a disabled account).
std::optional<WarmRoute> warm_route(const policy::Config& config, policy::AccountSource& accounts,
                                    std::string_view script, const std::optional<std::string>& requested_handler,
                                    const ScriptOwner& owner);

// The configuration as it is now (read again when inotify says one of its files changed),
// and the routing of one request's params.
class Router {
 public:
  explicit Router(std::string config_path) : config_path_(config_path), current_(std::move(config_path)) {}

  // Reads the configuration again (SIGHUP, and at start): the reason when it does not load
  // (as suwrap would judge it: root-owned and valid). Every request then goes the
  // per-request way, where suwrap refuses with the reason.
  std::optional<std::string> reload();

  // The warm route of a request, or nullopt for the per-request way.
  [[nodiscard]] std::optional<WarmRoute> route(const fastcgi::NameValuePairs& params);

  // Whether any handler is of kind php-fcgi: without one no request is looked at at all.
  [[nodiscard]] bool has_warm_handlers();
  [[nodiscard]] const std::string& config_path() const { return config_path_; }
  // When an account file was last seen to change (0: never): suwrap is told, so that it
  // refreshes an account index older than that rather than believing it.
  [[nodiscard]] std::int64_t accounts_changed_ns() {
    (void)current_.get();  // what inotify has seen so far
    return current_.accounts_changed_ns();
  }

 private:
  std::string config_path_;
  policy::CurrentConfig current_;
};

}  // namespace suwrap::cgid
