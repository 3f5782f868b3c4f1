// SPDX-License-Identifier: Apache-2.0
// Check 13, `drop`: from root to the target user, for good, and proved.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace suwrap {

// Sets the supplementary groups (the user's, from the group database), then gid, then uid
// — in that order, because once the uid is dropped the groups can no longer be changed.
// Then proves the drop by trying to undo it. Returns the reason if anything failed.
std::optional<std::string> drop_privileges(const std::string& user, uid_t uid, gid_t gid);

}  // namespace suwrap
