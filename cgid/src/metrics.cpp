// SPDX-License-Identifier: Apache-2.0
#include "metrics.hpp"

#include <cstdio>

namespace suwrap::cgid {

namespace {

std::string number(double v) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%g", v);
  return buf.data();
}

void counter(std::string& out, const std::string& name, const std::string& help, const std::string& type,
             std::uint64_t value) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  out += name + " " + std::to_string(value) + "\n";
}

}  // namespace

void Histogram::observe(double seconds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (seconds <= bounds[i]) ++buckets_[i];
  }
  ++count_;
  sum_ += seconds;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  for (size_t i = 0; i < bounds.size(); ++i)
    out += name + "_bucket{le=\"" + number(bounds[i]) + "\"} " + std::to_string(buckets_[i]) + "\n";
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + number(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
}

std::string Metrics::render() const {
  std::string out;
  out += "# HELP suwrap_cgid_requests_total Requests answered, by CGI status.\n";
  out += "# TYPE suwrap_cgid_requests_total counter\n";
  for (const auto& [status, n] : requests_by_status)
    out += "suwrap_cgid_requests_total{status=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  out += "# HELP suwrap_cgid_wrapper_refusals_total Requests suwrap refused, by its exit status "
         "(1 policy, 2 configuration, 3 internal).\n";
  out += "# TYPE suwrap_cgid_wrapper_refusals_total counter\n";
  for (const auto& [code, n] : wrapper_exits)
    out += "suwrap_cgid_wrapper_refusals_total{exit=\"" + std::to_string(code) + "\"} " + std::to_string(n) + "\n";
  counter(out, "suwrap_cgid_children_active", "suwrap processes running now.", "gauge", children_active);
  counter(out, "suwrap_cgid_requests_queued", "Requests waiting for a free child.", "gauge", requests_queued);
  counter(out, "suwrap_cgid_connections_open", "FastCGI connections open now.", "gauge", connections_open);
  counter(out, "suwrap_cgid_queue_timeouts_total", "Requests answered 503 after --queue-timeout.", "counter",
          queue_timeouts);
  counter(out, "suwrap_cgid_request_timeouts_total", "Requests ended at --timeout.", "counter", request_timeouts);
  counter(out, "suwrap_cgid_spawn_failures_total", "suwrap could not be started.", "counter", spawn_failures);
  counter(out, "suwrap_cgid_peers_rejected_total", "Connections closed by the SO_PEERCRED check.", "counter",
          peers_rejected);
  counter(out, "suwrap_cgid_protocol_errors_total", "Connections closed for a malformed record stream.",
          "counter", protocol_errors);
  counter(out, "suwrap_cgid_pools_running", "Warm pools whose supervisor runs now (retiring ones included).",
          "gauge", pools_running);
  counter(out, "suwrap_cgid_pool_starts_total", "Warm pools started (suwrap --pool runs).", "counter", pool_starts);
  counter(out, "suwrap_cgid_pool_full_total", "Warm requests answered 503 at --max-pools.", "counter", pools_full);
  out += "# HELP suwrap_cgid_warm_requests_total Requests forwarded to a warm pool, by the script owner's uid.\n";
  out += "# TYPE suwrap_cgid_warm_requests_total counter\n";
  for (const auto& [uid, n] : warm_requests_by_uid)
    out += "suwrap_cgid_warm_requests_total{uid=\"" + std::to_string(uid) + "\"} " + std::to_string(n) + "\n";
  out += "# HELP suwrap_cgid_warm_refusals_total Warm requests the gate refused, by check.\n";
  out += "# TYPE suwrap_cgid_warm_refusals_total counter\n";
  for (const auto& [check, n] : warm_refusals_by_check)
    out += "suwrap_cgid_warm_refusals_total{check=\"" + check + "\"} " + std::to_string(n) + "\n";
  spawn_seconds.render(out, "suwrap_cgid_spawn_seconds", "Time to start suwrap.");
  response_seconds.render(out, "suwrap_cgid_response_seconds", "Time from params to the end of the response.");
  return out;
}

}  // namespace suwrap::cgid
