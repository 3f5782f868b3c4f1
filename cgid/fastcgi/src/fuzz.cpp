// SPDX-License-Identifier: Apache-2.0
#include "suwrap/fastcgi/fuzz.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "suwrap/fastcgi/response_parser.hpp"
#include "suwrap/fastcgi/session.hpp"

namespace suwrap::fastcgi {

namespace {

// A broken promise must stop the fuzzer where it happened.
void require(bool holds) {
  if (!holds) std::abort();
}

struct Run {
  std::vector<Event> events;
  std::string reply;
};

Run feed_in_chunks(const SessionConfig& config, std::string_view stream, std::size_t chunk) {
  Session session(config);
  Run run;
  while (!stream.empty()) {
    const std::size_t size = std::min(chunk, stream.size());
    session.feed(stream.substr(0, size), run.events, run.reply);
    stream.remove_prefix(size);
  }
  return run;
}

std::uint16_t request_of(const Event& event) {
  return std::visit(
      [](const auto& e) -> std::uint16_t {
        if constexpr (std::is_same_v<std::decay_t<decltype(e)>, ProtocolError>) {
          return 0;
        } else {
          return e.request_id;
        }
      },
      event);
}

// Acts as the daemon would: answers each request once its input is complete,
// refused or aborted, so later records meet ended ids.
void feed_as_daemon(const SessionConfig& config, std::string_view stream, std::size_t chunk) {
  Session session(config);
  std::vector<Event> events;
  std::string reply;
  while (!stream.empty() && !session.failed()) {
    const std::size_t size = std::min(chunk, stream.size());
    events.clear();
    session.feed(stream.substr(0, size), events, reply);
    stream.remove_prefix(size);
    for (const Event& event : events) {
      if (std::holds_alternative<ProtocolError>(event)) {
        require(session.failed());
        continue;
      }
      const std::uint16_t id = request_of(event);
      if (std::holds_alternative<BeginRequest>(event) && !session.failed()) {
        require(session.is_active(id));
      }
      if (std::holds_alternative<StdinEnd>(event) || std::holds_alternative<ParamsRefused>(event) ||
          std::holds_alternative<Abort>(event)) {
        // The request may have been ended already by an earlier event of this batch.
        const bool was_active = session.is_active(id);
        require(session.end_request(id, 0, reply) == was_active);
        require(!session.is_active(id));
      }
    }
    require(session.active_requests() <= std::max<std::size_t>(config.max_requests_per_connection, 1));
  }
}

}  // namespace

void fuzz_one_input(std::span<const std::byte> input) noexcept {
  if (input.size() < 2) return;
  const auto choice = static_cast<unsigned>(input[0]);
  const auto cut = static_cast<unsigned>(input[1]);
  const std::string_view stream = as_chars(input.subspan(2));

  SessionConfig config;
  config.max_requests_per_connection = (choice & 0x3U) + 1;
  config.accept_filter = (choice & 0x4U) != 0;
  config.accept_authorizer = (choice & 0x8U) != 0;
  if ((choice & 0x10U) != 0) {
    // Small bounds, so that short inputs reach them.
    config.max_params_bytes = 64;
    config.max_params_count = 4;
  }

  const Run whole = feed_in_chunks(config, stream, std::max<std::size_t>(stream.size(), 1));
  const Run bytewise = feed_in_chunks(config, stream, 1);
  const Run chunked = feed_in_chunks(config, stream, cut + 1U);
  require(whole.events == bytewise.events && whole.reply == bytewise.reply);
  require(whole.events == chunked.events && whole.reply == chunked.reply);

  const auto errors = std::count_if(whole.events.begin(), whole.events.end(),
                                    [](const Event& e) { return std::holds_alternative<ProtocolError>(e); });
  require(errors <= 1);
  require(errors == 0 || std::holds_alternative<ProtocolError>(whole.events.back()));

  feed_as_daemon(config, stream, cut + 1U);

  // The same bytes as an application's answer: must decode or fail cleanly.
  ResponseParser parser;
  std::vector<ResponseEvent> responses;
  parser.feed(stream, responses);
  ResponseParser bytewise_parser;
  std::vector<ResponseEvent> bytewise_responses;
  for (const char byte : stream) bytewise_parser.feed(std::string_view(&byte, 1), bytewise_responses);
  require(responses == bytewise_responses);
}

}  // namespace suwrap::fastcgi
