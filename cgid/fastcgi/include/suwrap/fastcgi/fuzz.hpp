// SPDX-License-Identifier: Apache-2.0
// The codec's fuzzing entry point; tests/fuzz/ wraps it in LLVMFuzzerTestOneInput.
#pragma once

#include <cstddef>
#include <span>

namespace suwrap::fastcgi {

// Feeds `input` to a Session (its first two bytes choose the configuration
// and how the rest is cut into chunks) and to a ResponseParser, and aborts the
// process if a property the codec promises is broken:
//  - the same bytes give the same events and replies whether fed whole, byte by
//    byte, or in chunks;
//  - a ProtocolError is the last event, and at most one;
//  - a begun request is active until the caller ends it, end_request answers
//    exactly for active requests, and no more requests are active than allowed
//    (checked in a pass that ends requests as a daemon would, which also
//    reaches the paths for ids the session ended);
// and it must never crash, leak or read out of bounds (the sanitizers judge).
void fuzz_one_input(std::span<const std::byte> input) noexcept;

}  // namespace suwrap::fastcgi
