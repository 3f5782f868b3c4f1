// SPDX-License-Identifier: Apache-2.0
// The child slots: at most --max-children suwrap processes at once, the others waiting
// their turn (Waiters, shared with the FastCGI connection's serialised writes).
#pragma once

#include <cstddef>

#include <asio/awaitable.hpp>

#include "suwrap/fastcgi/server/waiters.hpp"

namespace suwrap::cgid {

using fastcgi::Waiters;

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
