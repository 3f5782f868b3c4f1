// SPDX-License-Identifier: Apache-2.0
// The one trusted open (trusted_open.hpp).
#include "suwrap/util/trusted_open.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

#include "suwrap/util/text.hpp"

namespace suwrap::util {

namespace {

using Error = TrustedOpenError;
using Reason = TrustedOpenError::Reason;
using Kind = TrustedOpenOptions::Kind;

Error refusal(Reason reason, std::string path, int error = 0) {
  Error out;
  out.reason = reason;
  out.path = std::move(path);
  out.error = error;
  return out;
}

// Directories on the way are held with O_PATH only; the object as the caller asked.
int flags_for(bool last, const TrustedOpenOptions& options) {
  if (!last || options.kind == Kind::directory) return O_PATH | O_DIRECTORY;
  return options.for_reading ? O_RDONLY | O_NONBLOCK | O_NOCTTY : O_PATH;
}

// Why the step to `name` in `dir` failed. O_NOFOLLOW reports a link only as ELOOP (or, with
// O_DIRECTORY, ENOTDIR), so a link is named as such by looking at it without following it.
Error step_refusal(int dir, const std::string& name, std::string path, const StepFailure& failure) {
  if (failure.at_fstat) return refusal(Reason::cannot_stat, std::move(path), failure.error);
  if (failure.error == ENOENT) return refusal(Reason::missing, std::move(path));
  struct stat st {};
  if ((failure.error == ELOOP || failure.error == ENOTDIR) &&
      ::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode)) return refusal(Reason::symlink, std::move(path));
    if (failure.error == ENOTDIR) return refusal(Reason::not_directory, std::move(path));
  }
  return refusal(Reason::cannot_open, std::move(path), failure.error);
}

// What each component opened must be: never a link, the object of the kind asked for, and,
// where trust is asked for, root's alone.
std::optional<Error> judge(const Opened& opened, const std::string& path, bool last,
                           const TrustedOpenOptions& options) {
  const mode_t mode = opened.st.st_mode;
  if (S_ISLNK(mode)) return refusal(Reason::symlink, path);
  if (last && options.kind == Kind::regular_file && !S_ISREG(mode)) return refusal(Reason::not_regular, path);
  if (last && options.kind == Kind::directory && !S_ISDIR(mode)) return refusal(Reason::not_directory, path);
  if (!options.require_trusted) return std::nullopt;
  if (const auto why = untrusted(opened.st)) {
    Error out = refusal(Reason::untrusted, path);
    out.why = *why;
    out.st = opened.st;
    return out;
  }
  return std::nullopt;
}

Expected<Opened, Error> open_component(int dir, const std::string& name, std::string path, bool last,
                                       const TrustedOpenOptions& options) {
  auto opened = open_step(dir, name, flags_for(last, options));
  if (!opened) return unexpected(step_refusal(dir, name, std::move(path), opened.error()));
  if (auto problem = judge(*opened, path, last, options)) return unexpected(std::move(*problem));
  return std::move(*opened);
}

// A NUL would end the name the kernel sees before the name judged and reported.
bool is_component(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

}  // namespace

std::optional<Untrusted> untrusted(uid_t owner, mode_t mode) {
  if (owner != 0) return Untrusted::owner;
  if ((mode & S_IWOTH) != 0) return Untrusted::writable_by_others;
  if ((mode & S_IWGRP) != 0) return Untrusted::writable_by_group;
  return std::nullopt;
}

std::optional<Untrusted> untrusted(const struct stat& st) { return untrusted(st.st_uid, st.st_mode); }

Expected<Opened, StepFailure> open_step(int dir, const std::string& name, int flags) {
  Opened opened;
  opened.fd = Fd(::openat(dir, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC));
  if (!opened.fd) return unexpected(StepFailure{errno, false});
  if (::fstat(opened.fd.get(), &opened.st) != 0) return unexpected(StepFailure{errno, true});
  return opened;
}

Expected<Opened, StepFailure> open_root() {
  return open_step(AT_FDCWD, "/", O_PATH | O_DIRECTORY);
}

Expected<Opened, TrustedOpenError> open_trusted(std::string_view path, const TrustedOpenOptions& options) {
  if (path.empty() || path.front() != '/')
    return unexpected(refusal(Reason::not_absolute, std::string(path)));
  // A trailing "/" names a directory: for anything else it is not the name of the object.
  if (path.size() > 1 && path.back() == '/' && options.kind != TrustedOpenOptions::Kind::directory)
    return unexpected(refusal(Reason::not_canonical, std::string(path)));
  // The components, empty ones ("//") skipped; the last is the object.
  std::vector<std::string_view> components;
  for (std::size_t start = 0; start < path.size();) {
    const std::size_t slash = std::min(path.find('/', start), path.size());
    if (slash > start) components.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }

  auto root = open_root();
  if (!root) {
    const auto& failure = root.error();
    return unexpected(
        refusal(failure.at_fstat ? Reason::cannot_stat : Reason::cannot_open, "/", failure.error));
  }
  Opened current = std::move(*root);
  if (auto problem = judge(current, "/", components.empty(), options)) return unexpected(std::move(*problem));

  std::string at = "/";
  for (std::size_t i = 0; i < components.size(); ++i) {
    if (!is_component(components[i])) return unexpected(refusal(Reason::not_canonical, std::string(path)));
    const std::string name(components[i]);
    std::string next_path = child_path(at, name);
    auto next = open_component(current.fd.get(), name, next_path, i + 1 == components.size(), options);
    if (!next) return next;
    current = std::move(*next);
    at = std::move(next_path);
  }
  return current;
}

Expected<Opened, TrustedOpenError> open_trusted_in(int dir, std::string_view dir_path,
                                                   const std::string& name,
                                                   const TrustedOpenOptions& options) {
  std::string path = child_path(dir_path, name);
  if (!is_component(name)) return unexpected(refusal(Reason::not_canonical, std::move(path)));
  return open_component(dir, name, std::move(path), true, options);
}

}  // namespace suwrap::util
