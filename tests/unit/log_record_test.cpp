// SPDX-License-Identifier: Apache-2.0
// The JSON Lines log (suwrap(8), LOG) and the CGI refusal (suwrap(8), EXIT STATUS). The lines are read back with
// a small strict JSON parser below, so "valid JSON, one line, these fields and types" is
// checked on the text itself rather than by comparing with another string we built.
#include "suwrap/policy/log_record.hpp"

#include <time.h>

#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace {

using suwrap::policy::cgi_refusal;
using suwrap::policy::Check;
using suwrap::policy::Decision;
using suwrap::policy::decision_line;
using suwrap::policy::DecisionRecord;
using suwrap::policy::exit_line;
using suwrap::policy::ExitRecord;
using suwrap::policy::json_escape;
using suwrap::policy::json_string;
using suwrap::policy::exit_record_of;
using suwrap::policy::is_request_id;
using suwrap::policy::record_of;
using suwrap::policy::request_labels;
using suwrap::policy::RequestLabels;
using suwrap::policy::rfc3339_now;
using suwrap::policy::Verdict;

// ---- a strict JSON reader (RFC 8259), just enough for these tests ----------------------------

struct Json {
  enum class Kind { null, boolean, number, string, object, array };
  Kind kind = Kind::null;
  bool boolean = false;
  std::string text;  // number: its literal; string: the decoded UTF-8
  std::vector<std::pair<std::string, Json>> members;  // object, in order
  std::vector<Json> items;                            // array

