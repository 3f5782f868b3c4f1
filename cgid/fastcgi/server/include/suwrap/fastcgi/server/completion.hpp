// SPDX-License-Identifier: Apache-2.0
// How every coroutine of a server ends. spawn() starts one with a Completion instead of
// asio::detached: an exception it throws is logged, and a coroutine that serves a
// request leaves no request unanswered — its server ends it as it ends any request, with
// a 500 first when nothing of the answer went out yet.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

namespace suwrap::fastcgi {

// The answer of a request whose coroutine failed before anything of its own went out.
inline constexpr std::string_view internal_error_response =
    "Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n500 Internal Server Error\n";

// A request a failed coroutine served, as its server sees it.
struct RequestInFlight {
  std::uint16_t request_id = 0;
  // Its END_REQUEST went out already: there is nothing left to answer.
  std::function<bool()> ended;
  // A byte of its answer went out, or its client is gone: too late for a 500.
  std::function<bool()> answer_started;
  // Ends it as the server ends any request, after writing `records` (STDOUT records, or
  // none). Return the server's own coroutine, not a capturing lambda coroutine: the
  // function object is gone once the Completion has run.
  std::function<asio::awaitable<void>(std::string records)> end;
};

class Completion {
 public:
  // `task` names the coroutine in the log; `log` writes the line (task, what failed).
  using Log = std::function<void(std::string_view task, std::string_view what)>;

  Completion(asio::any_io_executor executor, std::string task, Log log,
             std::shared_ptr<const RequestInFlight> request = nullptr);

  // The same, for a coroutine that serves `request`.
  [[nodiscard]] Completion with_request(std::shared_ptr<const RequestInFlight> request) const;

  // asio's completion signature of a co_spawn'ed awaitable<void>.
  void operator()(const std::exception_ptr& error) const;

 private:
  asio::any_io_executor executor_;
  std::string task_;
  Log log_;
  std::shared_ptr<const RequestInFlight> request_;
};

// What an exception says of itself: what() of a std::exception, else that it is unknown.
[[nodiscard]] std::string describe(const std::exception_ptr& error);

// Runs `done` when it goes out of scope. Declared first in a coroutine, it runs however
// the coroutine ends: after its last statement, or as an exception leaves it.
template <class Done>
class AtEnd {
 public:
  explicit AtEnd(Done done) : done_(std::move(done)) {}
  ~AtEnd() { done_(); }
  AtEnd(const AtEnd&) = delete;
  AtEnd& operator=(const AtEnd&) = delete;

 private:
  Done done_;
};

// An owner's life, for what may run after it. A coroutine suspended when its io_context is
// destroyed is destroyed with it, and its AtEnd runs then; a server destroyed before its
// io_context is gone by that time. What such an AtEnd does to its server, it does only
// while the server's token has not expired.
class Lifetime {
 public:
  [[nodiscard]] std::weak_ptr<const bool> token() const { return alive_; }

 private:
  std::shared_ptr<const bool> alive_ = std::make_shared<const bool>(true);
};

// asio::co_spawn(executor, task, done): the one way a server starts a coroutine.
void spawn(const asio::any_io_executor& executor, asio::awaitable<void> task, Completion done);

}  // namespace suwrap::fastcgi
