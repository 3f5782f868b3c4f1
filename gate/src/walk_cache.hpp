// SPDX-License-Identifier: Apache-2.0
// The walk of a script path, remembered until the kernel says that something it saw may
// have changed. A FactSource in front of another: walk() answers from memory when it can;
// everything else is passed through.
//
// Only a walk that met no symbolic link is remembered: its directories are then exactly the
// prefixes of the path, and each of them — "/" down to the script's directory — and the
// script itself are watched with inotify before the walk is made (a change during the walk
// is an event, so it is never remembered as current). A directory's watch reports a change
// of its own mode or owner, an entry made, removed or renamed in it, a change of an entry's
// mode or owner, and its own removal or renaming; the script's reports a write (its change
// time moves), a change of mode or owner, its removal or renaming. Before every walk() the
// queue is read (unless the caller polled it and found it empty: set_quiet()), and every
// remembered walk that any event touches is forgotten; a queue that overflowed forgets them
// all. A walk that cannot be watched (no inotify, no room for a watch) is made every time,
// never remembered.
//
// stat() of a path (the handler's program, its ini directory and php.ini, for every request)
// is remembered the same way, links included: the path is walked to learn where it leads,
// then every directory on the way to it and to each link met is watched (an entry made,
// removed or renamed, a change of mode or owner) and the object itself (a write, a change of
// mode or owner, its removal or renaming); then it is stat()ed and walked once more, and
// remembered only when the second walk met the same links and object as the first.
//
// Watched, and so remembered, only on a local file system: on NFS, CIFS, FUSE, a cluster
// file system or overlayfs a change made elsewhere raises no event here.
//
// What no event reports, and so what this trusts not to happen under a running pool: a file
// system mounted over a directory on the way (root's act; the walk by descriptor would see it
// at the next pool). The remembered facts are those of the walk as it was made; the PHP guard
// still opens the script and compares its identity before PHP compiles it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "suwrap/policy/facts.hpp"
#include "suwrap/util/fd.hpp"

namespace suwrap::gate {

class WalkCache final : public policy::FactSource {
 public:
  // At most `max_entries` walks are remembered (then all are forgotten, and their watches).
  explicit WalkCache(policy::FactSource& source, std::size_t max_entries = 256);

  util::Expected<policy::Walk, policy::WalkError> walk(std::string_view absolute_path) override;
  std::optional<policy::FileFacts> stat_path(std::string_view path) override;
  std::optional<policy::UserInfo> user_by_name(std::string_view name) override { return source_.user_by_name(name); }
  std::optional<policy::UserInfo> user_by_uid(uid_t uid) override { return source_.user_by_uid(uid); }
  std::optional<policy::GroupInfo> group_by_name(std::string_view name) override {
    return source_.group_by_name(name);
  }
  std::optional<policy::GroupInfo> group_by_gid(gid_t gid) override { return source_.group_by_gid(gid); }
  std::optional<std::string> php_sapi(std::string_view path) override { return source_.php_sapi(path); }

  // Something remembered with the walk of `path` (the PHP guard's .user.ini verdict), kept
  // and forgotten with it. nullptr when the walk of `path` is not remembered now. It does
  // not read the queue: it is asked after the walk of the same request, which read it, and
  // an event since then is read (and forgets the note) at the next walk(), as one made just
  // after this call would be.
  std::string* note(std::string_view path);

  // For a process that polls all its watches at once (a php-cgi worker, once per request):
  // the inotify descriptor (-1 when there is none: nothing is remembered), and what that
  // poll found. While set_quiet(true) holds, it had no event to read, and walk() reads it
  // no more; set_quiet(false) reads again.
  [[nodiscard]] int descriptor() const { return inotify_.get(); }
  void set_quiet(bool quiet) { quiet_ = quiet; }

  // For the tests: walks made by the source, and walks remembered now.
  [[nodiscard]] std::size_t source_walks() const { return source_walks_; }
  [[nodiscard]] std::size_t remembered() const { return entries_.size(); }
  [[nodiscard]] std::size_t source_stats() const { return source_stats_; }
  [[nodiscard]] std::size_t remembered_stats() const { return stats_.size(); }

 private:
  struct Entry {
    policy::Walk walk;  // without its descriptor
    std::string note;
    std::set<int> watches;
  };
  struct Stat {
    policy::FileFacts facts;
    std::set<int> watches;
  };
  void read_events();
  void forget_all();
  void forget(const std::string& path);
  void forget_stat(const std::string& path);
  // Watches `path` with `events` into `watches`; false when it cannot be watched.
  bool add_watch(const std::string& path, std::uint32_t events, std::set<int>& watches);

  policy::FactSource& source_;
  std::size_t max_entries_;
  util::Fd inotify_;
  std::unordered_map<std::string, Entry> entries_;
  std::map<int, std::set<std::string>> by_watch_;  // watch descriptor -> remembered paths
  std::unordered_map<std::string, Stat> stats_;
  std::map<int, std::set<std::string>> stats_by_watch_;  // watch descriptor -> remembered stat() paths
  std::size_t source_stats_ = 0;
  std::size_t watches_ = 0;  // watches added since the inotify instance was made
  std::size_t source_walks_ = 0;
  bool quiet_ = false;  // the caller's poll found nothing to read on inotify_
};

}  // namespace suwrap::gate
