// SPDX-License-Identifier: Apache-2.0
#include "user_names.hpp"

#include <pwd.h>

#include <utility>
#include <vector>

namespace suwrap::cgid {

std::optional<std::string> passwd_user_name(uid_t uid) {
  passwd entry{};
  passwd* result = nullptr;
  std::vector<char> buffer(16 * 1024);
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &result) != 0 || result == nullptr)
    return std::nullopt;
  return std::string(result->pw_name);
}

UserNames::UserNames(std::string etc_dir, Clock::duration keep, Lookup lookup)
    : etc_dir_(std::move(etc_dir)), keep_(keep), lookup_(std::move(lookup)) {}

bool UserNames::fresh() {
  const auto now = Clock::now();
  // changed() drains the events, and is true for good once watching failed.
  if (watching_ && !watch_.changed() && now - since_ < keep_) return true;
  names_.clear();
  // Watched again before anything is asked, so that a change during the look-ups is seen.
  const std::vector<std::string> dirs{etc_dir_};
  watch_.watch(dirs, policy::ancestors_of(etc_dir_));
  watching_ = true;
  since_ = now;
  return watch_.watching();
}

std::optional<std::string> UserNames::name(uid_t uid) {
  if (!fresh()) {
    ++lookups_;
    return lookup_(uid);
  }
  if (const auto it = names_.find(uid); it != names_.end()) return it->second;
  constexpr std::size_t bound = 4096;  // owners whose scripts ran since the names were due
  if (names_.size() >= bound) names_.clear();
  ++lookups_;
  return names_.emplace(uid, lookup_(uid)).first->second;
}

}  // namespace suwrap::cgid
