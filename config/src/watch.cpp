// SPDX-License-Identifier: Apache-2.0
#include "suwrap/config/watch.hpp"

#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "suwrap/config/paths.hpp"
#include "suwrap/config/trusted.hpp"
#include "suwrap/util/text.hpp"

namespace suwrap::policy {

namespace {

constexpr std::uint32_t dir_events = IN_ATTRIB | IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE |
                                     IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF;
constexpr std::uint32_t ancestor_events =
    IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF;

}  // namespace

std::vector<std::string> ancestors_of(std::string_view path) {
  std::vector<std::string> out;
  if (path.empty() || path.front() != '/') return out;
  const auto components = split_components(path);
  std::string at = "/";
  for (std::size_t i = 0; i + 1 < components.size(); ++i) {
    out.push_back(at);
    if (at.size() > 1) at += '/';
    at += components[i];
  }
  if (!components.empty()) out.push_back(at);
  return out;
}

void ConfigWatch::watch(std::span<const std::string> dirs, std::span<const std::string> ancestors) {
  broken_ = true;
  inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify_) return;
  const auto add = [&](const std::string& path, std::uint32_t events) {
    return ::inotify_add_watch(inotify_.get(), path.c_str(), events | IN_ONLYDIR | IN_DONT_FOLLOW | IN_MASK_ADD);
  };
  ancestor_entries_.clear();
  std::set<int> whole;
  for (const auto& dir : dirs) {
    const int wd = add(dir, dir_events);
    if (wd < 0) return;
    whole.insert(wd);
  }
  for (const auto& ancestor : ancestors) {
    const int wd = add(ancestor, ancestor_events);
    if (wd < 0) return;
    if (whole.contains(wd)) continue;
    // The entries of `ancestor` on the way down to each watched directory.
    const auto above = split_components(ancestor);
    std::set<std::string> entries;
    for (const auto& dir : dirs) {
      const auto below = split_components(dir);
      if (below.size() > above.size() && std::equal(above.begin(), above.end(), below.begin()))
        entries.insert(std::string(below[above.size()]));
    }
    if (entries.empty()) {
      whole.insert(wd);  // above nothing watched: every event counts
      ancestor_entries_.erase(wd);
      continue;
    }
    auto& known = ancestor_entries_[wd];
    known.insert(entries.begin(), entries.end());
  }
  broken_ = false;
}

