// SPDX-License-Identifier: Apache-2.0
// Root's files, opened by descriptor from "/" (trusted.hpp).
#include "suwrap/config/trusted.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <exception>
#include <system_error>
#include <vector>

#include "suwrap/config/paths.hpp"

namespace suwrap::policy {

namespace {

constexpr std::size_t max_file_bytes = std::size_t{1} << 20;

std::string errno_text(int error) {
  return std::generic_category().message(error);
}

ConfigError file_error(std::string path, std::string message) {
  return ConfigError{std::move(path), 0, "", std::move(message)};
}

// Explains why openat(dir, name) failed; a symlink is named as such, since O_NOFOLLOW
// reports it only as ELOOP or ENOTDIR.
OpenFailure open_failure(int dir, const std::string& name, const std::string& path, int error) {
  if (error == ENOENT) return {file_error(path, "does not exist"), true};
  struct stat st {};
  if ((error == ELOOP || error == ENOTDIR) && ::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode))
      return {file_error(path, "is a symbolic link; configuration paths are read without following links"),
              false};
    if (error == ENOTDIR) return {file_error(path, "is not a directory"), false};
  }
  return {file_error(path, "cannot open: " + errno_text(error)), false};
}

std::optional<ConfigError> fstat_into(Opened& opened, const std::string& path, bool require_trusted) {
  if (::fstat(opened.fd.get(), &opened.st) != 0) return file_error(path, "cannot fstat: " + errno_text(errno));
  if (require_trusted) return trust_problem(path, opened.st);
  return std::nullopt;
}

}  // namespace

std::string mode_text(mode_t mode) {
  std::string digits = "0000";
  mode_t bits = mode & 07777U;
  for (std::size_t i = digits.size(); i-- > 0; bits >>= 3U) digits[i] = static_cast<char>('0' + (bits & 7U));
  return digits;
}

std::string child_path(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out != "/") out += '/';
  out += name;
  return out;
}

// Root's configuration must be root's alone: anyone else who can change it decides who runs as whom.
std::optional<ConfigError> trust_problem(const std::string& path, const struct stat& st) {
  static constexpr std::string_view only_root = "; it must be owned by root and writable only by root";
  if (st.st_uid != 0)
    return file_error(path, "owned by uid " + std::to_string(st.st_uid) + ", must be owned by root");
  if ((st.st_mode & S_IWOTH) != 0)
    return file_error(path, "is writable by others (mode " + mode_text(st.st_mode) + ")" + std::string(only_root));
  if ((st.st_mode & S_IWGRP) != 0)
    return file_error(path,
                      "is writable by its group (mode " + mode_text(st.st_mode) + ")" + std::string(only_root));
  return std::nullopt;
}

// One openat(O_PATH|O_NOFOLLOW|O_DIRECTORY) per component, so that no symlink is followed and
// each directory checked is the one the next step opens from.
Expected<Opened, OpenFailure> open_trusted_directory(const std::string& path, bool require_trusted) {
  if (path.empty() || path.front() != '/')
    return unexpected(OpenFailure{file_error(path, "expected an absolute path")});
  std::string at = "/";
  Opened current;
  current.fd = Fd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!current.fd) return unexpected(OpenFailure{file_error(at, "cannot open: " + errno_text(errno))});
  if (auto problem = fstat_into(current, at, require_trusted)) return unexpected(OpenFailure{*problem});

  for (const auto component : split_components(path)) {
    if (component == "." || component == "..")
      return unexpected(OpenFailure{file_error(path, "expected a path without \".\" or \"..\" components")});
    const std::string name(component);
    const std::string next_path = child_path(at, name);
    Opened next;
    next.fd = Fd(::openat(current.fd.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC));
    if (!next.fd) return unexpected(open_failure(current.fd.get(), name, next_path, errno));
    if (auto problem = fstat_into(next, next_path, require_trusted)) return unexpected(OpenFailure{*problem});
    current = std::move(next);
    at = next_path;
  }
  return current;
}

// O_NONBLOCK: a FIFO planted in place of the file cannot make the reader wait forever.
Expected<Opened, OpenFailure> open_file_in(int dir, const std::string& name, const std::string& path,
                                           bool require_trusted) {
  Opened file;
  file.fd = Fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!file.fd) return unexpected(open_failure(dir, name, path, errno));
  if (::fstat(file.fd.get(), &file.st) != 0)
    return unexpected(OpenFailure{file_error(path, "cannot fstat: " + errno_text(errno))});
  if (!S_ISREG(file.st.st_mode)) return unexpected(OpenFailure{file_error(path, "is not a regular file")});
  if (require_trusted) {
    if (auto problem = trust_problem(path, file.st)) return unexpected(OpenFailure{*problem});
  }
  return file;
}

Expected<std::pair<std::string, std::string>, ConfigError> split_directory_and_name(const std::string& path) {
  if (path.empty() || path.front() != '/') return unexpected(file_error(path, "expected an absolute path"));
  const auto parts = split_components(path);
  if (parts.empty()) return unexpected(file_error(path, "is not a regular file"));
  for (const auto part : parts) {
    if (part == "." || part == "..")
      return unexpected(file_error(path, "expected a path without \".\" or \"..\" components"));
  }
  const std::size_t slash = path.rfind('/');
  std::string dir = slash == 0 ? std::string("/") : path.substr(0, slash);
  return std::make_pair(std::move(dir), std::string(parts.back()));
}

std::optional<ConfigError> check_trusted_path(const std::string& path) {
  try {
    if (path == "/") {
      auto root = open_trusted_directory(path, true);
      return root ? std::nullopt : std::optional(root.error().error);
    }
    auto split = split_directory_and_name(path);
    if (!split) return split.error();
    auto dir = open_trusted_directory(split->first, true);
    if (!dir) return dir.error().error;
    // O_PATH without O_DIRECTORY: the object may be a file or a directory; with O_NOFOLLOW
    // a symlink is opened as itself, and refused below.
    Opened object;
    object.fd = Fd(::openat(dir->fd.get(), split->second.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!object.fd) return open_failure(dir->fd.get(), split->second, path, errno).error;
    if (::fstat(object.fd.get(), &object.st) != 0) return file_error(path, "cannot fstat: " + errno_text(errno));
    if (S_ISLNK(object.st.st_mode))
      return file_error(path, "is a symbolic link; configuration paths are read without following links");
    return trust_problem(path, object.st);
  } catch (const std::exception& error) {
    return file_error(path, std::string("cannot check: ") + error.what());
  }
}

Expected<std::string, ConfigError> read_opened(const Opened& file, const std::string& path) {
  const auto too_large = [&] {
    return file_error(path, "is larger than 1 MiB; expected a smaller configuration file");
  };
  if (file.st.st_size > static_cast<off_t>(max_file_bytes)) return unexpected(too_large());
  std::string text;
  std::array<char, 16384> buffer;  // NOLINT(cppcoreguidelines-pro-type-member-init): filled by read
  while (true) {
    const ssize_t got = ::read(file.fd.get(), buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return unexpected(file_error(path, "cannot read: " + errno_text(errno)));
    if (got == 0) return text;
    text.append(buffer.data(), static_cast<std::size_t>(got));
    if (text.size() > max_file_bytes) return unexpected(too_large());  // it grew while we read
  }
}

}  // namespace suwrap::policy
