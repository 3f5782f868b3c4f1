// SPDX-License-Identifier: Apache-2.0
#include "records.hpp"

#include <unistd.h>

#include <cerrno>
#include <string>

namespace suwrap::gate {

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void write_record(const policy::GateRefusal& refusal) {
  (void)write_all(STDERR_FILENO, policy::encode_gate_refusal(refusal));
}

}  // namespace suwrap::gate
