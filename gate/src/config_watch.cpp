#include "config_watch.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "suwrap/policy/paths.hpp"

namespace suwrap::gate {

namespace {

constexpr std::uint32_t dir_events = IN_ATTRIB | IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE |
                                     IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF;
constexpr std::uint32_t ancestor_events =
    IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF;

}  // namespace

std::vector<std::string> ancestors_of(std::string_view path) {
  std::vector<std::string> out;
  if (path.empty() || path.front() != '/') return out;
  const auto components = policy::split_components(path);
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
    const auto above = policy::split_components(ancestor);
    std::set<std::string> entries;
    for (const auto& dir : dirs) {
      const auto below = policy::split_components(dir);
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

void CurrentConfig::watch_files() {
  const std::string config_dir(policy::directory_of(path_));
  std::vector<std::string> dirs{config_dir};
  std::vector<std::string> ancestors = ancestors_of(config_dir);
  if (!accounts_dir_.empty()) {
    dirs.push_back(accounts_dir_);
    for (auto& dir : ancestors_of(accounts_dir_)) ancestors.push_back(std::move(dir));
  }
  watch_.watch(dirs, ancestors);
}

std::shared_ptr<const policy::LoadedConfig> CurrentConfig::get() {
  // changed() is asked first so that the events it drains are the ones this read covers.
  if (!watch_.changed() && !reload_ && loaded_) return loaded_;
  reload_ = false;
  // Watched before it is read, so that nothing that changes during the read is missed.
  // Where the accounts directory is only learnt from this read, it is watched and read
  // once more.
  for (int round = 0; round < 2; ++round) {
    watch_files();
    loaded_ = std::make_shared<const policy::LoadedConfig>(policy::load_config(path_));
    const std::string accounts_dir = (*loaded_) ? (*loaded_)->accounts_dir : std::string();
    if (accounts_dir.empty() || accounts_dir == accounts_dir_) break;
    accounts_dir_ = accounts_dir;
  }
  return loaded_;
}

}  // namespace suwrap::gate
