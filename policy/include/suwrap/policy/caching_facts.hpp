// SPDX-License-Identifier: Apache-2.0
// A FactSource that remembers, for judging many scripts in one go (`suwrap-policy audit`).
// The checks stay the very ones `check` and suwrap run; only the gathering is cheaper:
//  - user and group lookups and stat() of root's files (handler programs, php.ini) are asked
//    of the underlying source once per name or id;
//  - the walk of a script reuses the walk of its directory, kept open by descriptor, and
//    opens only the last component from there. Whatever would make that walk differ from a
//    walk from "/" (the last component is a symlink or a directory, a limit is near, an
//    error) is walked from "/" by the underlying source instead.
// It assumes the tree does not change while it is used; suwrap itself never uses it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "suwrap/policy/facts.hpp"
#include "suwrap/policy/walk.hpp"

namespace suwrap::policy {

class CachingFacts final : public FactSource {
 public:
  explicit CachingFacts(FactSource& source) : source_(source) {}

  util::Expected<Walk, WalkError> walk(std::string_view absolute_path) override;
  std::optional<FileFacts> stat_path(std::string_view path) override;
  std::optional<UserInfo> user_by_name(std::string_view name) override;
  std::optional<UserInfo> user_by_uid(uid_t uid) override;
  std::optional<GroupInfo> group_by_name(std::string_view name) override;
  std::optional<GroupInfo> group_by_gid(gid_t gid) override;
  std::optional<std::string> php_sapi(std::string_view path) override;

  // How many walks went to the underlying source (a measure of the directory cache's use).
  [[nodiscard]] std::size_t full_walks() const { return full_walks_; }

 private:
  util::Expected<Walk, WalkError> full_walk(std::string_view absolute_path);
  // The walk of `dir`, from the cache or walked now; nullptr when it cannot serve as a parent.
  const Walk* directory_walk(std::string_view dir);

  FactSource& source_;
  std::map<std::string, std::optional<FileFacts>, std::less<>> stats_;
  std::map<std::string, std::optional<UserInfo>, std::less<>> users_by_name_;
  std::map<uid_t, std::optional<UserInfo>> users_by_uid_;
  std::map<std::string, std::optional<GroupInfo>, std::less<>> groups_by_name_;
  std::map<gid_t, std::optional<GroupInfo>> groups_by_gid_;
  std::map<std::string, std::optional<std::string>, std::less<>> sapis_;

  // One directory at a time: a tree is walked directory by directory, so the scripts asked
  // about one after another mostly share it, and one descriptor is all that stays open.
  std::string cached_dir_path_;
  std::optional<Walk> cached_dir_;  // empty: that directory cannot serve as a parent
  bool cached_dir_known_ = false;
  std::size_t full_walks_ = 0;
};

}  // namespace suwrap::policy
