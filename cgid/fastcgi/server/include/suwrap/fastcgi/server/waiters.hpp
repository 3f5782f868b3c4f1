// SPDX-License-Identifier: Apache-2.0
// Waiting on a single-threaded io_context: coroutines wait until another one hands
// them a turn, or until a deadline. The building block of the serialised socket writes
// (connection.hpp) and of suwrap-cgid's child slots.
#pragma once

#include <chrono>
#include <list>

#include <asio/experimental/as_tuple.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

namespace suwrap::fastcgi {

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

}  // namespace suwrap::fastcgi
