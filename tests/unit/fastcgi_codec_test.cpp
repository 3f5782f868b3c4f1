// SPDX-License-Identifier: Apache-2.0
// The FastCGI codec: record parser, encoders, the responder Session, the
// client-side ResponseParser and the fuzzing entry point.
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "suwrap/fastcgi/encoder.hpp"
#include "suwrap/fastcgi/fuzz.hpp"
#include "suwrap/fastcgi/protocol.hpp"
#include "suwrap/fastcgi/record_parser.hpp"
#include "suwrap/fastcgi/response_parser.hpp"
#include "suwrap/fastcgi/session.hpp"

// Readable failure messages for events (GoogleTest prints variants through these).
namespace suwrap::fastcgi {
void PrintTo(const BeginRequest& e, std::ostream* os) {
  *os << "BeginRequest{" << e.request_id << ", role " << static_cast<int>(e.role) << ", keep_conn "
      << e.keep_conn << "}";
}
void PrintTo(const Params& e, std::ostream* os) {
  *os << "Params{" << e.request_id << ",";
  for (const auto& [name, value] : e.params) *os << " " << name << "=(" << value.size() << " bytes)";
  *os << "}";
}
void PrintTo(const ParamsRefused& e, std::ostream* os) {
  *os << "ParamsRefused{" << e.request_id << ", " << e.reason << "}";
}
void PrintTo(const Stdin& e, std::ostream* os) {
  *os << "Stdin{" << e.request_id << ", " << e.bytes.size() << " bytes}";
}
void PrintTo(const StdinEnd& e, std::ostream* os) {
  *os << "StdinEnd{" << e.request_id << "}";
}
void PrintTo(const Data& e, std::ostream* os) {
  *os << "Data{" << e.request_id << ", " << e.bytes.size() << " bytes}";
}
void PrintTo(const DataEnd& e, std::ostream* os) {
  *os << "DataEnd{" << e.request_id << "}";
}
void PrintTo(const Abort& e, std::ostream* os) {
  *os << "Abort{" << e.request_id << "}";
}
void PrintTo(const ProtocolError& e, std::ostream* os) {
  *os << "ProtocolError{" << to_string(e.violation) << ", " << e.reason << "}";
}
}  // namespace suwrap::fastcgi

