// SPDX-License-Identifier: Apache-2.0
// mismatch_for_pool: an allowed request must also be for this pool — its user, its
// handler, the php.ini and handler settings it was started with — or it is refused.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pool_rule.hpp"

namespace {

using suwrap::gate::mismatch_for_pool;
using suwrap::gate::PoolIdentity;
using suwrap::gate::with_handler_settings;
using suwrap::policy::Check;
using suwrap::policy::Decision;
using suwrap::policy::GroupInfo;
using suwrap::policy::Handler;
using suwrap::policy::HandlerKind;
using suwrap::policy::Target;
using suwrap::policy::UserInfo;
using suwrap::policy::Verdict;

Handler warm_handler() {
  Handler handler;
  handler.name = "php-warm";
  handler.kind = HandlerKind::php_fcgi;
  handler.path = "/usr/bin/php-cgi";
  handler.ini_dir = "/etc/php/8.2/cgi";
  handler.workers = 2;
  handler.max_requests = 500;
  return handler;
}

const std::vector<gid_t> alices_groups{1001, 2000};

PoolIdentity alices_pool(const Handler& handler) {
  PoolIdentity pool;
  pool.uid = 1001;
  pool.user = "alice";
  pool.handler = "php-warm";
  pool.phprc = "/etc/php/8.2/cgi/php.ini";
  pool.gid = 1001;
  pool.groups = alices_groups;
  return with_handler_settings(pool, handler);
}

// An allow as decide() gives it, for `user` with `handler`.
Decision allowed(const UserInfo& user, const Handler& handler) {
  Decision decision;
  decision.verdict = Verdict::allow;
  decision.http_status = 200;
  decision.target = Target{user, GroupInfo{user.name, user.gid}, nullptr};
  decision.handler = &handler;
  decision.handler_name = handler.name;
  decision.phprc = "/etc/php/8.2/cgi/php.ini";
  return decision;
}

const UserInfo alice{"alice", 1001, 1001, "/home/alice"};
const UserInfo bob{"bob", 1002, 1002, "/home/bob"};

TEST(MismatchForPool, AllowsTheRequestOfThePoolsUserHandlerAndPhpIni) {
  const Handler handler = warm_handler();
  EXPECT_FALSE(mismatch_for_pool(allowed(alice, handler), alices_pool(handler), alices_groups).has_value());
}

TEST(MismatchForPool, RefusesAnotherUsersScriptWithCheckOwner) {
  const Handler handler = warm_handler();
  const auto mismatch = mismatch_for_pool(allowed(bob, handler), alices_pool(handler), alices_groups);
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_EQ(mismatch->check, Check::owner);
  EXPECT_EQ(mismatch->verdict, Verdict::deny);
  EXPECT_EQ(mismatch->http_status, 403);
  EXPECT_EQ(mismatch->reason, "the script belongs to bob, this pool serves alice");
  EXPECT_FALSE(mismatch->retire_pool);
}

TEST(MismatchForPool, RefusesAnotherHandlerWithCheckHandler) {
  const Handler pools = warm_handler();
  Handler other = warm_handler();
  other.name = "php81-warm";
  const auto mismatch = mismatch_for_pool(allowed(alice, other), alices_pool(pools), alices_groups);
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_EQ(mismatch->check, Check::handler);
  EXPECT_EQ(mismatch->http_status, 403);
  EXPECT_FALSE(mismatch->retire_pool);
}

TEST(MismatchForPool, OwnerIsJudgedBeforeHandler) {
  const Handler pools = warm_handler();
  Handler other = warm_handler();
  other.name = "php81-warm";
  const auto mismatch = mismatch_for_pool(allowed(bob, other), alices_pool(pools), alices_groups);
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_EQ(mismatch->check, Check::owner);
}

TEST(MismatchForPool, AChangedPhpIniRetiresThePool) {
  const Handler handler = warm_handler();
  Decision decision = allowed(alice, handler);
  decision.phprc = "/home/alice/etc/php/php.ini";
  const auto mismatch = mismatch_for_pool(decision, alices_pool(handler), alices_groups);
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_EQ(mismatch->check, Check::handler);
  EXPECT_EQ(mismatch->verdict, Verdict::error);
  EXPECT_EQ(mismatch->http_status, 500);
  EXPECT_EQ(mismatch->reason, "the account's php.ini changed; the pool restarts");
  EXPECT_TRUE(mismatch->retire_pool);
}

TEST(MismatchForPool, ChangedHandlerSettingsRetireThePool) {
  const Handler started = warm_handler();
  const PoolIdentity pool = alices_pool(started);
  for (int change = 0; change < 6; ++change) {
    Handler now = warm_handler();
    if (change == 0) now.path = "/usr/bin/php-cgi8.3";
    if (change == 1) now.args = {"-d", "opcache.enable=0"};
    if (change == 2) now.workers = 8;
    if (change == 3) now.max_requests = 10;
    if (change == 4) now.max_lifetime_seconds = 60;
    if (change == 5) now.direct = true;
    const auto mismatch = mismatch_for_pool(allowed(alice, now), pool, alices_groups);
    ASSERT_TRUE(mismatch.has_value()) << "change " << change;
    EXPECT_EQ(mismatch->check, Check::handler);
    EXPECT_EQ(mismatch->http_status, 500);
    EXPECT_TRUE(mismatch->retire_pool) << "change " << change;
  }
}

TEST(MismatchForPool, IdleSecondsIsNotAReasonToRestart) {
  const Handler started = warm_handler();
  Handler now = warm_handler();
  now.idle_seconds = 5;
  EXPECT_FALSE(mismatch_for_pool(allowed(alice, now), alices_pool(started), alices_groups).has_value());
}

TEST(MismatchForPool, AHandlerNoLongerOfKindPhpFcgiRetiresThePool) {
  const Handler started = warm_handler();
  Handler now = warm_handler();
  now.kind = HandlerKind::php;
  const auto mismatch = mismatch_for_pool(allowed(alice, now), alices_pool(started), alices_groups);
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_EQ(mismatch->check, Check::handler);
  EXPECT_TRUE(mismatch->retire_pool);
}

TEST(MismatchForPool, FailsClosedOnADecisionThatIsNotAnAllow) {
  const Handler handler = warm_handler();
  for (const Verdict verdict : {Verdict::deny, Verdict::error}) {
    Decision decision = allowed(alice, handler);
    decision.verdict = verdict;
    const auto mismatch = mismatch_for_pool(decision, alices_pool(handler), alices_groups);
    ASSERT_TRUE(mismatch.has_value());
    EXPECT_EQ(mismatch->verdict, Verdict::error);
    EXPECT_EQ(mismatch->http_status, 500);
  }
  Decision without_target = allowed(alice, handler);
  without_target.target.reset();
  EXPECT_TRUE(mismatch_for_pool(without_target, alices_pool(handler), alices_groups).has_value());
  Decision without_handler = allowed(alice, handler);
  without_handler.handler = nullptr;
  EXPECT_TRUE(mismatch_for_pool(without_handler, alices_pool(handler), alices_groups).has_value());
}

// The pool's processes carry the limits and groups they were started with.
TEST(MismatchForPool, ChangedLimitsRetireThePoolButNotWallSeconds) {
  const Handler handler = warm_handler();
  Decision decision = allowed(alice, handler);
  decision.limits.wall_seconds = 5;
  EXPECT_FALSE(mismatch_for_pool(decision, alices_pool(handler), alices_groups).has_value())
      << "wall_seconds applies per request";
  decision.limits.memory_mb = 256;
  const auto mismatch = mismatch_for_pool(decision, alices_pool(handler), alices_groups);
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_EQ(mismatch->check, Check::user);
  EXPECT_EQ(mismatch->http_status, 500);
  EXPECT_TRUE(mismatch->retire_pool);
  EXPECT_EQ(mismatch->reason, "the limits of alice changed (30,256,64,256,256, the pool has 30,512,64,256,256); "
                              "the pool restarts");
}

TEST(MismatchForPool, ChangedGroupsRetireThePool) {
  const Handler handler = warm_handler();
  const auto mismatch = mismatch_for_pool(allowed(alice, handler), alices_pool(handler), {1001});
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_EQ(mismatch->check, Check::drop);
  EXPECT_TRUE(mismatch->retire_pool);
  EXPECT_EQ(mismatch->reason, "the groups of alice changed; the pool restarts");
}

TEST(MismatchForPool, AChangedGroupRetiresThePool) {
  const Handler handler = warm_handler();
  Decision decision = allowed(alice, handler);
  decision.target->group.gid = 2000;  // the account file now names another group
  const auto mismatch = mismatch_for_pool(decision, alices_pool(handler), alices_groups);
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_EQ(mismatch->check, Check::user);
  EXPECT_TRUE(mismatch->retire_pool);
  EXPECT_EQ(mismatch->reason, "the group of alice changed (gid 2000, the pool has 1001); the pool restarts");
}

TEST(MismatchForPool, InAccountModeAPoolServesItsOwnAccountOnly) {
  const Handler handler = warm_handler();
  PoolIdentity pool = alices_pool(handler);
  pool.account = "shop";
  Decision decision = allowed(alice, handler);
  suwrap::policy::Account blog;
  blog.name = "blog";
  decision.target->account = std::make_shared<const suwrap::policy::Account>(blog);
  const auto mismatch = mismatch_for_pool(decision, pool, alices_groups);
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_EQ(mismatch->check, Check::target);
  EXPECT_EQ(mismatch->http_status, 403);
  EXPECT_FALSE(mismatch->retire_pool);
  suwrap::policy::Account shop;
  shop.name = "shop";
  decision.target->account = std::make_shared<const suwrap::policy::Account>(shop);
  EXPECT_FALSE(mismatch_for_pool(decision, pool, alices_groups).has_value());
}

TEST(LimitsArgument, IsFiveNumbersReadBackAsWritten) {
  suwrap::policy::Limits limits;
  limits.cpu_seconds = 0;
  limits.fsize_mb = 1024;
  EXPECT_EQ(suwrap::gate::limits_argument(limits), "0,512,64,256,1024");
  const auto back = suwrap::gate::limits_from_argument("0,512,64,256,1024");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(suwrap::gate::limits_argument(*back), "0,512,64,256,1024");
  for (const char* bad : {"", "1,2,3,4", "1,2,3,4,5,6", "1,2,x,4,5", "1,2,,4,5", "-1,2,3,4,5"})
    EXPECT_FALSE(suwrap::gate::limits_from_argument(bad).has_value()) << bad;
}

}  // namespace