bool ConfigWatch::changed() {
  if (broken_) return true;
  bool any = false;
  alignas(inotify_event) std::array<char, 4096> events{};
  for (;;) {
    const ssize_t n = ::read(inotify_.get(), events.data(), events.size());
    if (n > 0) {
      // What changed does not matter, only whether it concerns the configuration.
      for (std::size_t at = 0; at + sizeof(inotify_event) <= static_cast<std::size_t>(n);) {
        inotify_event event{};
        std::memcpy(&event, events.data() + at, sizeof(event));
        const std::string_view name(events.data() + at + sizeof(event),
                                    ::strnlen(events.data() + at + sizeof(event), event.len));
        at += sizeof(event) + event.len;
        const auto entries = ancestor_entries_.find(event.wd);
        if (entries == ancestor_entries_.end() || event.len == 0 ||
            entries->second.contains(std::string(name)))
          any = true;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return any;
    broken_ = true;  // end of file or an error: no longer watching
    return true;
  }
}

bool ConfigWatch::quiet(std::span<const ConfigWatch* const> watches) {
  constexpr std::size_t most = 4;
  std::array<pollfd, most> fds{};
  if (watches.size() > most) return false;
  for (std::size_t i = 0; i < watches.size(); ++i) {
    if (watches[i]->broken_) return false;
    fds[i] = pollfd{watches[i]->inotify_.get(), POLLIN, 0};
  }
  // Readable, an error, or a failed poll: not quiet.
  return ::poll(fds.data(), static_cast<nfds_t>(watches.size()), 0) == 0;
}

namespace {

std::int64_t now_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

}  // namespace

AccountSource& ConfigSnapshot::account_source() {
  if (accounts) return *accounts;
  return none_;
}

void CurrentConfig::watch_index() {
  const std::string index_dir = util::child_path(accounts_dir_, ".suwrap");
  struct stat st {};
  index_watched_ = !accounts_dir_.empty() && ::lstat(index_dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  // Without the directory, a watch on nothing: one descriptor either way, and no event
  // until accounts_dir's own watch sees the directory made.
  std::vector<std::string> dirs;
  if (index_watched_) dirs.push_back(index_dir);
  index_watch_.watch(dirs, {});
  // A directory it cannot watch (not readable to this user): as if there were none, rather
  // than "changed" at every look — the accounts_dir watch still sees every account file.
  if (index_watched_ && !index_watch_.watching()) {
    index_watched_ = false;
    index_watch_.watch({}, {});
  }
}

void CurrentConfig::reload() {
  reload_ = false;
  // Watched before it is read, so that nothing that changes during the read is missed.
  // Where the accounts directory is only learnt from this read, it is watched and read
  // once more.
  std::shared_ptr<ConfigSnapshot> snapshot;
  for (int round = 0; round < 2; ++round) {
    const std::string config_dir(directory_of(path_));
    const std::vector<std::string> dirs{config_dir};
    std::vector<std::string> ancestors = ancestors_of(config_dir);
    if (!accounts_dir_.empty()) {
      for (auto& dir : ancestors_of(accounts_dir_)) ancestors.push_back(std::move(dir));
      const std::vector<std::string> accounts{accounts_dir_};
      accounts_watch_.watch(accounts, {});
      watch_index();
    }
    config_watch_.watch(dirs, ancestors);
    snapshot = std::make_shared<ConfigSnapshot>(load_config(path_));
    const std::string accounts_dir = snapshot->config ? snapshot->config->accounts_dir : std::string();
    if (accounts_dir.empty() || accounts_dir == accounts_dir_) break;
    accounts_dir_ = accounts_dir;
  }
  if (snapshot->config) {
    AccountOptions options;
    options.distrust_before_ns = accounts_changed_ns_;
    snapshot->accounts = std::make_unique<AccountDirectory>(*snapshot->config, options);
  }
  snapshot_ = std::move(snapshot);
}

void CurrentConfig::descriptors(std::vector<int>& into) const {
  for (const ConfigWatch* watch : {&config_watch_, &accounts_watch_, &index_watch_})
    into.push_back(watch->descriptor());
}

std::shared_ptr<ConfigSnapshot> CurrentConfig::get() {
  // Nothing to read on any watch: the snapshot holds, as the changed() calls below would
  // find (none of them has a side effect when all three are quiet). A request costs one
  // poll() here instead of three read()s.
  const std::array<const ConfigWatch*, 3> watches{&config_watch_, &accounts_watch_, &index_watch_};
  if (!reload_ && snapshot_ && (quiet_ || ConfigWatch::quiet(watches))) return snapshot_;
  // changed() is asked first so that the events it drains are the ones this read covers.
  if (config_watch_.changed() || reload_ || !snapshot_) {
    // What changed in accounts_dir meanwhile is covered by the new look.
    if (accounts_watch_.changed()) accounts_changed_ns_ = now_ns();
    reload();
    return snapshot_;
  }
  if (!snapshot_->accounts) return snapshot_;
  if (accounts_watch_.changed()) {
    // A file was added, removed or edited, perhaps in place: an index older than now says
    // nothing about it.
    accounts_changed_ns_ = now_ns();
    watch_index();
    snapshot_->accounts->reopen(accounts_changed_ns_);
  } else if (index_watched_ && index_watch_.changed()) {
    watch_index();
    snapshot_->accounts->reopen(accounts_changed_ns_);
  }
  return snapshot_;
}

}  // namespace suwrap::policy
