// SPDX-License-Identifier: Apache-2.0
// suwrap-cgid's log is text, one message a line. Its messages carry what clients sent (a
// SCRIPT_FILENAME may hold a newline: nginx's fastcgi_split_path_info does not match across
// one), so every message is made one line before it is written, whatever logged it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <asio/io_context.hpp>
#include <spdlog/formatter.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>

#include "suwrap/fastcgi/server/completion.hpp"

namespace suwrap::cgid {

// `text` with every control character (below 0x20, and 0x7f) and the backslash written as
// \xNN: nothing in it can end a line or pass for an escape.
std::string one_line(std::string_view text);

// The request a message is about, for the messages logged while a RequestScope lives: the
// log shows it as "request <id>: " before the message (text) or as request_id (JSON).
// suwrap-cgid runs on one thread, and a scope never spans a co_await.
class RequestScope {
 public:
  explicit RequestScope(std::string_view request_id);
  ~RequestScope();
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;

  // The id of the innermost live scope; empty outside any.
  static std::string_view current();

 private:
  std::string_view previous_;
};

// A pattern formatter whose messages are one_line() first, after "request <id>: " when a
// RequestScope names one.
class OneLineFormatter final : public spdlog::formatter {
 public:
  explicit OneLineFormatter(std::string pattern);
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override;

 private:
  std::string pattern_;
  spdlog::pattern_formatter inner_;
};

// --log-format json: one JSON object a line, the same JSON Lines suwrap writes, so one
// parser reads both: {"ts","event":"cgid","level","pid","request_id","message"}.
// request_id is null outside a RequestScope.
class JsonLineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override;
};
// How suwrap-cgid's coroutines end (fastcgi::spawn): a failure is logged as an error,
// "<task> failed: <what>". For a coroutine that serves a request, Server has its own.
fastcgi::Completion logged_completion(asio::io_context& io, std::shared_ptr<spdlog::logger> log, std::string task);

}  // namespace suwrap::cgid
