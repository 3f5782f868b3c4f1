// SPDX-License-Identifier: Apache-2.0
// A direct pool's request board: how its workers tell the gate which request each of them
// is running, with no system call and no wake-up per request. It is a small shared memory
// file (memfd) the gate makes and seals against shrinking and growing, one 4 KiB slot per
// worker: the worker that holds a slot marks in it when a request starts (its start time,
// its wall_seconds, the record to write if it runs past them) and when it ends; the gate
// looks at every slot once a second and on the deadlines it learnt
// (docs/warm-mode.md, "Direct pools").
//
// The slots are written by the account's own processes: the gate reads each field once,
// bounds every length and trusts nothing in them beyond what the account could do to its
// own requests (it kills only php-cgi's own workers, and parses the records as it parses
// the account's refusal records).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "suwrap/util/expected.hpp"
#include "suwrap/util/fd.hpp"

namespace suwrap::gate {

class Board {
 public:
  static constexpr std::size_t slot_bytes = 4096;
  struct Slot {
    std::atomic<std::int32_t> pid;         // the worker holding it; 0: free
    std::atomic<std::uint32_t> sequence;   // odd while that worker is in a request
    std::atomic<std::int64_t> started_ns;  // the request's start, on the monotonic clock
    std::atomic<std::uint64_t> wall_seconds;
    std::atomic<std::uint32_t> record_length;
    std::uint32_t unused;
    char record[slot_bytes - 32];
  };
  static_assert(sizeof(Slot) == slot_bytes);
  static_assert(std::atomic<std::int64_t>::is_always_lock_free && std::atomic<std::uint32_t>::is_always_lock_free);
  static constexpr std::size_t record_capacity = sizeof(Slot::record);

  // The slots a pool of `workers` gets: room for workers killed and replaced between two of
  // the gate's looks (a worker that exits frees its own slot).
  static std::size_t slots_for(unsigned workers) { return 2 * static_cast<std::size_t>(workers) + 64; }

  // The gate's: a new sealed board of `slots` slots, mapped; fd() is what php-cgi gets.
  static util::Expected<Board, std::string> create(std::size_t slots);
  // php-cgi's parent's: maps the board on `fd` (a file of whole slots). The caller closes fd.
  static util::Expected<Board, std::string> attach(int fd);

  Board(Board&& other) noexcept;
  Board& operator=(Board&& other) noexcept;
  Board(const Board&) = delete;
  Board& operator=(const Board&) = delete;
  ~Board();

  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] std::size_t slots() const { return slots_; }

  // A worker's (`pid` is its own): the slot it holds, or a free one it takes now; nullopt:
  // none is free. `hint` is the slot it held before.
  std::optional<std::size_t> claim(pid_t pid, std::optional<std::size_t> hint);
  // Its request starts (`record` is cut to fit) / ends; nothing, and false, unless `pid`
  // holds the slot (a process forked from the worker does not).
  bool start(std::size_t slot, pid_t pid, std::int64_t now_ns, std::uint64_t wall_seconds, std::string_view record);
  void end(std::size_t slot, pid_t pid);
  // The slot freed, out of any request, if `pid` still holds it: by a worker as it exits
  // (free at once for the one started in its place), by the gate for one that died.
  void release(std::size_t slot, pid_t pid);

  // The gate's: what slot `i` says, read once.
  struct Seen {
    pid_t pid = 0;
    std::uint32_t sequence = 0;
    std::int64_t started_ns = 0;
    std::uint64_t wall_seconds = 0;
    std::string record;
    bool steady = true;  // false: it changed while being read; look again later
  };
  [[nodiscard]] Seen look(std::size_t i) const;

 private:
  Board(util::Fd fd, Slot* slots, std::size_t count) : fd_(std::move(fd)), map_(slots), slots_(count) {}
  util::Fd fd_;
  Slot* map_ = nullptr;
  std::size_t slots_ = 0;
};

}  // namespace suwrap::gate
