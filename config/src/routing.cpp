// SPDX-License-Identifier: Apache-2.0
// The account that governs a script and the handler that runs it (routing.hpp).
#include "suwrap/config/routing.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "suwrap/config/paths.hpp"

namespace suwrap::policy {

using util::Expected;
using util::unexpected;

std::string_view check_name(Check c) {
  static constexpr std::array<std::string_view, 15> names = {
      "caller",    "config",     "request", "docroot", "path", "target",   "user", "owner",
      "dir_perms", "file_perms", "handler", "vhost",   "drop", "identity", "exec"};
  const auto i = static_cast<size_t>(c) - 1;
  return i < names.size() ? names[i] : "unknown";
}

std::optional<Check> check_from_name(std::string_view name) {
  for (int i = 1; i <= static_cast<int>(Check::exec); ++i) {
    if (check_name(static_cast<Check>(i)) == name) return static_cast<Check>(i);
  }
  return std::nullopt;
}

namespace {
constexpr std::string_view refusal_prefix = "suwrap: refused by check `";
constexpr std::string_view refusal_suffix = "`\n";
}  // namespace

std::string refusal_line(Check check) {
  std::string line(refusal_prefix);
  line += check_name(check);
  line += refusal_suffix;
  return line;
}

std::optional<std::pair<Check, std::size_t>> parse_refusal_line(std::string_view bytes) {
  if (!bytes.starts_with(refusal_prefix)) return std::nullopt;
  const auto name_start = refusal_prefix.size();
  const auto end = bytes.find(refusal_suffix, name_start);
  if (end == std::string_view::npos) return std::nullopt;
  const auto check = check_from_name(bytes.substr(name_start, end - name_start));
  if (!check) return std::nullopt;
  return std::pair{*check, end + refusal_suffix.size()};
}

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::allow: return "allow";
    case Verdict::deny: return "deny";
    case Verdict::error: return "error";
  }
  return "error";
}

AccountAnswer governing_account(const Config& config, AccountSource& accounts, std::string_view script,
                                const std::optional<std::string>& owner) {
  if (auto problem = accounts.problem()) {
    AccountAnswer broken;
    broken.kind = AccountAnswer::Kind::broken;
    broken.problem = std::move(*problem);
    return broken;
  }
  if (config.mode == Mode::account) return accounts.for_script(script);
  if (!owner) return {};
  return accounts.for_user(*owner);
}

Expected<const Handler*, HandlerRefusal> select_handler(const Config& config, std::string_view physical_path,
                                                        const Account* account,
                                                        const std::optional<std::string>& requested) {
  const auto refuse = [](Verdict verdict, std::string reason) {
    return unexpected(HandlerRefusal{verdict, std::move(reason)});
  };
  // The extension of the file that runs decides whether it runs at all, and as what family
  // (PHP or CGI): a .jpg or .txt never runs, whatever the request or a link's name says.
  const std::string_view ext = extension_of(physical_path);
  const Handler* by_extension = nullptr;
  for (const auto& [name, h] : config.handlers) {
    if (std::find(h.extensions.begin(), h.extensions.end(), ext) != h.extensions.end()) by_extension = &h;
  }
  if (by_extension == nullptr)
    return refuse(Verdict::deny, ext.empty() ? "the script has no extension that a handler runs"
                                             : "no handler runs " + std::string(ext) + " files");
  const Handler* handler = by_extension;
  if (handler->is_php() && account != nullptr && account->php_handler) {
    handler = config.handler(*account->php_handler);
    if (handler == nullptr)
      return refuse(Verdict::error, "php_handler " + *account->php_handler + " of account " + account->name +
                                        " is not a configured handler");
  }
  // SUWRAP_HANDLER chooses within that family (a PHP version, warm or not); it cannot
  // make a PHP file run as a program of its own, nor a CGI program through PHP.
  if (requested) {
    const Handler* named = config.handler(*requested);
    if (named == nullptr)
      return refuse(Verdict::deny, "SUWRAP_HANDLER names " + *requested + ", which is not a configured handler");
    if (named->is_php() != by_extension->is_php())
      return refuse(Verdict::deny, "SUWRAP_HANDLER names " + named->name + ", a " +
                                       std::string(to_string(named->kind)) + " handler, but " + std::string(ext) +
                                       " files are run by " + std::string(to_string(by_extension->kind)) +
                                       " handlers");
    handler = named;
  }
  if (account != nullptr && !account->may_use(handler->name))
    return refuse(Verdict::deny, "handler " + handler->name + " is not allowed for account " + account->name);
  return handler;
}

}  // namespace suwrap::policy
