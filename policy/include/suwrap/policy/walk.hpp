// SPDX-License-Identifier: Apache-2.0
// The file-system walk by descriptor: each component opened from "/" with
// openat(O_PATH|O_NOFOLLOW|O_CLOEXEC) and fstat'ed. It only gathers facts; the checks judge.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "suwrap/config/expected.hpp"
#include "suwrap/config/fd.hpp"

namespace suwrap::policy {

struct FileFacts {
  dev_t dev = 0;
  ino_t ino = 0;
  mode_t mode = 0;  // full st_mode (type and permission bits)
  uid_t uid = 0;
  gid_t gid = 0;
  nlink_t nlink = 0;
  off_t size = 0;

  static FileFacts from(const struct stat& st);
  [[nodiscard]] bool is_dir() const { return S_ISDIR(mode); }
  [[nodiscard]] bool is_regular() const { return S_ISREG(mode); }
  [[nodiscard]] bool is_symlink() const { return S_ISLNK(mode); }
  [[nodiscard]] bool same_file(const FileFacts& o) const { return dev == o.dev && ino == o.ino; }
};

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
  Fd fd;                          // O_PATH descriptor of `object`

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
Expected<Walk, WalkError> walk_path(std::string_view absolute_path, const WalkOptions& options = {});

}  // namespace suwrap::policy
