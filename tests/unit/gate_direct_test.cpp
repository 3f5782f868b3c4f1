// SPDX-License-Identifier: Apache-2.0
// A direct pool's gate (gate/src/direct.hpp, board.hpp): the board its workers mark their
// requests on, and the requests the gate learns from it — what wall_seconds and
// idle_seconds are enforced from.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include "board.hpp"
#include "direct.hpp"

namespace {

using suwrap::gate::Board;
using suwrap::gate::RunningRequests;
using namespace std::chrono_literals;
using Clock = RunningRequests::Clock;

Board make_board(std::size_t slots = 4) {
  auto board = Board::create(slots);
  EXPECT_TRUE(board.has_value()) << (board ? "" : board.error());
  return std::move(*board);
}

// php-cgi's workers, as the gate reads them.
std::function<bool(pid_t)> workers(std::vector<pid_t> pids) {
  return [pids](pid_t pid) { return std::find(pids.begin(), pids.end(), pid) != pids.end(); };
}

std::int64_t ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

TEST(Board, IsSealedAgainstShrinkingAndGrowing) {
  Board board = make_board(3);
  EXPECT_EQ(board.slots(), 3U);
  EXPECT_NE(::ftruncate(board.fd(), 0), 0) << "the account could make the gate's reads fault";
  EXPECT_NE(::ftruncate(board.fd(), 100 * Board::slot_bytes), 0);
}

TEST(Board, AWorkerAttachedToItIsSeenByTheGate) {
  Board gate = make_board(4);
  auto worker = Board::attach(gate.fd());
  ASSERT_TRUE(worker.has_value()) << worker.error();
  const auto slot = worker->claim(1234, std::nullopt);
  ASSERT_TRUE(slot.has_value());
  EXPECT_EQ(worker->claim(1234, std::nullopt), slot) << "the slot it holds, not another";
  EXPECT_EQ(worker->claim(1234, slot), slot);
  worker->start(*slot, 1234, 42, 60, "record");
  const Board::Seen seen = gate.look(*slot);
  EXPECT_EQ(seen.pid, 1234);
  EXPECT_EQ(seen.sequence % 2, 1U) << "in a request";
  EXPECT_EQ(seen.started_ns, 42);
  EXPECT_EQ(seen.wall_seconds, 60U);
  EXPECT_EQ(seen.record, "record");
  EXPECT_TRUE(seen.steady);
  worker->end(*slot, 1234);
  EXPECT_EQ(gate.look(*slot).sequence % 2, 0U);
}

TEST(Board, SlotsRunOutAndAreFreedForOthers) {
  Board board = make_board(2);
  const auto a = board.claim(100, std::nullopt);
  const auto b = board.claim(200, std::nullopt);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(board.claim(300, std::nullopt).has_value());
  board.release(*a, 999);  // not its holder: nothing
  EXPECT_FALSE(board.claim(300, std::nullopt).has_value());
  board.release(*a, 100);
  EXPECT_EQ(board.claim(300, std::nullopt), a);
  EXPECT_EQ(board.claim(100, a), std::nullopt) << "a hint to a slot someone else holds is no claim";
}

TEST(Board, ARecordLongerThanASlotIsCutAndALengthOutOfBoundsIsBounded) {
  Board board = make_board(1);
  const auto slot = board.claim(100, std::nullopt);
  board.start(*slot, 100, 1, 1, std::string(10000, 'x'));
  EXPECT_EQ(board.look(*slot).record.size(), Board::record_capacity);
  // What the account's process could write there itself.
  auto* raw = static_cast<Board::Slot*>(
      ::mmap(nullptr, Board::slot_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, board.fd(), 0));
  ASSERT_NE(raw, MAP_FAILED);
  raw->record_length.store(0xffffffffU);
  EXPECT_EQ(board.look(*slot).record.size(), Board::record_capacity);
  ::munmap(raw, Board::slot_bytes);
}

TEST(Board, OnlyTheHolderMarksItsSlot) {
  Board board = make_board(2);
  const auto slot = board.claim(100, std::nullopt);
  ASSERT_TRUE(slot.has_value());
  EXPECT_FALSE(board.start(*slot, 101, 1, 1, "")) << "a process forked from the worker";
  EXPECT_EQ(board.look(*slot).sequence % 2, 0U);
  ASSERT_TRUE(board.start(*slot, 100, 1, 1, ""));
  board.end(*slot, 101);
  EXPECT_EQ(board.look(*slot).sequence % 2, 1U) << "the worker's request is not ended by its child";
  board.release(*slot, 101);
  EXPECT_EQ(board.look(*slot).pid, 100);
  board.release(*slot, 100);
  EXPECT_EQ(board.look(*slot).pid, 0) << "a worker that exits frees its slot";
  EXPECT_EQ(board.look(*slot).sequence % 2, 0U);
}

TEST(Board, ASlotFreedOrFoundAgainStartsOutOfAnyRequest) {
  Board board = make_board(1);
  const auto slot = board.claim(100, std::nullopt);
  ASSERT_TRUE(board.start(*slot, 100, 1, 1, ""));
  board.release(*slot, 100);  // killed in its request
  EXPECT_EQ(board.look(*slot).sequence % 2, 0U) << "the next holder does not inherit the request";
  ASSERT_EQ(board.claim(200, std::nullopt), slot);
  ASSERT_TRUE(board.start(*slot, 200, 1, 1, ""));
  // A new process that got 200's pid before 200's slot was freed: its own slot, no request.
  EXPECT_EQ(board.claim(200, std::nullopt), slot);
  EXPECT_EQ(board.look(*slot).sequence % 2, 0U);
}

TEST(Board, AttachRefusesWhatIsNotABoard) {
  EXPECT_FALSE(Board::attach(-1).has_value());
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  EXPECT_FALSE(Board::attach(pipe_fds[0]).has_value());
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

TEST(RunningRequests, APastItsWallIsOverdueOnceWithItsRecord) {
  const auto t0 = Clock::now();
  Board board = make_board();
  RunningRequests running(t0);
  const auto a = board.claim(100, std::nullopt);
  const auto b = board.claim(200, std::nullopt);
  board.start(*a, 100, ns(t0), 5, "record-100");
  board.start(*b, 200, ns(t0), 0, "");  // no wall limit
  running.look(board, workers({100, 200}), t0 + 1s);
  EXPECT_TRUE(running.any());
  EXPECT_EQ(running.next_deadline(), t0 + 5s) << "from the start the worker gave";
  EXPECT_TRUE(running.overdue(t0 + 4s).empty());
  const auto late = running.overdue(t0 + 5s);
  ASSERT_EQ(late.size(), 1U);
  EXPECT_EQ(late[0].first, 100);
  EXPECT_EQ(late[0].second, "record-100");
  running.look(board, workers({100, 200}), t0 + 6s);
  EXPECT_TRUE(running.overdue(t0 + 100s).empty()) << "once; and a request without a limit never";
  EXPECT_TRUE(running.any());
}

TEST(RunningRequests, AStartTimeOutsideTheLastLookAndNowIsNotBelieved) {
  const auto t0 = Clock::now();
  Board board = make_board();
  RunningRequests running(t0);
  running.look(board, workers({}), t0 + 10s);
  const auto a = board.claim(100, std::nullopt);
  board.start(*a, 100, ns(t0), 5, "");  // before the last look: it would have been seen then
  const auto b = board.claim(200, std::nullopt);
  board.start(*b, 200, ns(t0 + 1000s), 5, "");  // in the future
  running.look(board, workers({100, 200}), t0 + 11s);
  EXPECT_TRUE(running.overdue(t0 + 14s).empty());
  EXPECT_EQ(running.overdue(t0 + 15s).size(), 1U) << "100: from the last look";
  EXPECT_EQ(running.overdue(t0 + 16s).size(), 1U) << "200: from now";
}

TEST(RunningRequests, AnEndedRequestIsNotOverdueAndIdleCountsFromTheLastBusyMoment) {
  const auto t0 = Clock::now();
  Board board = make_board();
  RunningRequests running(t0);
  EXPECT_EQ(running.last_activity(), t0);
  const auto a = board.claim(100, std::nullopt);
  board.start(*a, 100, ns(t0), 5, "");
  running.look(board, workers({100}), t0 + 1s);
  board.end(*a, 100);
  running.look(board, workers({100}), t0 + 2s);
  EXPECT_FALSE(running.any());
  EXPECT_TRUE(running.overdue(t0 + 10s).empty());
  EXPECT_EQ(running.last_activity(), t0 + 2s);
  running.look(board, workers({100}), t0 + 3s);
  EXPECT_EQ(running.last_activity(), t0 + 2s) << "nothing changed";
  // A request that started and ended between two looks is activity too.
  board.start(*a, 100, ns(t0 + 3s), 5, "");
  board.end(*a, 100);
  running.look(board, workers({100}), t0 + 4s);
  EXPECT_EQ(running.last_activity(), t0 + 4s);
  // A worker that died while busy: forgotten, its slot freed, busy until then.
  const auto c = board.claim(300, std::nullopt);
  board.start(*c, 300, ns(t0 + 4s), 60, "");
  running.look(board, workers({100, 300}), t0 + 5s);
  EXPECT_TRUE(running.any());
  running.look(board, workers({100}), t0 + 6s);
  EXPECT_FALSE(running.any());
  EXPECT_EQ(running.last_activity(), t0 + 6s);
  EXPECT_EQ(board.look(*c).pid, 0) << "freed for the worker started in its place";
  // One killed at its wall: idle counts from the kill.
  board.start(*a, 100, ns(t0 + 6s), 1, "");
  running.look(board, workers({100}), t0 + 6s);
  EXPECT_EQ(running.overdue(t0 + 7s).size(), 1U);
  EXPECT_EQ(running.last_activity(), t0 + 7s);
}

}  // namespace
