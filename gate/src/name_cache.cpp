// SPDX-License-Identifier: Apache-2.0
#include "name_cache.hpp"

#include <grp.h>

#include <algorithm>
#include <vector>

namespace suwrap::gate {

namespace {

// The remembered answer for `key`, or the source's (then remembered when `keep`).
template <typename Map, typename Key, typename Ask>
auto remembered(Map& map, const Key& key, bool keep, std::size_t& asked, Ask ask) {
  if (keep) {
    if (const auto it = map.find(key); it != map.end()) return it->second;
  }
  ++asked;
  auto answer = ask();
  if (keep) map.emplace(typename Map::key_type(key), answer);
  return answer;
}

}  // namespace

NameCache::NameCache(policy::FactSource& source, std::string etc_dir, Clock::duration keep)
    : source_(source), etc_dir_(std::move(etc_dir)), keep_(keep) {}

util::Expected<policy::Walk, policy::WalkError> NameCache::walk(std::string_view absolute_path) {
  return source_.walk(absolute_path);
}

NameCache::Question::Question(NameCache& cache) : cache_(cache) {
  ++cache_.questions_;
}

NameCache::Question::~Question() {
  if (--cache_.questions_ > 0) return;
  cache_.looked_.reset();
  cache_.question_stats_.clear();
}

std::optional<policy::FileFacts> NameCache::stat_path(std::string_view path) {
  if (questions_ == 0) return source_.stat_path(path);
  if (const auto it = question_stats_.find(path); it != question_stats_.end()) return it->second;
  auto facts = source_.stat_path(path);
  question_stats_.emplace(std::string(path), facts);
  return facts;
}

std::optional<std::string> NameCache::php_sapi(std::string_view path) {
  // The program's identity: a write or a chmod changes its change time, a rename its inode.
  const auto facts = stat_path(path);
  if (!facts) return source_.php_sapi(path);
  std::string key(path);
  for (const long long part : {static_cast<long long>(facts->dev), static_cast<long long>(facts->ino),
                               static_cast<long long>(facts->size), static_cast<long long>(facts->ctime_sec),
                               static_cast<long long>(facts->ctime_nsec)})
    key += "\t" + std::to_string(part);
  if (const auto it = sapis_.find(key); it != sapis_.end()) return it->second;
  auto sapi = source_.php_sapi(path);
  if (sapis_.size() > 64) sapis_.clear();  // a handful of handlers; never a growing map
  sapis_.emplace(std::move(key), sapi);
  return sapi;
}

std::optional<std::vector<gid_t>> NameCache::groups_of(const std::string& user, gid_t gid) {
  const bool keep = fresh();
  return remembered(group_lists_, std::make_pair(user, gid), keep, source_lookups_,
                    [&]() -> std::optional<std::vector<gid_t>> {
                      std::vector<gid_t> groups(64);
                      for (int attempt = 0; attempt < 8; ++attempt) {
                        int count = static_cast<int>(groups.size());
                        if (::getgrouplist(user.c_str(), gid, groups.data(), &count) >= 0) {
                          groups.resize(static_cast<std::size_t>(count));
                          std::sort(groups.begin(), groups.end());
                          groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
                          return groups;
                        }
                        if (count <= static_cast<int>(groups.size()) || count > 65536) return std::nullopt;
                        groups.resize(static_cast<std::size_t>(count));
                      }
                      return std::nullopt;
                    });
}

bool NameCache::fresh() {
  if (questions_ == 0) return look_for_changes();
  if (!looked_) looked_ = look_for_changes();
  return *looked_;
}

bool NameCache::look_for_changes() {
  const auto now = Clock::now();
  // changed() drains the events, and is true for good once watching failed. Quiet: the
  // caller's poll of this very descriptor found nothing to drain.
  if (watching_ && (quiet_ ? watch_.watching() : !watch_.changed()) && now - since_ < keep_) return true;
  users_by_name_.clear();
  users_by_uid_.clear();
  group_lists_.clear();
  groups_by_name_.clear();
  groups_by_gid_.clear();
  // Watched again before anything is asked, so that a change during the look-ups is seen.
  const std::vector<std::string> dirs{etc_dir_};
  watch_.watch(dirs, policy::ancestors_of(etc_dir_));
  watching_ = true;
  since_ = now;
  return !watch_.changed();  // true only when the watch could be set
}

std::optional<policy::UserInfo> NameCache::user_by_name(std::string_view name) {
  const bool keep = fresh();
  return remembered(users_by_name_, name, keep, source_lookups_, [&] { return source_.user_by_name(name); });
}

std::optional<policy::UserInfo> NameCache::user_by_uid(uid_t uid) {
  const bool keep = fresh();
  return remembered(users_by_uid_, uid, keep, source_lookups_, [&] { return source_.user_by_uid(uid); });
}

std::optional<policy::GroupInfo> NameCache::group_by_name(std::string_view name) {
  const bool keep = fresh();
  return remembered(groups_by_name_, name, keep, source_lookups_,
                    [&] { return source_.group_by_name(name); });
}

std::optional<policy::GroupInfo> NameCache::group_by_gid(gid_t gid) {
  const bool keep = fresh();
  return remembered(groups_by_gid_, gid, keep, source_lookups_, [&] { return source_.group_by_gid(gid); });
}

}  // namespace suwrap::gate
