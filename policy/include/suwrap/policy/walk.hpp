// SPDX-License-Identifier: Apache-2.0
// The file-system walk by descriptor: each component opened from "/" with
// openat(O_PATH|O_NOFOLLOW|O_CLOEXEC) and fstat'ed. It only gathers facts; the checks judge.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "suwrap/util/expected.hpp"
#include "suwrap/util/fd.hpp"

namespace suwrap::policy {

struct FileFacts {
  dev_t dev = 0;
  ino_t ino = 0;
  mode_t mode = 0;  // full st_mode (type and permission bits)
  uid_t uid = 0;
  gid_t gid = 0;
  nlink_t nlink = 0;
  off_t size = 0;
  // The inode's change time: a new file that reuses a freed inode number has another, and
  // nobody can set it back (the `identity` check and the PHP guard compare it).
  std::int64_t ctime_sec = 0;
  std::int64_t ctime_nsec = 0;

  static FileFacts from(const struct stat& st);
  [[nodiscard]] bool is_dir() const { return S_ISDIR(mode); }
  [[nodiscard]] bool is_regular() const { return S_ISREG(mode); }
  [[nodiscard]] bool is_symlink() const { return S_ISLNK(mode); }
  [[nodiscard]] bool same_file(const FileFacts& o) const { return dev == o.dev && ino == o.ino; }
  // The same file, unchanged in its inode: device, inode, change time and owner.
  [[nodiscard]] bool same_identity(const FileFacts& o) const {
    return same_file(o) && ctime_sec == o.ctime_sec && ctime_nsec == o.ctime_nsec && uid == o.uid;
  }
  // "dev:ino:ctime_sec:ctime_nsec": what php-cgi's guard (php/suwrap_guard.c) compares the
  // script it opens with, passed as SUWRAP_SCRIPT_ID.
  [[nodiscard]] std::string identity() const;
};

// The variable (per request) or FastCGI param (warm mode) that carries FileFacts::identity()
// of the checked script to the PHP guard. Set by suwrap and the gate only: the request's own
// SUWRAP_* variables never reach a handler.
inline constexpr std::string_view script_identity_name = "SUWRAP_SCRIPT_ID";

// An object reached by the walk, named by its physical path (symlinks resolved).
struct WalkNode {
  std::string path;
  FileFacts facts;
};

// A symbolic link met on the way.
struct SymlinkFact {
  std::string path;           // physical path of the link itself
  FileFacts link;             // lstat facts of the link (its owner is link.uid)
  std::string target;         // the link's content, as read
  std::string resolved_path;  // physical path of what the link finally leads to
  FileFacts resolved;         // facts of that object
};

struct Walk {
  std::vector<WalkNode> dirs;     // "/" first, down to the directory holding the object
  WalkNode object;                // the object the path names (after symlinks)
  std::vector<SymlinkFact> links; // every link followed, in order
  util::Fd fd;                    // O_PATH descriptor of `object`

  [[nodiscard]] const std::string& physical_path() const { return object.path; }
};

enum class WalkErrorKind {
  missing,        // ENOENT on some component
  not_directory,  // a non-directory where a directory was needed (ENOTDIR)
  too_many_links, // more than the link budget (ELOOP)
  too_long,       // path or depth limits
  denied,         // EACCES
  io,             // anything else
};

struct WalkError {
  WalkErrorKind kind = WalkErrorKind::io;
  std::string path;  // the component path where it stopped
  int err = 0;       // errno
  [[nodiscard]] std::string to_string() const;  // "/home/alice/public_html/x.php does not exist"
};

struct WalkOptions {
  unsigned max_links = 40;
};

// Walks an absolute path. Symlinks are followed (with the budget) and recorded so that the
// `symlinks` policy can be judged afterwards.
util::Expected<Walk, WalkError> walk_path(std::string_view absolute_path, const WalkOptions& options = {});

}  // namespace suwrap::policy
