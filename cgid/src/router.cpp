// SPDX-License-Identifier: Apache-2.0
#include "router.hpp"

#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "suwrap/config/paths.hpp"
#include "suwrap/config/routing.hpp"

namespace suwrap::cgid {

namespace {

std::optional<std::string> param_value(const fastcgi::NameValuePairs& params, std::string_view name) {
  for (const auto& [n, v] : params) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::optional<std::string> user_name(uid_t uid) {
  passwd entry{};
  passwd* result = nullptr;
  std::vector<char> buffer(16 * 1024);
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &result) != 0 || result == nullptr)
    return std::nullopt;
  return std::string(result->pw_name);
}

}  // namespace

std::optional<WarmRoute> warm_route(const policy::Config& config, policy::AccountSource& accounts,
                                    std::string_view script, const std::optional<std::string>& requested_handler,
                                    const ScriptOwner& owner) {
  if (policy::validate_script_path(script)) return std::nullopt;
  const policy::AccountAnswer found = policy::governing_account(config, accounts, script, owner.user);
  switch (found.kind) {
    case policy::AccountAnswer::Kind::broken:
    case policy::AccountAnswer::Kind::ambiguous:
      return std::nullopt;
    case policy::AccountAnswer::Kind::none:
      if (config.mode == policy::Mode::account || !owner.user) return std::nullopt;
      break;
    case policy::AccountAnswer::Kind::account:
      if (found.account->disabled) return std::nullopt;
      break;
  }
  const auto handler = policy::select_handler(config, owner.physical_path, found.account.get(), requested_handler);
  if (!handler || (*handler)->kind != policy::HandlerKind::php_fcgi) return std::nullopt;
  std::string account;
  if (config.mode == policy::Mode::account && found.account) account = found.account->name;
  return WarmRoute{RouteKey{owner.uid, (*handler)->name, std::move(account)},
                   std::chrono::seconds((*handler)->idle_seconds)};
}

std::optional<std::string> account_label(const policy::Config& config, policy::AccountSource& accounts,
                                         std::string_view script, const ScriptOwner& owner) {
  if (policy::validate_script_path(script)) return std::nullopt;
  const policy::AccountAnswer found = policy::governing_account(config, accounts, script, owner.user);
  if (found.kind == policy::AccountAnswer::Kind::account) return found.account->name;
  // A system user (below min_uid, which check `user` refuses) is never counted as an
  // account: a request for /etc/passwd must not make root a series.
  if (found.kind == policy::AccountAnswer::Kind::none && config.mode == policy::Mode::owner &&
      owner.uid >= config.min_uid)
    return owner.user;
  return std::nullopt;
}

std::optional<std::string> Router::reload() {
  user_names_.clear();
  current_.mark_changed();
  const auto snapshot = current_.get();
  if (!snapshot->config) return snapshot->config.error().to_string();
  return std::nullopt;
}

namespace {

bool any_warm_handler(const policy::ConfigSnapshot& snapshot) {
  if (!snapshot.config) return false;
  const auto& handlers = snapshot.config->handlers;
  return std::any_of(handlers.begin(), handlers.end(),
                     [](const auto& entry) { return entry.second.kind == policy::HandlerKind::php_fcgi; });
}

}  // namespace

bool Router::has_warm_handlers() {
  return any_warm_handler(*current_.get());
}

bool Router::config_loads() { return current_.get()->config.has_value(); }

std::optional<std::string> Router::cached_user_name(uid_t uid) {
  if (auto it = user_names_.find(uid); it != user_names_.end()) return it->second;
  constexpr std::size_t bound = 4096;  // users whose scripts ran since the last reload
  if (user_names_.size() >= bound) user_names_.clear();
  return user_names_.emplace(uid, user_name(uid)).first->second;
}

Routing Router::look(const fastcgi::NameValuePairs& params, bool with_account) {
  const auto snapshot = current_.get();
  const bool warm_possible = any_warm_handler(*snapshot);
  if (!snapshot->config || (!warm_possible && !with_account)) return {};
  const auto script = param_value(params, "SCRIPT_FILENAME");
  if (!script) return {};
  // The owner and the file that runs as this daemon can see them; a script it cannot stat
  // goes to suwrap, which reads it as root and answers properly.
  struct stat st {};
  if (::stat(script->c_str(), &st) != 0) return {};
  Routing routing;
  if (warm_possible) {
    // Routing asks the passwd database every time: a user renamed or removed is routed as
    // suwrap will see it.
    const std::unique_ptr<char, decltype(&std::free)> physical(::realpath(script->c_str(), nullptr), &std::free);
    const ScriptOwner owner{st.st_uid, user_name(st.st_uid), physical ? physical.get() : ""};
    if (physical)
      routing.warm = warm_route(*snapshot->config, snapshot->account_source(), *script,
                                param_value(params, "SUWRAP_HANDLER"), owner);
    if (with_account) routing.account = account_label(*snapshot->config, snapshot->account_source(), *script, owner);
    return routing;
  }
  const ScriptOwner owner{st.st_uid, cached_user_name(st.st_uid), {}};
  routing.account = account_label(*snapshot->config, snapshot->account_source(), *script, owner);
  return routing;
}

}  // namespace suwrap::cgid
