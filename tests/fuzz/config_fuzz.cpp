// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry for the configuration parser: the main file, account files, and the
// cross-file validation. Root writes these files, but suwrap parses them on every request
// as a set-uid program, so no text may crash it, and whatever it accepts must hold the
// rules the checks rely on (absolute, normalised paths; names; extensions).
//
// The input is parsed whole as a main file and as an account file. Then it is cut at each
// line "%%": the first part is a main file, the others account files a1, a2, ... and the
// ones that parse are validated together (handler references, overlapping docroots).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "require.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/config/paths.hpp"

namespace {

using suwrap::fuzz::require;
using namespace suwrap::policy;

constexpr std::string_view main_file = "/fuzz/suwrap.toml";
constexpr std::string_view part_separator = "\n%%\n";
constexpr std::size_t max_accounts = 8;

bool has_line_break(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

bool has_dot_component(std::string_view path) {
  const auto parts = split_components(path);
  return std::any_of(parts.begin(), parts.end(), [](std::string_view c) { return c == "." || c == ".."; });
}

// What every accepted path setting must be: the checks compare them component by
// component and open them from "/".
bool is_clean_absolute(std::string_view path) {
  return !path.empty() && path.front() == '/' && path.find('\0') == std::string_view::npos &&
         !has_line_break(path) && !has_dot_component(path);
}

// An error names the file it is about and fits on one line: it goes to a log line and to
// a terminal, where a line break in it could forge another entry.
void check_error(const ConfigError& error, std::string_view expected_file) {
  require(error.file == expected_file, "an error names the file it is about");
  require(!error.message.empty(), "an error says what is wrong");
  require(!has_line_break(error.to_string()), "an error is one line");
}

void check_config(const Config& config) {
  require(config.file == main_file, "the configuration remembers its file");
  require(is_clean_absolute(config.accounts_dir), "accounts_dir is a clean absolute path");
  require(config.min_uid >= 1 && config.min_gid >= 1, "min_uid and min_gid are at least 1");
  require(config.umask <= 0777, "umask is at most 0777");
  require(config.log == "syslog" || is_clean_absolute(config.log), "log is syslog or a clean absolute path");
  for (const std::string& docroot : config.docroots) {
    require(is_clean_absolute(docroot), "a global docroot is a clean absolute path");
    require(!split_components(docroot).empty(), "a global docroot is below /");
  }
  for (const auto& [name, handler] : config.handlers) {
    require(handler.name == name, "a handler is filed under its own name");
    if (handler.is_php()) {
      require(is_clean_absolute(handler.path), "a PHP handler's path is a clean absolute path");
      require(is_clean_absolute(handler.ini_dir), "a PHP handler's ini_dir is a clean absolute path");
    } else {
      require(handler.path.empty() && handler.args.empty(), "a cgi handler has no program of its own");
    }
    for (const std::string& extension : handler.extensions) {
      // The handler is picked by comparing extension_of(script) with these: an extension
      // that extension_of can never return would be a handler that silently never runs.
      require(extension_of("/x/name" + extension) == extension, "a handler's extension is one extension_of gives");
    }
  }
}

void check_account(const Account& account, std::string_view file, std::string_view name) {
  require(account.file == file && account.name == name, "an account remembers its file and name");
  require(!account.user.empty(), "an account has a user");
  require(!account.docroots.empty(), "an account has a docroot");
  for (const std::string& docroot : account.docroots) {
    require(is_clean_absolute(docroot), "an account docroot is a clean absolute path");
    require(docroot.find('*') == std::string::npos, "an account docroot is no pattern");
    require(!split_components(docroot).empty(), "an account docroot is below /");
  }
  if (account.php_ini_dir) require(is_clean_absolute(*account.php_ini_dir), "php_ini_dir is a clean absolute path");
  for (const std::string& domain : account.domains) {
    require(std::none_of(domain.begin(), domain.end(), [](char c) { return c >= 'A' && c <= 'Z'; }),
            "domains are stored lowercased");
  }
}

// An account the configuration accepts names only handlers it has; and the overlap sweep
// finds exactly the docroots that paths.cpp's containment, which decides the account of a
// request, puts inside another account's.
void check_accepted(const Config& config, const Account& account) {
  if (account.handlers) {
    for (const std::string& name : *account.handlers)
      require(config.handler(name) != nullptr, "an accepted account names only configured handlers");
  }
  if (account.php_handler) {
    const Handler* handler = config.handler(*account.php_handler);
    require(handler != nullptr && handler->is_php(), "an accepted php_handler is a PHP handler");
    require(account.may_use(*account.php_handler), "an accepted php_handler is one the account may use");
  }
}

void check_overlaps(const std::vector<Account>& accounts) {
  std::vector<DocrootClaim> claims;
  bool any_inside = false;
  for (const Account& a : accounts) {
    for (const std::string& mine : a.docroots) {
      claims.push_back({mine, a.name});
      for (const Account& b : accounts) {
        if (a.name == b.name) continue;
        for (const std::string& theirs : b.docroots) any_inside = any_inside || path_inside(mine, theirs);
      }
    }
  }
  const auto overlaps = overlapping_docroots(claims);
  require(overlaps.empty() != any_inside, "the overlap sweep agrees with containment");
  for (const auto& overlap : overlaps)
    require(path_inside(overlap.docroot, overlap.other_docroot) && overlap.account != overlap.other_account,
            "each overlap found is one");
}

std::vector<std::string_view> parts_of(std::string_view text) {
  std::vector<std::string_view> parts;
  while (parts.size() <= max_accounts) {
    const std::size_t at = text.find(part_separator);
    if (at == std::string_view::npos) break;
    parts.push_back(text.substr(0, at));
    text.remove_prefix(at + part_separator.size());
  }
  parts.push_back(text);
  return parts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto whole_config = parse_config(text, main_file);
  if (whole_config) {
    check_config(*whole_config);
  } else {
    check_error(whole_config.error(), main_file);
  }
  const std::string account_file = "/fuzz/accounts.d/alice.toml";
  auto whole_account = parse_account(text, account_file, "alice");
  if (whole_account) {
    check_account(*whole_account, account_file, "alice");
  } else {
    check_error(whole_account.error(), account_file);
  }

  const auto parts = parts_of(text);
  if (parts.size() < 2) return 0;
  auto config = parse_config(parts[0], main_file);
  if (!config) return 0;
  check_config(*config);
  std::vector<Account> accounts;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string name = "a" + std::to_string(i);
    const std::string file = "/fuzz/accounts.d/" + name + ".toml";
    auto account = parse_account(parts[i], file, name);
    if (!account) continue;
    check_account(*account, file, name);
    if (const auto problem = account_handler_problem(*config, *account)) {
      require(problem->file == file, "a handler problem names the account's file");
      require(!has_line_break(problem->to_string()), "a handler problem is one line");
    } else {
      check_accepted(*config, *account);
    }
    accounts.push_back(std::move(*account));
  }
  check_overlaps(accounts);
  return 0;
}