namespace {

using namespace suwrap::fastcgi;

// --- helpers ----------------------------------------------------------------

std::string begin(std::uint16_t id, Role role = Role::responder, bool keep_conn = false) {
  std::string out;
  append_begin_request(out, id, role, keep_conn);
  return out;
}

std::string params(std::uint16_t id, const NameValuePairs& pairs) {
  std::string out;
  EXPECT_TRUE(append_params(out, id, pairs));
  return out;
}

std::string stream(RecordType type, std::uint16_t id, std::string_view payload) {
  std::string out;
  append_stream(out, type, id, payload);
  return out;
}

std::string stream_end(RecordType type, std::uint16_t id) {
  std::string out;
  append_stream_end(out, type, id);
  return out;
}

std::string record(std::uint8_t type, std::uint16_t id, std::string_view content) {
  std::string out;
  EXPECT_TRUE(append_record(out, type, id, content));
  return out;
}

std::string record(RecordType type, std::uint16_t id, std::string_view content) {
  return record(static_cast<std::uint8_t>(type), id, content);
}

std::string pair_bytes(std::string_view name, std::string_view value) {
  std::string out;
  EXPECT_TRUE(append_name_value_pair(out, name, value));
  return out;
}

// A request as nginx sends it: begin, params, body, end of body.
std::string simple_request(std::uint16_t id, const NameValuePairs& pairs, std::string_view body,
                           bool keep_conn = false) {
  return begin(id, Role::responder, keep_conn) + params(id, pairs) +
         stream(RecordType::stdin_stream, id, body) + stream_end(RecordType::stdin_stream, id);
}

const NameValuePairs sample_params = {
    {"SCRIPT_FILENAME", "/var/www/index.php"},
    {"REQUEST_METHOD", "POST"},
    {"QUERY_STRING", "a=1&b=2"},
    {"HTTP_COOKIE", std::string(200, 'c')},  // a 200-byte value: 4-byte length
    {"EMPTY", ""},
};

std::vector<ResponseEvent> decode_reply(std::string_view reply) {
  ResponseParser parser;
  return parser.feed(reply);
}

// The session's last event, which must be a ProtocolError.
ProtocolError last_error(const std::vector<Event>& events) {
  if (events.empty() || !std::holds_alternative<ProtocolError>(events.back())) {
    ADD_FAILURE() << "expected the last event to be a ProtocolError";
    return {Violation::internal_error, "none"};
  }
  return std::get<ProtocolError>(events.back());
}

// Feeds a stream that must break the session; returns the violation.
Violation violation_of(std::string_view bytes, SessionConfig config = {}) {
  Session session(config);
  const Session::FeedResult result = session.feed(bytes);
  EXPECT_TRUE(session.failed());
  return last_error(result.events).violation;
}

Session::FeedResult feed_bytewise(Session& session, std::string_view bytes) {
  Session::FeedResult result;
  for (const char byte : bytes) session.feed(std::string_view(&byte, 1), result.events, result.reply);
  return result;
}

std::size_t count_records(std::string_view bytes, RecordType type) {
  RecordParser parser;
  std::size_t count = 0;
  while (parser.consume(bytes) == RecordParser::Status::record) {
    if (parser.record().type == static_cast<std::uint8_t>(type)) ++count;
  }
  return count;
}

// --- RecordParser -------------------------------------------------------------

TEST(RecordParserConsume, YieldsHeaderFieldsAndContentAndSkipsPadding) {
  // content 3 bytes, padding 5: the next record must start right after the padding.
  std::string bytes = record(RecordType::stdin_stream, 0x1234, "abc") + record(RecordType::params, 7, "");
  ASSERT_EQ(bytes.size(), 8U + 3U + 5U + 8U);
  std::string_view input = bytes;
  RecordParser parser;

  ASSERT_EQ(parser.consume(input), RecordParser::Status::record);
  EXPECT_EQ(parser.record().type, static_cast<std::uint8_t>(RecordType::stdin_stream));
  EXPECT_EQ(parser.record().request_id, 0x1234);
  EXPECT_EQ(parser.record().content, "abc");
  EXPECT_FALSE(parser.at_record_boundary());  // the padding is still to come

  ASSERT_EQ(parser.consume(input), RecordParser::Status::record);
  EXPECT_EQ(parser.record().type, static_cast<std::uint8_t>(RecordType::params));
  EXPECT_EQ(parser.record().request_id, 7);
  EXPECT_EQ(parser.record().content, "");
  EXPECT_EQ(parser.consume(input), RecordParser::Status::need_more);
  EXPECT_TRUE(input.empty());
  EXPECT_TRUE(parser.at_record_boundary());
}

TEST(RecordParserConsume, ReadsLengthsBigEndianAndHonoursForeignPadding) {
  // Built by hand: content length 0x0102 (258), padding 3 (not our own 8-alignment).
  std::string bytes = {'\x01', '\x05', '\x00', '\x02', '\x01', '\x02', '\x03', '\x00'};
  bytes += std::string(258, 'x') + std::string(3, '\xff');
  bytes += record(RecordType::stdin_stream, 2, "");
  std::string_view input = bytes;
  RecordParser parser;
  ASSERT_EQ(parser.consume(input), RecordParser::Status::record);
  EXPECT_EQ(parser.record().request_id, 2);
  EXPECT_EQ(parser.record().content, std::string(258, 'x'));
  ASSERT_EQ(parser.consume(input), RecordParser::Status::record);
  EXPECT_EQ(parser.record().content, "");
}

TEST(RecordParserConsume, RecordsSplitAtEveryByteAreTheSame) {
  const std::string bytes = record(RecordType::stdin_stream, 1, "hello") +
                            record(RecordType::params, 300, "") +
                            record(RecordType::data, 65535, std::string(1000, 'd'));
  for (std::size_t split = 0; split <= bytes.size(); ++split) {
    RecordParser parser;
    std::vector<std::pair<std::uint16_t, std::string>> got;
    for (std::string_view piece :
         {std::string_view(bytes).substr(0, split), std::string_view(bytes).substr(split)}) {
      while (true) {
        const RecordParser::Status status = parser.consume(piece);
        if (status != RecordParser::Status::record) break;
        got.emplace_back(parser.record().request_id, std::string(parser.record().content));
      }
    }
    ASSERT_EQ(got.size(), 3U) << "split at " << split;
    EXPECT_EQ(got[0], (std::pair<std::uint16_t, std::string>{1, "hello"}));
    EXPECT_EQ(got[1], (std::pair<std::uint16_t, std::string>{300, ""}));
    EXPECT_EQ(got[2], (std::pair<std::uint16_t, std::string>{65535, std::string(1000, 'd')}));
    EXPECT_TRUE(parser.at_record_boundary());
  }
}

TEST(RecordParserConsume, RefusesAVersionOtherThanOne) {
  std::string bytes = record(RecordType::stdin_stream, 1, "x");
  bytes[0] = '\x02';
  std::string_view input = bytes;
  RecordParser parser;
  EXPECT_EQ(parser.consume(input), RecordParser::Status::error);
  EXPECT_EQ(parser.error().violation, Violation::bad_version);
  EXPECT_TRUE(parser.failed());
  std::string_view more = record(RecordType::stdin_stream, 1, "x");
  EXPECT_EQ(parser.consume(more), RecordParser::Status::error);  // stays broken
}

// --- encoders -----------------------------------------------------------------

TEST(AppendStream, SplitsLargePayloadIntoBoundedEightAlignedRecords) {
  std::string payload(200000, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7 % 251);
  std::string out;
  append_stdout(out, 9, payload);

  // Walk the headers by hand, so the check does not lean on the parser.
  std::string joined;
  std::size_t records = 0;
  std::size_t at = 0;
  while (at < out.size()) {
    ASSERT_LE(at + header_size, out.size());
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(out[at + i]); };
    EXPECT_EQ(byte(0), 1U);
    EXPECT_EQ(byte(1), static_cast<unsigned>(RecordType::stdout_stream));
    EXPECT_EQ((byte(2) << 8) | byte(3), 9U);
    const std::size_t length = (static_cast<std::size_t>(byte(4)) << 8) | byte(5);
    const std::size_t padding = byte(6);
    EXPECT_LE(length, max_content_length);
    EXPECT_GT(length, 0U) << "a data record must never be empty: that would end the stream";
    EXPECT_EQ((length + padding) % 8, 0U);
    EXPECT_LT(padding, 8U);
    ASSERT_LE(at + header_size + length + padding, out.size());
    joined.append(out, at + header_size, length);
    at += header_size + length + padding;
    ++records;
  }
  EXPECT_EQ(at, out.size());
  EXPECT_TRUE(joined == payload) << "the records do not carry the payload";
  EXPECT_EQ(records, 4U);  // 3 x 65528 + 3416
}

