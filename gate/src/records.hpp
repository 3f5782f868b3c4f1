// SPDX-License-Identifier: Apache-2.0
// The gate's one log channel: refusal records on fd 2, a pipe to the pool's supervisor
// (suwrap --pool, still root), which turns each into a §6 decision line. Nothing else is
// written there, so every line the supervisor reads is meant as a record.
#pragma once

#include <string_view>

#include "suwrap/config/gate_record.hpp"

namespace suwrap::gate {

// Writes all of `bytes` to `fd`, going on after a partial write or EINTR. False if the
// descriptor takes no more.
bool write_all(int fd, std::string_view bytes);

// Writes the record as one line on fd 2 (whole, retried after a partial write). A record
// that cannot be written changes nothing: the request is refused all the same.
void write_record(const policy::GateRefusal& refusal);

}  // namespace suwrap::gate
