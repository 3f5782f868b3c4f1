#include "config_watch.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>

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
    return ::inotify_add_watch(inotify_.get(), path.c_str(),
                               events | IN_ONLYDIR | IN_DONT_FOLLOW | IN_MASK_ADD) >= 0;
  };
  for (const auto& dir : dirs) {
    if (!add(dir, dir_events)) return;
  }
  for (const auto& dir : ancestors) {
    if (!add(dir, ancestor_events)) return;
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
      any = true;  // what changed does not matter, only that something did
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