TEST(AppendStream, EmptyPayloadAppendsNothingAndStreamEndIsOneEmptyRecord) {
  std::string out = "keep";
  append_stdout(out, 1, "");
  EXPECT_EQ(out, "keep");
  append_stream_end(out, RecordType::stdout_stream, 1);
  EXPECT_EQ(out, std::string("keep") + std::string("\x01\x06\x00\x01\x00\x00\x00\x00", 8));
}

TEST(AppendRecord, RefusesContentOverSixteenBits) {
  std::string out;
  EXPECT_FALSE(append_record(out, 5, 1, std::string(65536, 'x')));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(append_record(out, 5, 1, std::string(65535, 'x')));
  EXPECT_EQ(out.size(), 8U + 65535U + 1U);
}

TEST(AppendNameValuePair, UsesOneByteLengthsBelow128AndFourBytesAbove) {
  EXPECT_EQ(pair_bytes("AB", "xyz"), std::string("\x02\x03"
                                                 "ABxyz",
                                                 7));
  const std::string long_value(200, 'v');
  EXPECT_EQ(pair_bytes("A", long_value), std::string("\x01\x80\x00\x00\xc8"
                                                     "A",
                                                     6) +
                                             long_value);
  const std::string name127(127, 'n');
  const std::string name128(128, 'n');
  EXPECT_EQ(pair_bytes(name127, "").substr(0, 2), std::string("\x7f\x00", 2));
  EXPECT_EQ(pair_bytes(name128, "").substr(0, 5), std::string("\x80\x00\x00\x80\x00", 5));
}

TEST(AppendEndRequest, WritesAppStatusBigEndianAndProtocolStatus) {
  std::string out;
  append_end_request(out, 3, 0x01020304, ProtocolStatus::overloaded);
  EXPECT_EQ(out, std::string("\x01\x03\x00\x03\x00\x08\x00\x00"
                             "\x01\x02\x03\x04\x02\x00\x00\x00",
                             16));
}

TEST(AppendBeginRequest, WritesRoleAndKeepConnFlag) {
  EXPECT_EQ(begin(0x0102, Role::filter, true), std::string("\x01\x01\x01\x02\x00\x08\x00\x00"
                                                           "\x00\x03\x01\x00\x00\x00\x00\x00",
                                                           16));
}

// --- Session: well-formed traffic ----------------------------------------------

TEST(SessionFeed, FullRequestGivesBeginParamsStdinAndEnd) {
  Session session;
  const std::string bytes = begin(1, Role::responder, true) + params(1, sample_params) +
                            stream(RecordType::stdin_stream, 1, "hello ") +
                            stream(RecordType::stdin_stream, 1, "world") +
                            stream_end(RecordType::stdin_stream, 1);
  const Session::FeedResult result = session.feed(bytes);
  const std::vector<Event> expected = {BeginRequest{1, Role::responder, true}, Params{1, sample_params},
                                       Stdin{1, "hello "}, Stdin{1, "world"}, StdinEnd{1}};
  EXPECT_EQ(result.events, expected);
  EXPECT_TRUE(result.reply.empty());
  EXPECT_FALSE(session.failed());
  EXPECT_TRUE(session.is_active(1));
  EXPECT_TRUE(session.at_record_boundary());
}

TEST(SessionFeed, KeepConnIsFalseWithoutTheFlag) {
  Session session;
  const auto result = session.feed(begin(5));
  ASSERT_EQ(result.events.size(), 1U);
  EXPECT_EQ(result.events[0], Event(BeginRequest{5, Role::responder, false}));
}

