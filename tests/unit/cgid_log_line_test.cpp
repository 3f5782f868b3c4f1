// SPDX-License-Identifier: Apache-2.0
#include "log_line.hpp"

#include <gtest/gtest.h>

#include <spdlog/details/log_msg.h>

namespace suwrap::cgid {
namespace {

TEST(OneLine, EscapesControlCharactersAndTheBackslash) {
  EXPECT_EQ(one_line("/var/www/a.php"), "/var/www/a.php");
  EXPECT_EQ(one_line("a\nb\rc\td"), "a\\x0ab\\x0dc\\x09d");
  EXPECT_EQ(one_line(std::string_view("\x00\x1b\x7f\\", 4)), "\\x00\\x1b\\x7f\\x5c");
  EXPECT_EQ(one_line("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 is kept
}

TEST(OneLineFormatter, AForgedLineStaysInsideItsMessage) {
  OneLineFormatter formatter("%l: %v");
  const spdlog::details::log_msg msg(spdlog::source_loc{}, "t", spdlog::level::warn,
                                     "request for /x.php\n2026-01-01 suwrap-cgid[1] info: forged");
  spdlog::memory_buf_t out;
  formatter.format(msg, out);
  const std::string line(out.data(), out.size());
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_NE(line.find("\\x0a2026"), std::string::npos) << line;
}

std::string formatted(spdlog::formatter& formatter, std::string_view message,
                      spdlog::level::level_enum level = spdlog::level::info) {
  const spdlog::details::log_msg msg(spdlog::source_loc{}, "t", level, message);
  spdlog::memory_buf_t out;
  formatter.format(msg, out);
  return {out.data(), out.size()};
}

TEST(RequestScope, NamesTheRequestOnlyWhileItLives) {
  OneLineFormatter formatter("%v");
  EXPECT_EQ(formatted(formatter, "listening"), "listening\n");
  {
    const RequestScope outer("abc123");
    EXPECT_EQ(formatted(formatter, "ended"), "request abc123: ended\n");
    {
      const RequestScope inner("def456");
      EXPECT_EQ(RequestScope::current(), "def456");
    }
    EXPECT_EQ(RequestScope::current(), "abc123");
  }
  EXPECT_EQ(RequestScope::current(), "");
  EXPECT_EQ(formatted(formatter, "stopping"), "stopping\n");
}

TEST(JsonLineFormatter, WritesOneJsonObjectALineWithTheRequestId) {
  JsonLineFormatter formatter;
  const std::string outside = formatted(formatter, "listening on /run/x.sock", spdlog::level::info);
  EXPECT_EQ(outside.find('\n'), outside.size() - 1) << outside;
  EXPECT_EQ(outside.rfind("{\"ts\":\"", 0), 0U) << outside;
  EXPECT_NE(outside.find(",\"event\":\"cgid\",\"level\":\"info\",\"pid\":"), std::string::npos) << outside;
  EXPECT_NE(outside.find(",\"request_id\":null,\"message\":\"listening on /run/x.sock\"}\n"), std::string::npos)
      << outside;

  const RequestScope scope("4bf92f3577b34da6a3ce929d0e0e4736");
  const std::string inside =
      formatted(formatter, "request for /x.php\n{\"forged\":1}", spdlog::level::warn);
  EXPECT_EQ(inside.find('\n'), inside.size() - 1) << inside;
  EXPECT_NE(inside.find("\"level\":\"warning\""), std::string::npos) << inside;
  EXPECT_NE(inside.find("\"request_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\""), std::string::npos) << inside;
  EXPECT_NE(inside.find("\"message\":\"request for /x.php\\n{\\\"forged\\\":1}\"}"), std::string::npos) << inside;
}

}  // namespace
}  // namespace suwrap::cgid
