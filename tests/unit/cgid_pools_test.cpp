// SPDX-License-Identifier: Apache-2.0
// suwrap-cgid's warm pools: the pure rules of their bookkeeping, and Pools::prepare on a
// real directory.
#include "pools.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include "support.hpp"

namespace {

using namespace std::chrono_literals;
using suwrap::cgid::gate_refusal_check;
using suwrap::cgid::idle_retire_after;
using suwrap::cgid::least_recently_used_idle;
using suwrap::cgid::pool_socket_path;
using suwrap::cgid::PoolClock;
using suwrap::cgid::PoolUse;
using suwrap::cgid::RouteKey;
using suwrap::policy::Check;

TEST(PoolSocketPath, IsUidDashHandlerDotSockInTheDirectory) {
  EXPECT_EQ(pool_socket_path("/run/suwrap/pools", RouteKey{1001, "php-warm", ""}), "/run/suwrap/pools/1001-php-warm.sock");
  EXPECT_EQ(pool_socket_path("/run/suwrap/pools", RouteKey{1001, "php-warm", "shop"}),
            "/run/suwrap/pools/1001-php-warm-shop.sock") << "account mode: one pool per account";
  EXPECT_EQ(pool_socket_path("/run", RouteKey{1, "w", "a/b"}), std::nullopt);
  EXPECT_EQ(pool_socket_path("/run/suwrap/pools/", RouteKey{0, "a", ""}), "/run/suwrap/pools/0-a.sock");
}

TEST(PoolSocketPath, RefusesWhatDoesNotFitASocketAddressOrIsNoHandlerName) {
  // sun_path holds 108 bytes with the terminating NUL.
  const std::string dir = "/" + std::string(90, 'd');
  EXPECT_TRUE(pool_socket_path(dir, RouteKey{1, std::string(107 - dir.size() - 8, 'h'), ""}).has_value());
  EXPECT_EQ(pool_socket_path(dir, RouteKey{1, std::string(108 - dir.size() - 8, 'h'), ""}), std::nullopt);
  EXPECT_EQ(pool_socket_path("/run", RouteKey{1, "", ""}), std::nullopt);
  EXPECT_EQ(pool_socket_path("/run", RouteKey{1, "../x", ""}), std::nullopt);
  EXPECT_EQ(pool_socket_path("/run", RouteKey{1, std::string("a\0b", 3), ""}), std::nullopt);
}

TEST(GateRefusalCheck, NamesTheCheckOfAppStatusThousandPlusItsNumber) {
  EXPECT_EQ(gate_refusal_check(1004), Check::docroot);
  EXPECT_EQ(gate_refusal_check(1008), Check::owner);
  EXPECT_EQ(gate_refusal_check(1011), Check::handler);
  EXPECT_EQ(gate_refusal_check(1001), Check::caller);
  EXPECT_EQ(gate_refusal_check(1015), Check::exec);
}

TEST(GateRefusalCheck, AnyOtherStatusIsNoRefusal) {
  EXPECT_EQ(gate_refusal_check(0), std::nullopt);
  EXPECT_EQ(gate_refusal_check(1), std::nullopt);
  EXPECT_EQ(gate_refusal_check(255), std::nullopt);
  EXPECT_EQ(gate_refusal_check(1000), std::nullopt);
  EXPECT_EQ(gate_refusal_check(1016), std::nullopt);
  EXPECT_EQ(gate_refusal_check(0xffffffffU), std::nullopt);
}

TEST(IdleRetireAfter, IsHalfASecondBeforeTheGatesOwnIdleExit) {
  EXPECT_EQ(idle_retire_after(60s), 59500ms);
  EXPECT_EQ(idle_retire_after(3s), 2500ms);
  EXPECT_LT(idle_retire_after(1s), 1000ms);
  EXPECT_GT(idle_retire_after(1s), 0ms);
}

TEST(LeastRecentlyUsedIdle, PicksTheOldestIdlePoolAndNeverABusyOne) {
  const auto now = PoolClock::now();
  const std::vector<PoolUse> pools = {
      {RouteKey{1001, "w", ""}, false, now - 100s},  // busy, and the oldest
      {RouteKey{1002, "w", ""}, true, now - 10s},
      {RouteKey{1003, "w", ""}, true, now - 50s},
      {RouteKey{1004, "w", ""}, true, now - 1s},
  };
  EXPECT_EQ(least_recently_used_idle(pools), (RouteKey{1003, "w", ""}));
}

TEST(LeastRecentlyUsedIdle, NoneWhenEveryPoolIsBusy) {
  const auto now = PoolClock::now();
  const std::vector<PoolUse> busy = {{RouteKey{1, "w", ""}, false, now}, {RouteKey{2, "w", ""}, false, now - 5s}};
  EXPECT_EQ(least_recently_used_idle(busy), std::nullopt);
  EXPECT_EQ(least_recently_used_idle({}), std::nullopt);
}

class PoolsPrepare : public ::testing::Test {
 protected:
  asio::io_context io_;
  std::shared_ptr<spdlog::logger> log_ =
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
  suwrap::cgid::Metrics metrics_;
};

TEST_F(PoolsPrepare, CreatesTheDirectoryMode0700) {
  SUWRAP_REQUIRE_ROOT();
  suwrap::testing::TempTree tree;
  const std::string dir = tree.path("pools");
  suwrap::cgid::Pools pools(io_, suwrap::cgid::PoolOptions{"/bin/false", dir}, log_, metrics_);
  std::string error;
  ASSERT_TRUE(pools.prepare(error)) << error;
  EXPECT_TRUE(pools.enabled());
  struct stat st {};
  ASSERT_EQ(::lstat(dir.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700U);
  EXPECT_EQ(st.st_uid, ::geteuid());
}

TEST_F(PoolsPrepare, RefusesADirectoryOthersCanReachOrThatIsNotOurs) {
  SUWRAP_REQUIRE_ROOT();
  suwrap::testing::TempTree tree;
  tree.mkdir("open", 0755);
  tree.write("file", "", 0600);
  tree.symlink(tree.path("open"), "link");
  for (const char* name : {"open", "file", "link"}) {
    suwrap::cgid::Pools pools(io_, suwrap::cgid::PoolOptions{"/bin/false", tree.path(name)}, log_, metrics_);
    std::string error;
    EXPECT_FALSE(pools.prepare(error)) << name;
    EXPECT_FALSE(pools.enabled()) << name;
    EXPECT_NE(error.find("mode 0700"), std::string::npos) << error;
  }
  if (::geteuid() == 0) {
    tree.mkdir("theirs", 0700, 4321, 4321);
    suwrap::cgid::Pools pools(io_, suwrap::cgid::PoolOptions{"/bin/false", tree.path("theirs")}, log_, metrics_);
    std::string error;
    EXPECT_FALSE(pools.prepare(error));
  }
  // A parent that does not exist is not made.
  suwrap::cgid::Pools deep(io_, suwrap::cgid::PoolOptions{"/bin/false", tree.path("no/such")}, log_, metrics_);
  std::string error;
  EXPECT_FALSE(deep.prepare(error));
  EXPECT_NE(error.find("cannot create"), std::string::npos) << error;
}

}  // namespace