TEST(SessionFeed, ValueOf70000BytesSpansSeveralParamsRecords) {
  SessionConfig config;
  config.max_params_bytes = 128 * 1024;
  Session session(config);
  std::string big(70000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  const NameValuePairs pairs = {{"HTTP_X_BIG", big}, {"SHORT", "s"}};
  const std::string encoded = params(1, pairs);
  EXPECT_GE(count_records(encoded, RecordType::params), 3U);  // two with data, one empty

  const auto result = session.feed(begin(1) + encoded);
  ASSERT_EQ(result.events.size(), 2U);
  EXPECT_EQ(result.events[1], Event(Params{1, pairs}));
}

TEST(SessionFeed, ParamsCutIntoRecordsAtEveryByteDecodeTheSame) {
  // Cut the raw name-value stream into two PARAMS records at every byte: inside
  // the 4-byte length, inside the name, inside the value.
  const std::string raw = pair_bytes("HTTP_HOST", "example.org") +
                          pair_bytes(std::string(130, 'N'), std::string(300, 'V')) + pair_bytes("", "") +
                          pair_bytes("Z", "");
  const NameValuePairs expected = {
      {"HTTP_HOST", "example.org"}, {std::string(130, 'N'), std::string(300, 'V')}, {"", ""}, {"Z", ""}};
  for (std::size_t cut = 0; cut <= raw.size(); ++cut) {
    Session session;
    std::string bytes = begin(1);
    if (cut > 0) bytes += record(RecordType::params, 1, raw.substr(0, cut));
    if (cut < raw.size()) bytes += record(RecordType::params, 1, raw.substr(cut));
    bytes += stream_end(RecordType::params, 1);
    const auto result = session.feed(bytes);
    ASSERT_EQ(result.events.size(), 2U) << "cut at " << cut;
    EXPECT_EQ(result.events[1], Event(Params{1, expected})) << "cut at " << cut;
  }
}

TEST(SessionFeed, DuplicateNameKeepsLastValueAtFirstPosition) {
  Session session;
  const auto result =
      session.feed(begin(1) + params(1, {{"A", "1"}, {"B", "2"}, {"A", "3"}, {"C", "4"}, {"A", "5"}}));
  ASSERT_EQ(result.events.size(), 2U);
  const NameValuePairs expected = {{"A", "5"}, {"B", "2"}, {"C", "4"}};
  EXPECT_EQ(result.events[1], Event(Params{1, expected}));
}

TEST(SessionFeed, EncoderRoundTripKeepsEveryPair) {
  NameValuePairs pairs;
  std::mt19937 random(20240601);
  for (int i = 0; i < 300; ++i) {
    const std::size_t name_length = 1 + random() % 200;
    const std::size_t value_length = random() % 400;
    std::string name(name_length, '\0');
    std::string value(value_length, '\0');
    for (char& c : name) c = static_cast<char>('A' + random() % 26);
    for (char& c : value) c = static_cast<char>(1 + random() % 255);  // any byte but NUL
    name += "_" + std::to_string(i);  // unique, so no pair is folded into another
    pairs.emplace_back(name, value);
  }
  SessionConfig config;
  config.max_params_bytes = 1 << 20;
  Session session(config);
  const std::string body(100000, 'b');
  const auto result = session.feed(simple_request(77, pairs, body));
  ASSERT_GE(result.events.size(), 4U);
  EXPECT_EQ(result.events[1], Event(Params{77, pairs}));
  std::string joined;
  for (std::size_t i = 2; i + 1 < result.events.size(); ++i)
    joined += std::get<Stdin>(result.events[i]).bytes;
  EXPECT_EQ(joined, body);
  EXPECT_EQ(result.events.back(), Event(StdinEnd{77}));
}

// The whole exchange, with replies, is the same whatever the cuts.
TEST(SessionFeed, SplitAtEveryByteBoundaryGivesIdenticalEvents) {
  std::string get_values_query;
  const std::string_view names[] = {max_reqs_name, "FCGI_NOT_A_NAME"};
  ASSERT_TRUE(append_get_values(get_values_query, names));
  const std::string bytes = get_values_query + record(std::uint8_t{42}, 0, "??") +
                            simple_request(1, sample_params, "body bytes", true) +
                            begin(2, Role::filter) +  // refused: UNKNOWN_ROLE
                            record(RecordType::abort_request, 1, "");

  Session whole_session;
  const Session::FeedResult whole = whole_session.feed(bytes);
  ASSERT_FALSE(whole_session.failed());
  ASSERT_EQ(whole.events.size(), 5U);  // begin, params, stdin, stdin end, abort
  EXPECT_EQ(whole.events.back(), Event(Abort{1}));
  EXPECT_EQ(decode_reply(whole.reply).size(), 3U);  // values, unknown type, end request

  Session bytewise_session;
  const Session::FeedResult bytewise = feed_bytewise(bytewise_session, bytes);
  EXPECT_EQ(bytewise.events, whole.events);
  EXPECT_EQ(bytewise.reply, whole.reply);

  for (std::size_t split = 0; split <= bytes.size(); ++split) {
    Session session;
    Session::FeedResult result;
    session.feed(std::string_view(bytes).substr(0, split), result.events, result.reply);
    session.feed(std::string_view(bytes).substr(split), result.events, result.reply);
    ASSERT_EQ(result.events, whole.events) << "split at " << split;
    ASSERT_EQ(result.reply, whole.reply) << "split at " << split;
  }
}

TEST(SessionFeed, AcceptsByteSpans) {
  Session session;
  const std::string bytes = begin(3);
  std::vector<Event> events;
  std::string reply;
  session.feed(std::as_bytes(std::span(bytes.data(), bytes.size())), events, reply);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0], Event(BeginRequest{3, Role::responder, false}));
}

// --- Session: management records ----------------------------------------------

TEST(SessionFeed, GetValuesAnswersOnlyTheAskedNames) {
  SessionConfig config;
  config.max_conns = 17;
  config.max_reqs = 33;
  Session session(config);
  std::string query;
  const std::string_view names[] = {"FCGI_UNHEARD_OF", max_reqs_name, max_reqs_name};
  ASSERT_TRUE(append_get_values(query, names));
  const auto result = session.feed(query);
  EXPECT_TRUE(result.events.empty());
  const auto replies = decode_reply(result.reply);
  ASSERT_EQ(replies.size(), 1U);
  const NameValuePairs expected = {{"FCGI_MAX_REQS", "33"}};
  EXPECT_EQ(std::get<GetValuesResult>(replies[0]).values, expected);
}

