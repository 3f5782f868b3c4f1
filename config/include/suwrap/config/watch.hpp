// SPDX-License-Identifier: Apache-2.0
// Watching files with inotify: what a daemon reads once and must read again when it changes.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "suwrap/config/accounts.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/util/fd.hpp"

namespace suwrap::policy {

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
  // Whether the last watch() could watch everything it was given.
  [[nodiscard]] bool watching() const { return !broken_; }

  // True when none of `watches` has an event to read and each is watching: then changed()
  // would answer false for each, and one poll() for them all says so without reading.
  // False is no more than "ask changed()": an event of an ancestor that concerns nothing
  // (it is dropped there) or a failed poll() answer false too.
  [[nodiscard]] static bool quiet(std::span<const ConfigWatch* const> watches);
  // The inotify descriptor to poll for events, or -1 when it is not watching (changed()
  // then answers true without looking).
  [[nodiscard]] int descriptor() const { return broken_ ? -1 : inotify_.get(); }

 private:
  util::Fd inotify_;
  bool broken_ = true;
  // Per watch descriptor of an ancestor: the names of its entries that lead to a watched
  // directory. A watch descriptor not in here (a watched directory) counts every event.
  std::map<int, std::set<std::string>> ancestor_entries_;
};

// The configuration as a daemon (suwrap-cgid, a gate) sees it now.
struct ConfigSnapshot {
  explicit ConfigSnapshot(LoadedConfig loaded) : config(std::move(loaded)) {}
  LoadedConfig config;
  // The accounts of `config`; null when it did not load (decide() then refuses at `config`).
  std::unique_ptr<AccountDirectory> accounts;
  // `accounts`, or no accounts at all.
  AccountSource& account_source();

 private:
  AccountList none_{std::vector<Account>{}};
};

// The configuration as it is now, for every request, without reading it for every request.
//
// A daemon runs for as long as it is busy, and root may edit the configuration or an account
// file meanwhile (disable an account, change its docroots or its php.ini). Like suwrap, which
// reads it per request, the daemons decide and route with the configuration as it is:
// inotify tells them when the main file, a directory above it or above accounts_dir
// changed (it is read again), when a file in accounts_dir changed (the accounts are looked
// up again, and an index older than that change is refreshed, not believed: an edit made in
// place is seen too), and when the index on disk was rewritten (it is believed again once it
// is newer than the last change). Where inotify cannot be had, everything is read again
// for every request.
class CurrentConfig {
 public:
  explicit CurrentConfig(std::string path) : path_(std::move(path)) {}

  // The configuration, read again where one of its files changed since it was read.
  // A configuration that does not load is answered too: decide() refuses with it.
  // When nothing changed, one poll() of the three inotify descriptors is all it costs.
  std::shared_ptr<ConfigSnapshot> get();

  // Read it again on the next get() whatever inotify says (SIGHUP).
  void mark_changed() { reload_ = true; }

  // For a process that polls all its watches at once (a php-cgi worker, once per request):
  // the descriptors get() looks at (-1 for one that cannot be polled), and what that poll
  // found. While set_quiet(true) holds, none of them had an event to read, and get() takes
  // the snapshot as it is without a poll of its own; set_quiet(false) looks again.
  void descriptors(std::vector<int>& into) const;
  void set_quiet(bool quiet) { quiet_ = quiet; }

  // When a file in accounts_dir was last seen to change (CLOCK_REALTIME, ns), 0 if never,
  // as of the last get(): suwrap-cgid tells suwrap, which then refreshes an index older
  // than that.
  [[nodiscard]] std::int64_t accounts_changed_ns() const { return accounts_changed_ns_; }

 private:
  void reload();
  void watch_index();

  std::string path_;
  ConfigWatch config_watch_;    // the main file's directory, and every directory above it and accounts_dir
  ConfigWatch accounts_watch_;  // accounts_dir
  ConfigWatch index_watch_;     // accounts_dir/.suwrap, where the index is written
  bool index_watched_ = false;
  std::shared_ptr<ConfigSnapshot> snapshot_;
  std::string accounts_dir_;  // watched; learnt from the configuration
  std::int64_t accounts_changed_ns_ = 0;
  bool reload_ = true;
  bool quiet_ = false;
};

}  // namespace suwrap::policy
