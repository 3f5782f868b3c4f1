// SPDX-License-Identifier: Apache-2.0
// Counters and histograms of suwrap-cgid, served as Prometheus text on --status-path.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include <sys/types.h>

namespace suwrap::cgid {

class Histogram {
 public:
  void observe(double seconds);
  // Appends the _bucket, _sum and _count lines of `name`.
  void render(std::string& out, const std::string& name, const std::string& help) const;

 private:
  static constexpr std::array<double, 12> bounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,   0.25,   0.5,   1.0,  2.5,   10.0};
  std::array<std::uint64_t, bounds.size()> buckets_{};
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

struct Metrics {
  std::map<int, std::uint64_t> requests_by_status;  // the CGI status of each response
  std::map<int, std::uint64_t> wrapper_exits;       // suwrap's exit status: 1 refused, 2 config, 3 internal
  std::uint64_t children_active = 0;
  std::uint64_t requests_queued = 0;
  std::uint64_t queue_timeouts = 0;
  std::uint64_t request_timeouts = 0;
  std::uint64_t spawn_failures = 0;
  std::uint64_t peers_rejected = 0;
  std::uint64_t protocol_errors = 0;
  std::uint64_t connections_open = 0;
  // Warm mode.
  std::uint64_t pools_running = 0;  // supervisors alive, retiring ones included
  std::uint64_t pool_starts = 0;
  std::uint64_t pools_full = 0;     // requests answered 503 at --max-pools
  std::map<uid_t, std::uint64_t> warm_requests_by_uid;
  std::map<std::string, std::uint64_t> warm_refusals_by_check;  // from the gate's END_REQUEST
  Histogram spawn_seconds;
  Histogram response_seconds;

  [[nodiscard]] std::string render() const;
};

}  // namespace suwrap::cgid
