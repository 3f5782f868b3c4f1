// SPDX-License-Identifier: Apache-2.0
// The responder's server side shared by suwrap-cgid and the gate: the params as an
// environment, the dispatch of a session's events, how a failed coroutine ends, and the
// connection's reading and serialised writes.
#include <sys/socket.h>

#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/write.hpp>
#include <asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "suwrap/fastcgi/encoder.hpp"
#include "suwrap/fastcgi/server/completion.hpp"
#include "suwrap/fastcgi/server/connection.hpp"
#include "suwrap/fastcgi/server/dispatch.hpp"
#include "suwrap/fastcgi/server/environment.hpp"

namespace {

namespace fcgi = suwrap::fastcgi;
using asio::awaitable;

// --- params_to_environment, find_param ---------------------------------------------------

TEST(ParamsToEnvironment, EveryParamInItsOrder) {
  const fcgi::NameValuePairs params{{"SCRIPT_FILENAME", "/srv/a.php"}, {"EMPTY", ""}, {"Q", "a=b"}};
  const auto environment = fcgi::params_to_environment(params);
  ASSERT_TRUE(environment.has_value());
  EXPECT_EQ(*environment, (std::vector<std::string>{"SCRIPT_FILENAME=/srv/a.php", "EMPTY=", "Q=a=b"}));
}

TEST(ParamsToEnvironment, LeavesOutTheHeldBackName) {
  const fcgi::NameValuePairs params{{"A", "1"}, {"SUWRAP_ACCOUNTS_CHANGED", "5"}, {"B", "2"}};
  const auto environment = fcgi::params_to_environment(params, "SUWRAP_ACCOUNTS_CHANGED");
  ASSERT_TRUE(environment.has_value());
  EXPECT_EQ(*environment, (std::vector<std::string>{"A=1", "B=2"}));
}

TEST(ParamsToEnvironment, RefusesAnEmptyName) {
  EXPECT_FALSE(fcgi::params_to_environment({{"A", "1"}, {"", "x"}}).has_value());
}

TEST(ParamsToEnvironment, RefusesANameHoldingEquals) {
  EXPECT_FALSE(fcgi::params_to_environment({{"A=B", "1"}}).has_value());
  // Held back or not, a name that cannot be one refuses the whole request.
  EXPECT_FALSE(fcgi::params_to_environment({{"A=B", "1"}}, "A=B").has_value());
}

TEST(ParamsToEnvironment, NoParamsNoEnvironment) {
  const auto environment = fcgi::params_to_environment({});
  ASSERT_TRUE(environment.has_value());
  EXPECT_TRUE(environment->empty());
}

TEST(FindParam, FirstByNameOrNone) {
  const fcgi::NameValuePairs params{{"A", "1"}, {"B", ""}};
  EXPECT_EQ(fcgi::find_param(params, "A"), std::optional<std::string_view>("1"));
  EXPECT_EQ(fcgi::find_param(params, "B"), std::optional<std::string_view>(""));
  EXPECT_EQ(fcgi::find_param(params, "C"), std::nullopt);
}

// A coroutine's exception out of io_context::run(), where the test sees it.
void rethrow(const std::exception_ptr& failure) {
  if (failure) std::rethrow_exception(failure);
}

// --- dispatch -------------------------------------------------------------------------------

// Runs a coroutine to its end on a fresh io_context; its exception, if any, is rethrown.
void run(awaitable<void> task) {
  asio::io_context io;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(task), [&failure](const std::exception_ptr& e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
}

// The name of the handler that took each event, in order.
awaitable<void> dispatch_all(std::vector<fcgi::Event> events, std::vector<std::string>& taken) {
  for (auto& event : events) {
    co_await fcgi::dispatch(
        event,
        [&](fcgi::BeginRequest& e) -> awaitable<void> {
          taken.push_back("begin " + std::to_string(e.request_id));
          co_return;
        },
        [&](fcgi::Params& e) -> awaitable<void> {
          taken.push_back("params " + e.params.at(0).first);
          co_return;
        },
        [&](fcgi::ParamsRefused& e) -> awaitable<void> {
          taken.push_back("refused " + e.reason);
          co_return;
        },
        [&](fcgi::Stdin& e) -> awaitable<void> {
          taken.push_back("stdin " + e.bytes);
          co_return;
        },
        [&](fcgi::StdinEnd&) -> awaitable<void> {
          taken.push_back("stdin end");
          co_return;
        },
        [&](fcgi::Abort&) -> awaitable<void> {
          taken.push_back("abort");
          co_return;
        },
        [&](fcgi::ProtocolError& e) -> awaitable<void> {
          taken.push_back("error " + e.reason);
          co_return;
        });
  }
}

TEST(Dispatch, EachEventToTheHandlerOfItsType) {
  std::vector<fcgi::Event> events{
      fcgi::BeginRequest{1, fcgi::Role::responder, true},
      fcgi::Params{1, {{"SCRIPT_FILENAME", "/a"}}},
      fcgi::ParamsRefused{1, "nul"},
      fcgi::Stdin{1, "body"},
      fcgi::StdinEnd{1},
      fcgi::Abort{1},
  };
  events.emplace_back(fcgi::ProtocolError{fcgi::Violation::params_too_large, "bad"});
  std::vector<std::string> taken;
  run(dispatch_all(std::move(events), taken));
  EXPECT_EQ(taken, (std::vector<std::string>{"begin 1", "params SCRIPT_FILENAME", "refused nul", "stdin body",
                                             "stdin end", "abort", "error bad"}));
}

TEST(Dispatch, FilterDataReachesNoHandler) {
  std::vector<std::string> taken;
  run(dispatch_all({fcgi::Data{1, "x"}, fcgi::DataEnd{1}, fcgi::StdinEnd{1}}, taken));
  EXPECT_EQ(taken, (std::vector<std::string>{"stdin end"}));
}

TEST(Dispatch, AwaitsTheHandlerBeforeItReturns) {
  std::vector<std::string> order;
  auto task = [&order]() -> awaitable<void> {
    fcgi::Event event = fcgi::StdinEnd{3};
    co_await fcgi::dispatch(
        event, [](fcgi::BeginRequest&) -> awaitable<void> { co_return; },
        [](fcgi::Params&) -> awaitable<void> { co_return; },
        [](fcgi::ParamsRefused&) -> awaitable<void> { co_return; },
        [](fcgi::Stdin&) -> awaitable<void> { co_return; },
        [&order](fcgi::StdinEnd&) -> awaitable<void> {
          asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(1));
          co_await pause.async_wait(asio::use_awaitable);
          order.emplace_back("handler done");
        },
        [](fcgi::Abort&) -> awaitable<void> { co_return; },
        [](fcgi::ProtocolError&) -> awaitable<void> { co_return; });
    order.emplace_back("dispatch returned");
  };
  run(task());
  EXPECT_EQ(order, (std::vector<std::string>{"handler done", "dispatch returned"}));
}

// --- Completion -------------------------------------------------------------------------------

struct Outcome {
  std::vector<std::string> log;         // "task: what"
  std::optional<std::string> ended_with;  // the records end() was given, if it was called
};

awaitable<void> record_end(std::shared_ptr<Outcome> outcome, std::string records) {
  outcome->ended_with = std::move(records);
  co_return;
}

awaitable<void> fails() {
  throw std::runtime_error("no descriptor left");
  co_return;
}

awaitable<void> succeeds() { co_return; }

// Spawns `task` with a Completion for request 7 and runs it to its end.
std::shared_ptr<Outcome> spawn_request(awaitable<void> task, bool ended, bool answer_started) {
  auto outcome = std::make_shared<Outcome>();
  asio::io_context io;
  auto request = std::make_shared<fcgi::RequestInFlight>();
  request->request_id = 7;
  request->ended = [ended] { return ended; };
  request->answer_started = [answer_started] { return answer_started; };
  request->end = [outcome](std::string records) { return record_end(outcome, std::move(records)); };
  fcgi::Completion done(io.get_executor(), "the request",
                        [outcome](std::string_view failed, std::string_view what) {
                          outcome->log.push_back(std::string(failed) + ": " + std::string(what));
                        });
  fcgi::spawn(io.get_executor(), std::move(task), done.with_request(std::move(request)));
  io.run();
  return outcome;
}

TEST(Completion, AFailedRequestIsLoggedAndAnswered500) {
  const auto outcome = spawn_request(fails(), false, false);
  EXPECT_EQ(outcome->log, (std::vector<std::string>{"the request: no descriptor left"}));
  std::string expected;
  fcgi::append_stdout(expected, 7, fcgi::internal_error_response);
  ASSERT_TRUE(outcome->ended_with.has_value());
  EXPECT_EQ(*outcome->ended_with, expected);
  EXPECT_NE(fcgi::internal_error_response.find("Status: 500 Internal Server Error\r\n"), std::string_view::npos);
}

TEST(Completion, AnAnswerUnderWayIsEndedWithoutA500) {
  const auto outcome = spawn_request(fails(), false, true);
  EXPECT_EQ(outcome->log.size(), 1U);
  ASSERT_TRUE(outcome->ended_with.has_value());
  EXPECT_EQ(*outcome->ended_with, "");
}

TEST(Completion, AnEndedRequestIsNotEndedAgain) {
  const auto outcome = spawn_request(fails(), true, false);
  EXPECT_EQ(outcome->log.size(), 1U);
  EXPECT_FALSE(outcome->ended_with.has_value());
}

TEST(Completion, ACoroutineThatEndsWellIsNeitherLoggedNorAnswered) {
  const auto outcome = spawn_request(succeeds(), false, false);
  EXPECT_TRUE(outcome->log.empty());
  EXPECT_FALSE(outcome->ended_with.has_value());
}

TEST(Completion, WithoutARequestOnlyTheLog) {
  std::vector<std::string> log;
  asio::io_context io;
  fcgi::spawn(io.get_executor(), fails(),
              fcgi::Completion(io.get_executor(), "the accept loop", [&log](std::string_view task, std::string_view what) {
                log.push_back(std::string(task) + ": " + std::string(what));
              }));
  io.run();
  EXPECT_EQ(log, (std::vector<std::string>{"the accept loop: no descriptor left"}));
}

TEST(Completion, DescribesAnyException) {
  EXPECT_EQ(fcgi::describe(std::make_exception_ptr(std::logic_error("x"))), "x");
  EXPECT_EQ(fcgi::describe(std::make_exception_ptr(42)), "an exception that is not a std::exception");
}

TEST(AtEnd, RunsWhenACoroutineEndsOrFails) {
  int ended = 0;
  auto guarded = [&ended](bool fail) -> awaitable<void> {
    const fcgi::AtEnd count([&ended] { ++ended; });
    if (fail) throw std::runtime_error("failed");
    co_return;
  };
  run(guarded(false));
  EXPECT_EQ(ended, 1);
  EXPECT_THROW(run(guarded(true)), std::runtime_error);
  EXPECT_EQ(ended, 2);
}

// --- Connection -------------------------------------------------------------------------------

TEST(Connection, ReceivesEventsAndWritesInTheOrderAsked) {
  asio::io_context io;
  asio::local::stream_protocol::socket ours(io);
  asio::local::stream_protocol::socket peer(io);
  asio::local::connect_pair(ours, peer);
  fcgi::Connection conn(std::move(ours), fcgi::SessionConfig{});

  std::string request;
  fcgi::append_begin_request(request, 1, fcgi::Role::responder, false);
  ASSERT_TRUE(fcgi::append_params(request, 1, {{"A", "1"}}));
  asio::write(peer, asio::buffer(request));

  std::vector<fcgi::Event> events;
  std::error_code read_error;
  bool received = false;
  const std::string big(200 * 1024, 'x');  // longer than one write can take at once
  auto task = [&]() -> awaitable<void> {
    while (events.size() < 2) {
      std::vector<fcgi::Event> more;
      received = co_await conn.receive(more, read_error);
      if (!received) co_return;
      events.insert(events.end(), more.begin(), more.end());
    }
  };
  asio::co_spawn(io, task, rethrow);
  io.run();
  ASSERT_TRUE(received) << read_error.message();
  ASSERT_EQ(events.size(), 2U);
  EXPECT_TRUE(std::holds_alternative<fcgi::BeginRequest>(events[0]));
  EXPECT_EQ(std::get<fcgi::Params>(events[1]).params, (fcgi::NameValuePairs{{"A", "1"}}));

  // Two sends at once: the second waits for the first, and each arrives whole.
  std::vector<bool> sent;
  asio::co_spawn(io, [&]() -> awaitable<void> { sent.push_back(co_await conn.send(big)); }, rethrow);
  asio::co_spawn(io, [&]() -> awaitable<void> { sent.push_back(co_await conn.send("end")); }, rethrow);
  std::string got(big.size() + 3, '\0');
  std::thread reader([&] { asio::read(peer, asio::buffer(got)); });
  io.restart();
  io.run();
  reader.join();
  EXPECT_EQ(sent, (std::vector<bool>{true, true}));
  EXPECT_EQ(got, big + "end");

  conn.close();
  EXPECT_TRUE(conn.closed());
  bool after_close = true;
  asio::co_spawn(io, [&]() -> awaitable<void> { after_close = co_await conn.send("late"); }, rethrow);
  io.restart();
  io.run();
  EXPECT_FALSE(after_close);
}

}  // namespace
