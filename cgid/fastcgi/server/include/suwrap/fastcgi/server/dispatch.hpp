// SPDX-License-Identifier: Apache-2.0
// A session's events, each to the server's handler of its type: one std::visit over the
// Event variant, so that an event type a server has no handler for does not compile.
//
//   co_await fastcgi::dispatch(event,
//       [&](fastcgi::BeginRequest& begin) -> asio::awaitable<void> { ...; co_return; },
//       ...);
//
// Every handler returns asio::awaitable<void>, and dispatch awaits it before it returns:
// the next event is taken only once this one is handled (that is the backpressure of a
// request body). Handlers may capture by reference what outlives the co_await; they live
// in dispatch's frame until their coroutine is done.
#pragma once

#include <utility>
#include <variant>

#include <asio/awaitable.hpp>

#include "suwrap/fastcgi/session.hpp"

namespace suwrap::fastcgi {

template <class... Handlers>
struct Overloaded : Handlers... {
  using Handlers::operator()...;
};
template <class... Handlers>
Overloaded(Handlers...) -> Overloaded<Handlers...>;

// DATA belongs to the FILTER role, which a responder's session does not accept: it is
// never handed to a server's handlers.
template <class... Handlers>
asio::awaitable<void> dispatch(Event& event, Handlers... handlers) {
  co_await std::visit(Overloaded{std::move(handlers)...,
                                 [](Data&) -> asio::awaitable<void> { co_return; },
                                 [](DataEnd&) -> asio::awaitable<void> { co_return; }},
                      event);
}

}  // namespace suwrap::fastcgi
