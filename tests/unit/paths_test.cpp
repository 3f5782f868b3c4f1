// SPDX-License-Identifier: Apache-2.0
// Lexical path rules: the `request` path rule and component-wise docroot containment.
#include "suwrap/config/paths.hpp"

#include <climits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace {

using suwrap::policy::directory_of;
using suwrap::policy::extension_of;
using suwrap::policy::matching_docroot;
using suwrap::policy::path_inside;
using suwrap::policy::split_components;
using suwrap::policy::validate_script_path;

using namespace std::string_literals;

// ---- split_components -------------------------------------------------------------------

struct SplitCase {
  std::string path;
  std::vector<std::string_view> components;
};

TEST(SplitComponents, SplitsOnSlashesAndDropsEmptyOnes) {
  const std::vector<SplitCase> cases = {
      {"/", {}},
      {"", {}},
      {"/a", {"a"}},
      {"/a/b/c.php", {"a", "b", "c.php"}},
      {"/a//b/", {"a", "b"}},
      {"//a///b//", {"a", "b"}},
      {"/a/./b/..", {"a", ".", "b", ".."}},  // dot components are kept: judging them is not its job
      {"relative/x", {"relative", "x"}},
  };
  for (const auto& c : cases) EXPECT_EQ(split_components(c.path), c.components) << "path: " << c.path;
}

// ---- validate_script_path ---------------------------------------------------------------

struct ValidateCase {
  std::string path;
  bool valid;
  std::string reason_contains;  // for the invalid cases
};

TEST(ValidateScriptPath, AcceptsAndRefusesByTheRequestRule) {
  const std::vector<ValidateCase> cases = {
      {"/var/www/index.php", true, ""},
      {"/x", true, ""},
      {"/home/alice/public_html/a b/c.php", true, ""},  // spaces are fine
      {"/var/www/.htaccess", true, ""},                 // a dot-file is not a "." component
      {"/var/www/..x/y.php", true, ""},                 // nor is "..x"
      {"", false, "empty"},
      {"var/www/index.php", false, "not absolute"},
      {"./index.php", false, "not absolute"},
      {"/var/www/../etc/passwd", false, "'..' component"},
      {"/..", false, "'..' component"},
      {"/var/www/./x.php", false, "'.' component"},
      {"/var/www/x.php/.", false, "'.' component"},
      {"/var/www/x.php/..", false, "'..' component"},
      {"/var//www/x.php", false, "empty component"},
      {"//var/www/x.php", false, "empty component"},
      {"/var/www/x.php/", false, "ends with '/'"},
      {"/", false, "ends with '/'"},
      {"/var/www/x.php\0.jpg"s, false, "NUL"},
      {"\0/var/www/x.php"s, false, "NUL"},
      {"/var/www/x.php\n", false, "line break"},
      {"/var/www/x\r.php", false, "line break"},
  };
  for (const auto& c : cases) {
    const auto reason = validate_script_path(c.path);
    if (c.valid) {
      EXPECT_FALSE(reason.has_value()) << "path: " << c.path << " reason: " << reason.value_or("");
    } else {
      ASSERT_TRUE(reason.has_value()) << "path should be refused: " << c.path;
      EXPECT_NE(reason->find(c.reason_contains), std::string::npos)
          << "path: " << c.path << " reason: " << *reason;
    }
  }
}

TEST(ValidateScriptPath, ReasonsAreSentencesAboutTheScriptPath) {
  EXPECT_EQ(validate_script_path("/var/www/../x.php").value_or(""), "the script path has a '..' component");
  EXPECT_EQ(validate_script_path("/var/www/./x.php").value_or(""), "the script path has a '.' component");
  EXPECT_EQ(validate_script_path("x.php").value_or(""), "the script path is not absolute");
}

TEST(ValidateScriptPath, LengthMustStayBelowPathMax) {
  // "/" + 'a' * n: the longest accepted path has PATH_MAX - 1 bytes (room for the NUL).
  const std::string longest = "/" + std::string(PATH_MAX - 2, 'a');
  ASSERT_EQ(longest.size(), static_cast<size_t>(PATH_MAX - 1));
  EXPECT_FALSE(validate_script_path(longest).has_value());

  const std::string too_long = longest + "a";
  const auto reason = validate_script_path(too_long);
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("limit"), std::string::npos) << *reason;

  EXPECT_TRUE(validate_script_path("/" + std::string(PATH_MAX * 2, 'a')).has_value());
}

TEST(ValidateScriptPath, ForbiddenBytesAreNamedBeforeTheirPosition) {
  // A NUL in a relative path is reported as the NUL, so the reason never depends on the
  // part that a C function would have cut off.
  EXPECT_EQ(validate_script_path("x\0/../y"s).value_or(""), "the script path contains a NUL byte");
}

// ---- path_inside ------------------------------------------------------------------------

struct InsideCase {
  std::string path;
  std::string pattern;
  bool inside;
};

