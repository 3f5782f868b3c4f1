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

#include <sys/stat.h>
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
#include "user_names.hpp"

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
  // The account that governs the script, in either mode: whose site socket (--sites-dir) a
  // direct pool for this route may listen on. Not part of the route's identity.
  std::string site;
  bool direct = false;  // the handler's `direct`: a direct pool
  friend bool operator==(const WarmRoute& a, const WarmRoute& b) { return a.key == b.key && a.idle == b.idle; }
};

// The script as cgid's own stat(), realpath() and passwd lookup see it.
struct ScriptOwner {
  uid_t uid = 0;
  std::optional<std::string> user;  // nullopt: no user has that uid
  std::string physical_path;        // the file that runs: its extension chooses the handler
};

// What stat() and realpath() of `path` say, through one descriptor: open(O_PATH) follows
// the links as they do, fstat() gives the owner, and the kernel's name of the descriptor is
// the physical path — four calls where the two made one plus one per component, and both
// facts of the same file. Where that cannot be had (no descriptor left, no /proc, the file
// removed meanwhile) stat() and realpath() answer as before. False: `path` cannot be
// stat'ed. `physical` is empty when it cannot be resolved.
bool stat_and_resolve(const std::string& path, struct stat& st, std::string& physical);

// The rule. The account is policy::governing_account's (owner mode: the one naming the
// owner's user; account mode: the one whose docroot holds the script); the handler is then
// policy::select_handler's choice for the file that runs. Warm only for a handler of kind
// php-fcgi; nullopt for everything else, including whatever suwrap would refuse before it
// chose a handler (a malformed script path, no user, a broken account file, an account
// named twice or held twice, a disabled account).
std::optional<WarmRoute> warm_route(const policy::Config& config, policy::AccountSource& accounts,
                                    std::string_view script, const std::optional<std::string>& requested_handler,
                                    const ScriptOwner& owner);

// The name a request is counted under in the metrics (suwrap-cgid(8), METRICS): the account
// that governs the script, else in owner mode the owner's user name if its uid is at least
// min_uid; nullopt when neither is known (suwrap will refuse the request, and it is counted
// without an account).
std::optional<std::string> account_label(const policy::Config& config, policy::AccountSource& accounts,
                                         std::string_view script, const ScriptOwner& owner);

// What the router tells of one request: where it goes, and whose it is.
struct Routing {
  std::optional<WarmRoute> warm;         // nullopt: the per-request way
  std::optional<std::string> account;    // asked for only: account_label()
  std::int64_t accounts_changed_ns = 0;  // Router::accounts_changed_ns() of the same look
};

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
  [[nodiscard]] std::optional<WarmRoute> route(const fastcgi::NameValuePairs& params) {
    return look(params, false).warm;
  }
  // The warm route, and with `with_account` the request's account_label() too: one look
  // at the script for both, and one at the configuration. Per request, whatever the number
  // of accounts: the account source is indexed, and user names come from UserNames
  // (forgotten by reload() too).
  [[nodiscard]] Routing look(const fastcgi::NameValuePairs& params, bool with_account);
  // Whether the configuration loads now (what inotify has seen so far).
  [[nodiscard]] bool config_loads();

  // Whether any handler is of kind php-fcgi: without one no request is looked at at all.
  [[nodiscard]] bool has_warm_handlers();
  [[nodiscard]] const std::string& config_path() const { return config_path_; }
  // The configuration's accounts_dir, and whether it is in account mode ("" when it does
  // not load).
  [[nodiscard]] std::string accounts_dir() {
    const auto snapshot = current_.get();
    return snapshot->config ? snapshot->config->accounts_dir : std::string();
  }
  // When an account file was last seen to change (0: never): suwrap is told, so that it
  // refreshes an account index older than that rather than believing it.
  [[nodiscard]] std::int64_t accounts_changed_ns() {
    (void)current_.get();  // what inotify has seen so far
    return current_.accounts_changed_ns();
  }

 private:
  std::string config_path_;
  policy::CurrentConfig current_;
  UserNames user_names_;
};

}  // namespace suwrap::cgid