  [[nodiscard]] const Json* member(std::string_view key) const {
    for (const auto& [k, v] : members) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Whether the text is well-formed UTF-8 (RFC 3629), as JSON text must be.
bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    }
    if (b >= 0xc2 && b <= 0xdf) {
      n = 1;
      cp = b & 0x1fU;
    } else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      cp = b & 0x0fU;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      cp = b & 0x07U;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3fU);
    }
    const unsigned minimum = n == 1 ? 0x80U : n == 2 ? 0x800U : 0x10000U;
    if (cp < minimum || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  // The one value the whole text holds, or nullopt if the text is not exactly that.
  std::optional<Json> document() {
    if (!is_valid_utf8(text_)) return std::nullopt;
    auto value = parse_value();
    skip_space();
    if (!value || pos_ != text_.size()) return std::nullopt;
    return value;
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool take(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool take_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  [[nodiscard]] bool at_digit() const {
    return pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9';
  }

  std::optional<Json> parse_value() {
    skip_space();
    if (pos_ >= text_.size()) return std::nullopt;
    Json v;
    const char c = text_[pos_];
    if (c == '{') return parse_object();
    if (c == '[') return parse_array();
    if (c == '"') {
      auto s = parse_string();
      if (!s) return std::nullopt;
      v.kind = Json::Kind::string;
      v.text = std::move(*s);
      return v;
    }
    if (take_word("null")) return v;
    if (take_word("true")) {
      v.kind = Json::Kind::boolean;
      v.boolean = true;
      return v;
    }
    if (take_word("false")) {
      v.kind = Json::Kind::boolean;
      return v;
    }
    return parse_number();
  }

  std::optional<Json> parse_number() {
    const std::size_t start = pos_;
    take('-');
    if (take('0')) {
    } else if (at_digit()) {
      while (at_digit()) ++pos_;
    } else {
      return std::nullopt;
    }
    if (take('.')) {
      if (!at_digit()) return std::nullopt;
      while (at_digit()) ++pos_;
    }
    if (take('e') || take('E')) {
      if (!take('+')) take('-');
      if (!at_digit()) return std::nullopt;
      while (at_digit()) ++pos_;
    }
    Json v;
    v.kind = Json::Kind::number;
    v.text = std::string(text_.substr(start, pos_ - start));
    return v;
  }

  std::optional<unsigned> parse_hex4() {
    if (text_.size() - pos_ < 4) return std::nullopt;
    unsigned value = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = text_[pos_++];
      value <<= 4;
      if (h >= '0' && h <= '9') {
        value |= static_cast<unsigned>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        value |= static_cast<unsigned>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        value |= static_cast<unsigned>(h - 'A' + 10);
      } else {
        return std::nullopt;
      }
    }
    return value;
  }

  std::optional<std::string> parse_string() {
    if (!take('"')) return std::nullopt;
    std::string out;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;  // raw control: invalid
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) return std::nullopt;
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          auto cp = parse_hex4();
          if (!cp) return std::nullopt;
          if (*cp >= 0xd800 && *cp <= 0xdbff) {
            if (!take('\\') || !take('u')) return std::nullopt;
            auto low = parse_hex4();
            if (!low || *low < 0xdc00 || *low > 0xdfff) return std::nullopt;
            *cp = 0x10000 + ((*cp - 0xd800) << 10) + (*low - 0xdc00);
          } else if (*cp >= 0xdc00 && *cp <= 0xdfff) {
            return std::nullopt;
          }
          append_utf8(out, *cp);
          break;
        }
        default: return std::nullopt;
      }
    }
    return std::nullopt;
  }

  std::optional<Json> parse_object() {
    take('{');
    Json v;
    v.kind = Json::Kind::object;
    skip_space();
    if (take('}')) return v;
    while (true) {
      skip_space();
      auto key = parse_string();
      if (!key) return std::nullopt;
      skip_space();
      if (!take(':')) return std::nullopt;
      auto value = parse_value();
      if (!value) return std::nullopt;
      if (v.member(*key) != nullptr) return std::nullopt;  // a duplicate key: ambiguous
      v.members.emplace_back(std::move(*key), std::move(*value));
      skip_space();
      if (take('}')) return v;
      if (!take(',')) return std::nullopt;
    }
  }

  std::optional<Json> parse_array() {
    take('[');
    Json v;
    v.kind = Json::Kind::array;
    skip_space();
    if (take(']')) return v;
    while (true) {
      auto item = parse_value();
      if (!item) return std::nullopt;
      v.items.push_back(std::move(*item));
      skip_space();
      if (take(']')) return v;
      if (!take(',')) return std::nullopt;
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

std::optional<Json> parse_json(std::string_view text) { return JsonReader(text).document(); }

TEST(JsonReaderSelfTest, AcceptsJsonAndRefusesWhatIsNot) {
  EXPECT_TRUE(parse_json(R"({"a":[1,-2.5e3,true,false,null,"x\u00e9\n"],"b":{}})"));
  EXPECT_FALSE(parse_json("{\"a\":\"line\nbreak\"}"));
  EXPECT_FALSE(parse_json("{\"a\":1}{\"b\":2}"));
  EXPECT_FALSE(parse_json("{\"a\":\"\xff\"}"));
  EXPECT_FALSE(parse_json("{\"a\":01}"));
  EXPECT_FALSE(parse_json("{\"a\":1,\"a\":2}"));
  EXPECT_FALSE(parse_json("{\"a\":\"\\x41\"}"));
}

// A log line: ends in exactly one '\n', holds no other, and is one JSON object.
Json parse_log_line(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n') << line;
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "more than one line: " << line;
  EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  auto parsed = parse_json(std::string_view(line).substr(0, line.size() - 1));
  EXPECT_TRUE(parsed.has_value()) << "not JSON: " << line;
  if (!parsed) return Json{};
  EXPECT_EQ(parsed->kind, Json::Kind::object);
  return *parsed;
}

std::vector<std::string> keys_of(const Json& object) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : object.members) keys.push_back(k);
  return keys;
}

