// SPDX-License-Identifier: Apache-2.0
// Waiting on a single-threaded io_context: coroutines wait until another one hands
// them a turn, or until a deadline. The building block of the child slots and of the
// serialised socket writes.
#pragma once

#include <chrono>
#include <list>

#include <asio/experimental/as_tuple.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

namespace suwrap::cgid {

class Waiters {
 public:
  using clock = std::chrono::steady_clock;

  // Waits until notify_one() picks this waiter (true) or the deadline passes (false).
  asio::awaitable<bool> wait(asio::any_io_executor executor, clock::time_point deadline) {
    Waiter waiter{asio::steady_timer(executor, deadline)};
    auto it = list_.insert(list_.end(), &waiter);
    (void)co_await waiter.timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (!waiter.notified) list_.erase(it);
    co_return waiter.notified;
  }

  // Wakes the longest waiting coroutine, if any; true if there was one.
  bool notify_one() {
    if (list_.empty()) return false;
    Waiter* w = list_.front();
    list_.pop_front();
    w->notified = true;
    w->timer.cancel();
    return true;
  }

  void notify_all() {
    while (notify_one()) {
    }
  }

  [[nodiscard]] bool empty() const { return list_.empty(); }
  [[nodiscard]] std::size_t size() const { return list_.size(); }

 private:
  struct Waiter {
    asio::steady_timer timer;
    bool notified = false;
  };
  std::list<Waiter*> list_;
};

// At most N children at once. acquire() waits up to a deadline for a free slot; a slot
// that is released while someone waits goes straight to the first waiter.
class ChildSlots {
 public:
  explicit ChildSlots(std::size_t count) : free_(count) {}

  asio::awaitable<bool> acquire(asio::any_io_executor executor, Waiters::clock::time_point deadline) {
    if (free_ > 0 && waiters_.empty()) {
      --free_;
      co_return true;
    }
    co_return co_await waiters_.wait(executor, deadline);
  }

  void release() {
    if (!waiters_.notify_one()) ++free_;
  }

  [[nodiscard]] std::size_t queued() const { return waiters_.size(); }

 private:
  std::size_t free_;
  Waiters waiters_;
};

}  // namespace suwrap::cgid