TEST(SessionFeed, GetValuesAnswersAllThreeFromConfiguration) {
  SessionConfig config;
  config.max_conns = 8;
  config.max_reqs = 9;
  config.max_requests_per_connection = 4;
  Session session(config);
  std::string query;
  const std::string_view names[] = {mpxs_conns_name, max_conns_name, max_reqs_name};
  ASSERT_TRUE(append_get_values(query, names));
  const auto replies = decode_reply(session.feed(query).reply);
  ASSERT_EQ(replies.size(), 1U);
  const NameValuePairs expected = {{"FCGI_MPXS_CONNS", "1"}, {"FCGI_MAX_CONNS", "8"}, {"FCGI_MAX_REQS", "9"}};
  EXPECT_EQ(std::get<GetValuesResult>(replies[0]).values, expected);

  Session single;  // one request per connection: no multiplexing
  const std::string_view mpxs[] = {mpxs_conns_name};
  std::string query_mpxs;
  ASSERT_TRUE(append_get_values(query_mpxs, mpxs));
  const auto single_replies = decode_reply(single.feed(query_mpxs).reply);
  ASSERT_EQ(single_replies.size(), 1U);
  EXPECT_EQ(std::get<GetValuesResult>(single_replies[0]).values, (NameValuePairs{{"FCGI_MPXS_CONNS", "0"}}));
}

TEST(SessionFeed, UnknownManagementTypeIsAnsweredWithUnknownType) {
  Session session;
  const auto result =
      session.feed(record(std::uint8_t{42}, 0, "anything") + record(std::uint8_t{0}, 0, "") + begin(1));
  EXPECT_FALSE(session.failed());
  ASSERT_EQ(result.events.size(), 1U);  // the session went on to the next request
  const auto replies = decode_reply(result.reply);
  ASSERT_EQ(replies.size(), 2U);
  EXPECT_EQ(replies[0], ResponseEvent(UnknownTypeReply{42}));
  EXPECT_EQ(replies[1], ResponseEvent(UnknownTypeReply{0}));
}

// --- Session: requests the codec answers itself ------------------------------

TEST(SessionFeed, FilterAndAuthorizerRolesGetUnknownRoleByDefault) {
  for (const std::uint16_t role :
       {std::uint16_t{2}, std::uint16_t{3}, std::uint16_t{0}, std::uint16_t{999}}) {
    Session session;
    std::string bytes;
    append_begin_request(bytes, 4, role, false);
    // What the web server sends before it reads the answer: dropped, not fatal.
    bytes += params(4, {{"A", "b"}}) + stream_end(RecordType::stdin_stream, 4);
    const auto result = session.feed(bytes);
    EXPECT_TRUE(result.events.empty()) << "role " << role;
    EXPECT_FALSE(session.failed());
    EXPECT_FALSE(session.is_active(4));
    const auto replies = decode_reply(result.reply);
    ASSERT_EQ(replies.size(), 1U);
    EXPECT_EQ(replies[0], ResponseEvent(EndRequest{4, 0, ProtocolStatus::unknown_role}));
  }
}

TEST(SessionFeed, AcceptedFilterRoleStreamsData) {
  SessionConfig config;
  config.accept_filter = true;
  Session session(config);
  const std::string bytes = begin(6, Role::filter) + params(6, {{"A", "b"}}) +
                            stream_end(RecordType::stdin_stream, 6) + stream(RecordType::data, 6, "file") +
                            stream_end(RecordType::data, 6);
  const auto result = session.feed(bytes);
  const std::vector<Event> expected = {BeginRequest{6, Role::filter, false}, Params{6, {{"A", "b"}}},
                                       StdinEnd{6}, Data{6, "file"}, DataEnd{6}};
  EXPECT_EQ(result.events, expected);
}

TEST(SessionFeed, SecondRequestOnAFullConnectionGetsCantMpxConn) {
  Session session;  // one request per connection
  const std::string bytes = begin(1) + begin(2) + params(2, {{"X", "y"}}) + params(1, {{"A", "b"}});
  const auto result = session.feed(bytes);
  EXPECT_FALSE(session.failed());
  const std::vector<Event> expected = {BeginRequest{1, Role::responder, false}, Params{1, {{"A", "b"}}}};
  EXPECT_EQ(result.events, expected);
  const auto replies = decode_reply(result.reply);
  ASSERT_EQ(replies.size(), 1U);
  EXPECT_EQ(replies[0], ResponseEvent(EndRequest{2, 0, ProtocolStatus::cant_mpx_conn}));
  EXPECT_EQ(session.active_requests(), 1U);
}

TEST(SessionFeed, MultiplexesUpToTheConfiguredRequests) {
  SessionConfig config;
  config.max_requests_per_connection = 2;
  Session session(config);
  const std::string bytes = begin(1) + begin(2) + params(2, {{"B", "2"}}) + params(1, {{"A", "1"}}) +
                            stream(RecordType::stdin_stream, 1, "one") +
                            stream(RecordType::stdin_stream, 2, "two") + begin(3);
  const auto result = session.feed(bytes);
  const std::vector<Event> expected = {BeginRequest{1, Role::responder, false},
                                       BeginRequest{2, Role::responder, false},
                                       Params{2, {{"B", "2"}}},
                                       Params{1, {{"A", "1"}}},
                                       Stdin{1, "one"},
                                       Stdin{2, "two"}};
  EXPECT_EQ(result.events, expected);
  const auto replies = decode_reply(result.reply);
  ASSERT_EQ(replies.size(), 1U);
  EXPECT_EQ(replies[0], ResponseEvent(EndRequest{3, 0, ProtocolStatus::cant_mpx_conn}));
}

// --- Session: ending and aborting -------------------------------------------

