// SPDX-License-Identifier: Apache-2.0
// A broken property stops the fuzzer on the input that broke it, and says which property:
// libFuzzer saves the input as crash-<sha1> and the message names what to look at.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace suwrap::fuzz {

inline void require(bool holds, const char* property) {
  if (holds) return;
  std::fprintf(stderr, "fuzz property broken: %s\n", property);
  std::abort();
}

}  // namespace suwrap::fuzz