const std::regex rfc3339_millis_utc(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");

// ---- json_escape / json_string -------------------------------------------------------------

TEST(JsonEscape, EscapesQuotesBackslashAndControlCharacters) {
  EXPECT_EQ(json_escape(R"(a"b\c)"), R"(a\"b\\c)");
  EXPECT_EQ(json_escape("\n\r\t\b\f"), R"(\n\r\t\b\f)");
  EXPECT_EQ(json_escape(std::string("\0\x01\x1f\x7f", 4)), R"(\u0000\u0001\u001f\u007f)");
  EXPECT_EQ(json_escape("plain /path/x.php"), "plain /path/x.php");
  EXPECT_EQ(json_escape(""), "");
}

TEST(JsonEscape, PassesValidUtf8Through) {
  EXPECT_EQ(json_escape("caf\xc3\xa9"), "caf\xc3\xa9");                 // é
  EXPECT_EQ(json_escape("\xe2\x82\xac"), "\xe2\x82\xac");               // €
  EXPECT_EQ(json_escape("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");       // U+1F600
  EXPECT_EQ(json_escape("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");       // U+10FFFF
}

TEST(JsonEscape, EscapesEachByteOfInvalidUtf8) {
  EXPECT_EQ(json_escape("\xff"), R"(\u00ff)");
  EXPECT_EQ(json_escape("a\x80z"), R"(a\u0080z)");
  EXPECT_EQ(json_escape("\xc0\xaf"), R"(\u00c0\u00af)");            // overlong '/'
  EXPECT_EQ(json_escape("\xe0\x80\xaf"), R"(\u00e0\u0080\u00af)");  // overlong '/'
  EXPECT_EQ(json_escape("\xed\xa0\x80"), R"(\u00ed\u00a0\u0080)");  // a surrogate
  EXPECT_EQ(json_escape("\xf4\x90\x80\x80"), R"(\u00f4\u0090\u0080\u0080)");  // > U+10FFFF
  EXPECT_EQ(json_escape("\xe2\x82"), R"(\u00e2\u0082)");            // cut short
  EXPECT_EQ(json_escape("\xe2\x82z"), R"(\u00e2\u0082z)");
  EXPECT_EQ(json_escape("\xc3\xa9\xc3"), "\xc3\xa9" R"(\u00c3)");
}

TEST(JsonEscape, EscapesCodePointsThatSomeReadersTakeAsLineBreaks) {
  EXPECT_EQ(json_escape("a\xc2\x85z"), R"(a\u0085z)");         // NEL
  EXPECT_EQ(json_escape("a\xe2\x80\xa8z"), R"(a\u2028z)");     // LINE SEPARATOR
  EXPECT_EQ(json_escape("a\xe2\x80\xa9z"), R"(a\u2029z)");     // PARAGRAPH SEPARATOR
}

TEST(JsonString, EveryByteStringBecomesOneValidJsonString) {
  std::vector<std::string> inputs;
  for (int b = 0; b < 256; ++b) inputs.emplace_back(1, static_cast<char>(b));
  std::mt19937 random(20241121);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 40);
  for (int n = 0; n < 2000; ++n) {
    std::string s;
    const int size = length(random);
    for (int k = 0; k < size; ++k) s += static_cast<char>(byte(random));
    inputs.push_back(std::move(s));
  }
  for (const std::string& input : inputs) {
    const std::string quoted = json_string(input);
    for (const char c : quoted) {
      ASSERT_GE(static_cast<unsigned char>(c), 0x20) << "raw control character for input of "
                                                     << input.size() << " bytes";
    }
    const auto parsed = parse_json(quoted);
    ASSERT_TRUE(parsed.has_value()) << quoted;
    ASSERT_EQ(parsed->kind, Json::Kind::string);
    if (is_valid_utf8(input)) {
      EXPECT_EQ(parsed->text, input) << "valid text must round-trip";
    }
  }
}

// ---- rfc3339_now ---------------------------------------------------------------------------

TEST(Rfc3339Now, IsUtcWithMilliseconds) {
  // A zone far from UTC, so that local time in place of UTC would show.
  const char* saved = std::getenv("TZ");
  const std::optional<std::string> saved_tz = saved ? std::optional<std::string>(saved) : std::nullopt;
  setenv("TZ", "XXX-7", 1);
  tzset();

  // The same clock as rfc3339_now(): time() reads the coarse clock, which can be a tick
  // behind, so a stamp made just after a second began would seem to come from the future.
  const auto realtime_seconds = [] {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec;
  };
  const std::time_t before = realtime_seconds();
  const std::string stamp = rfc3339_now();
  const std::time_t after = realtime_seconds();

  if (saved_tz) {
    setenv("TZ", saved_tz->c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();

  ASSERT_TRUE(std::regex_match(stamp, rfc3339_millis_utc)) << stamp;
  tm parsed{};
  ASSERT_NE(strptime(stamp.c_str(), "%Y-%m-%dT%H:%M:%S", &parsed), nullptr) << stamp;
  const std::time_t stamped = timegm(&parsed);
  EXPECT_GE(stamped, before) << stamp;
  EXPECT_LE(stamped, after) << stamp;
}

// ---- decision_line -------------------------------------------------------------------------

DecisionRecord denied_record() {
  DecisionRecord r;
  r.pid = 4242;
  r.caller = "www-data";
  r.script = "/home/alice/public_html/x.php";
  r.handler = "php";
  r.user = "alice";
  r.uid = 1001;
  r.gid = 1002;
  r.verdict = Verdict::deny;
  r.check = Check::docroot;
  r.reason = "not inside a configured docroot";
  r.request_id = "9f86d081884c7d659a2feaa0c55ad015";
  r.account = "alice-shop";
  r.host = "shop.example:8443";
  return r;
}

TEST(DecisionLine, HasTheContractFieldsWithTheirTypes) {
  const Json line = parse_log_line(decision_line(denied_record()));
  const std::vector<std::string> expected_keys = {"ts",  "event", "pid", "request_id", "caller", "script",
                                                  "handler", "user", "uid", "gid", "account", "host",
                                                  "decision", "check", "reason"};
  EXPECT_EQ(keys_of(line), expected_keys);

  const auto string_field = [&](const char* key) -> std::string {
    const Json* v = line.member(key);
    if (v == nullptr || v->kind != Json::Kind::string) {
      ADD_FAILURE() << key << " is not a string";
      return {};
    }
    return v->text;
  };
  const auto number_field = [&](const char* key) -> std::string {
    const Json* v = line.member(key);
    if (v == nullptr || v->kind != Json::Kind::number) {
      ADD_FAILURE() << key << " is not a number";
      return {};
    }
    return v->text;
  };

  EXPECT_TRUE(std::regex_match(string_field("ts"), rfc3339_millis_utc));
  EXPECT_EQ(string_field("event"), "decision");
  EXPECT_EQ(number_field("pid"), "4242");
  EXPECT_EQ(string_field("caller"), "www-data");
  EXPECT_EQ(string_field("script"), "/home/alice/public_html/x.php");
  EXPECT_EQ(string_field("handler"), "php");
  EXPECT_EQ(string_field("user"), "alice");
  EXPECT_EQ(number_field("uid"), "1001");
  EXPECT_EQ(number_field("gid"), "1002");
  EXPECT_EQ(string_field("decision"), "deny");
  EXPECT_EQ(string_field("check"), "docroot");
  EXPECT_EQ(string_field("reason"), "not inside a configured docroot");
  EXPECT_EQ(string_field("request_id"), "9f86d081884c7d659a2feaa0c55ad015");
  EXPECT_EQ(string_field("account"), "alice-shop");
  EXPECT_EQ(string_field("host"), "shop.example:8443");
}

TEST(DecisionLine, UnknownValuesAreNull) {
  DecisionRecord r;
  r.pid = 7;
  r.caller = "nobody";
  r.script = "/var/www/a.php";
  r.verdict = Verdict::deny;
  r.check = Check::caller;
  r.reason = "real uid is not the caller";
  const Json line = parse_log_line(decision_line(r));
  for (const char* key : {"request_id", "handler", "user", "uid", "gid", "account", "host"}) {
    const Json* v = line.member(key);
    ASSERT_NE(v, nullptr) << key;
    EXPECT_EQ(v->kind, Json::Kind::null) << key;
  }
}

TEST(DecisionLine, AnAllowHasANullCheck) {
  DecisionRecord r = denied_record();
  r.verdict = Verdict::allow;
  r.check = std::nullopt;
  r.reason = "all checks passed";
  const Json line = parse_log_line(decision_line(r));
  ASSERT_NE(line.member("check"), nullptr);
  EXPECT_EQ(line.member("check")->kind, Json::Kind::null);
  EXPECT_EQ(line.member("decision")->text, "allow");

  r.verdict = Verdict::error;
  r.check = Check::exec;
  const Json error_line = parse_log_line(decision_line(r));
  EXPECT_EQ(error_line.member("decision")->text, "error");
  EXPECT_EQ(error_line.member("check")->text, "exec");
}

TEST(DecisionLine, AFileNameCannotForgeALine) {
  DecisionRecord r = denied_record();
  r.script = "/var/www/x.php\n{\"event\":\"forged\",\"decision\":\"allow\"}";
  r.reason = "missing: " + r.script + "\r\n";
  r.caller = "www\ndata";
  const std::string text = decision_line(r);
  const Json line = parse_log_line(text);
  EXPECT_EQ(line.member("event")->text, "decision");
  EXPECT_EQ(line.member("decision")->text, "deny");
  // The name is kept, escaped, so the log still shows what was asked for.
  EXPECT_EQ(line.member("script")->text, r.script);
  EXPECT_EQ(line.member("caller")->text, "www\ndata");
}

TEST(DecisionLine, InvalidUtf8InANameStaysValidJson) {
  DecisionRecord r = denied_record();
  r.script = "/var/www/\xff\xfe\xc0\xaf.php";
  const std::string text = decision_line(r);
  const Json line = parse_log_line(text);
  EXPECT_NE(text.find(R"(/var/www/\u00ff\u00fe\u00c0\u00af.php)"), std::string::npos) << text;
}

// ---- exit_line -----------------------------------------------------------------------------

TEST(ExitLine, HasTheContractFieldsWithTheirTypes) {
  ExitRecord r;
  r.pid = 99;
  r.status = 0;
  r.wall_ms = 1234;
  r.cpu_ms = 56;
  r.maxrss_kb = 20480;
  r.timed_out = false;
  r.request_id = "req-1";
  r.account = "alice-shop";
  r.user = "alice";
  r.handler = "php82";
  r.script = "/home/alice/public_html/index.php";
  r.host = "shop.example";
  const Json line = parse_log_line(exit_line(r));
  const std::vector<std::string> expected_keys = {
      "ts",     "event",  "pid",    "request_id", "account", "user",    "handler",   "script",
      "host",   "status", "signal", "wall_ms",    "cpu_ms",  "maxrss_kb", "timed_out"};
  EXPECT_EQ(keys_of(line), expected_keys);
  EXPECT_EQ(line.member("request_id")->text, "req-1");
  EXPECT_EQ(line.member("account")->text, "alice-shop");
  EXPECT_EQ(line.member("user")->text, "alice");
  EXPECT_EQ(line.member("handler")->text, "php82");
  EXPECT_EQ(line.member("script")->text, "/home/alice/public_html/index.php");
  EXPECT_EQ(line.member("host")->text, "shop.example");
  EXPECT_TRUE(std::regex_match(line.member("ts")->text, rfc3339_millis_utc));
  EXPECT_EQ(line.member("event")->text, "exit");
  EXPECT_EQ(line.member("pid")->text, "99");
  EXPECT_EQ(line.member("status")->kind, Json::Kind::number);
  EXPECT_EQ(line.member("status")->text, "0");
  EXPECT_EQ(line.member("signal")->kind, Json::Kind::null);
  EXPECT_EQ(line.member("wall_ms")->text, "1234");
  EXPECT_EQ(line.member("cpu_ms")->text, "56");
  EXPECT_EQ(line.member("maxrss_kb")->text, "20480");
  EXPECT_EQ(line.member("timed_out")->kind, Json::Kind::boolean);
  EXPECT_FALSE(line.member("timed_out")->boolean);
}

TEST(ExitLine, AKilledHandlerHasASignalAndNoStatus) {
  ExitRecord r;
  r.pid = 100;
  r.signal = 9;
  r.timed_out = true;
  r.wall_ms = 60'000;
  const Json line = parse_log_line(exit_line(r));
  EXPECT_EQ(line.member("status")->kind, Json::Kind::null);
  EXPECT_EQ(line.member("signal")->kind, Json::Kind::number);
  EXPECT_EQ(line.member("signal")->text, "9");
  EXPECT_TRUE(line.member("timed_out")->boolean);
}

// ---- record_of -----------------------------------------------------------------------------

TEST(RecordOf, TakesTheFieldsFromTheDecision) {
  Decision d;
  d.verdict = Verdict::deny;
  d.failed = Check::owner;
  d.reason = "script is owned by bob, not alice";
  d.http_status = 403;
  d.script = "/home/alice/public_html/x.php";
  d.physical_path = "/srv/alice/x.php";
  d.handler_name = "php82";
  suwrap::policy::Target target;
  target.user.name = "alice";
  target.user.uid = 1001;
  target.user.gid = 1001;
  target.group.name = "alicegroup";
  target.group.gid = 1005;
  d.target = target;

  auto account = std::make_shared<suwrap::policy::Account>();
  account->name = "alice-shop";
  target.account = account;
  d.target = target;
  const RequestLabels labels{"4bf92f3577b34da6a3ce929d0e0e4736", "shop.example"};

  const DecisionRecord r = record_of(d, 321, "www-data", labels);
  EXPECT_EQ(r.request_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(r.account, "alice-shop");
  EXPECT_EQ(r.host, "shop.example");
  EXPECT_EQ(r.pid, 321);
  EXPECT_EQ(r.caller, "www-data");
  EXPECT_EQ(r.script, "/home/alice/public_html/x.php");
  EXPECT_EQ(r.handler, "php82");
  EXPECT_EQ(r.user, "alice");
  EXPECT_EQ(r.uid, std::optional<uid_t>(1001));
  EXPECT_EQ(r.gid, std::optional<gid_t>(1005));
  EXPECT_EQ(r.verdict, Verdict::deny);
  EXPECT_EQ(r.check, std::optional<Check>(Check::owner));
  EXPECT_EQ(r.reason, "script is owned by bob, not alice");
}

TEST(RecordOf, WithoutATargetUserAndGroupAreUnknown) {
  Decision d;
  d.verdict = Verdict::deny;
  d.failed = Check::docroot;
  d.reason = "outside";
  d.script = "/tmp/x.php";
  const DecisionRecord r = record_of(d, 1, "www-data", RequestLabels{"r", ""});
  EXPECT_TRUE(r.user.empty());
  EXPECT_TRUE(r.account.empty());
  EXPECT_EQ(r.uid, std::nullopt);
  EXPECT_EQ(r.gid, std::nullopt);
  EXPECT_EQ(r.check, std::optional<Check>(Check::docroot));
  const Json line = parse_log_line(decision_line(r));
  EXPECT_EQ(line.member("uid")->kind, Json::Kind::null);
}

TEST(ExitRecordOf, NamesWhoRanWhatForWhichHost) {
  Decision d;
  d.verdict = Verdict::allow;
  d.script = "/home/alice/public_html/x.php";
  d.handler_name = "php82";
  suwrap::policy::Target target;
  target.user.name = "alice";
  d.target = target;
  const ExitRecord r = exit_record_of(d, 55, RequestLabels{"id-1", "a.example"});
  EXPECT_EQ(r.pid, 55);
  EXPECT_EQ(r.request_id, "id-1");
  EXPECT_EQ(r.user, "alice");
  EXPECT_TRUE(r.account.empty());  // no account file applies
  EXPECT_EQ(r.handler, "php82");
  EXPECT_EQ(r.script, "/home/alice/public_html/x.php");
  EXPECT_EQ(r.host, "a.example");
  EXPECT_EQ(parse_log_line(exit_line(r)).member("account")->kind, Json::Kind::null);
}

// ---- request_labels ------------------------------------------------------------------------

TEST(RequestLabels, TakesSuwrapCgidsIdThenApachesUniqueId) {
  EXPECT_EQ(request_labels({"UNIQUE_ID=YWJj@-d", "SUWRAP_REQUEST_ID=cgid-1"}).request_id, "cgid-1");
  EXPECT_EQ(request_labels({"UNIQUE_ID=YWJj@-d"}).request_id, "YWJj@-d");
}

TEST(RequestLabels, MakesItsOwnIdWhenNoneIsGivenOrTheGivenOneIsNotAnId) {
  for (const std::vector<std::string>& env :
       {std::vector<std::string>{}, {"SUWRAP_REQUEST_ID=a b"}, {"SUWRAP_REQUEST_ID="},
        {"SUWRAP_REQUEST_ID=" + std::string(129, 'a')}, {"SUWRAP_REQUEST_ID=x\\y"}, {"UNIQUE_ID=\n"}}) {
    const std::string id = request_labels(env).request_id;
    EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{32}"))) << id;
  }
  EXPECT_NE(request_labels({}).request_id, request_labels({}).request_id);
}

TEST(RequestLabels, HostIsHttpHostElseServerName) {
  EXPECT_EQ(request_labels({"SERVER_NAME=b.example", "HTTP_HOST=a.example:8080"}).host, "a.example:8080");
  EXPECT_EQ(request_labels({"SERVER_NAME=b.example", "HTTP_HOST="}).host, "b.example");
  EXPECT_EQ(request_labels({}).host, "");
  EXPECT_EQ(request_labels({"HTTP_HOST=" + std::string(1000, 'h')}).host.size(), 255U);
  // Never cut inside a character: the last whole one before the limit ends it.
  EXPECT_EQ(request_labels({"HTTP_HOST=" + std::string(253, 'h') + "\xe2\x82\xac"}).host, std::string(253, 'h'));
  EXPECT_EQ(request_labels({"HTTP_HOST=" + std::string(252, 'h') + "\xe2\x82\xac"}).host,
            std::string(252, 'h') + "\xe2\x82\xac");
}

TEST(IsRequestId, AcceptsWhatWebServersMakeAndNothingThatCouldForge) {
  EXPECT_TRUE(is_request_id("4bf92f3577b34da6a3ce929d0e0e4736"));        // nginx $request_id
  EXPECT_TRUE(is_request_id("ZDcxOGFk@-ZGQ3N2EwMDA"));                   // Apache UNIQUE_ID
  EXPECT_TRUE(is_request_id("123e4567-e89b-12d3-a456-426614174000"));    // a UUID
  EXPECT_TRUE(is_request_id(std::string(128, 'a')));
  EXPECT_FALSE(is_request_id(""));
  EXPECT_FALSE(is_request_id(std::string(129, 'a')));
  for (const char* bad : {"a b", "a\tb", "a\nb", "a\"b", "a\\b", "a%b", "a;b", "\xc3\xa9"})
    EXPECT_FALSE(is_request_id(bad)) << bad;
}

// ---- cgi_refusal ---------------------------------------------------------------------------

TEST(CgiRefusal, WithoutErrorsToBrowserSaysOnlyTheStatus) {
  EXPECT_EQ(cgi_refusal(403, false, Check::docroot, "not inside /var/www"),
            "Status: 403 Forbidden\r\nContent-Type: text/plain\r\n\r\n403 Forbidden\n");
  EXPECT_EQ(cgi_refusal(404, false, Check::path, "/var/www/x.php does not exist"),
            "Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\n404 Not Found\n");
  EXPECT_EQ(cgi_refusal(500, false, Check::config, "bad key"),
            "Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n"
            "500 Internal Server Error\n");
}

TEST(CgiRefusal, WithErrorsToBrowserNamesTheCheckAndReason) {
  EXPECT_EQ(cgi_refusal(403, true, Check::docroot, "not inside /var/www"),
            "Status: 403 Forbidden\r\nContent-Type: text/plain\r\n\r\n"
            "403 Forbidden: refused by check `docroot`: not inside /var/www\n");
  EXPECT_EQ(cgi_refusal(500, true, std::nullopt, "internal error"),
            "Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n"
            "500 Internal Server Error: internal error\n");
}

TEST(CgiRefusal, AReasonCannotAddHeadersOrLines) {
  const std::string response =
      cgi_refusal(403, true, Check::path, "x.php\r\nSet-Cookie: a=b\r\n\r\n<script>\n");
  const std::string head = "Status: 403 Forbidden\r\nContent-Type: text/plain\r\n\r\n";
  ASSERT_TRUE(response.starts_with(head)) << response;
  const std::string body = response.substr(head.size());
  EXPECT_EQ(body.find('\r'), std::string::npos) << body;
  EXPECT_EQ(body.find('\n'), body.size() - 1) << body;
  EXPECT_TRUE(body.starts_with("403 Forbidden: refused by check `path`: x.php")) << body;
}

TEST(CgiRefusal, StatusReasonPhrases) {
  const auto status_line = [](int status) {
    const std::string r = cgi_refusal(status, false, std::nullopt, "");
    return r.substr(0, r.find("\r\n"));
  };
  EXPECT_EQ(status_line(400), "Status: 400 Bad Request");
  EXPECT_EQ(status_line(502), "Status: 502 Bad Gateway");
  EXPECT_EQ(status_line(503), "Status: 503 Service Unavailable");
  EXPECT_EQ(status_line(504), "Status: 504 Gateway Timeout");
  EXPECT_EQ(status_line(418), "Status: 418 Error");
  // Not an HTTP status at all: answered as the internal error it is.
  EXPECT_EQ(status_line(0), "Status: 500 Internal Server Error");
  EXPECT_EQ(status_line(1000), "Status: 500 Internal Server Error");
}

}  // namespace
