#include "router.hpp"

#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "suwrap/policy/checks.hpp"
#include "suwrap/policy/paths.hpp"

namespace suwrap::cgid {

namespace {

// The account suwrap would apply, or nullptr for none; nullopt where suwrap refuses before
// it chooses a handler (check `target`), so the request goes the per-request way.
std::optional<const policy::Account*> account_for(const policy::Config& config, std::string_view script,
                                                  const ScriptOwner& owner) {
  if (config.mode == policy::Mode::owner) {
    if (!owner.user) return std::nullopt;
    const policy::Account* found = nullptr;
    for (const auto& account : config.accounts) {
      if (account.user != *owner.user) continue;
      if (found != nullptr) return std::nullopt;  // two account files for one user: refused
      found = &account;
    }
    return found;
  }
  const policy::Account* best = nullptr;
  std::size_t best_depth = 0;
  for (const auto& account : config.accounts) {
    for (const auto& docroot : account.docroots) {
      const std::size_t depth = policy::split_components(docroot).size();
      if (policy::path_inside(script, docroot) && (best == nullptr || depth > best_depth)) {
        best = &account;
        best_depth = depth;
      }
    }
  }
  if (best == nullptr) return std::nullopt;
  return best;
}

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

std::optional<WarmRoute> warm_route(const policy::Config& config, std::string_view script,
                                    const std::optional<std::string>& requested_handler, const ScriptOwner& owner) {
  if (policy::validate_script_path(script)) return std::nullopt;
  const auto account = account_for(config, script, owner);
  if (!account || (*account != nullptr && (*account)->disabled)) return std::nullopt;
  const auto handler = policy::select_handler(config, script, *account, requested_handler);
  if (!handler || (*handler)->kind != policy::HandlerKind::php_fcgi) return std::nullopt;
  return WarmRoute{RouteKey{owner.uid, (*handler)->name}, std::chrono::seconds((*handler)->idle_seconds)};
}

std::optional<std::string> Router::reload() {
  auto loaded = policy::load_config(config_path_);
  if (!loaded) return loaded.error().to_string();
  config_ = std::move(*loaded);
  has_warm_handlers_ = std::any_of(config_->handlers.begin(), config_->handlers.end(), [](const auto& entry) {
    return entry.second.kind == policy::HandlerKind::php_fcgi;
  });
  return std::nullopt;
}

std::optional<WarmRoute> Router::route(const fastcgi::NameValuePairs& params) const {
  if (!config_ || !has_warm_handlers_) return std::nullopt;
  const auto script = param_value(params, "SCRIPT_FILENAME");
  if (!script) return std::nullopt;
  // The owner as this daemon can see it; a script it cannot stat goes to suwrap, which
  // reads it as root and answers properly.
  struct stat st {};
  if (::stat(script->c_str(), &st) != 0) return std::nullopt;
  const ScriptOwner owner{st.st_uid, user_name(st.st_uid)};
  return warm_route(*config_, *script, param_value(params, "SUWRAP_HANDLER"), owner);
}

}  // namespace suwrap::cgid
