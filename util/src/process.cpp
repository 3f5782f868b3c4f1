// SPDX-License-Identifier: Apache-2.0
#include "suwrap/util/process.hpp"

#include <fcntl.h>

#include <cerrno>

namespace suwrap::util {

bool ensure_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // open() returns the lowest free descriptor, which is this one.
    const int opened = ::open("/dev/null", O_RDWR | O_NOCTTY);
    if (opened != fd) return false;
  }
  return true;
}

}  // namespace suwrap::util
