// SPDX-License-Identifier: Apache-2.0
#include "walk_cache.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

namespace suwrap::gate {

namespace {

constexpr std::uint32_t dir_events = IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                     IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW;
constexpr std::uint32_t file_events = IN_ATTRIB | IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW;

util::Fd new_inotify() { return util::Fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)); }

// The directories of `path` ("/a/b/c.php": "/", "/a", "/a/b"), or none when it is not a plain
// absolute path (then it is not remembered).
std::vector<std::string> directories_of(std::string_view path) {
  std::vector<std::string> dirs;
  if (path.size() < 2 || path.front() != '/' || path.back() == '/') return {};
  dirs.emplace_back("/");
  std::size_t start = 1;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    const std::string_view component = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (component.empty() || component == "." || component == "..") return {};
    if (slash == std::string_view::npos) return dirs;
    dirs.emplace_back(path.substr(0, slash));
    start = slash + 1;
  }
}

policy::Walk copy_of(const policy::Walk& walk) {
  policy::Walk copy;
  copy.dirs = walk.dirs;
  copy.object = walk.object;
  copy.links = walk.links;
  return copy;
}

}  // namespace

WalkCache::WalkCache(policy::FactSource& source, std::size_t max_entries)
    : source_(source), max_entries_(max_entries), inotify_(new_inotify()) {}

void WalkCache::forget_all() {
  entries_.clear();
  by_watch_.clear();
  watches_ = 0;
  inotify_ = new_inotify();  // closing the old one removes every watch it had
}

void WalkCache::forget(const std::string& path) {
  const auto it = entries_.find(path);
  if (it == entries_.end()) return;
  for (const int wd : it->second.watches) {
    if (const auto w = by_watch_.find(wd); w != by_watch_.end()) w->second.erase(path);
  }
  entries_.erase(it);
}

void WalkCache::read_events() {
  if (!inotify_ || quiet_) return;
  alignas(inotify_event) char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(inotify_.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {  // cannot tell what changed: nothing is trusted
      forget_all();
      return;
    }
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if ((event->mask & IN_Q_OVERFLOW) != 0) {
        forget_all();
        return;
      }
      const auto w = by_watch_.find(event->wd);
      if (w == by_watch_.end()) continue;
      const std::set<std::string> paths = w->second;
      for (const auto& path : paths) forget(path);
      if ((event->mask & IN_IGNORED) != 0) by_watch_.erase(event->wd);
    }
  }
}

std::string* WalkCache::note(std::string_view path) {
  const auto it = entries_.find(std::string(path));
  return it == entries_.end() ? nullptr : &it->second.note;
}

util::Expected<policy::Walk, policy::WalkError> WalkCache::walk(std::string_view absolute_path) {
  read_events();
  std::string key(absolute_path);
  if (const auto it = entries_.find(key); it != entries_.end()) return copy_of(it->second.walk);

  // Watched before it is walked: a change while it is walked is an event, read next time.
  if (entries_.size() >= max_entries_ || watches_ >= 4 * max_entries_) forget_all();
  std::set<int> watches;
  const auto dirs = directories_of(key);
  bool watched = inotify_.valid() && !dirs.empty();
  for (const auto& dir : dirs) {
    if (!watched) break;
    const int wd = ::inotify_add_watch(inotify_.get(), dir.c_str(), dir_events);
    if (wd < 0) watched = false;
    else if (watches.insert(wd).second) ++watches_;
  }
  if (watched) {
    const int wd = ::inotify_add_watch(inotify_.get(), key.c_str(), file_events);
    if (wd < 0) watched = false;
    else if (watches.insert(wd).second) ++watches_;
  }

  ++source_walks_;
  auto walked = source_.walk(absolute_path);
  // Remembered only when its directories are the path's own: no link met, nothing renamed.
  if (!walked || !watched || !walked->links.empty() || walked->physical_path() != key ||
      walked->dirs.size() != dirs.size())
    return walked;
  for (std::size_t i = 0; i < dirs.size(); ++i)
    if (walked->dirs[i].path != dirs[i]) return walked;
  for (const int wd : watches) by_watch_[wd].insert(key);
  entries_.emplace(key, Entry{copy_of(*walked), {}, std::move(watches)});
  return walked;
}

}  // namespace suwrap::gate
