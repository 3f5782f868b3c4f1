// SPDX-License-Identifier: Apache-2.0
// The gate's refusal line: what the set-uid supervisor accepts from a process that runs as
// an account user, so the parser is tested as an attacker would use it.
#include "suwrap/config/gate_record.hpp"

#include <string>

#include <gtest/gtest.h>

namespace {

using suwrap::policy::Check;
using suwrap::policy::encode_gate_refusal;
using suwrap::policy::GateRefusal;
using suwrap::policy::max_gate_record_bytes;
using suwrap::policy::parse_gate_refusal;
using suwrap::policy::Verdict;

std::string without_newline(std::string line) {
  EXPECT_EQ(line.back(), '\n');
  line.pop_back();
  return line;
}

TEST(EncodeGateRefusal, WritesOneTaggedLine) {
  const GateRefusal refusal{Verdict::deny, Check::file_perms, 403, "/home/a/x.php", "group-writable"};
  EXPECT_EQ(encode_gate_refusal(refusal),
            "suwrap-gate\tdeny\tfile_perms\t403\t\t\t/home/a/x.php\tgroup-writable\n");
}

TEST(EncodeGateRefusal, EscapesWhatCouldEndAFieldOrALine) {
  const GateRefusal refusal{Verdict::deny, Check::path, 404, "/a\n{\"forged\":1}\t%.php", "r\x7f"};
  const std::string line = encode_gate_refusal(refusal);
  EXPECT_EQ(line, "suwrap-gate\tdeny\tpath\t404\t\t\t/a%0A{\"forged\":1}%09%25.php\tr%7F\n");
}

TEST(ParseGateRefusal, RoundTripsEveryByte) {
  std::string every_byte;
  for (int b = 1; b < 256; ++b) every_byte += static_cast<char>(b);
  const GateRefusal refusal{Verdict::error, Check::exec, 502, every_byte, "reason " + every_byte};
  const auto parsed = parse_gate_refusal(without_newline(encode_gate_refusal(refusal)));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->verdict, Verdict::error);
  EXPECT_EQ(parsed->check, Check::exec);
  EXPECT_EQ(parsed->http_status, 502);
  EXPECT_EQ(parsed->script, every_byte);
  EXPECT_EQ(parsed->reason, "reason " + every_byte);
}

TEST(EncodeGateRefusal, CutsLongFieldsToFitTheLimitWithoutBreakingAnEscape) {
  const std::string long_script(20000, '\n');
  const std::string long_reason(20000, 'r');
  const std::string line =
      encode_gate_refusal({Verdict::deny, Check::docroot, 403, long_script, long_reason});
  EXPECT_LE(line.size(), max_gate_record_bytes);
  const auto parsed = parse_gate_refusal(without_newline(line));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_FALSE(parsed->script.empty());
  EXPECT_EQ(parsed->script.find_first_not_of('\n'), std::string::npos);
  EXPECT_FALSE(parsed->reason.empty());
}

TEST(ParseGateRefusal, RefusesAnAllowVerdict) {
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\tallow\tfile_perms\t403\t\t\t/s\tr").has_value());
}

TEST(ParseGateRefusal, RefusesUnknownChecksStatusesAndTags) {
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\tdeny\tno_such_check\t403\t\t\t/s\tr").has_value());
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\tdeny\tpath\t200\t\t\t/s\tr").has_value());
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\tdeny\tpath\t403x\t\t\t/s\tr").has_value());
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\tdeny\tpath\t\t\t\t/s\tr").has_value());
  EXPECT_FALSE(parse_gate_refusal("suwrap-gatX\tdeny\tpath\t403\t\t\t/s\tr").has_value());
  EXPECT_FALSE(parse_gate_refusal("PHP Warning: something on stderr").has_value());
}

TEST(ParseGateRefusal, RefusesChecksOnlySuwrapMakes) {
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\terror\tcaller\t500\t\t\t/s\tr").has_value());
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\terror\tdrop\t500\t\t\t/s\tr").has_value());
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\tdeny\tidentity\t403\t\t\t/s\tr").has_value());
  EXPECT_TRUE(parse_gate_refusal("suwrap-gate\terror\tconfig\t500\t\t\t/s\tr").has_value());
}

