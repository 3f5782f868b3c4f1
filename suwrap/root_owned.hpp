// SPDX-License-Identifier: Apache-2.0
// Root's own files that suwrap hands to an account's processes (the gate a pool runs, the
// PHP guard), opened as root before the drop and checked on the way from "/".
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>

#include "suwrap/util/fd.hpp"

namespace suwrap {

// Opens `path` by the one trusted open (util::open_trusted): from "/", one component at a
// time, never following a link. Every directory on the way and the object itself must be root's and
// writable by nobody else, or an account could replace what root installed (the gate that
// a pool runs, the PHP guard) for another account. `what` names it in messages.
std::optional<std::string> open_root_owned(const std::string& path, const char* what, util::Fd& out,
                                           struct stat& found);

}  // namespace suwrap
