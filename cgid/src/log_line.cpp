// SPDX-License-Identifier: Apache-2.0
#include "log_line.hpp"

#include <unistd.h>

#include <array>
#include <cstdio>

#include "suwrap/config/json.hpp"

namespace suwrap::cgid {

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || c == '\\') {
      std::array<char, 5> hex{};
      std::snprintf(hex.data(), hex.size(), "\\x%02x", static_cast<unsigned>(byte));
      out += hex.data();
    } else {
      out += c;
    }
  }
  return out;
}

namespace {
thread_local std::string_view current_request;
}  // namespace

RequestScope::RequestScope(std::string_view request_id) : previous_(current_request) {
  current_request = request_id;
}

RequestScope::~RequestScope() { current_request = previous_; }

std::string_view RequestScope::current() { return current_request; }

OneLineFormatter::OneLineFormatter(std::string pattern) : pattern_(std::move(pattern)), inner_(pattern_) {}

void OneLineFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  std::string payload;
  if (const std::string_view id = RequestScope::current(); !id.empty()) {
    payload = "request ";
    payload += one_line(id);
    payload += ": ";
  }
  payload += one_line(std::string_view(msg.payload.data(), msg.payload.size()));
  spdlog::details::log_msg escaped = msg;
  escaped.payload = spdlog::string_view_t(payload.data(), payload.size());
  inner_.format(escaped, dest);
}

std::unique_ptr<spdlog::formatter> OneLineFormatter::clone() const {
  return std::make_unique<OneLineFormatter>(pattern_);
}

void JsonLineFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  std::string line = "{\"ts\":";
  line += policy::json_string(policy::rfc3339_now());
  line += ",\"event\":\"cgid\",\"level\":";
  const auto level = spdlog::level::to_string_view(msg.level);
  line += policy::json_string(std::string_view(level.data(), level.size()));
  line += ",\"pid\":";
  line += std::to_string(::getpid());
  line += ",\"request_id\":";
  const std::string_view id = RequestScope::current();
  line += id.empty() ? std::string("null") : policy::json_string(id);
  line += ",\"message\":";
  line += policy::json_string(std::string_view(msg.payload.data(), msg.payload.size()));
  line += "}\n";
  dest.append(line.data(), line.data() + line.size());
}

std::unique_ptr<spdlog::formatter> JsonLineFormatter::clone() const { return std::make_unique<JsonLineFormatter>(); }

fastcgi::Completion logged_completion(asio::io_context& io, std::shared_ptr<spdlog::logger> log, std::string task) {
  return fastcgi::Completion(io.get_executor(), std::move(task),
                             [log = std::move(log)](std::string_view failed, std::string_view what) {
                               log->error("{} failed: {}", failed, what);
                             });
}

}  // namespace suwrap::cgid