TEST(ParseGateRefusal, RefusesWrongFieldCounts) {
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\tdeny\tpath\t403\t\t\t/s").has_value());
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\tdeny\tpath\t403\t\t\t/s\tr\textra").has_value());
  EXPECT_FALSE(parse_gate_refusal("").has_value());
}

TEST(ParseGateRefusal, RefusesRawControlBytesAndBadEscapes) {
  EXPECT_FALSE(parse_gate_refusal(std::string("suwrap-gate\tdeny\tpath\t403\t\t\t/s\r\tr")).has_value());
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\tdeny\tpath\t403\t\t\t/s%0\tr").has_value());
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\tdeny\tpath\t403\t\t\t/s%0a\tr").has_value());  // lower case
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\tdeny\tpath\t403\t\t\t/s%41\tr").has_value());  // 'A' needs none
}

TEST(GateRefusal, CarriesTheRequestIdAndHost) {
  GateRefusal refusal{Verdict::deny, Check::request, 403, "/s", "r"};
  refusal.request_id = "4f2a9c01e3b54d6f8a7b6c5d4e3f2a1b";
  refusal.host = "shop.example:8080\n{";
  const std::string line = encode_gate_refusal(refusal);
  EXPECT_EQ(line, "suwrap-gate\tdeny\trequest\t403\t4f2a9c01e3b54d6f8a7b6c5d4e3f2a1b\tshop.example:8080%0A{\t/s\tr\n");
  const auto parsed = parse_gate_refusal(without_newline(line));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->request_id, refusal.request_id);
  EXPECT_EQ(parsed->host, refusal.host);
}

TEST(GateRefusal, NeverWritesOrAcceptsARequestIdThatIsNotOne) {
  GateRefusal refusal{Verdict::deny, Check::request, 403, "/s", "r"};
  refusal.request_id = "a b";
  EXPECT_EQ(encode_gate_refusal(refusal), "suwrap-gate\tdeny\trequest\t403\t\t\t/s\tr\n");
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\tdeny\trequest\t403\ta%20b\t\t/s\tr").has_value());
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\tdeny\trequest\t403\t" + std::string(129, 'a') + "\t\t/s\tr").has_value());
  EXPECT_TRUE(parse_gate_refusal("suwrap-gate\tdeny\trequest\t403\t" + std::string(128, 'a') + "\t\t/s\tr").has_value());
}

TEST(GateRefusal, AHostKeepsEveryByteAndIsCutToTheLimitOnAWholeCharacter) {
  GateRefusal refusal{Verdict::deny, Check::request, 403, "/s", "r"};
  refusal.host = "a\tb%c";
  auto parsed = parse_gate_refusal(without_newline(encode_gate_refusal(refusal)));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->host, "a\tb%c");

  // 254 bytes, then a two-byte character that the limit of 255 would cut in half.
  refusal.host = std::string(254, 'h') + "\xc3\xa9" + std::string(100, 'h');
  parsed = parse_gate_refusal(without_newline(encode_gate_refusal(refusal)));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->host, std::string(254, 'h'));
}

TEST(ParseGateRefusal, RefusesAHostOverTheLimitAndTheOldSixFieldLine) {
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\tdeny\trequest\t403\t\t" + std::string(256, 'h') + "\t/s\tr").has_value());
  EXPECT_TRUE(parse_gate_refusal("suwrap-gate\tdeny\trequest\t403\t\t" + std::string(255, 'h') + "\t/s\tr").has_value());
  EXPECT_FALSE(parse_gate_refusal("suwrap-gate\tdeny\tpath\t403\t/s\tr").has_value());
}

TEST(ParseGateRefusal, RefusesALineOverTheLimit) {
  const std::string line = "suwrap-gate\tdeny\tpath\t403\t\t\t/s\t" + std::string(max_gate_record_bytes, 'r');
  EXPECT_FALSE(parse_gate_refusal(line).has_value());
}

}  // namespace