TEST(PathInside, ComparesComponentByComponent) {
  const std::vector<InsideCase> cases = {
      {"/var/www/x.php", "/var/www", true},
      {"/var/www/a/b/c/x.php", "/var/www", true},
      {"/var/www", "/var/www", true},  // the docroot itself
      {"/var/www/", "/var/www", true},
      {"/var/www/x.php", "/var/www/", true},
      // Prefix confusion: a string prefix, not a component prefix.
      {"/var/www2/x.php", "/var/www", false},
      {"/var/www-evil/x.php", "/var/www", false},
      {"/var/ww/x.php", "/var/www", false},
      {"/var/wwwx.php", "/var/www", false},
      {"/var", "/var/www", false},  // the parent is not inside
      {"/srv/www/x.php", "/var/www", false},
      {"/x.php", "/", true},
      // Dot components are never judged lexically.
      {"/var/www/../etc/passwd", "/var/www", false},
      {"/var/www/./x.php", "/var/www", false},
      {"/var/www/x.php", "/var/www/.", false},
      // Relative paths or patterns are inside nothing.
      {"var/www/x.php", "/var/www", false},
      {"/var/www/x.php", "var/www", false},
      {"", "/var/www", false},
      {"/var/www/x.php", "", false},
      {"/var/www\0/x.php"s, "/var/www", false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(path_inside(c.path, c.pattern), c.inside) << "path: " << c.path << " pattern: " << c.pattern;
}

TEST(PathInside, StarMatchesExactlyOneComponent) {
  const std::vector<InsideCase> cases = {
      {"/home/alice/public_html/x", "/home/*/public_html", true},
      {"/home/alice/public_html", "/home/*/public_html", true},
      {"/home/alice/public_html/a/b.php", "/home/*/public_html", true},
      {"/home/public_html/x", "/home/*/public_html", false},            // "*" needs a component
      {"/home/alice/bob/public_html/x", "/home/*/public_html", false},  // and only one
      {"/home/alice/public_html2/x", "/home/*/public_html", false},
      {"/home/alice/private/x", "/home/*/public_html", false},
      {"/home/alice", "/home/*/public_html", false},
      {"/home//public_html/x", "/home/*/public_html", false},  // an empty name is no component
      {"/home/*/public_html/x", "/home/*/public_html", true},  // a literal "*" is one component
      {"/home/../public_html/x", "/home/*/public_html", false},
      {"/home/./public_html/x", "/home/*/public_html", false},
      {"/srv/a/b/x", "/srv/*/*", true},
      {"/srv/a/x", "/srv/*/*", true},  // "x" is the second component; "/srv/a/x" is that docroot
      {"/srv/a", "/srv/*/*", false},
      // Only a whole "*" is a wildcard; "pub*" is a name like any other.
      {"/home/alice/public_html/x", "/home/alice/pub*", false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(path_inside(c.path, c.pattern), c.inside) << "path: " << c.path << " pattern: " << c.pattern;
}

// ---- matching_docroot -------------------------------------------------------------------

TEST(MatchingDocroot, ReturnsTheFirstPatternHoldingThePath) {
  const std::vector<std::string> docroots = {"/var/www", "/home/*/public_html", "/home/alice/public_html"};
  EXPECT_EQ(matching_docroot("/var/www/x.php", docroots), "/var/www");
  EXPECT_EQ(matching_docroot("/home/alice/public_html/x.php", docroots), "/home/*/public_html");
  EXPECT_EQ(matching_docroot("/var/www2/x.php", docroots), std::nullopt);
  EXPECT_EQ(matching_docroot("/var/www-evil/x.php", docroots), std::nullopt);
  EXPECT_EQ(matching_docroot("/home/public_html/x.php", docroots), std::nullopt);
  EXPECT_EQ(matching_docroot("/etc/passwd", docroots), std::nullopt);
}

TEST(MatchingDocroot, NoDocrootsMatchNothing) {
  EXPECT_EQ(matching_docroot("/var/www/x.php", {}), std::nullopt);
}

// ---- extension_of -----------------------------------------------------------------------

struct ExtensionCase {
  std::string path;
  std::string_view extension;
};

TEST(ExtensionOf, IsTheLastDotOfTheLastComponent) {
  const std::vector<ExtensionCase> cases = {
      {"/a/b.php", ".php"},
      {"/a/b.c.php", ".php"},
      {"/a/b.PHP", ".PHP"},  // case is kept: the handler table decides
      {"/a/b.php.jpg", ".jpg"},
      {"/a/b", ""},
      {"/a.d/b", ""},        // a dot in a directory is not the file's
      {"/a/.htaccess", ""},  // a dot-file has no extension
      {"/a/.x.php", ".php"},
      {"/a/..php", ".php"},
      {"/a/b.", ""},  // a trailing dot is no extension
      {"/a/b/", ""},
      {"b.cgi", ".cgi"},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(extension_of(c.path), c.extension) << "path: " << c.path;
}

// ---- directory_of -----------------------------------------------------------------------

struct DirectoryCase {
  std::string path;
  std::string_view directory;
};

TEST(DirectoryOf, IsEverythingBeforeTheLastSlash) {
  const std::vector<DirectoryCase> cases = {
      {"/var/www/x.php", "/var/www"},
      {"/var/www/a/b/x.php", "/var/www/a/b"},
      {"/x.php", "/"},
      {"/var", "/"},
      {"/var/www/", "/var/www"},
      {"x.php", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(directory_of(c.path), c.directory) << "path: " << c.path;
}

}  // namespace
