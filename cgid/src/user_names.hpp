// SPDX-License-Identifier: Apache-2.0
// The user name of a script's owner, without a passwd look-up for every request.
//
// getpwuid() costs six calls (nsswitch.conf, then /etc/passwd opened, read and closed), and
// the requests of a host come from a few owners. A name is remembered until the first of:
// anything in `etc_dir` (/etc: passwd, group, nsswitch.conf) or a directory above it changed
// — inotify says so, and it is asked before every answer, so a user renamed or removed by
// hand is seen by the next request, as suwrap sees it — or `keep` has passed since the
// names were first remembered (sources inotify cannot see, LDAP or sssd, are at most that
// late; the pool, which checks every request again, refuses a route made with an old name).
// Where inotify cannot be had, every name is asked again.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "suwrap/config/watch.hpp"

namespace suwrap::cgid {

// getpwuid_r's answer: the name of `uid`, nullopt when no user has it.
std::optional<std::string> passwd_user_name(uid_t uid);

class UserNames {
 public:
  using Clock = std::chrono::steady_clock;
  using Lookup = std::function<std::optional<std::string>(uid_t)>;

  explicit UserNames(std::string etc_dir = "/etc", Clock::duration keep = std::chrono::seconds(5),
                     Lookup lookup = passwd_user_name);

  // The name of `uid` as the passwd database has it now (nullopt: no such user).
  std::optional<std::string> name(uid_t uid);
  // Forgets every name (SIGHUP).
  void forget() { watching_ = false; }

  // How many names were asked of `lookup` (for the tests).
  [[nodiscard]] std::size_t lookups() const { return lookups_; }

 private:
  // Forgets the names when they are due; false when none may be remembered now.
  bool fresh();

  std::string etc_dir_;
  Clock::duration keep_;
  Lookup lookup_;
  policy::ConfigWatch watch_;
  bool watching_ = false;
  Clock::time_point since_{};
  std::size_t lookups_ = 0;
  std::unordered_map<uid_t, std::optional<std::string>> names_;
};

}  // namespace suwrap::cgid
