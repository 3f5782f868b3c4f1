// SPDX-License-Identifier: Apache-2.0
// Memoised facts for many decisions in a row. See caching_facts.hpp for what is cached and
// why the result is the same as asking the underlying source each time.
#include "suwrap/policy/caching_facts.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <new>
#include <utility>

#include "suwrap/config/paths.hpp"
#include "suwrap/util/text.hpp"
#include "suwrap/util/trusted_open.hpp"

namespace suwrap::policy {

using util::Expected;
using util::Fd;
using util::unexpected;

namespace {

// Well inside the walk's own limits (512 directories, 40 links, PATH_MAX), so that a walk
// built from a cached directory never lands where the walk from "/" would have refused.
constexpr size_t max_cached_depth = 256;
constexpr size_t max_cached_path = PATH_MAX / 2;

// The answer for `key`, asked of the source the first time only. Out of memory, the answer
// is "not found", which every check takes as a refusal.
template <class Map, class Key, class Lookup>
auto remembered(Map& map, const Key& key, Lookup&& lookup) -> typename Map::mapped_type {
  try {
    if (auto found = map.find(key); found != map.end()) return found->second;
    auto value = lookup();
    map.emplace(key, value);
    return value;
  } catch (const std::bad_alloc&) {
    return std::nullopt;
  }
}

}  // namespace

Expected<Walk, WalkError> CachingFacts::full_walk(std::string_view absolute_path) {
  ++full_walks_;
  return source_.walk(absolute_path);
}

const Walk* CachingFacts::directory_walk(std::string_view dir) {
  // A directory that cannot serve is remembered too, so its files are walked once each, not twice.
  if (cached_dir_known_ && cached_dir_path_ == dir) return cached_dir_ ? &*cached_dir_ : nullptr;
  cached_dir_.reset();
  cached_dir_path_ = std::string(dir);
  cached_dir_known_ = true;
  auto walked = full_walk(dir);
  if (!walked || !walked->object.facts.is_dir() || !walked->fd.valid() ||
      walked->dirs.size() + 1 >= max_cached_depth)
    return nullptr;
  cached_dir_ = std::move(*walked);
  return &*cached_dir_;
}

Expected<Walk, WalkError> CachingFacts::walk(std::string_view absolute_path) {
  try {
    // Only a plain "/dir/name" is served from the cache; anything unusual takes the full walk,
    // which reports it exactly as suwrap would.
    if (validate_script_path(absolute_path) || absolute_path.size() >= max_cached_path)
      return full_walk(absolute_path);
    const std::string_view dir = directory_of(absolute_path);
    const std::string_view name = absolute_path.substr(dir.size() == 1 ? 1 : dir.size() + 1);
    if (dir.size() <= 1) return full_walk(absolute_path);  // a file in "/": nothing to save

    const Walk* parent = directory_walk(dir);
    if (parent == nullptr) return full_walk(absolute_path);

    const std::string leaf_name(name);
    // The walk's own step (util/trusted_open.hpp), from the directory it left open.
    auto leaf = util::open_step(parent->fd.get(), leaf_name, O_PATH);
    if (!leaf) return full_walk(absolute_path);
    const FileFacts facts = FileFacts::from(leaf->st);
    // A link is resolved and recorded by the walk; a directory becomes part of the chain.
    if (facts.is_symlink() || facts.is_dir()) return full_walk(absolute_path);

    Walk walk;
    walk.dirs = parent->dirs;
    walk.dirs.push_back(parent->object);
    walk.links = parent->links;
    const std::string& parent_path = parent->object.path;
    walk.object = WalkNode{util::child_path(parent_path, leaf_name), facts};
    walk.fd = std::move(leaf->fd);
    return walk;
  } catch (const std::bad_alloc&) {
    return unexpected(WalkError{WalkErrorKind::io, std::string(), ENOMEM});
  }
}

std::optional<std::string> CachingFacts::php_sapi(std::string_view path) {
  return remembered(sapis_, std::string(path), [&] { return source_.php_sapi(path); });
}

std::optional<FileFacts> CachingFacts::stat_path(std::string_view path) {
  return remembered(stats_, std::string(path), [&] { return source_.stat_path(path); });
}

std::optional<UserInfo> CachingFacts::user_by_name(std::string_view name) {
  return remembered(users_by_name_, std::string(name), [&] { return source_.user_by_name(name); });
}

std::optional<UserInfo> CachingFacts::user_by_uid(uid_t uid) {
  return remembered(users_by_uid_, uid, [&] { return source_.user_by_uid(uid); });
}

std::optional<GroupInfo> CachingFacts::group_by_name(std::string_view name) {
  return remembered(groups_by_name_, std::string(name), [&] { return source_.group_by_name(name); });
}

std::optional<GroupInfo> CachingFacts::group_by_gid(gid_t gid) {
  return remembered(groups_by_gid_, gid, [&] { return source_.group_by_gid(gid); });
}

}  // namespace suwrap::policy
