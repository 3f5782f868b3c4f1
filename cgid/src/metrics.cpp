// SPDX-License-Identifier: Apache-2.0
#include "metrics.hpp"

#include <algorithm>
#include <cstdio>

namespace suwrap::cgid {

namespace {

constexpr std::array<double, 18> latency_ladder = {0.005, 0.01, 0.025, 0.05, 0.1,  0.25,  0.5,  1,    2.5,
                                                   5,     10,   30,    60,   120,  300,   600,  1800, 3600};
const std::vector<double> spawn_ladder = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0};

// Integers as integers, the rest with 15 significant digits (0.1 stays "0.1").
std::string number(double v) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%.15g", v);
  return buf.data();
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, std::string_view name, std::string_view labels, const std::string& value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

void single(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            std::uint64_t value) {
  family(out, name, type, help);
  sample(out, name, {}, std::to_string(value));
}

std::string_view mode_name(RequestMode mode) { return mode == RequestMode::cgi ? "cgi" : "warm"; }

}  // namespace

std::string label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<double> latency_bounds(std::chrono::seconds timeout) {
  const auto limit = static_cast<double>(timeout.count());
  std::vector<double> bounds;
  for (const double b : latency_ladder) {
    if (b < limit) bounds.push_back(b);
  }
  bounds.push_back(limit);
  return bounds;
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), buckets_(bounds_.size(), 0) {}

void Histogram::observe(double seconds) {
  // The first bound at or above the value; past the last one only +Inf (count_) holds it.
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), seconds);
  if (it != bounds_.end()) ++buckets_[static_cast<std::size_t>(it - bounds_.begin())];
  ++count_;
  sum_ += seconds;
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  const std::string bucket = std::string(name) + "_bucket";
  const std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i];
    sample(out, bucket, prefix + "le=\"" + number(bounds_[i]) + "\"", std::to_string(cumulative));
  }
  sample(out, bucket, prefix + "le=\"+Inf\"", std::to_string(count_));
  sample(out, std::string(name) + "_sum", labels, number(sum_));
  sample(out, std::string(name) + "_count", labels, std::to_string(count_));
}

// --- per account -----------------------------------------------------------------------

AccountCounters::Entry* AccountCounters::entry(std::string_view account) {
  if (limit_ == 0) return nullptr;
  if (auto it = accounts_.find(account); it != accounts_.end()) return &it->second;
  return &accounts_.emplace(std::string(account), Entry{}).first->second;
}

void AccountCounters::add_request(std::string_view account) {
  Entry* e = entry(account);
  if (e != nullptr) ++e->seen_requests;
  if (e != nullptr && e->named) {
    ++e->own.requests;
  } else {
    ++other_.requests;
  }
}

void AccountCounters::add_cpu(std::string_view account, double seconds) {
  Entry* e = entry(account);
  if (e != nullptr && e->named) {
    e->own.cpu_seconds += seconds;
  } else {
    other_.cpu_seconds += seconds;
  }
}

// The `limit_` busiest by requests since start; ties keep the accounts that have a series
// already (no churn between two scrapes), then go by name.
void AccountCounters::rank() {
  if (accounts_.size() <= limit_) {
    for (auto& [name, e] : accounts_) e.named = true;
    return;
  }
  std::vector<std::pair<const std::string*, Entry*>> order;
  order.reserve(accounts_.size());
  for (auto& [name, e] : accounts_) order.emplace_back(&name, &e);
  const auto busier = [](const auto& a, const auto& b) {
    if (a.second->seen_requests != b.second->seen_requests) return a.second->seen_requests > b.second->seen_requests;
    if (a.second->named != b.second->named) return a.second->named;
    return *a.first < *b.first;
  };
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(limit_), order.end(), busier);
  for (std::size_t i = 0; i < order.size(); ++i) {
    Entry& e = *order[i].second;
    const bool keep = i < limit_;
    // A series that ends starts again from zero should the account come back: a new series
    // to Prometheus, never one that went down.
    if (e.named && !keep) e.own = {};
    e.named = keep;
  }
}

void AccountCounters::render(std::string& out) {
  rank();
  std::vector<std::pair<std::string_view, const Counts*>> rows;
  for (const auto& [name, e] : accounts_) {
    if (e.named) rows.emplace_back(name, &e.own);
  }
  std::sort(rows.begin(), rows.end());
  rows.emplace_back(other, &other_);
  family(out, "suwrap_cgid_account_requests_total", "counter",
         "Requests by account (the --metrics-accounts busiest; the rest under account=\"(other)\").");
  for (const auto& [name, counts] : rows)
    sample(out, "suwrap_cgid_account_requests_total", "account=\"" + label_value(name) + "\"",
           std::to_string(counts->requests));
  family(out, "suwrap_cgid_account_cpu_seconds_total", "counter",
         "CPU seconds of ended processes by account: suwrap and its program per request, a warm pool's "
         "whole tree when the pool ends.");
  for (const auto& [name, counts] : rows)
    sample(out, "suwrap_cgid_account_cpu_seconds_total", "account=\"" + label_value(name) + "\"",
           number(counts->cpu_seconds));
}

