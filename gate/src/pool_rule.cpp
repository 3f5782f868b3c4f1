// SPDX-License-Identifier: Apache-2.0
#include "pool_rule.hpp"

#include <utility>

namespace suwrap::gate {

using policy::Check;
using policy::Verdict;

PoolIdentity with_handler_settings(PoolIdentity pool, const policy::Handler& handler) {
  pool.program = handler.path;
  pool.args = handler.args;
  pool.workers = handler.workers;
  pool.max_requests = handler.max_requests;
  return pool;
}

namespace {

PoolMismatch refuse(Verdict verdict, Check check, int http_status, std::string reason, bool retire = false) {
  return PoolMismatch{verdict, check, http_status, std::move(reason), retire};
}

}  // namespace

std::optional<PoolMismatch> mismatch_for_pool(const policy::Decision& decision, const PoolIdentity& pool) {
  if (decision.verdict != Verdict::allow || !decision.target || decision.handler == nullptr)
    return refuse(Verdict::error, Check::handler, 500, "the request was not allowed by the checks");

  const policy::UserInfo& target = decision.target->user;
  if (target.uid != pool.uid)
    return refuse(Verdict::deny, Check::owner, 403,
                  "the script belongs to " + target.name + ", this pool serves " + pool.user);

  const policy::Handler& handler = *decision.handler;
  if (decision.handler_name != pool.handler)
    return refuse(Verdict::deny, Check::handler, 403,
                  "the script is run by handler " + decision.handler_name + ", this pool serves handler " +
                      pool.handler);

  if (handler.kind != policy::HandlerKind::php_fcgi)
    return refuse(Verdict::error, Check::handler, 500,
                  "handler " + pool.handler + " is no longer of kind php-fcgi; the pool restarts", true);
  if (handler.path != pool.program || handler.args != pool.args || handler.workers != pool.workers ||
      handler.max_requests != pool.max_requests)
    return refuse(Verdict::error, Check::handler, 500,
                  "the settings of handler " + pool.handler + " changed; the pool restarts", true);

  if (decision.phprc != pool.phprc)
    return refuse(Verdict::error, Check::handler, 500, "the account's php.ini changed; the pool restarts",
                  true);
  return std::nullopt;
}

}  // namespace suwrap::gate
