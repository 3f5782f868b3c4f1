// SPDX-License-Identifier: Apache-2.0
#include "ending.hpp"

#include "suwrap/config/gate_record.hpp"

namespace suwrap::gate {

bool kills_worker(Ending ending) {
  switch (ending) {
    case Ending::malformed_answer:
    case Ending::wall_limit:
    case Ending::client_gone: return true;
    case Ending::answered:
    case Ending::php_refused:
    case Ending::worker_lost: return false;
  }
  return true;  // an ending not listed: end the worker rather than leave it running
}

std::uint32_t app_status_for(policy::Check check) {
  return policy::gate_refusal_app_status_base + static_cast<std::uint32_t>(check);
}

Closing closing_for(Ending ending, bool output_started, std::uint32_t php_app_status) {
  Closing closing;
  int status = 502;
  switch (ending) {
    case Ending::answered: closing.app_status = php_app_status; return closing;
    case Ending::client_gone:
      // Nobody is left to read an answer; END_REQUEST still goes out on a connection
      // that is open (an aborted request on a kept connection).
      return closing;
    case Ending::wall_limit: status = 504; break;
    case Ending::php_refused:
    case Ending::worker_lost:
    case Ending::malformed_answer: break;
  }
  if (!output_started) closing.error_response = status;
  closing.record = EndingRecord{policy::Verdict::error, policy::Check::exec, status};
  closing.app_status = app_status_for(policy::Check::exec);
  return closing;
}

std::optional<std::chrono::steady_clock::time_point> wall_deadline(
    std::chrono::steady_clock::time_point start, std::uint64_t wall_seconds) {
  if (wall_seconds == 0) return std::nullopt;
  // A limit beyond what the clock can hold is no limit in practice; never overflow.
  const auto room =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::time_point::max() - start);
  if (wall_seconds >= static_cast<std::uint64_t>(room.count())) return std::nullopt;
  return start + std::chrono::seconds(static_cast<std::chrono::seconds::rep>(wall_seconds));
}

}  // namespace suwrap::gate