// --- the whole -------------------------------------------------------------------------

Metrics::Metrics(const MetricsSettings& given)
    : settings(given),
      spawn_seconds(spawn_ladder),
      cgi_seconds(latency_bounds(given.timeout)),
      warm_seconds(latency_bounds(given.timeout)),
      accounts(given.accounts) {}

std::string Metrics::render() {
  std::string out;
  family(out, "suwrap_cgid_build_info", "gauge", "Always 1; the version of this suwrap-cgid.");
  sample(out, "suwrap_cgid_build_info", "version=\"" + label_value(settings.version) + "\"", "1");
  single(out, "suwrap_cgid_max_children", "gauge", "--max-children: suwrap processes at once.",
         settings.max_children);
  single(out, "suwrap_cgid_max_pools", "gauge", "--max-pools: warm pools at once.", settings.max_pools);
  single(out, "suwrap_cgid_timeout_seconds", "gauge", "--timeout: seconds a request may run.",
         static_cast<std::uint64_t>(settings.timeout.count()));
  single(out, "suwrap_cgid_queue_timeout_seconds", "gauge", "--queue-timeout: seconds a request waits for a child.",
         static_cast<std::uint64_t>(settings.queue_timeout.count()));
  if (config_loads)
    single(out, "suwrap_cgid_config_loaded", "gauge",
           "1 when suwrap's configuration loads (root-owned and valid), 0 when suwrap refuses every request.",
           *config_loads ? 1 : 0);

  family(out, "suwrap_cgid_requests_total", "counter", "Requests answered, by CGI status.");
  for (const auto& [status, n] : requests_by_status)
    sample(out, "suwrap_cgid_requests_total", "status=\"" + std::to_string(status) + "\"", std::to_string(n));
  family(out, "suwrap_cgid_wrapper_refusals_total", "counter",
         "Requests suwrap refused, by its exit status (1 policy, 2 configuration, 3 internal).");
  for (const auto& [code, n] : wrapper_exits)
    sample(out, "suwrap_cgid_wrapper_refusals_total", "exit=\"" + std::to_string(code) + "\"", std::to_string(n));
  family(out, "suwrap_cgid_refusals_total", "counter",
         "Requests refused, by mode and the check that failed (suwrap's per request, the gate's when warm).");
  for (const auto& [key, n] : refusals)
    sample(out, "suwrap_cgid_refusals_total",
           "mode=\"" + std::string(mode_name(key.first)) + "\",check=\"" + label_value(key.second) + "\"",
           std::to_string(n));

  single(out, "suwrap_cgid_children_active", "gauge", "suwrap processes running now.", children_active);
  single(out, "suwrap_cgid_requests_queued", "gauge", "Requests waiting for a free child.", requests_queued);
  single(out, "suwrap_cgid_connections_open", "gauge", "FastCGI connections open now.", connections_open);
  single(out, "suwrap_cgid_queue_timeouts_total", "counter", "Requests answered 503 after --queue-timeout.",
         queue_timeouts);
  single(out, "suwrap_cgid_request_timeouts_total", "counter", "Requests ended at --timeout.", request_timeouts);
  single(out, "suwrap_cgid_spawn_failures_total", "counter", "suwrap could not be started.", spawn_failures);
  single(out, "suwrap_cgid_peers_rejected_total", "counter", "Connections closed by the SO_PEERCRED check.",
         peers_rejected);
  single(out, "suwrap_cgid_protocol_errors_total", "counter", "Connections closed for a malformed record stream.",
         protocol_errors);
  single(out, "suwrap_cgid_metrics_connections_refused_total", "counter",
         "--metrics-listen connections closed unanswered: too many at once.", metrics_connections_refused);
  single(out, "suwrap_cgid_pools_running", "gauge", "Warm pools whose supervisor runs now (retiring ones included).",
         pools_running);
  single(out, "suwrap_cgid_pool_starts_total", "counter", "Warm pools started (suwrap --pool runs).", pool_starts);
  single(out, "suwrap_cgid_pool_unexpected_exits_total", "counter",
         "Warm pools that ended on their own after they were ready (not retired by the daemon).",
         pool_unexpected_exits);
  single(out, "suwrap_cgid_pool_full_total", "counter", "Warm requests answered 503 at --max-pools.", pools_full);

  accounts.render(out);

  family(out, "suwrap_cgid_spawn_seconds", "histogram", "Time to start suwrap.");
  spawn_seconds.render(out, "suwrap_cgid_spawn_seconds", {});
  family(out, "suwrap_cgid_response_seconds", "histogram",
         "Time from params to the end of the response, by mode (cgi: one suwrap per request; warm: a pool).");
  cgi_seconds.render(out, "suwrap_cgid_response_seconds", "mode=\"cgi\"");
  warm_seconds.render(out, "suwrap_cgid_response_seconds", "mode=\"warm\"");
  return out;
}

}  // namespace suwrap::cgid
