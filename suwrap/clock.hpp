// SPDX-License-Identifier: Apache-2.0
// The supervisor's clock: milliseconds of CLOCK_MONOTONIC, for the wall limit, its grace
// and the gate log's rate.
#pragma once

#include <cstdint>
#include <ctime>

namespace suwrap {

inline std::int64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace suwrap
