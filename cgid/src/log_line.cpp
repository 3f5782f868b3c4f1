// SPDX-License-Identifier: Apache-2.0
#include "log_line.hpp"

#include <array>
#include <cstdio>

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

OneLineFormatter::OneLineFormatter(std::string pattern) : pattern_(std::move(pattern)), inner_(pattern_) {}

void OneLineFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const std::string payload = one_line(std::string_view(msg.payload.data(), msg.payload.size()));
  spdlog::details::log_msg escaped = msg;
  escaped.payload = spdlog::string_view_t(payload.data(), payload.size());
  inner_.format(escaped, dest);
}

std::unique_ptr<spdlog::formatter> OneLineFormatter::clone() const {
  return std::make_unique<OneLineFormatter>(pattern_);
}

fastcgi::Completion logged_completion(asio::io_context& io, std::shared_ptr<spdlog::logger> log, std::string task) {
  return fastcgi::Completion(io.get_executor(), std::move(task),
                             [log = std::move(log)](std::string_view failed, std::string_view what) {
                               log->error("{} failed: {}", failed, what);
                             });
}

}  // namespace suwrap::cgid
