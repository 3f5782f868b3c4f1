// SPDX-License-Identifier: Apache-2.0
// suwrap-cgid's metrics: the histogram's buckets, the bounded account series, the text,
// and the small HTTP answer of --metrics-listen.
#include "metrics.hpp"
#include "metrics_http.hpp"

#include <gtest/gtest.h>

#include <string>

#include "suwrap/config/names.hpp"

namespace suwrap::cgid {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(LatencyBounds, EndAtTheTimeout) {
  const auto sixty = latency_bounds(std::chrono::seconds(60));
  EXPECT_EQ(sixty.back(), 60.0);
  EXPECT_EQ(sixty[sixty.size() - 2], 30.0) << "the ladder's 60 is not there twice";
  const auto seven = latency_bounds(std::chrono::seconds(7));
  EXPECT_EQ(seven.back(), 7.0);
  EXPECT_EQ(seven[seven.size() - 2], 5.0);
  const auto day = latency_bounds(std::chrono::seconds(86400));
  EXPECT_EQ(day.back(), 86400.0);
  EXPECT_EQ(day[day.size() - 2], 3600.0);
}

TEST(Histogram, BucketsAreCumulativeAndAValueOnABoundIsInIt) {
  Histogram h({0.1, 1, 10});
  h.observe(0.1);
  h.observe(0.5);
  h.observe(20);
  std::string out;
  h.render(out, "x_seconds", "mode=\"cgi\"");
  EXPECT_TRUE(has_line(out, "x_seconds_bucket{mode=\"cgi\",le=\"0.1\"} 1")) << out;
  EXPECT_TRUE(has_line(out, "x_seconds_bucket{mode=\"cgi\",le=\"1\"} 2")) << out;
  EXPECT_TRUE(has_line(out, "x_seconds_bucket{mode=\"cgi\",le=\"10\"} 2")) << out;
  EXPECT_TRUE(has_line(out, "x_seconds_bucket{mode=\"cgi\",le=\"+Inf\"} 3")) << out;
  EXPECT_TRUE(has_line(out, "x_seconds_count{mode=\"cgi\"} 3")) << out;
}

TEST(AccountCounters, UnderTheLimitEveryAccountHasItsSeries) {
  AccountCounters counters(3);
  counters.add_request("alice");
  counters.add_request("bob");
  std::string out;
  counters.render(out);
  // Counted before their first scrape: in "(other)"; their own series start at the scrape.
  EXPECT_TRUE(has_line(out, "suwrap_cgid_account_requests_total{account=\"(other)\"} 2")) << out;
  EXPECT_TRUE(has_line(out, "suwrap_cgid_account_requests_total{account=\"alice\"} 0")) << out;
  counters.add_request("alice");
  counters.add_cpu("alice", 0.25);
  out.clear();
  counters.render(out);
  EXPECT_TRUE(has_line(out, "suwrap_cgid_account_requests_total{account=\"alice\"} 1")) << out;
  EXPECT_TRUE(has_line(out, "suwrap_cgid_account_cpu_seconds_total{account=\"alice\"} 0.25")) << out;
  EXPECT_TRUE(has_line(out, "suwrap_cgid_account_requests_total{account=\"(other)\"} 2")) << out;
}

TEST(AccountCounters, OnlyTheBusiestKeepASeriesAndNoSeriesGoesDown) {
  AccountCounters counters(2);
  for (int i = 0; i < 5; ++i) counters.add_request("busy");
  for (int i = 0; i < 3; ++i) counters.add_request("middle");
  counters.add_request("quiet");
  std::string out;
  counters.render(out);
  EXPECT_EQ(out.find("account=\"quiet\""), std::string::npos) << out;
  EXPECT_NE(out.find("account=\"busy\""), std::string::npos) << out;
  EXPECT_TRUE(has_line(out, "suwrap_cgid_account_requests_total{account=\"(other)\"} 9")) << out;

  // quiet becomes the busiest: middle's series ends, quiet's starts at 0; "(other)" holds
  // quiet's ten requests from before.
  for (int i = 0; i < 10; ++i) counters.add_request("quiet");
  counters.add_request("middle");
  out.clear();
  counters.render(out);
  EXPECT_EQ(out.find("account=\"middle\""), std::string::npos) << out;
  EXPECT_TRUE(has_line(out, "suwrap_cgid_account_requests_total{account=\"quiet\"} 0")) << out;
  EXPECT_TRUE(has_line(out, "suwrap_cgid_account_requests_total{account=\"(other)\"} 19")) << out;
}

TEST(AccountCounters, ZeroMeansOnlyTheOtherSeries) {
  AccountCounters counters(0);
  counters.add_request("alice");
  std::string out;
  counters.render(out);
  EXPECT_EQ(out.find("alice"), std::string::npos) << out;
  EXPECT_TRUE(has_line(out, "suwrap_cgid_account_requests_total{account=\"(other)\"} 1")) << out;
}

TEST(Metrics, TextCarriesBuildInfoLimitsAndRefusalsByCheck) {
  Metrics m(MetricsSettings{"1.2.3", 16, 8, std::chrono::seconds(30), std::chrono::seconds(5), 10});
  m.count_refusal(RequestMode::cgi, "docroot");
  m.count_refusal(RequestMode::warm, "file_perms");
  m.observe_response(RequestMode::warm, 0.2);
  m.config_loads = false;
  const std::string out = m.render();
  EXPECT_TRUE(has_line(out, "suwrap_cgid_build_info{version=\"1.2.3\"} 1")) << out;
  EXPECT_TRUE(has_line(out, "suwrap_cgid_max_children 16")) << out;
  EXPECT_TRUE(has_line(out, "suwrap_cgid_max_pools 8")) << out;
  EXPECT_TRUE(has_line(out, "suwrap_cgid_config_loaded 0")) << out;
  EXPECT_TRUE(has_line(out, "suwrap_cgid_refusals_total{mode=\"cgi\",check=\"docroot\"} 1")) << out;
  EXPECT_TRUE(has_line(out, "suwrap_cgid_refusals_total{mode=\"warm\",check=\"file_perms\"} 1")) << out;
  EXPECT_TRUE(has_line(out, "suwrap_cgid_response_seconds_bucket{mode=\"warm\",le=\"30\"} 1")) << out;
  EXPECT_TRUE(has_line(out, "suwrap_cgid_response_seconds_count{mode=\"cgi\"} 0")) << out;
}

TEST(LabelValue, EscapesWhatTheTextFormatWants) {
  EXPECT_EQ(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(RefusalLine, RoundTripsAndNothingElseParses) {
  const std::string line = policy::refusal_line(policy::Check::docroot);
  EXPECT_EQ(line, "suwrap: refused by check `docroot`\n");
  const auto parsed = policy::parse_refusal_line(line + "more");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->first, policy::Check::docroot);
  EXPECT_EQ(parsed->second, line.size());
  EXPECT_FALSE(policy::parse_refusal_line("suwrap: refused by check `nosuch`\n"));
  EXPECT_FALSE(policy::parse_refusal_line("suwrap: refused by check `docroot`"));
  EXPECT_FALSE(policy::parse_refusal_line("x suwrap: refused by check `docroot`\n"));
}

TEST(MetricsAddress, IpAndPortOrAUnixPath) {
  std::string error;
  auto v4 = parse_metrics_address("127.0.0.1:9258", error);
  ASSERT_TRUE(v4) << error;
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 9258);
  auto v6 = parse_metrics_address("[::1]:9258", error);
  ASSERT_TRUE(v6) << error;
  EXPECT_EQ(v6->host, "::1");
  auto path = parse_metrics_address("/run/suwrap/metrics.sock", error);
  ASSERT_TRUE(path);
  EXPECT_TRUE(path->is_unix());
  for (const char* bad : {"localhost:9258", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "::1:9258", ":9258",
                          "127.0.0.1:92x", "relative.sock"})
    EXPECT_FALSE(parse_metrics_address(bad, error)) << bad;
}

TEST(MetricsRequest, OnlyGetOfMetrics) {
  EXPECT_EQ(judge_metrics_request("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").status, 200);
  EXPECT_EQ(judge_metrics_request("GET /metrics?x=1 HTTP/1.0\n\n").status, 200);
  const auto head = judge_metrics_request("HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.head_only);
  EXPECT_EQ(judge_metrics_request("GET / HTTP/1.1\r\n\r\n").status, 404);
  EXPECT_EQ(judge_metrics_request("POST /metrics HTTP/1.1\r\n\r\n").status, 405);
  EXPECT_EQ(judge_metrics_request("GET /metrics\r\n\r\n").status, 400);
  EXPECT_EQ(judge_metrics_request("GET /metrics HTTP/1.1\r\n").status, 400) << "no end of the head";
  EXPECT_EQ(judge_metrics_request(std::string(metrics_head_limit, 'a')).status, 431);
}

TEST(MetricsResponse, LengthAndCloseAndNoBodyForHead) {
  const std::string ok = metrics_http_response({200, false}, "a 1\n");
  EXPECT_TRUE(ok.starts_with("HTTP/1.1 200 OK\r\n")) << ok;
  EXPECT_NE(ok.find("Content-Length: 4\r\n"), std::string::npos) << ok;
  EXPECT_NE(ok.find("Connection: close\r\n"), std::string::npos) << ok;
  EXPECT_TRUE(ok.ends_with("\r\n\r\na 1\n")) << ok;
  const std::string head = metrics_http_response({200, true}, "a 1\n");
  EXPECT_TRUE(head.ends_with("\r\n\r\n")) << head;
  EXPECT_NE(metrics_http_response({405, false}, "").find("Allow: GET, HEAD\r\n"), std::string::npos);
}

}  // namespace
}  // namespace suwrap::cgid
