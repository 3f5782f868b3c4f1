// SPDX-License-Identifier: Apache-2.0
#include "walk_cache.hpp"

#include <linux/magic.h>
#include <sys/inotify.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

namespace suwrap::gate {

namespace {

constexpr std::uint32_t dir_events = IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                     IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW;
constexpr std::uint32_t file_events = IN_ATTRIB | IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW;
// What stat() is asked of may be a directory too (a handler's ini directory): its entries
// made, removed or renamed change its times and size.
constexpr std::uint32_t stat_events = file_events | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO;

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

// Forgets what `remembered` holds for `path`, and its name in the watches that saw it.
template <typename Remembered>
void forget_from(Remembered& remembered, std::map<int, std::set<std::string>>& by_watch,
                 const std::string& path) {
  const auto it = remembered.find(path);
  if (it == remembered.end()) return;
  for (const int wd : it->second.watches) {
    if (const auto w = by_watch.find(wd); w != by_watch.end()) w->second.erase(path);
  }
  remembered.erase(it);
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
  stats_.clear();
  stats_by_watch_.clear();
  watches_ = 0;
  inotify_ = new_inotify();  // closing the old one removes every watch it had
}

void WalkCache::forget(const std::string& path) {
  forget_from(entries_, by_watch_, path);
}

void WalkCache::forget_stat(const std::string& path) {
  forget_from(stats_, stats_by_watch_, path);
}

namespace {

// Whether inotify sees every change of what `path` names: only on a local file system. On
// NFS, CIFS, FUSE or a cluster file system a change made by another machine or the server
// raises no event here, nor does one of overlayfs's lower layers: what is there is never
// remembered, and is walked and stat()ed at every request.
bool seen_by_inotify(const std::string& path) {
  struct statfs fs {};
  if (::statfs(path.c_str(), &fs) != 0) return false;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case EXT4_SUPER_MAGIC:  // ext2, ext3, ext4
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case F2FS_SUPER_MAGIC:
    case TMPFS_MAGIC:
    case RAMFS_MAGIC:
    case REISERFS_SUPER_MAGIC:
    case 0x3153464aUL:  // JFS
    case 0x2fc12fc1UL:  // ZFS
    case 0xca451a4eUL:  // bcachefs
      return true;
    default:
      return false;
  }
}

}  // namespace

bool WalkCache::add_watch(const std::string& path, std::uint32_t events, std::set<int>& watches) {
  if (!seen_by_inotify(path)) return false;
  const int wd = ::inotify_add_watch(inotify_.get(), path.c_str(), events);
  if (wd < 0) return false;
  if (watches.insert(wd).second) ++watches_;
  return true;
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
      if (const auto w = by_watch_.find(event->wd); w != by_watch_.end()) {
        const std::set<std::string> paths = w->second;
        for (const auto& path : paths) forget(path);
        if ((event->mask & IN_IGNORED) != 0) by_watch_.erase(event->wd);
      }
      if (const auto w = stats_by_watch_.find(event->wd); w != stats_by_watch_.end()) {
        const std::set<std::string> paths = w->second;
        for (const auto& path : paths) forget_stat(path);
        if ((event->mask & IN_IGNORED) != 0) stats_by_watch_.erase(event->wd);
      }
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
    watched = add_watch(dir, dir_events, watches);
  }
  if (watched) watched = add_watch(key, file_events, watches);

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

std::optional<policy::FileFacts> WalkCache::stat_path(std::string_view path) {
  read_events();
  std::string key(path);
  if (const auto it = stats_.find(key); it != stats_.end()) return it->second.facts;

  ++source_stats_;
  // Where the path leads now (through links), to know what to watch before it is stat()ed.
  const auto before = source_.walk(path);
  if (!before || !inotify_) return source_.stat_path(path);
  if (stats_.size() >= max_entries_ || watches_ >= 4 * max_entries_) forget_all();
  // The directories on the way to the path, to each link met and to the object.
  std::vector<std::string> ends{key, before->physical_path()};
  for (const auto& link : before->links) ends.push_back(link.path);
  std::set<std::string> dirs;
  bool watched = true;
  for (const auto& end : ends) {
    const auto some = directories_of(end);
    if (some.empty()) watched = false;
    dirs.insert(some.begin(), some.end());
  }
  std::set<int> watches;
  for (const auto& dir : dirs) {
    if (!watched) break;
    watched = add_watch(dir, dir_events, watches);
  }
  if (watched) watched = add_watch(before->physical_path(), stat_events, watches);

  auto facts = source_.stat_path(path);
  if (!facts || !watched) return facts;
  // Walked again once watched: remembered only if it leads where the watches are.
  const auto after = source_.walk(path);
  if (!after || after->physical_path() != before->physical_path() || !after->object.facts.same_file(*facts) ||
      after->links.size() != before->links.size())
    return facts;
  for (std::size_t i = 0; i < after->links.size(); ++i)
    if (after->links[i].path != before->links[i].path) return facts;
  for (const int wd : watches) stats_by_watch_[wd].insert(key);
  stats_.emplace(std::move(key), Stat{*facts, std::move(watches)});
  return facts;
}

}  // namespace suwrap::gate
