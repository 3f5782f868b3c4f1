// SPDX-License-Identifier: Apache-2.0
// Warm mode (`suwrap --pool`): the child's exec of the account's gate instead of a handler,
// and what the supervisor does for a pool besides supervising it — the gate's refusal
// lines turned into log lines, and processes that escaped a request killed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "run.hpp"
#include "suwrap/util/fd.hpp"

namespace suwrap {

// The compiled-in gate, opened as root and checked before the drop.
std::optional<std::string> open_gate(util::Fd& out);

// Warm mode's step 15: the gate runs as the account user with fd 0 the pool's listening
// socket (inherited from the caller, checked in main), fd 1 the start channel and fd 2 the
// pipe its refusal lines go to. Its arguments and environment come from the configuration
// and the decision alone.
[[noreturn]] void exec_gate(const RunContext& ctx, int report_fd, const util::Fd& gate, int gate_log_fd);

// The gate's refusal lines, read by the supervisor: each complete line that is a record
// becomes a §6 decision line whose identity fields come from the pool's own decision. A
// line over the limit is dropped whole, up to its newline.
//
// The account controls what is written on that pipe (its gate runs as the account user),
// so the supervisor takes at most one bounded read per round of its loop — signals and the
// gate's end are never starved — and logs at most `records_per_second` lines (bursts up to
// `record_burst`). Lines over that are counted, and the count is logged once the rate
// allows it again, and when the pool ends.
class GateLogReader {
 public:
  explicit GateLogReader(const RunContext& ctx);

  // One read of what is there; false once the pipe is at its end (or broken).
  bool read_once(int fd);

  // Logs the count of lines the rate limit held back, if any.
  void flush_suppressed();

 private:
  static constexpr std::int64_t records_per_second = 100;
  static constexpr std::int64_t record_burst = 1000;

  void take(std::string_view bytes);
  bool take_token();
  void write_record(const std::string& line);

  const RunContext& ctx_;
  std::string line_;
  bool discarding_ = false;
  std::int64_t tokens_ = record_burst;
  std::int64_t last_refill_ms_;
  std::uint64_t suppressed_ = 0;
};

// A pool lives long: a process that escaped a request (a double fork, a background job
// whose worker was replaced) is re-parented to the supervisor, the subreaper. Only the
// gate is the supervisor's own; everything else re-parented here is killed and reaped
// at once, so nothing outlives its request and no zombie piles up.
void end_escaped(pid_t gate);

}  // namespace suwrap
