// SPDX-License-Identifier: Apache-2.0
// ClientReader: one request's answer, as a responder sends it, read by the client.
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "suwrap/fastcgi/client_reader.hpp"
#include "suwrap/fastcgi/encoder.hpp"

// static: the codec test defines some of these for itself; ADL still finds them here.
namespace suwrap::fastcgi {
static void PrintTo(const Stdout& e, std::ostream* os) { *os << "Stdout{" << e.request_id << ", \"" << e.bytes << "\"}"; }
static void PrintTo(const Stderr& e, std::ostream* os) { *os << "Stderr{" << e.request_id << ", \"" << e.bytes << "\"}"; }
static void PrintTo(const EndRequest& e, std::ostream* os) {
  *os << "EndRequest{" << e.request_id << ", " << e.app_status << ", " << static_cast<int>(e.protocol_status) << "}";
}
static void PrintTo(const ProtocolError& e, std::ostream* os) {
  *os << "ProtocolError{" << to_string(e.violation) << ", " << e.reason << "}";
}
}  // namespace suwrap::fastcgi

namespace {

using namespace suwrap::fastcgi;

std::string record(std::uint8_t type, std::uint16_t id, std::string_view content) {
  std::string out;
  EXPECT_TRUE(append_record(out, type, id, content));
  return out;
}
std::string record(RecordType type, std::uint16_t id, std::string_view content) {
  return record(static_cast<std::uint8_t>(type), id, content);
}
std::string stream_end(RecordType type, std::uint16_t id) {
  std::string out;
  append_stream_end(out, type, id);
  return out;
}
std::string end_request(std::uint16_t id, std::uint32_t app_status,
                        ProtocolStatus status = ProtocolStatus::request_complete) {
  std::string out;
  append_end_request(out, id, app_status, status);
  return out;
}

// A whole answer as php-cgi gives it: output, a warning, the stream ends, the end.
std::string typical_answer(std::uint16_t id) {
  std::string out;
  append_stdout(out, id, "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n");
  append_stderr(out, id, "PHP Notice: x");
  append_stdout(out, id, "hello");
  append_stream_end(out, RecordType::stdout_stream, id);
  append_stream_end(out, RecordType::stderr_stream, id);
  out += end_request(id, 0);
  return out;
}

const std::vector<ClientEvent> typical_events = {
    Stdout{7, "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n"}, Stderr{7, "PHP Notice: x"},
    Stdout{7, "hello"}, EndRequest{7, 0, ProtocolStatus::request_complete}};

Violation last_violation(const std::vector<ClientEvent>& events) {
  if (events.empty() || !std::holds_alternative<ProtocolError>(events.back())) {
    ADD_FAILURE() << "the last event is not a ProtocolError";
    return Violation::internal_error;
  }
  return std::get<ProtocolError>(events.back()).violation;
}

Violation violation_of(std::uint16_t id, const std::string& bytes) {
  ClientReader reader(id);
  const auto events = reader.feed(bytes);
  EXPECT_TRUE(reader.failed());
  return last_violation(events);
}

TEST(ClientReaderFeed, YieldsStdoutStderrAndEndRequestInOrder) {
  ClientReader reader(7);
  EXPECT_EQ(reader.feed(typical_answer(7)), typical_events);
  EXPECT_TRUE(reader.ended());
  EXPECT_FALSE(reader.failed());
}

TEST(ClientReaderFeed, SplitAtEveryByteGivesTheSameEvents) {
  const std::string bytes = typical_answer(7);
  for (std::size_t split = 0; split <= bytes.size(); ++split) {
    ClientReader reader(7);
    std::vector<ClientEvent> events;
    reader.feed(std::string_view(bytes).substr(0, split), events);
    EXPECT_EQ(reader.ended(), split == bytes.size()) << "split at " << split;
    reader.feed(std::string_view(bytes).substr(split), events);
    ASSERT_EQ(events, typical_events) << "split at " << split;
    ASSERT_TRUE(reader.ended()) << "split at " << split;
  }
}

TEST(ClientReaderFeed, ByteByByteGivesTheSameEvents) {
  const std::string bytes = typical_answer(7);
  ClientReader reader(7);
  std::vector<ClientEvent> events;
  for (const char byte : bytes) reader.feed(std::string_view(&byte, 1), events);
  EXPECT_EQ(events, typical_events);
  EXPECT_TRUE(reader.ended());
}

TEST(ClientReaderFeed, AcceptsByteSpans) {
  const std::string bytes = typical_answer(7);
  ClientReader reader(7);
  std::vector<ClientEvent> events;
  reader.feed(std::as_bytes(std::span(bytes.data(), bytes.size())), events);
  EXPECT_EQ(events, typical_events);
}

TEST(ClientReaderFeed, NothingBeforeEndRequestLeavesTheRequestOpen) {
  std::string bytes;
  append_stdout(bytes, 1, "partial");
  ClientReader reader(1);
  EXPECT_EQ(reader.feed(bytes), (std::vector<ClientEvent>{Stdout{1, "partial"}}));
  EXPECT_FALSE(reader.ended());
  EXPECT_FALSE(reader.failed());
}

TEST(ClientReaderFeed, EndRequestCarriesAppStatusAndAnyProtocolStatus) {
  ClientReader refused(1);
  EXPECT_EQ(refused.feed(end_request(1, 1004)),
            (std::vector<ClientEvent>{EndRequest{1, 1004, ProtocolStatus::request_complete}}));
  ClientReader overloaded(1);
  EXPECT_EQ(overloaded.feed(end_request(1, 0, ProtocolStatus::overloaded)),
            (std::vector<ClientEvent>{EndRequest{1, 0, ProtocolStatus::overloaded}}));
  // A status this codec has no name for is handed on as it came.
  ClientReader unknown(1);
  EXPECT_EQ(unknown.feed(record(RecordType::end_request, 1, std::string("\0\0\0\x05\x09\0\0\0", 8))),
            (std::vector<ClientEvent>{EndRequest{1, 5, static_cast<ProtocolStatus>(9)}}));
}

TEST(ClientReaderFeed, EndRequestsOwnPaddingIsNotDataAfterTheEnd) {
  // A foreign responder's END_REQUEST with 200 bytes of padding, fed split everywhere.
  std::string bytes = end_request(3, 0);
  bytes[6] = static_cast<char>(200);
  bytes.append(200, '\0');
  for (std::size_t split = 0; split <= bytes.size(); ++split) {
    ClientReader reader(3);
    std::vector<ClientEvent> events;
    reader.feed(std::string_view(bytes).substr(0, split), events);
    reader.feed(std::string_view(bytes).substr(split), events);
    ASSERT_EQ(events, (std::vector<ClientEvent>{EndRequest{3, 0, ProtocolStatus::request_complete}}))
        << "split at " << split;
    ASSERT_FALSE(reader.failed()) << "split at " << split;
  }
}

TEST(ClientReaderFeed, AnyByteAfterEndRequestIsAnError) {
  EXPECT_EQ(violation_of(1, end_request(1, 0) + std::string(1, '\x01')), Violation::stream_out_of_order);
  EXPECT_EQ(violation_of(1, end_request(1, 0) + end_request(1, 0)), Violation::stream_out_of_order);
  std::string stdout_after;
  append_stdout(stdout_after, 1, "late");
  EXPECT_EQ(violation_of(1, end_request(1, 0) + stdout_after), Violation::stream_out_of_order);
  // ... also when it comes in a later feed, and after the padding.
  std::string padded = end_request(1, 0);
  padded[6] = 4;
  padded.append(4, '\0');
  ClientReader reader(1);
  EXPECT_TRUE(reader.feed(padded).size() == 1 && reader.ended());
  EXPECT_EQ(last_violation(reader.feed(std::string(1, '\x01'))), Violation::stream_out_of_order);
}

TEST(ClientReaderFeed, ARecordForAnotherRequestIdIsAnError) {
  std::string other;
  append_stdout(other, 2, "x");
  EXPECT_EQ(violation_of(1, other), Violation::request_not_active);
  EXPECT_EQ(violation_of(1, end_request(2, 0)), Violation::request_not_active);
  EXPECT_EQ(violation_of(1, stream_end(RecordType::stderr_stream, 0)), Violation::request_not_active);
  // Management answers too: this request never asked for them.
  EXPECT_EQ(violation_of(1, record(RecordType::get_values_result, 0, "")), Violation::request_not_active);
}

TEST(ClientReaderFeed, RecordTypesAResponderDoesNotAnswerWithAreErrors) {
  for (const std::uint8_t type : {std::uint8_t{1}, std::uint8_t{2}, std::uint8_t{4}, std::uint8_t{5},
                                  std::uint8_t{8}, std::uint8_t{9}, std::uint8_t{10}, std::uint8_t{11},
                                  std::uint8_t{12}, std::uint8_t{255}}) {
    EXPECT_EQ(violation_of(1, record(type, 1, std::string(8, '\0'))), Violation::unexpected_record_type)
        << "type " << static_cast<int>(type);
  }
}

TEST(ClientReaderFeed, EndRequestWithABodyOtherThanEightBytesIsAnError) {
  EXPECT_EQ(violation_of(1, record(RecordType::end_request, 1, "")), Violation::malformed_record);
  EXPECT_EQ(violation_of(1, record(RecordType::end_request, 1, "1234")), Violation::malformed_record);
  EXPECT_EQ(violation_of(1, record(RecordType::end_request, 1, "123456789")), Violation::malformed_record);
}

TEST(ClientReaderFeed, DataOnAStreamAfterItsEndIsAnError) {
  std::string bytes = stream_end(RecordType::stdout_stream, 1);
  append_stdout(bytes, 1, "late");
  EXPECT_EQ(violation_of(1, bytes), Violation::stream_out_of_order);
  bytes = stream_end(RecordType::stderr_stream, 1);
  append_stderr(bytes, 1, "late");
  EXPECT_EQ(violation_of(1, bytes), Violation::stream_out_of_order);
  // One stream's end does not end the other.
  bytes = stream_end(RecordType::stdout_stream, 1);
  append_stderr(bytes, 1, "still fine");
  ClientReader reader(1);
  EXPECT_EQ(reader.feed(bytes), (std::vector<ClientEvent>{Stderr{1, "still fine"}}));
}

TEST(ClientReaderFeed, ABadVersionIsAnError) {
  std::string bytes = end_request(1, 0);
  bytes[0] = 2;
  EXPECT_EQ(violation_of(1, bytes), Violation::bad_version);
}

TEST(ClientReaderFeed, EventsBeforeAnErrorAreKeptAndNothingIsTakenAfter) {
  std::string bytes;
  append_stdout(bytes, 1, "first");
  bytes += end_request(9, 0);
  ClientReader reader(1);
  const auto events = reader.feed(bytes);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(std::get<Stdout>(events[0]), (Stdout{1, "first"}));
  EXPECT_EQ(last_violation(events), Violation::request_not_active);
  EXPECT_TRUE(reader.feed(typical_answer(1)).empty());
  EXPECT_FALSE(reader.ended());
}

}  // namespace
