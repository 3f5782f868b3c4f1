// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry for the lexical path rules that decide which docroot holds a script.
// The first input byte is the length of the path; the rest after the path is a docroot
// pattern (so a NUL, a newline or any byte can sit in either). The checks restate each
// rule in the simplest terms: containment is a component-prefix relation, never a string
// prefix, and an accepted script path is absolute, normalised, and free of dot components.
#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "require.hpp"
#include "suwrap/config/paths.hpp"

namespace {

using suwrap::fuzz::require;
using namespace suwrap::policy;

using Components = std::vector<std::string_view>;

bool is_within(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

bool has_dot_component(const Components& parts) {
  return std::any_of(parts.begin(), parts.end(), [](std::string_view c) { return c == "." || c == ".."; });
}

bool has_wildcard(const Components& parts) {
  return std::find(parts.begin(), parts.end(), "*") != parts.end();
}

bool is_prefix(const Components& prefix, const Components& of) {
  return prefix.size() <= of.size() && std::equal(prefix.begin(), prefix.end(), of.begin());
}

std::string joined(const Components& parts) {
  if (parts.empty()) return "/";
  std::string out;
  for (const std::string_view part : parts) {
    out += '/';
    out += part;
  }
  return out;
}

void check_split(std::string_view text) {
  const Components parts = split_components(text);
  std::size_t total = 0;
  for (const std::string_view part : parts) {
    require(!part.empty(), "split_components gives no empty component");
    require(part.find('/') == std::string_view::npos, "a component holds no '/'");
    require(is_within(part, text), "a component is a view into the path");
    total += part.size() + 1;
  }
  require(total <= text.size() + 1, "the components are no longer than the path");
}

void check_extension(std::string_view path) {
  const std::string_view extension = extension_of(path);
  if (extension.empty()) return;
  require(extension.size() >= 2 && extension.front() == '.', "an extension is a dot and a name");
  require(extension.find_first_of("./", 1) == std::string_view::npos, "an extension has one dot and no '/'");
  require(path.size() > extension.size() && path.substr(path.size() - extension.size()) == extension,
          "an extension ends the path");
  const char before = path[path.size() - extension.size() - 1];
  require(before != '/', "a dot-file's name is not an extension");
}

void check_directory(std::string_view path) {
  const std::string_view directory = directory_of(path);
  if (path.find('/') == std::string_view::npos) {
    require(directory.empty(), "a name without '/' has no directory");
    return;
  }
  require(!directory.empty() && directory.size() <= path.size() && path.substr(0, directory.size()) == directory,
          "the directory is a prefix of the path");
  if (path.front() == '/') require(directory.front() == '/', "an absolute path's directory is absolute");
}

// What an accepted script path is, restated from suwrap(8), CHECKS: check `request`.
void check_script_path(std::string_view path) {
  const auto problem = validate_script_path(path);
  if (problem) {
    require(!problem->empty(), "a refusal says why");
    require(problem->find_first_of("\r\n") == std::string::npos, "a refusal reason is one line");
    return;
  }
  const Components parts = split_components(path);
  require(!path.empty() && path.front() == '/', "an accepted script path is absolute");
  require(path.find('\0') == std::string_view::npos, "an accepted script path has no NUL");
  require(path.find_first_of("\r\n") == std::string_view::npos, "an accepted script path has no line break");
  require(path.size() < PATH_MAX, "an accepted script path fits PATH_MAX");
  require(!has_dot_component(parts), "an accepted script path has no '.' or '..' component");
  require(!parts.empty() && joined(parts) == path, "an accepted script path is normalised");

  require(path_inside(path, path), "an accepted path is inside itself");
  require(path_inside(path, "/"), "an accepted path is inside /");
  const std::string_view directory = directory_of(path);
  require(path_inside(path, directory), "an accepted path is inside its directory");
  const Components directory_parts = split_components(directory);
  require(directory_parts.size() + 1 == parts.size() && is_prefix(directory_parts, parts),
          "the directory is the path less its last component");
  require(directory == "/" || !validate_script_path(directory), "the directory of an accepted path is accepted");
}

// `pattern` with each "*" component replaced by the path's component at that place.
std::string instantiated(const Components& pattern, const Components& path) {
  Components parts = pattern;
  for (std::size_t i = 0; i < parts.size() && i < path.size(); ++i)
    if (parts[i] == "*") parts[i] = path[i];
  return joined(parts);
}

void check_containment(std::string_view path, std::string_view pattern) {
  const bool inside = path_inside(path, pattern);
  const Components path_parts = split_components(path);
  const Components pattern_parts = split_components(pattern);
  const bool comparable = !path.empty() && path.front() == '/' && !pattern.empty() && pattern.front() == '/' &&
                          path.find('\0') == std::string_view::npos &&
                          pattern.find('\0') == std::string_view::npos && !has_dot_component(path_parts) &&
                          !has_dot_component(pattern_parts);
  if (inside) {
    require(comparable, "containment needs two absolute paths without NUL or dot components");
    require(pattern_parts.size() <= path_parts.size(), "a path inside a pattern is at least as deep");
    for (std::size_t i = 0; i < pattern_parts.size(); ++i)
      require(pattern_parts[i] == "*" || pattern_parts[i] == path_parts[i],
              "each pattern component matches the path's");
    require(path_inside(path, instantiated(pattern_parts, path_parts)),
            "the pattern with its '*' filled in from the path still holds it");
  }
  if (comparable && !has_wildcard(pattern_parts)) {
    // The "/var/www2" against "/var/www" mistake: only whole components count.
    require(inside == is_prefix(pattern_parts, path_parts),
            "without '*', containment is exactly a component prefix");
  }

  const std::array<std::string, 2> docroots{std::string(pattern), "/fuzz"};
  const auto docroot = matching_docroot(path, docroots);
  if (inside) {
    require(docroot == docroots[0], "the first docroot that holds the path is the match");
  } else if (path_inside(path, docroots[1])) {
    require(docroot == docroots[1], "a later docroot matches when the first does not");
  } else {
    require(!docroot, "no docroot holds the path, no match");
  }
}

void check_one(std::string_view text) {
  check_split(text);
  check_extension(text);
  check_directory(text);
  check_script_path(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string_view path = rest.substr(0, std::min<std::size_t>(data[0], rest.size()));
  const std::string_view pattern = rest.substr(path.size());

  check_one(path);
  check_one(pattern);
  check_containment(path, pattern);
  check_containment(pattern, path);
  return 0;
}
