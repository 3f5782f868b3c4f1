// SPDX-License-Identifier: Apache-2.0
// The one trusted open: root's files and directories, opened from "/" one component at a
// time, so that what is judged is what is used.
//
// Every component is opened with O_NOFOLLOW relative to the descriptor of the directory
// before it and fstat'ed, so no link is followed and no name is resolved twice. Where trust
// is asked for, "/", every directory on the way and the object itself must be root's alone
// (owned by root, writable by neither group nor others): whoever else can change one of them
// can put another file in its place.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <string_view>

#include "suwrap/util/expected.hpp"
#include "suwrap/util/fd.hpp"

namespace suwrap::util {

// Something opened, with what fstat said about it.
struct Opened {
  Fd fd;
  struct stat st {};
};

// The trust rule, the one place it is written: why `st` is not root's alone, if it is not.
enum class Untrusted { owner, writable_by_others, writable_by_group };
std::optional<Untrusted> untrusted(const struct stat& st);
// The same rule on an owner and a mode already known (the policy's facts).
std::optional<Untrusted> untrusted(uid_t owner, mode_t mode);

// Why a step failed: the errno of openat, or of the fstat after it.
struct StepFailure {
  int error = 0;
  bool at_fstat = false;  // openat succeeded, fstat failed
};

// One step of every walk by descriptor (the trusted open below, the policy's walk):
// openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC), then fstat of what was opened. With
// O_PATH a symbolic link is opened as itself (S_ISLNK tells); it is never followed.
Expected<Opened, StepFailure> open_step(int dir, const std::string& name, int flags);

// "/" itself, with O_PATH, fstat'ed: where every walk starts.
Expected<Opened, StepFailure> open_root();

struct TrustedOpenOptions {
  enum class Kind { directory, regular_file, any };
  Kind kind = Kind::any;
  // Whether every component must be root's alone. Without it the same walk only opens
  // (nothing followed, nothing resolved twice); the caller judges what it holds, or reports.
  bool require_trusted = true;
  // The object opened for reading (O_RDONLY, O_NONBLOCK so that a FIFO cannot make the
  // reader wait, O_NOCTTY) rather than with O_PATH. Directories on the way keep O_PATH.
  bool for_reading = false;
};

// Why a trusted open stopped, each refusal its own reason.
struct TrustedOpenError {
  enum class Reason {
    not_absolute,   // the path does not start with "/"
    not_canonical,  // a "." or ".." component
    missing,        // ENOENT
    symlink,        // a symbolic link where a directory or the object was expected
    not_directory,  // a non-directory on the way, or where a directory was asked for
    not_regular,    // the object is not a regular file, and one was asked for
    untrusted,      // not root's alone (see `untrusted`, and `st`)
    cannot_open,    // openat failed otherwise (`error`)
    cannot_stat,    // fstat failed (`error`)
  };
  Reason reason = Reason::cannot_open;
  std::string path;   // where it stopped: "/" or a prefix of the path (the whole path, not_absolute
                      // and not_canonical)
  int error = 0;      // errno, for cannot_open and cannot_stat
  Untrusted why{};    // for untrusted
  struct stat st {};  // for untrusted: what fstat said
};

// Opens the absolute `path` from "/", as above. Empty components ("//") are skipped; a
// "." or ".." is refused where the walk meets it.
Expected<Opened, TrustedOpenError> open_trusted(std::string_view path, const TrustedOpenOptions& options);

// The same, for the one component `name` in the directory `dir` already opened that way,
// whose path is `dir_path` (for messages).
Expected<Opened, TrustedOpenError> open_trusted_in(int dir, std::string_view dir_path,
                                                   const std::string& name,
                                                   const TrustedOpenOptions& options);

}  // namespace suwrap::util
