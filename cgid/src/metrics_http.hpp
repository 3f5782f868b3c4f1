// SPDX-License-Identifier: Apache-2.0
// --metrics-listen: the metrics over plain HTTP, for Prometheus to scrape without a web
// server in front (suwrap-cgid(8), METRICS). The pure part: the address, the one request
// it answers, the response. The listener itself is metrics_listener.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace suwrap::cgid {

// Where the metrics are served: a unix socket path (starts with '/'), or an IP address and
// port ("127.0.0.1:9258", "[::1]:9258"). No host names: nothing here waits for DNS.
struct MetricsAddress {
  std::string path;  // unix socket; empty for TCP
  std::string host;  // TCP: an IPv4 or IPv6 address, without brackets
  std::uint16_t port = 0;
  [[nodiscard]] bool is_unix() const { return !path.empty(); }
};
// The address, or nullopt with what was expected in `error`.
std::optional<MetricsAddress> parse_metrics_address(std::string_view text, std::string& error);

// The bounds that keep a scraper, or anyone who reaches the port, from costing the daemon
// more than a few descriptors and a few kilobytes.
inline constexpr std::size_t metrics_head_limit = 4096;     // bytes of request line and headers
inline constexpr std::size_t metrics_max_connections = 4;  // at once; more are closed at accept

// What one request head gets. Only GET (and HEAD) of /metrics is served.
struct MetricsRequest {
  int status = 400;        // 200, or 400 / 404 / 405 / 431
  bool head_only = false;  // HEAD: the headers without the body
};
// The answer to `head`, the bytes up to the blank line (or `metrics_head_limit` bytes
// without one: 431).
MetricsRequest judge_metrics_request(std::string_view head);

// Whether `received` holds a whole request head (ends with a blank line).
bool request_head_complete(std::string_view received);

// The whole HTTP/1.1 response, closing the connection: for 200 the metrics `body` (text
// format 0.0.4), else a one-line reason.
std::string metrics_http_response(const MetricsRequest& request, std::string_view body);

}  // namespace suwrap::cgid
