// SPDX-License-Identifier: Apache-2.0
// Lexical path rules. Containment is decided component by component, never by string
// prefix: "/var/www2" must not pass for "/var/www" (the suEXEC docroot mistake).
#include "suwrap/config/paths.hpp"

#include <climits>

namespace suwrap::policy {

namespace {

constexpr std::string_view wildcard_component = "*";

bool is_dot_component(std::string_view component) {
  return component == "." || component == "..";
}

}  // namespace

std::vector<std::string_view> split_components(std::string_view path) {
  std::vector<std::string_view> components;
  size_t pos = 0;
  while (pos < path.size()) {
    const size_t slash = path.find('/', pos);
    const size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > pos) components.push_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return components;
}

std::optional<std::string> validate_script_path(std::string_view path) {
  if (path.empty()) return "the script path is empty";
  // Bytes that would truncate the path at a system call or forge a log line are looked
  // for before anything else, so no later message has to quote them.
  if (path.find('\0') != std::string_view::npos) return "the script path contains a NUL byte";
  if (path.find_first_of("\n\r") != std::string_view::npos) return "the script path contains a line break";
  if (path.size() >= PATH_MAX)
    return "the script path is " + std::to_string(path.size()) + " bytes long, the limit is " +
           std::to_string(PATH_MAX - 1);
  if (path.front() != '/') return "the script path is not absolute";
  if (path.back() == '/') return "the script path ends with '/'";
  if (path.find("//") != std::string_view::npos) return "the script path has an empty component ('//')";
  for (const std::string_view component : split_components(path)) {
    if (component == ".") return "the script path has a '.' component";
    if (component == "..") return "the script path has a '..' component";
  }
  return std::nullopt;
}

bool path_inside(std::string_view path, std::string_view pattern) {
  // Both sides must be absolute; a relative path has no place it is "inside" of.
  if (path.empty() || path.front() != '/' || pattern.empty() || pattern.front() != '/') return false;
  if (path.find('\0') != std::string_view::npos || pattern.find('\0') != std::string_view::npos) return false;

  const auto path_components = split_components(path);
  const auto pattern_components = split_components(pattern);
  // "." and ".." would make a lexical comparison meaningless ("/var/www/../etc"); such a
  // path is never inside anything here, whatever the kernel would make of it.
  for (const std::string_view c : path_components)
    if (is_dot_component(c)) return false;
  for (const std::string_view c : pattern_components)
    if (is_dot_component(c)) return false;

  if (path_components.size() < pattern_components.size()) return false;
  for (size_t i = 0; i < pattern_components.size(); ++i) {
    if (pattern_components[i] == wildcard_component) continue;  // any one (non-empty) component
    if (pattern_components[i] != path_components[i]) return false;
  }
  return true;
}

std::optional<std::string> matching_docroot(std::string_view path, std::span<const std::string> docroots) {
  for (const std::string& pattern : docroots)
    if (path_inside(path, pattern)) return pattern;
  return std::nullopt;
}

std::string_view extension_of(std::string_view path) {
  const size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = name.rfind('.');
  // A dot-file such as ".htaccess" is a name, not an extension; a name ending in a dot
  // ("x.php.") has none either, so it never matches a handler's extension.
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return {};
  return name.substr(dot);
}

std::string_view directory_of(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {};
  if (slash == 0) return path.substr(0, 1);
  return path.substr(0, slash);
}

}  // namespace suwrap::policy
