// SPDX-License-Identifier: Apache-2.0
#include "pool_rule.hpp"

#include <array>
#include <charconv>
#include <cstdint>

#include <utility>

namespace suwrap::gate {

using policy::Check;
using policy::Verdict;

PoolIdentity with_handler_settings(PoolIdentity pool, const policy::Handler& handler) {
  pool.program = handler.path;
  pool.args = handler.args;
  pool.workers = handler.workers;
  pool.max_requests = handler.max_requests;
  pool.max_lifetime_seconds = handler.max_lifetime_seconds;
  pool.direct = handler.direct;
  return pool;
}

namespace {

// The limits a pool's processes carry, in --limits order.
constexpr std::array<std::uint64_t policy::Limits::*, 5> pool_limits{
    &policy::Limits::cpu_seconds, &policy::Limits::memory_mb, &policy::Limits::nproc, &policy::Limits::nofile,
    &policy::Limits::fsize_mb};

}  // namespace

std::string limits_argument(const policy::Limits& limits) {
  std::string out;
  for (const auto field : pool_limits) out += (out.empty() ? "" : ",") + std::to_string(limits.*field);
  return out;
}

std::optional<policy::Limits> limits_from_argument(std::string_view text) {
  policy::Limits limits;
  for (const auto field : pool_limits) {
    const std::size_t comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || error != std::errc() || end != part.data() + part.size()) return std::nullopt;
    limits.*field = value;
    if ((comma == std::string_view::npos) != (field == pool_limits.back())) return std::nullopt;
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return limits;
}

namespace {

PoolMismatch refuse(Verdict verdict, Check check, int http_status, std::string reason, bool retire = false) {
  return PoolMismatch{verdict, check, http_status, std::move(reason), retire};
}

}  // namespace

std::optional<PoolMismatch> mismatch_for_pool(const policy::Decision& decision, const PoolIdentity& pool,
                                              const std::vector<gid_t>& groups) {
  if (decision.verdict != Verdict::allow || !decision.target || decision.handler == nullptr)
    return refuse(Verdict::error, Check::handler, 500, "the request was not allowed by the checks");

  const policy::UserInfo& target = decision.target->user;
  if (target.uid != pool.uid)
    return refuse(Verdict::deny, Check::owner, 403,
                  "the script belongs to " + target.name + ", this pool serves " + pool.user);

  if (pool.account) {
    const auto& account = decision.target->account;
    if (!account || account->name != *pool.account)
      return refuse(Verdict::deny, Check::target, 403,
                    "the script belongs to account " + (account ? account->name : std::string("(none)")) +
                        ", this pool serves account " + *pool.account);
  }

  const policy::Handler& handler = *decision.handler;
  if (decision.handler_name != pool.handler)
    return refuse(Verdict::deny, Check::handler, 403,
                  "the script is run by handler " + decision.handler_name + ", this pool serves handler " +
                      pool.handler);

  if (handler.kind != policy::HandlerKind::php_fcgi)
    return refuse(Verdict::error, Check::handler, 500,
                  "handler " + pool.handler + " is no longer of kind php-fcgi; the pool restarts", true);
  if (handler.path != pool.program || handler.args != pool.args || handler.workers != pool.workers ||
      handler.max_requests != pool.max_requests || handler.max_lifetime_seconds != pool.max_lifetime_seconds ||
      handler.direct != pool.direct)
    return refuse(Verdict::error, Check::handler, 500,
                  "the settings of handler " + pool.handler + " changed; the pool restarts", true);

  if (decision.phprc != pool.phprc)
    return refuse(Verdict::error, Check::handler, 500, "the account's php.ini changed; the pool restarts",
                  true);
  // The pool's processes carry the limits and groups they were started with; a request
  // that would get others now is served by a pool started with those.
  for (const auto field : pool_limits) {
    if (decision.limits.*field != pool.limits.*field)
      return refuse(Verdict::error, Check::user, 500,
                    "the limits of " + pool.user + " changed (" + limits_argument(decision.limits) + ", the pool has " +
                        limits_argument(pool.limits) + "); the pool restarts",
                    true);
  }
  if (decision.target->group.gid != pool.gid)
    return refuse(Verdict::error, Check::user, 500,
                  "the group of " + pool.user + " changed (gid " + std::to_string(decision.target->group.gid) +
                      ", the pool has " + std::to_string(pool.gid) + "); the pool restarts",
                  true);
  if (groups != pool.groups)
    return refuse(Verdict::error, Check::drop, 500, "the groups of " + pool.user + " changed; the pool restarts",
                  true);
  return std::nullopt;
}

policy::HandlerEnvironment php_environment(const policy::Decision& decision, const std::string& safe_path) {
  policy::HandlerEnvironment own;
  own.safe_path = safe_path;
  own.script_filename = decision.physical_path;
  own.php = true;
  own.phprc = decision.phprc;
  own.home = decision.target->user.home;
  own.user = decision.target->user.name;
  return own;
}

}  // namespace suwrap::gate
