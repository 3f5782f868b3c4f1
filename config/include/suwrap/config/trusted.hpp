// SPDX-License-Identifier: Apache-2.0
// Root's configuration files, opened so that what is judged is what is read (check `config`):
// the trusted open of the util library (suwrap/util/trusted_open.hpp), with the
// configuration's words for each refusal. Whoever else can change root's configuration
// decides who runs as whom.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "suwrap/config/config.hpp"
#include "suwrap/util/expected.hpp"
#include "suwrap/util/trusted_open.hpp"

namespace suwrap::policy {

// Something opened on the way, with what fstat said about it.
using Opened = util::Opened;

struct OpenFailure {
  ConfigError error;
  bool missing = false;  // ENOENT somewhere on the way
};

// Why root's file or directory at `path`, with status `st`, cannot be trusted, if it cannot.
std::optional<ConfigError> trust_problem(const std::string& path, const struct stat& st);

// Opens the directory `path` (absolute, without "." or "..") from "/", with O_PATH.
util::Expected<Opened, OpenFailure> open_trusted_directory(const std::string& path, bool require_trusted);

// Opens the regular file `path` (absolute, without "." or "..") from "/" for reading.
util::Expected<Opened, OpenFailure> open_trusted_file(const std::string& path, bool require_trusted);

// Opens `name` in the directory `dir`, whose path is `dir_path`, for reading, without
// following a link and without waiting on a FIFO. Fails unless it is a regular file (and,
// where asked, a trusted one).
util::Expected<Opened, OpenFailure> open_file_in(int dir, std::string_view dir_path, const std::string& name,
                                                 bool require_trusted);

// Opens the directory `name` in the directory `dir`, whose path is `dir_path`, with O_PATH,
// and only if it is trusted.
util::Expected<Opened, OpenFailure> open_trusted_directory_in(int dir, std::string_view dir_path,
                                                              const std::string& name);

// Reads an opened file of at most 1 MiB.
util::Expected<std::string, ConfigError> read_opened(const Opened& file, const std::string& path);

// "/etc/suwrap/suwrap.toml" -> {"/etc/suwrap", "suwrap.toml"}: an absolute path without "."
// or ".." components, naming something below "/".
util::Expected<std::pair<std::string, std::string>, ConfigError> split_directory_and_name(
    const std::string& path);

// Checks that `path` and every directory above it is owned by root and not writable by
// group or others, walking by descriptor without following symlinks. Returns the problem.
std::optional<ConfigError> check_trusted_path(const std::string& path);

}  // namespace suwrap::policy
