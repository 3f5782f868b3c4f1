// SPDX-License-Identifier: Apache-2.0
// Root's files, opened so that what is judged is what is read (check `config`).
//
// Every directory from "/" is opened with O_NOFOLLOW relative to the one before it and
// fstat'ed, so no link is followed and no name is resolved twice; where trust is asked for,
// each must be owned by root and writable by nobody else. Whoever else can change root's
// configuration decides who runs as whom.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "suwrap/config/config.hpp"
#include "suwrap/config/expected.hpp"
#include "suwrap/config/fd.hpp"

namespace suwrap::policy {

// Something opened on the way, with what fstat said about it.
struct Opened {
  Fd fd;
  struct stat st {};
};

struct OpenFailure {
  ConfigError error;
  bool missing = false;  // ENOENT somewhere on the way
};

// Why root's file or directory at `path`, with status `st`, cannot be trusted, if it cannot.
std::optional<ConfigError> trust_problem(const std::string& path, const struct stat& st);

// Opens the directory `path` (absolute, without "." or "..") from "/", with O_PATH.
Expected<Opened, OpenFailure> open_trusted_directory(const std::string& path, bool require_trusted);

// Opens `name` in the directory `dir` for reading, without following a link and without
// waiting on a FIFO; `path` is its full path, for messages. Fails unless it is a regular
// file (and, where asked, a trusted one).
Expected<Opened, OpenFailure> open_file_in(int dir, const std::string& name, const std::string& path,
                                           bool require_trusted);

// Reads an opened file of at most 1 MiB.
Expected<std::string, ConfigError> read_opened(const Opened& file, const std::string& path);

// "/etc/suwrap/suwrap.toml" -> {"/etc/suwrap", "suwrap.toml"}: an absolute path without "."
// or ".." components, naming something below "/".
Expected<std::pair<std::string, std::string>, ConfigError> split_directory_and_name(const std::string& path);

// Checks that `path` and every directory above it is owned by root and not writable by
// group or others, walking by descriptor without following symlinks. Returns the problem.
std::optional<ConfigError> check_trusted_path(const std::string& path);

// "dir/name", "/name" for the root.
std::string child_path(std::string_view dir, std::string_view name);

// "0644"
std::string mode_text(mode_t mode);

}  // namespace suwrap::policy
