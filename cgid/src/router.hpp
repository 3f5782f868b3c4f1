// Warm routing: which requests go to an account's pool instead of one suwrap each.
//
// cgid decides nothing here. It reads the configuration only to pick where a request is
// sent, with the same handler rule suwrap uses (policy::select_handler), and anything it
// cannot judge — no configuration, a script it cannot stat, a handler it cannot choose —
// goes the per-request way, where suwrap decides and answers. A wrong route is refused by
// the pool (`suwrap --pool` before the pool starts, the gate for every request after).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "suwrap/fastcgi/protocol.hpp"
#include "suwrap/policy/config.hpp"

namespace suwrap::cgid {

// One pool per script owner and handler.
struct RouteKey {
  uid_t uid = 0;
  std::string handler;
  friend bool operator==(const RouteKey&, const RouteKey&) = default;
  friend auto operator<=>(const RouteKey&, const RouteKey&) = default;
};

struct WarmRoute {
  RouteKey key;
  std::chrono::seconds idle{60};  // the handler's idle_seconds
  friend bool operator==(const WarmRoute&, const WarmRoute&) = default;
};

// Who owns the script, as cgid's own stat() and passwd lookup see it.
struct ScriptOwner {
  uid_t uid = 0;
  std::optional<std::string> user;  // nullopt: no user has that uid
};

// The pure rule. The account is the one naming the owner's user (owner mode) or the one
// whose docroot holds the script, deepest first (account mode); the handler is then
// policy::select_handler's choice. Warm only for a handler of kind php-fcgi; nullopt for
// everything else, including whatever suwrap would refuse before it chose a handler (a
// malformed script path, no user, an account named twice, a disabled account).
std::optional<WarmRoute> warm_route(const policy::Config& config, std::string_view script,
                                    const std::optional<std::string>& requested_handler, const ScriptOwner& owner);

// The configuration as cgid last loaded it, and the routing of one request's params.
class Router {
 public:
  explicit Router(std::string config_path) : config_path_(std::move(config_path)) {}

  // Loads the configuration (as suwrap would: root-owned and valid). On failure the
  // routing in use is kept and the reason is returned.
  std::optional<std::string> reload();

  // The warm route of a request, or nullopt for the per-request way.
  [[nodiscard]] std::optional<WarmRoute> route(const fastcgi::NameValuePairs& params) const;

  [[nodiscard]] bool loaded() const { return config_.has_value(); }
  // Whether any handler is of kind php-fcgi: without one no request is looked at at all.
  [[nodiscard]] bool has_warm_handlers() const { return has_warm_handlers_; }
  [[nodiscard]] const std::string& config_path() const { return config_path_; }

 private:
  std::string config_path_;
  std::optional<policy::Config> config_;
  bool has_warm_handlers_ = false;
};

}  // namespace suwrap::cgid
