// SPDX-License-Identifier: Apache-2.0
// How a forwarded request ends: closing_for (what the client gets, what is logged),
// kills_worker, app_status_for and wall_deadline.
#include <chrono>

#include <gtest/gtest.h>

#include "ending.hpp"

namespace {

using suwrap::gate::app_status_for;
using suwrap::gate::closing_for;
using suwrap::gate::Ending;
using suwrap::gate::kills_worker;
using suwrap::gate::wall_deadline;
using suwrap::policy::Check;
using suwrap::policy::Verdict;
using clock_type = std::chrono::steady_clock;

TEST(ClosingFor, AnAnsweredRequestPassesPhpsAppStatusAndIsNotLogged) {
  const auto closing = closing_for(Ending::answered, true, 7);
  EXPECT_EQ(closing.app_status, 7U);
  EXPECT_FALSE(closing.error_response.has_value());
  EXPECT_FALSE(closing.record.has_value());
}

TEST(ClosingFor, WallLimitBeforeAnyOutputIsA504) {
  const auto closing = closing_for(Ending::wall_limit, false, 0);
  ASSERT_TRUE(closing.error_response.has_value());
  EXPECT_EQ(*closing.error_response, 504);
  ASSERT_TRUE(closing.record.has_value());
  EXPECT_EQ(closing.record->http_status, 504);
  EXPECT_EQ(closing.record->check, Check::exec);
  EXPECT_EQ(closing.record->verdict, Verdict::error);
  EXPECT_EQ(closing.app_status, 1015U);
}

TEST(ClosingFor, WallLimitAfterOutputOnlyCutsTheResponseShort) {
  const auto closing = closing_for(Ending::wall_limit, true, 0);
  EXPECT_FALSE(closing.error_response.has_value());
  ASSERT_TRUE(closing.record.has_value());
  EXPECT_EQ(closing.record->http_status, 504);
}

TEST(ClosingFor, ALostOrBrokenWorkerIsA502BeforeAnyOutput) {
  for (const Ending ending : {Ending::worker_lost, Ending::malformed_answer, Ending::php_refused}) {
    const auto closing = closing_for(ending, false, 0);
    ASSERT_TRUE(closing.error_response.has_value());
    EXPECT_EQ(*closing.error_response, 502);
    ASSERT_TRUE(closing.record.has_value());
    EXPECT_EQ(closing.record->http_status, 502);
    EXPECT_FALSE(closing_for(ending, true, 0).error_response.has_value());
  }
}

TEST(ClosingFor, AClientThatIsGoneGetsNothingAndNothingIsLogged) {
  const auto closing = closing_for(Ending::client_gone, false, 0);
  EXPECT_FALSE(closing.error_response.has_value());
  EXPECT_FALSE(closing.record.has_value());
  EXPECT_EQ(closing.app_status, 0U);
}

TEST(KillsWorker, OnlyForEndingsWhereTheWorkerMayStillRun) {
  EXPECT_TRUE(kills_worker(Ending::wall_limit));
  EXPECT_TRUE(kills_worker(Ending::client_gone));
  EXPECT_TRUE(kills_worker(Ending::malformed_answer));
  EXPECT_FALSE(kills_worker(Ending::answered));
  EXPECT_FALSE(kills_worker(Ending::php_refused));
  EXPECT_FALSE(kills_worker(Ending::worker_lost));
}

TEST(AppStatusFor, IsTheBasePlusTheCheckNumber) {
  EXPECT_EQ(app_status_for(Check::docroot), 1004U);
  EXPECT_EQ(app_status_for(Check::owner), 1008U);
  EXPECT_EQ(app_status_for(Check::handler), 1011U);
}

TEST(WallDeadline, ZeroMeansNoLimit) {
  EXPECT_FALSE(wall_deadline(clock_type::now(), 0).has_value());
}

TEST(WallDeadline, IsTheStartPlusTheLimit) {
  const auto start = clock_type::now();
  const auto deadline = wall_deadline(start, 60);
  ASSERT_TRUE(deadline.has_value());
  EXPECT_EQ(*deadline - start, std::chrono::seconds(60));
}

TEST(WallDeadline, ALimitBeyondTheClockIsNoLimitRatherThanAnOverflow) {
  EXPECT_FALSE(wall_deadline(clock_type::now(), UINT64_MAX).has_value());
  EXPECT_FALSE(wall_deadline(clock_type::now(), UINT64_MAX / 1000).has_value());
}

}  // namespace
