// SPDX-License-Identifier: Apache-2.0
// Root's configuration files, opened by descriptor from "/" (trusted.hpp).
#include "suwrap/config/trusted.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <exception>
#include <vector>

#include "suwrap/config/paths.hpp"
#include "suwrap/util/text.hpp"

namespace suwrap::policy {

using util::errno_text;
using util::Expected;
using util::unexpected;

namespace {

constexpr std::size_t max_file_bytes = std::size_t{1} << 20;

ConfigError file_error(std::string path, std::string message) {
  return ConfigError{std::move(path), 0, "", std::move(message)};
}

// The configuration's words for each refusal of the trusted open.
OpenFailure failure_of(const util::TrustedOpenError& refused) {
  using Reason = util::TrustedOpenError::Reason;
  const std::string& path = refused.path;
  switch (refused.reason) {
    case Reason::not_absolute: return {file_error(path, "expected an absolute path")};
    case Reason::not_canonical:
      return {file_error(path, "expected a path without \".\" or \"..\" components")};
    case Reason::missing: return {file_error(path, "does not exist"), true};
    case Reason::symlink:
      return {file_error(path, "is a symbolic link; configuration paths are read without following links")};
    case Reason::not_directory: return {file_error(path, "is not a directory")};
    case Reason::not_regular: return {file_error(path, "is not a regular file")};
    case Reason::untrusted: return {*trust_problem(path, refused.st)};
    case Reason::cannot_stat: return {file_error(path, "cannot fstat: " + errno_text(refused.error))};
    case Reason::cannot_open: break;
  }
  return {file_error(path, "cannot open: " + errno_text(refused.error))};
}

Expected<Opened, OpenFailure> opened_or_failure(Expected<Opened, util::TrustedOpenError> opened) {
  if (!opened) return unexpected(failure_of(opened.error()));
  return std::move(*opened);
}

}  // namespace

// Root's configuration must be root's alone: anyone else who can change it decides who runs as whom.
std::optional<ConfigError> trust_problem(const std::string& path, const struct stat& st) {
  static constexpr std::string_view only_root = "; it must be owned by root and writable only by root";
  const auto why = util::untrusted(st);
  if (!why) return std::nullopt;
  switch (*why) {
    case util::Untrusted::owner:
      return file_error(path, "owned by uid " + std::to_string(st.st_uid) + ", must be owned by root");
    case util::Untrusted::writable_by_others:
      return file_error(
          path, "is writable by others (mode " + util::mode_text(st.st_mode) + ")" + std::string(only_root));
    case util::Untrusted::writable_by_group: break;
  }
  return file_error(
      path, "is writable by its group (mode " + util::mode_text(st.st_mode) + ")" + std::string(only_root));
}

Expected<Opened, OpenFailure> open_trusted_directory(const std::string& path, bool require_trusted) {
  return opened_or_failure(util::open_trusted(
      path, {.kind = util::TrustedOpenOptions::Kind::directory, .require_trusted = require_trusted}));
}

Expected<Opened, OpenFailure> open_trusted_file(const std::string& path, bool require_trusted) {
  return opened_or_failure(util::open_trusted(path, {.kind = util::TrustedOpenOptions::Kind::regular_file,
                                                     .require_trusted = require_trusted,
                                                     .for_reading = true}));
}

Expected<Opened, OpenFailure> open_file_in(int dir, std::string_view dir_path, const std::string& name,
                                           bool require_trusted) {
  return opened_or_failure(util::open_trusted_in(dir, dir_path, name,
                                                 {.kind = util::TrustedOpenOptions::Kind::regular_file,
                                                  .require_trusted = require_trusted,
                                                  .for_reading = true}));
}

Expected<Opened, OpenFailure> open_trusted_directory_in(int dir, std::string_view dir_path,
                                                        const std::string& name) {
  return opened_or_failure(
      util::open_trusted_in(dir, dir_path, name, {.kind = util::TrustedOpenOptions::Kind::directory}));
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
    if (path != "/") {
      // The path's own faults are named before anything is opened.
      if (auto split = split_directory_and_name(path); !split) return split.error();
    }
    // Any kind: the object may be a file or a directory; a symlink is refused.
    auto opened = util::open_trusted(path, {.kind = util::TrustedOpenOptions::Kind::any});
    if (!opened) return failure_of(opened.error()).error;
    return std::nullopt;
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