TEST(SessionEndRequest, AnswersOnlyActiveRequestsAndFreesTheId) {
  Session session;
  session.feed(simple_request(1, sample_params, "x", true));
  std::string out;
  EXPECT_FALSE(session.end_request(2, 0, out));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(session.end_request(1, 7, out));
  EXPECT_FALSE(session.end_request(1, 7, out)) << "a request is ended once";
  const auto replies = decode_reply(out);
  ASSERT_EQ(replies.size(), 1U);
  EXPECT_EQ(replies[0], ResponseEvent(EndRequest{1, 7, ProtocolStatus::request_complete}));
  EXPECT_EQ(session.active_requests(), 0U);

  // The web server may still be sending the body of the request we answered.
  auto late =
      session.feed(stream(RecordType::stdin_stream, 1, "late") + stream_end(RecordType::stdin_stream, 1));
  EXPECT_TRUE(late.events.empty());
  EXPECT_FALSE(session.failed());

  // The id is free again for the next request on the kept connection.
  const auto next = session.feed(simple_request(1, {{"N", "2"}}, ""));
  const std::vector<Event> expected = {BeginRequest{1, Role::responder, false}, Params{1, {{"N", "2"}}},
                                       StdinEnd{1}};
  EXPECT_EQ(next.events, expected);
}

TEST(SessionFeed, AbortOfActiveRequestIsReportedAndItsLaterRecordsDropped) {
  Session session;
  const auto result =
      session.feed(begin(1) + params(1, {{"A", "b"}}) + record(RecordType::abort_request, 1, "") +
                   stream(RecordType::stdin_stream, 1, "late") + record(RecordType::abort_request, 1, ""));
  const std::vector<Event> expected = {BeginRequest{1, Role::responder, false}, Params{1, {{"A", "b"}}},
                                       Abort{1}};
  EXPECT_EQ(result.events, expected);
  EXPECT_TRUE(session.is_active(1)) << "an aborted request stays until the application ends it";
  std::string out;
  EXPECT_TRUE(session.end_request(1, 0, out));
}

TEST(SessionFeed, AbortOfUnknownIdIsIgnored) {
  Session session;
  const auto result = session.feed(record(RecordType::abort_request, 9, "") + begin(1));
  EXPECT_FALSE(session.failed());
  ASSERT_EQ(result.events.size(), 1U);
  EXPECT_EQ(result.events[0], Event(BeginRequest{1, Role::responder, false}));
}

// --- Session: params refused whole -------------------------------------------

TEST(SessionFeed, NulInNameRefusesTheParamsWhole) {
  Session session;
  const std::string bytes =
      begin(1) + params(1, {{"GOOD", "1"}, {std::string("BAD\0NAME", 8), "x"}, {"LATER", "2"}}) +
      stream(RecordType::stdin_stream, 1, "body") + stream_end(RecordType::stdin_stream, 1);
  const auto result = session.feed(bytes);
  ASSERT_EQ(result.events.size(), 2U);
  EXPECT_TRUE(std::holds_alternative<BeginRequest>(result.events[0]));
  const auto* refused = std::get_if<ParamsRefused>(&result.events[1]);
  ASSERT_NE(refused, nullptr) << "no Params event, not even a truncated one";
  EXPECT_EQ(refused->request_id, 1);
  EXPECT_NE(refused->reason.find("NUL"), std::string::npos);
  EXPECT_FALSE(session.failed());
  // The caller answers the refusal and ends the request.
  std::string out;
  EXPECT_TRUE(session.end_request(1, 0, out));
}

TEST(SessionFeed, NulInValueRefusesTheParamsWhole) {
  Session session;
  const auto result =
      session.feed(begin(1) + params(1, {{"SCRIPT_FILENAME", std::string("/a.php\0.jpg", 11)}}));
  ASSERT_EQ(result.events.size(), 2U);
  EXPECT_TRUE(std::holds_alternative<ParamsRefused>(result.events[1]));
}

// --- Session: malformed streams end the session ------------------------------

TEST(SessionFeed, BadVersionIsAProtocolError) {
  std::string bytes = begin(1);
  bytes[0] = '\x00';
  EXPECT_EQ(violation_of(bytes), Violation::bad_version);
}

TEST(SessionFeed, BeginForABusyIdIsAProtocolError) {
  SessionConfig config;
  config.max_requests_per_connection = 4;
  EXPECT_EQ(violation_of(begin(1) + begin(1), config), Violation::request_id_busy);
  EXPECT_EQ(violation_of(begin(1) + begin(1)), Violation::request_id_busy);
}

TEST(SessionFeed, StreamsForAnIdNeverBegunAreProtocolErrors) {
  EXPECT_EQ(violation_of(params(5, {{"A", "b"}})), Violation::request_not_active);
  EXPECT_EQ(violation_of(begin(1) + stream(RecordType::stdin_stream, 2, "x")), Violation::request_not_active);
  EXPECT_EQ(violation_of(stream_end(RecordType::data, 3)), Violation::request_not_active);
}

TEST(SessionFeed, StreamsOutOfOrderAreProtocolErrors) {
  // STDIN before the params ended.
  EXPECT_EQ(violation_of(begin(1) + record(RecordType::params, 1, pair_bytes("A", "b")) +
                         stream(RecordType::stdin_stream, 1, "x")),
            Violation::stream_out_of_order);
  EXPECT_EQ(violation_of(begin(1) + stream_end(RecordType::stdin_stream, 1)), Violation::stream_out_of_order);
  // PARAMS after the params ended.
  EXPECT_EQ(violation_of(begin(1) + params(1, {{"A", "b"}}) + params(1, {{"C", "d"}})),
            Violation::stream_out_of_order);
  // STDIN after its end.
  EXPECT_EQ(violation_of(simple_request(1, {{"A", "b"}}, "x") + stream(RecordType::stdin_stream, 1, "more")),
            Violation::stream_out_of_order);
  // DATA for a responder.
  EXPECT_EQ(violation_of(begin(1) + params(1, {}) + stream(RecordType::data, 1, "x")),
            Violation::unexpected_record_type);
}

