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

}  // namespace
}  // namespace suwrap::cgid
