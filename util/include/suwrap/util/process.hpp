// SPDX-License-Identifier: Apache-2.0
// What a program does first, before it opens anything.
#pragma once

namespace suwrap::util {

// Makes sure descriptors 0, 1 and 2 are open (on /dev/null where the caller closed them),
// so that no file or socket opened later becomes someone's stdin, stdout or stderr.
// Returns false if that could not be done.
[[nodiscard]] bool ensure_standard_fds();

}  // namespace suwrap::util
