// SPDX-License-Identifier: Apache-2.0
// Migration from suPHP: reading a suphp.conf and writing the equivalent suwrap.toml
// (`suwrap-policy import-suphp`). Pure: text in, text and notes out.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "suwrap/config/config.hpp"
#include "suwrap/util/expected.hpp"

namespace suwrap::policy {

// One key of a suphp.conf section with all its values: suPHP splits a value at every ':'
// that is neither quoted nor escaped, and a "key+=value" line adds to the values of an
// earlier "key=value" instead of replacing them.
struct SuphpEntry {
  std::string key;
  std::vector<std::string> values;  // unquoted and unescaped
  int line = 0;                     // of the last line that set it
};

struct SuphpSection {
  std::string name;
  int line = 0;
  std::vector<SuphpEntry> entries;  // in the order keys first appear

  [[nodiscard]] const SuphpEntry* find(std::string_view key) const;
};

struct SuphpConf {
  std::vector<SuphpSection> sections;  // in the order they first appear; a repeated header continues one

  [[nodiscard]] const SuphpSection* section(std::string_view name) const;
};

// Parses suphp.conf's INI dialect as suPHP reads it: ';' comment lines, [section] lines,
// key=value and key+=value lines, values split at unquoted unescaped ':', "..." quoting and
// the escapes \\ \" \:. A line that is none of these, an option before the first section,
// unbalanced quotes or a trailing backslash is an error naming the line.
util::Expected<SuphpConf, ConfigError> parse_suphp_conf(std::string_view text, std::string_view file);

struct SuphpImportOptions {
  // ini_dir for a PHP handler that [phprc_paths] gives none and whose php-cgi's own compiled-in
  // directory is not known from its path (compiled_in_ini_dir); a note says so.
  std::string default_ini_dir = "/etc/php/8.2/cgi";
};

// The directory of the php.ini that the php-cgi at `path` reads when PHPRC is unset (its
// compiled-in configuration path), for the layouts the packagings use: Debian and Ubuntu
// (/usr/bin/php-cgiX.Y, /usr/lib/cgi-bin/phpX.Y, php5), cPanel EA4 (/opt/cpanel/ea-phpNN),
// CloudLinux alt-php (/opt/alt/phpNN), Remi's collections (/opt/remi/phpNN). nullopt: unknown.
std::optional<std::string> compiled_in_ini_dir(std::string_view path);

struct SuphpImport {
  std::string toml;                // a suwrap.toml that parse_config accepts
  std::vector<std::string> notes;  // "FILE:LINE: key: what suwrap does instead", one per setting
};

// Translates a parsed suphp.conf. Settings with an equivalent become suwrap keys; every other
// setting, and every translation that changes meaning, gets a note saying what suwrap does
// instead. A value suPHP itself would refuse (a boolean that is not one, a umask that is not
// octal) is an error.
util::Expected<SuphpImport, ConfigError> import_suphp(const SuphpConf& conf, std::string_view file,
                                                const SuphpImportOptions& options = {});

}  // namespace suwrap::policy
