// The configuration as it is now, for every request, without reading it for every request.
//
// The gate runs for as long as its account is busy, and root may edit the configuration or
// an account file meanwhile (disable the account, change its docroots or its php.ini). Like
// suwrap, which reads it per request, the gate decides with the configuration as it is:
// inotify tells it when a file it comes from, or a directory above one, changed, and the
// next request reads it again. Where inotify cannot be had, it is read for every request.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "suwrap/policy/checks.hpp"
#include "suwrap/policy/fd.hpp"

namespace suwrap::gate {

// The directories above `path`, from "/" down: "/a/b/c" -> "/", "/a", "/a/b".
std::vector<std::string> ancestors_of(std::string_view path);

class ConfigWatch {
 public:
  // Replaces what was watched. `dirs`: any change to them or a file in them (written,
  // created, removed, renamed, chmod/chown). `ancestors`: an entry in them created,
  // removed or renamed, or a chmod/chown (the trust check judges every directory above
  // the configuration). In an ancestor only the entry on the way to one of `dirs` counts
  // (and the ancestor itself): other entries come and go without concerning the
  // configuration — /run, /tmp or a home directory's neighbours.
  void watch(std::span<const std::string> dirs, std::span<const std::string> ancestors);

  // Whether anything changed since the last call (always true when watching failed).
  bool changed();

 private:
  policy::Fd inotify_;
  bool broken_ = true;
  // Per watch descriptor of an ancestor: the names of its entries that lead to a watched
  // directory. A watch descriptor not in here (a watched directory) counts every event.
  std::map<int, std::set<std::string>> ancestor_entries_;
};

class CurrentConfig {
 public:
  explicit CurrentConfig(std::string path) : path_(std::move(path)) {}

  // The configuration, read again if one of its files changed since it was read.
  // A configuration that does not load is answered too: decide() refuses with it.
  std::shared_ptr<const policy::LoadedConfig> get();

  // Read it again on the next get() whatever inotify says (SIGHUP).
  void mark_changed() { reload_ = true; }

 private:
  void watch_files();

  std::string path_;
  ConfigWatch watch_;
  std::shared_ptr<const policy::LoadedConfig> loaded_;
  std::string accounts_dir_;  // watched; learnt from the configuration
  bool reload_ = true;
};

}  // namespace suwrap::gate
