// SPDX-License-Identifier: Apache-2.0
// The handler's environment (suwrap(8), ENVIRONMENT): built from nothing, from an allowlist.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace suwrap::policy {

inline constexpr std::size_t max_environment_variables = 512;
inline constexpr std::size_t max_environment_bytes = 256 * 1024;

// The `request` rule for the environment: every entry "NAME=value", no newline (or NUL),
// no name twice, at most 512 entries and 256 KiB in all. Returns the reason if not.
std::optional<std::string> validate_environment(std::span<const std::string> environment);

// Whether a variable of this name may pass from the request to the handler.
bool is_passed_through(std::string_view name);

// Whether the value is acceptable for that name (e.g. TZ: a plain zone name only).
bool is_well_formed(std::string_view name, std::string_view value);

struct HandlerEnvironment {
  std::string safe_path;        // PATH
  std::string script_filename;  // SCRIPT_FILENAME: the checked script
  bool php = false;             // PHP kinds: REDIRECT_STATUS=200 and PHPRC
  std::string phprc;            // the php.ini file
  std::string home, user;       // HOME, USER and LOGNAME of the target
};

// The environment the handler gets: the allowed request variables, then suwrap's own.
// `environment` must have passed validate_environment.
std::vector<std::string> build_environment(std::span<const std::string> environment,
                                           const HandlerEnvironment& set);

// The value of NAME in a "NAME=value" list, if present.
std::optional<std::string_view> find_variable(std::span<const std::string> environment,
                                              std::string_view name);

}  // namespace suwrap::policy
