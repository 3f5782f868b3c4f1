// SPDX-License-Identifier: Apache-2.0
#include "privileges.hpp"

#include <grp.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

namespace suwrap {

namespace {

std::string failed(const char* what) { return std::string(what) + " failed: " + std::strerror(errno); }

// The proof, in the manner of OpenSSH's permanently_set_uid: every id is the target's,
// no supplementary group is root's, and root can be regained by no call.
std::optional<std::string> prove_dropped(uid_t uid, gid_t gid) {
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0)
    return failed("getresuid/getresgid");
  if (ruid != uid || euid != uid || suid != uid) return "a user id is not the target's after setresuid";
  if (rgid != gid || egid != gid || sgid != gid) return "a group id is not the target's after setresgid";

  std::array<gid_t, 1024> groups{};
  const int n = ::getgroups(static_cast<int>(groups.size()), groups.data());
  if (n < 0) return failed("getgroups");
  for (int i = 0; i < n; ++i) {
    if (groups[static_cast<size_t>(i)] == 0) return "root's group is still a supplementary group";
  }

  // Each of these must fail now. If one succeeds, the process could become root again.
  if (::setuid(0) == 0 || ::seteuid(0) == 0 || ::setreuid(static_cast<uid_t>(-1), 0) == 0)
    return "root's user id could be regained after the drop";
  if (::setgid(0) == 0 || ::setegid(0) == 0) return "root's group id could be regained after the drop";
  if (::getuid() != uid || ::geteuid() != uid || ::getgid() != gid || ::getegid() != gid)
    return "ids changed while proving the drop";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> drop_privileges(const std::string& user, uid_t uid, gid_t gid) {
  if (uid == 0 || gid == 0) return "refusing to drop to root";
  if (::initgroups(user.c_str(), gid) != 0) return failed("initgroups");
  if (::setresgid(gid, gid, gid) != 0) return failed("setresgid");
  // On Linux setresuid no longer fails for RLIMIT_NPROC: it marks the process when the
  // user is over the limit in force now (the account's, set by the caller of this), and
  // the next execve fails with EAGAIN.
  if (::setresuid(uid, uid, uid) != 0) return failed("setresuid");
  return prove_dropped(uid, gid);
}

}  // namespace suwrap
