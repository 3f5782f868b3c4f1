// SPDX-License-Identifier: Apache-2.0
// Counters and histograms of suwrap-cgid, served as Prometheus text on --metrics-listen
// and --status-path (suwrap-cgid(8), METRICS).
//
// Every update is O(1) in the number of accounts: a counter, a bucket found by binary
// search, one hash lookup for the account. Only a scrape walks the accounts seen.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace suwrap::cgid {

// The latency ladder below `timeout`, then `timeout` itself: no bucket lies beyond what a
// request can take, and the last finite one is the limit (a request ended at --timeout
// falls in it or in +Inf).
std::vector<double> latency_bounds(std::chrono::seconds timeout);

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double seconds);
  // Appends the _bucket, _sum and _count lines of `name` with `labels` (`a="b",...`, or
  // empty) before `le`. The HELP and TYPE lines are the caller's.
  void render(std::string& out, std::string_view name, std::string_view labels) const;
  [[nodiscard]] std::uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> buckets_;  // not cumulative; render() sums them
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

// Requests and CPU seconds per account, bounded: the `limit` busiest accounts (by requests
// since the daemon started) have series of their own; the rest are summed in one series,
// account="(other)" — a name no account can have. An account's own series counts from
// the scrape that gave it one; what it did before stays in "(other)", so no series ever
// goes down. An account that drops out of the busiest is counted in "(other)" again and
// its series ends. Accounts are ranked only when a scrape comes.
class AccountCounters {
 public:
  static constexpr std::string_view other = "(other)";

  explicit AccountCounters(std::size_t limit) : limit_(limit) {}

  void add_request(std::string_view account);
  void add_cpu(std::string_view account, double seconds);
  // Ranks the accounts (at most once per call), then appends both metric families.
  void render(std::string& out);
  [[nodiscard]] std::size_t limit() const { return limit_; }

 private:
  struct Counts {
    std::uint64_t requests = 0;
    double cpu_seconds = 0;
  };
  struct Entry {
    std::uint64_t seen_requests = 0;  // since start: the rank
    bool named = false;
    Counts own;                       // since the account was given its series
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  Entry* entry(std::string_view account);
  void rank();

  std::size_t limit_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> accounts_;
  Counts other_;
};

enum class RequestMode { cgi, warm };

// What the daemon was started with: build_info and the limit gauges.
struct MetricsSettings {
  std::string version;
  std::size_t max_children = 64;
  std::size_t max_pools = 64;
  std::chrono::seconds timeout{60};
  std::chrono::seconds queue_timeout{5};
  std::size_t accounts = 100;  // --metrics-accounts
};

struct Metrics {
  explicit Metrics(const MetricsSettings& settings = {});

  MetricsSettings settings;
  std::map<int, std::uint64_t> requests_by_status;  // the CGI status of each response
  std::map<int, std::uint64_t> wrapper_exits;       // suwrap's exit status: 1 refused, 2 config, 3 internal
  // Refusals by the failed check's name (suwrap's, or in warm mode the gate's), per mode;
  // "unknown" when suwrap refused without naming one.
  std::map<std::pair<RequestMode, std::string>, std::uint64_t> refusals;
  std::uint64_t children_active = 0;
  std::uint64_t requests_queued = 0;
  std::uint64_t queue_timeouts = 0;
  std::uint64_t request_timeouts = 0;
  std::uint64_t spawn_failures = 0;
  std::uint64_t peers_rejected = 0;
  std::uint64_t protocol_errors = 0;
  std::uint64_t connections_open = 0;
  std::uint64_t metrics_connections_refused = 0;  // --metrics-listen at its connection bound
  // Whether suwrap's configuration loads now (asked at each scrape); nullopt: not known.
  std::optional<bool> config_loads;
  // Warm mode.
  std::uint64_t pools_running = 0;  // supervisors alive, retiring ones included
  std::uint64_t pool_starts = 0;
  std::uint64_t pool_unexpected_exits = 0;  // a ready pool ended without being retired
  std::uint64_t pools_full = 0;     // requests answered 503 at --max-pools
  Histogram spawn_seconds;
  Histogram cgi_seconds;   // params to the end of the response, one suwrap per request
  Histogram warm_seconds;  // the same through a warm pool
  AccountCounters accounts;

  void count_refusal(RequestMode mode, std::string_view check) { ++refusals[{mode, std::string(check)}]; }
  void observe_response(RequestMode mode, double seconds) {
    (mode == RequestMode::cgi ? cgi_seconds : warm_seconds).observe(seconds);
  }
  [[nodiscard]] std::string render();
};

// A label value as the text format wants it: backslash, double quote and newline escaped.
std::string label_value(std::string_view value);

}  // namespace suwrap::cgid
