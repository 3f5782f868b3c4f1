// SPDX-License-Identifier: Apache-2.0
// Lexical rules on paths: request-path validation and docroot matching by component.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace suwrap::policy {

// Splits an absolute path into its components; "/a//b/" gives {"a", "b"}.
std::vector<std::string_view> split_components(std::string_view path);

// The `request` rule for a script path: present, absolute, no NUL or newline, no "." or
// ".." component, no empty component ("//"), fits PATH_MAX. Returns the reason if not.
std::optional<std::string> validate_script_path(std::string_view path);

// True when `path` lies strictly inside (or is) a directory matching `pattern`, compared
// component by component; a pattern component "*" matches exactly one component.
// "/var/www2/x.php" is not inside "/var/www".
bool path_inside(std::string_view path, std::string_view pattern);

// The first pattern of `docroots` that holds `path`, if any.
std::optional<std::string> matching_docroot(std::string_view path, std::span<const std::string> docroots);

// The extension of the last component, with the dot (".php"), or "" if none.
std::string_view extension_of(std::string_view path);

// Everything before the last '/'; "/" for a top-level file.
std::string_view directory_of(std::string_view path);

}  // namespace suwrap::policy
