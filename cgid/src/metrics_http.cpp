// SPDX-License-Identifier: Apache-2.0
#include "metrics_http.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace suwrap::cgid {

namespace {

constexpr std::string_view expected_address =
    "an IP address and port (127.0.0.1:9258, [::1]:9258) or an absolute unix socket path";

bool is_ip_address(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string_view reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    default: return "Error";
  }
}

}  // namespace

std::optional<MetricsAddress> parse_metrics_address(std::string_view text, std::string& error) {
  MetricsAddress address;
  if (text.starts_with('/')) {
    if (text.size() >= 108 || text.find('\0') != std::string_view::npos) {  // sun_path
      error = "a unix socket path shorter than 108 bytes";
      return std::nullopt;
    }
    address.path = std::string(text);
    return address;
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    error = std::string(expected_address);
    return std::nullopt;
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (host.starts_with('[') && host.ends_with(']')) {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    error = "an IPv6 address in brackets: [::1]:9258";
    return std::nullopt;
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
    error = "a port from 1 to 65535 after the address";
    return std::nullopt;
  }
  address.host = std::string(host);
  if (!is_ip_address(address.host)) {
    error = std::string(expected_address) + " (no host names)";
    return std::nullopt;
  }
  address.port = static_cast<std::uint16_t>(value);
  return address;
}

bool request_head_complete(std::string_view received) {
  return received.find("\r\n\r\n") != std::string_view::npos || received.find("\n\n") != std::string_view::npos;
}

MetricsRequest judge_metrics_request(std::string_view head) {
  MetricsRequest request;
  if (!request_head_complete(head)) {
    request.status = head.size() >= metrics_head_limit ? 431 : 400;
    return request;
  }
  std::string_view line = head.substr(0, head.find('\n'));
  if (line.ends_with('\r')) line.remove_suffix(1);
  // METHOD SP TARGET SP HTTP/x.y
  const auto first = line.find(' ');
  const auto last = line.rfind(' ');
  if (first == std::string_view::npos || last == first || !line.substr(last + 1).starts_with("HTTP/1.")) return request;
  const std::string_view method = line.substr(0, first);
  std::string_view target = line.substr(first + 1, last - first - 1);
  target = target.substr(0, target.find('?'));  // Prometheus may add params; none is used
  if (method != "GET" && method != "HEAD") {
    request.status = 405;
    return request;
  }
  request.head_only = method == "HEAD";
  request.status = target == "/metrics" ? 200 : 404;
  return request;
}

std::string metrics_http_response(const MetricsRequest& request, std::string_view body) {
  std::string text;
  std::string_view content_type = "text/plain; charset=utf-8";
  if (request.status == 200) {
    content_type = "text/plain; version=0.0.4; charset=utf-8";
  } else {
    text = std::to_string(request.status) + " " + std::string(reason(request.status)) +
           (request.status == 404 ? ": only /metrics is served here\n" : "\n");
    body = text;
  }
  std::string out = "HTTP/1.1 " + std::to_string(request.status) + " " + std::string(reason(request.status)) + "\r\n";
  out += "Content-Type: ";
  out += content_type;
  out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (request.status == 405) out += "Allow: GET, HEAD\r\n";
  out += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
  if (!request.head_only) out += body;
  return out;
}

}  // namespace suwrap::cgid
