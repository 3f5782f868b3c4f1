// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry for the FastCGI codec. The properties checked (same events whatever the
// chunking, one ProtocolError at most and last, request bookkeeping) live beside the codec
// in fuzz_one_input, so the unit tests replay the same checks on their own inputs.
#include <cstddef>
#include <cstdint>
#include <span>

#include "suwrap/fastcgi/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  suwrap::fastcgi::fuzz_one_input(std::as_bytes(std::span(data, size)));
  return 0;
}
