// SPDX-License-Identifier: Apache-2.0
#include "router.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "suwrap/config/paths.hpp"
#include "suwrap/config/routing.hpp"
#include "suwrap/util/fd.hpp"

namespace suwrap::cgid {

namespace {

std::optional<std::string> param_value(const fastcgi::NameValuePairs& params, std::string_view name) {
  for (const auto& [n, v] : params) {
    if (n == name) return v;
  }
  return std::nullopt;
}

}  // namespace

bool stat_and_resolve(const std::string& path, struct stat& st, std::string& physical) {
  physical.clear();
  const util::Fd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (fd && ::fstat(fd.get(), &st) == 0 && st.st_nlink > 0) {
    const std::string link = "/proc/self/fd/" + std::to_string(fd.get());
    std::array<char, PATH_MAX> name{};
    const ssize_t n = ::readlink(link.c_str(), name.data(), name.size());
    if (n > 0 && static_cast<std::size_t>(n) < name.size() && name[0] == '/') {
      physical.assign(name.data(), static_cast<std::size_t>(n));
      return true;
    }
  }
  if (::stat(path.c_str(), &st) != 0) return false;
  const std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(path.c_str(), nullptr), &std::free);
  if (resolved) physical = resolved.get();
  return true;
}

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
  std::string site = found.account ? found.account->name : std::string();
  return WarmRoute{RouteKey{owner.uid, (*handler)->name, std::move(account)},
                   std::chrono::seconds((*handler)->idle_seconds), std::move(site), (*handler)->direct};
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
  user_names_.forget();
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

Routing Router::look(const fastcgi::NameValuePairs& params, bool with_account) {
  const auto snapshot = current_.get();
  Routing routing;
  routing.accounts_changed_ns = current_.accounts_changed_ns();
  const bool warm_possible = any_warm_handler(*snapshot);
  if (!snapshot->config || (!warm_possible && !with_account)) return routing;
  const auto script = param_value(params, "SCRIPT_FILENAME");
  if (!script) return routing;
  // The owner and the file that runs as this daemon can see them; a script it cannot stat
  // goes to suwrap, which reads it as root and answers properly.
  struct stat st {};
  if (warm_possible) {
    std::string physical;
    if (!stat_and_resolve(*script, st, physical)) return routing;
    // The owner's name as the passwd database has it now (UserNames: inotify tells it when
    // /etc changes): a user renamed or removed is routed as suwrap will see it.
    const ScriptOwner owner{st.st_uid, user_names_.name(st.st_uid), std::move(physical)};
    if (!owner.physical_path.empty())
      routing.warm = warm_route(*snapshot->config, snapshot->account_source(), *script,
                                param_value(params, "SUWRAP_HANDLER"), owner);
    if (with_account) routing.account = account_label(*snapshot->config, snapshot->account_source(), *script, owner);
    return routing;
  }
  if (::stat(script->c_str(), &st) != 0) return routing;
  const ScriptOwner owner{st.st_uid, user_names_.name(st.st_uid), {}};
  routing.account = account_label(*snapshot->config, snapshot->account_source(), *script, owner);
  return routing;
}

}  // namespace suwrap::cgid
