// SPDX-License-Identifier: Apache-2.0
// A direct pool's gate (gate/src/direct.hpp): the workers' event lines, and the requests
// they say are running — what wall_seconds and idle_seconds are enforced from.
#include <chrono>

#include <gtest/gtest.h>

#include "direct.hpp"

namespace {

using suwrap::gate::parse_worker_event;
using suwrap::gate::RunningRequests;
using namespace std::chrono_literals;

TEST(WorkerEvent, ReadsStartsAndEnds) {
  const auto start = parse_worker_event("S 1234 60 suwrap-gate\terror\texec\t504\t\t\t/x.php\twhy");
  ASSERT_TRUE(start.has_value());
  EXPECT_TRUE(start->started);
  EXPECT_EQ(start->pid, 1234);
  EXPECT_EQ(start->wall_seconds, 60U);
  EXPECT_EQ(start->record, "suwrap-gate\terror\texec\t504\t\t\t/x.php\twhy");
  const auto without = parse_worker_event("S 1234 0 -");
  ASSERT_TRUE(without.has_value());
  EXPECT_EQ(without->record, "");
  const auto end = parse_worker_event("E 1234");
  ASSERT_TRUE(end.has_value());
  EXPECT_FALSE(end->started);
  EXPECT_EQ(end->pid, 1234);
}

TEST(WorkerEvent, RefusesAnythingElse) {
  for (const char* line : {"", "S", "S 1234", "S 1234 60", "S x 60 -", "S 1 60 -", "S 0 60 -", "S -5 60 -",
                           "S 1234 -1 -", "S 1234 6x -", "E", "E 1234 more", "E 1234x", "X 1234", "s 1234 60 -"})
    EXPECT_FALSE(parse_worker_event(line).has_value()) << "'" << line << "'";
}

TEST(RunningRequests, APastItsWallIsOverdueOnceWithItsRecord) {
  RunningRequests running;
  const auto t0 = RunningRequests::Clock::now();
  running.apply(*parse_worker_event("S 100 5 record-100"), t0);
  running.apply(*parse_worker_event("S 200 0 -"), t0);  // no wall limit
  EXPECT_TRUE(running.overdue(t0 + 4s).empty());
  const auto late = running.overdue(t0 + 5s);
  ASSERT_EQ(late.size(), 1U);
  EXPECT_EQ(late[0].first, 100);
  EXPECT_EQ(late[0].second, "record-100");
  EXPECT_TRUE(running.overdue(t0 + 100s).empty()) << "once; and a request without a limit never";
  EXPECT_TRUE(running.any());
}

TEST(RunningRequests, AnEndedRequestIsNotOverdueAndIdleCountsFromTheLastBusyMoment) {
  RunningRequests running;
  const auto t0 = RunningRequests::Clock::now();
  running.apply(*parse_worker_event("S 100 5 -"), t0);
  running.apply(*parse_worker_event("E 100"), t0 + 1s);
  EXPECT_FALSE(running.any());
  EXPECT_TRUE(running.overdue(t0 + 10s).empty());
  EXPECT_EQ(running.last_event(), t0 + 1s);
  // A worker that died while busy: forgotten, busy until then.
  running.apply(*parse_worker_event("S 300 60 -"), t0 + 2s);
  running.keep_only({100, 200}, t0 + 3s);
  EXPECT_FALSE(running.any());
  EXPECT_EQ(running.last_event(), t0 + 3s);
  // One killed at its wall: idle counts from the kill.
  running.apply(*parse_worker_event("S 400 1 -"), t0 + 4s);
  EXPECT_EQ(running.overdue(t0 + 6s).size(), 1U);
  EXPECT_EQ(running.last_event(), t0 + 6s);
}

}  // namespace