TEST(SessionFeed, ParamsOverTheByteBoundAreAProtocolError) {
  SessionConfig config;
  config.max_params_bytes = 1024;
  // Fits: 2 + 1 + 1000 bytes.
  Session fits(config);
  EXPECT_EQ(fits.feed(begin(1) + params(1, {{"A", std::string(1000, 'v')}})).events.size(), 2U);
  EXPECT_FALSE(fits.failed());
  // One record over the bound, and the same spread over many small records.
  EXPECT_EQ(violation_of(begin(1) + params(1, {{"A", std::string(1030, 'v')}}), config),
            Violation::params_too_large);
  std::string many = begin(1);
  for (int i = 0; i < 100; ++i)
    many += record(RecordType::params, 1, pair_bytes("N" + std::to_string(i), "0123456789"));
  EXPECT_EQ(violation_of(many, config), Violation::params_too_large);
  // The default bound is 64 KiB.
  EXPECT_EQ(violation_of(begin(1) + params(1, {{"A", std::string(70000, 'v')}})),
            Violation::params_too_large);
}

TEST(SessionFeed, MoreParamsThanTheCountBoundAreAProtocolError) {
  SessionConfig config;
  config.max_params_count = 10;
  NameValuePairs ten;
  for (int i = 0; i < 10; ++i) ten.emplace_back("N" + std::to_string(i), "v");
  Session fits(config);
  EXPECT_EQ(fits.feed(begin(1) + params(1, ten)).events.size(), 2U);
  NameValuePairs eleven = ten;
  eleven.emplace_back("N0", "again");  // repeats count too: they cost work all the same
  EXPECT_EQ(violation_of(begin(1) + params(1, eleven), config), Violation::too_many_params);
}

TEST(SessionFeed, TruncatedNameValueLengthIsAProtocolError) {
  // A 4-byte name length of which only two bytes come before the stream ends.
  const std::string bytes = begin(1) + record(RecordType::params, 1, std::string("\x80\x00", 2)) +
                            stream_end(RecordType::params, 1);
  EXPECT_EQ(violation_of(bytes), Violation::params_truncated);
  // A value length missing altogether.
  EXPECT_EQ(
      violation_of(begin(1) + record(RecordType::params, 1, "\x03") + stream_end(RecordType::params, 1)),
      Violation::params_truncated);
}

TEST(SessionFeed, LengthPastTheEndOfTheParamsStreamIsAProtocolError) {
  // Name of 10 bytes announced, 3 sent.
  const std::string bytes = begin(1) +
                            record(RecordType::params, 1,
                                   std::string("\x0a\x00"
                                               "abc",
                                               5)) +
                            stream_end(RecordType::params, 1);
  EXPECT_EQ(violation_of(bytes), Violation::params_truncated);
  // A value announced as 2 GiB - 1 is refused by the byte bound long before.
  const std::string huge = begin(1) +
                           record(RecordType::params, 1,
                                  std::string("\x01\xff\xff\xff\xff"
                                              "A",
                                              6)) +
                           record(RecordType::params, 1, std::string(60000, 'v')) +
                           record(RecordType::params, 1, std::string(60000, 'v'));
  EXPECT_EQ(violation_of(huge), Violation::params_too_large);
}

TEST(SessionFeed, ApplicationRecordWithIdZeroIsAProtocolError) {
  EXPECT_EQ(violation_of(begin(0)), Violation::zero_request_id);
  EXPECT_EQ(violation_of(stream(RecordType::stdin_stream, 0, "x")), Violation::zero_request_id);
  EXPECT_EQ(violation_of(params(0, {})), Violation::zero_request_id);
  EXPECT_EQ(violation_of(record(RecordType::abort_request, 0, "")), Violation::zero_request_id);
}

TEST(SessionFeed, RecordsOnlyApplicationsSendAreProtocolErrors) {
  EXPECT_EQ(violation_of(stream(RecordType::stdout_stream, 1, "x")), Violation::unexpected_record_type);
  EXPECT_EQ(violation_of(stream(RecordType::stderr_stream, 1, "x")), Violation::unexpected_record_type);
  std::string end;
  append_end_request(end, 1, 0, ProtocolStatus::request_complete);
  EXPECT_EQ(violation_of(end), Violation::unexpected_record_type);
  std::string unknown;
  append_unknown_type(unknown, 99);
  EXPECT_EQ(violation_of(unknown), Violation::unexpected_record_type);
  EXPECT_EQ(violation_of(record(RecordType::get_values_result, 0, "")), Violation::unexpected_record_type);
}

TEST(SessionFeed, UnknownTypeWithARequestIdIsAProtocolError) {
  EXPECT_EQ(violation_of(record(std::uint8_t{12}, 1, "")), Violation::unexpected_record_type);
}

TEST(SessionFeed, GetValuesWithARequestIdOrBrokenPairsIsAProtocolError) {
  EXPECT_EQ(violation_of(record(RecordType::get_values, 1, pair_bytes(max_reqs_name, ""))),
            Violation::nonzero_request_id);
  EXPECT_EQ(violation_of(record(RecordType::get_values, 0,
                                "\x05\x00"
                                "FC")),
            Violation::malformed_record);
}

