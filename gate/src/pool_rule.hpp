// SPDX-License-Identifier: Apache-2.0
// The gate's own rule, after the policy library's checks: an allowed request must also be
// for *this* pool — this account, this handler, this php.ini. decide() answers "may this
// script run, and as whom"; this answers "may it run here".
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "suwrap/policy/checks.hpp"
#include "suwrap/policy/environment.hpp"
#include "suwrap/config/config.hpp"

namespace suwrap::gate {

// What the pool was started as: fixed for the gate's life. Its processes carry the groups
// and the limits suwrap gave them at the start: a request whose decision now gives others
// (a group revoked, a limit lowered in the account file) is not served by them.
struct PoolIdentity {
  uid_t uid = 0;        // the account user the gate runs as
  std::string user;     // its name, for messages
  std::string handler;  // --handler
  std::string phprc;    // --phprc: the php.ini php-cgi was started with
  std::optional<std::string> account;  // --account: account mode, the account it serves
  policy::Limits limits;               // --limits: cpu_seconds .. fsize_mb (wall_seconds applies per request)
  gid_t gid = 0;                       // its group, as suwrap set it
  std::vector<gid_t> groups;           // its supplementary groups (getgroups), sorted
  unsigned max_lifetime_seconds = 0;
  bool direct = false;
  // The handler's settings php-cgi was started with; another value means a new pool.
  std::string program;
  std::vector<std::string> args;
  unsigned workers = 0;
  unsigned max_requests = 0;
};

// The settings of `handler` as a pool remembers them.
PoolIdentity with_handler_settings(PoolIdentity pool, const policy::Handler& handler);

struct PoolMismatch {
  policy::Verdict verdict = policy::Verdict::error;
  policy::Check check = policy::Check::handler;
  int http_status = 500;
  std::string reason;
  // The configuration moved on from what the pool was started with: after answering,
  // the gate ends, so that the next request starts a pool that fits.
  bool retire_pool = false;
};

// nullopt when the allowed `decision` may be served by `pool`, whose user's groups are now
// `groups` (sorted). In this order:
//  - a decision that is not an allow, or lacks its target or handler: error (fail closed);
//  - the target user is not the pool's user: deny, check owner, 403;
//  - account mode: the account is not the pool's account: deny, check target, 403;
//  - the handler is not the pool's handler: deny, check handler, 403;
//  - the handler is no longer of kind php-fcgi, or its path, args, workers, max_requests or
//    max_lifetime_seconds or direct changed: error, check handler, 500, retire;
//  - PHPRC differs from the pool's: error, check handler, 500, retire;
//  - the limits differ from the pool's (wall_seconds aside): error, check user, 500, retire;
//  - the group (gid) differs from the pool's: error, check user, 500, retire;
//  - the user's groups differ from the pool's: error, check drop, 500, retire.
// `groups` must be the list for the decision's gid (what initgroups would give now).
std::optional<PoolMismatch> mismatch_for_pool(const policy::Decision& decision, const PoolIdentity& pool,
                                              const std::vector<gid_t>& groups);

// What suwrap sets for a handler (suwrap(8), ENVIRONMENT), for an allowed PHP `decision`
// with its target: PATH, SCRIPT_FILENAME as checked, PHPRC, HOME, USER and LOGNAME.
policy::HandlerEnvironment php_environment(const policy::Decision& decision, const std::string& safe_path);

// "30,512,64,256,256": the limits a pool's processes get, as --limits gives them to the gate.
std::string limits_argument(const policy::Limits& limits);
std::optional<policy::Limits> limits_from_argument(std::string_view text);

}  // namespace suwrap::gate