TEST(SessionFeed, WrongBodySizesAreProtocolErrors) {
  EXPECT_EQ(violation_of(record(RecordType::begin_request, 1, std::string("\x00\x01\x00", 3))),
            Violation::malformed_record);
  EXPECT_EQ(violation_of(begin(1) + record(RecordType::abort_request, 1, "x")), Violation::malformed_record);
}

TEST(SessionFeed, NothingIsTakenAfterAProtocolError) {
  Session session;
  std::string broken = begin(1);
  broken[0] = '\x09';
  const auto first = session.feed(broken + begin(2));
  ASSERT_EQ(first.events.size(), 1U);
  EXPECT_TRUE(std::holds_alternative<ProtocolError>(first.events[0]));
  const auto after = session.feed(begin(3));
  EXPECT_TRUE(after.events.empty());
  EXPECT_TRUE(after.reply.empty());
  EXPECT_TRUE(session.failed());
  EXPECT_EQ(session.active_requests(), 0U);
  std::string out;
  EXPECT_FALSE(session.end_request(1, 0, out));
}

TEST(SessionFeed, EventsBeforeTheErrorAreKeptInOrder) {
  Session session;
  const auto result = session.feed(begin(1) + params(1, {{"A", "b"}}) + begin(1));
  ASSERT_EQ(result.events.size(), 3U);
  EXPECT_TRUE(std::holds_alternative<BeginRequest>(result.events[0]));
  EXPECT_TRUE(std::holds_alternative<Params>(result.events[1]));
  EXPECT_EQ(std::get<ProtocolError>(result.events[2]).violation, Violation::request_id_busy);
}

// --- ResponseParser -----------------------------------------------------------

TEST(ResponseParserFeed, DecodesWhatAResponderSends) {
  std::string bytes;
  append_stdout(bytes, 1, "Status: 200 OK\r\n\r\nhi");
  append_stderr(bytes, 1, "warning");
  append_stream_end(bytes, RecordType::stdout_stream, 1);
  append_stream_end(bytes, RecordType::stderr_stream, 1);
  append_end_request(bytes, 1, 3, ProtocolStatus::request_complete);
  const std::vector<ResponseEvent> expected = {Stdout{1, "Status: 200 OK\r\n\r\nhi"}, Stderr{1, "warning"},
                                               StdoutEnd{1}, StderrEnd{1},
                                               EndRequest{1, 3, ProtocolStatus::request_complete}};
  ResponseParser whole;
  EXPECT_EQ(whole.feed(bytes), expected);
  ResponseParser bytewise;
  std::vector<ResponseEvent> events;
  for (const char byte : bytes) bytewise.feed(std::string_view(&byte, 1), events);
  EXPECT_EQ(events, expected);
  EXPECT_TRUE(bytewise.at_record_boundary());
}

TEST(ResponseParserFeed, RefusesWhatOnlyWebServersSendAndBadBodies) {
  auto violation = [](const std::string& bytes) {
    ResponseParser parser;
    const auto events = parser.feed(bytes);
    EXPECT_TRUE(parser.failed());
    return events.empty() ? Violation::internal_error : std::get<ProtocolError>(events.back()).violation;
  };
  EXPECT_EQ(violation(begin(1)), Violation::unexpected_record_type);
  EXPECT_EQ(violation(stream(RecordType::stdout_stream, 0, "x")), Violation::zero_request_id);
  EXPECT_EQ(violation(record(RecordType::end_request, 1, "1234")), Violation::malformed_record);
  EXPECT_EQ(violation(record(RecordType::get_values_result, 2, "")), Violation::nonzero_request_id);
}

// --- the fuzzing entry point ----------------------------------------------------

TEST(FuzzOneInput, SurvivesValidMutatedAndRandomStreams) {
  std::string valid;
  const std::string_view names[] = {max_conns_name};
  ASSERT_TRUE(append_get_values(valid, names));
  valid += simple_request(1, sample_params, "body", true) + begin(2, Role::filter) +
           record(RecordType::abort_request, 1, "") + simple_request(1, {{"A", std::string("\0", 1)}}, "x");

  std::mt19937 random(7);
  auto run = [](std::uint8_t choice, std::uint8_t cut, const std::string& stream_bytes) {
    std::string input;
    input += static_cast<char>(choice);
    input += static_cast<char>(cut);
    input += stream_bytes;
    fuzz_one_input(std::as_bytes(std::span(input.data(), input.size())));
  };
  for (unsigned choice = 0; choice < 32; ++choice) run(static_cast<std::uint8_t>(choice), 3, valid);
  for (int round = 0; round < 300; ++round) {
    std::string mutated = valid;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int i = 0; i < flips; ++i) mutated[random() % mutated.size()] = static_cast<char>(random() % 256);
    run(static_cast<std::uint8_t>(random() % 256), static_cast<std::uint8_t>(random() % 256), mutated);
  }
  for (int round = 0; round < 100; ++round) {
    std::string noise(random() % 512, '\0');
    for (char& c : noise) c = static_cast<char>(random() % 256);
    run(static_cast<std::uint8_t>(random() % 256), static_cast<std::uint8_t>(random() % 256), noise);
  }
  SUCCEED();  // fuzz_one_input aborts the process on any broken property
}

}  // namespace
