// SPDX-License-Identifier: Apache-2.0
// Configuration and account files (suwrap.toml(5)), parsed strictly with toml++.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "suwrap/util/expected.hpp"

namespace suwrap::policy {

// Resource limits; 0 means unlimited.
struct Limits {
  std::uint64_t cpu_seconds = 30;
  std::uint64_t wall_seconds = 60;
  std::uint64_t memory_mb = 512;  // RLIMIT_AS
  std::uint64_t nproc = 64;
  std::uint64_t nofile = 256;
  std::uint64_t fsize_mb = 256;
};

// An account's [limits]: only the keys it sets.
struct LimitOverrides {
  std::optional<std::uint64_t> cpu_seconds, wall_seconds, memory_mb, nproc, nofile, fsize_mb;
  [[nodiscard]] Limits applied_to(Limits base) const;
};

enum class Mode { owner, account };
enum class SymlinkPolicy { deny, owner_match };
enum class HandlerKind { php, php_fcgi, cgi };

std::string_view to_string(Mode m);
std::string_view to_string(SymlinkPolicy p);
std::string_view to_string(HandlerKind k);

struct Handler {
  std::string name;  // the key under [handlers]
  HandlerKind kind = HandlerKind::cgi;
  std::string path;               // required for php and php-fcgi; absent for cgi
  std::vector<std::string> args;  // php only: fixed arguments set by root
  std::string ini_dir;            // required for php kinds
  unsigned workers = 4;           // php-fcgi only
  unsigned max_requests = 500;    // php-fcgi only
  unsigned idle_seconds = 60;     // php-fcgi only
  unsigned max_lifetime_seconds = 3600;  // php-fcgi only: a pool ends this long after it started
  // php-fcgi only: a direct pool — its php-cgi workers take the pool's connections and
  // check each request themselves; the gate supervises instead of relaying.
  bool direct = false;
  std::vector<std::string> extensions;  // with the dot: ".php"

  [[nodiscard]] bool is_php() const { return kind == HandlerKind::php || kind == HandlerKind::php_fcgi; }
};

struct Account {
  std::string name;  // file name without ".toml"
  std::string file;  // full path of the account file
  std::string user;
  std::optional<std::string> group;
  std::vector<std::string> docroots;
  std::vector<std::string> domains;
  std::optional<std::string> php_handler;
  std::optional<std::vector<std::string>> handlers;  // nullopt: all handlers allowed
  std::optional<std::string> php_ini_dir;
  bool disabled = false;
  LimitOverrides limits;

  [[nodiscard]] bool may_use(std::string_view handler) const;
};

struct Config {
  std::string file;  // the main configuration file it was read from
  std::string caller = "www-data";
  Mode mode = Mode::owner;
  uid_t min_uid = 1000;
  gid_t min_gid = 1000;
  std::vector<std::string> docroots = {"/var/www", "/home/*/public_html"};
  std::string accounts_dir;  // default: accounts.d beside the config file
  std::string log = "/var/log/suwrap/suwrap.log";  // or "syslog"
  std::string safe_path = "/usr/local/bin:/usr/bin:/bin";
  mode_t umask = 022;
  bool errors_to_browser = false;
  SymlinkPolicy symlinks = SymlinkPolicy::owner_match;
  bool allow_file_group_writable = false;
  bool allow_dir_group_writable = false;
  bool check_vhost = false;
  std::map<std::string, Handler, std::less<>> handlers;
  Limits limits;

  [[nodiscard]] const Handler* handler(std::string_view name) const;
};

// What went wrong, where: "FILE:LINE: KEY: MESSAGE" (line 0 / empty key when not applicable).
struct ConfigError {
  std::string file;
  int line = 0;
  std::string key;      // dotted, e.g. "handlers.php.kind" or "global.umask"
  std::string message;  // what was expected / what is wrong
  [[nodiscard]] std::string to_string() const;
};

// Parses the text of the main configuration file. Accounts are not read here.
// `file` is the name used in errors and to derive the default accounts_dir.
util::Expected<Config, ConfigError> parse_config(std::string_view text, std::string_view file);

// Parses one account file's text; `name` is the account name (file name without .toml).
util::Expected<Account, ConfigError> parse_account(std::string_view text, std::string_view file,
                                             std::string_view name);

// An account against the main file: the handlers it names exist, its php_handler is of a
// PHP kind and among its handlers. An account that breaks this is a broken account file.
std::optional<ConfigError> account_handler_problem(const Config& config, const Account& account);

// Overlapping docroots: in account mode a script belongs to the account whose docroot holds
// it, so one docroot equal to or inside another account's gives a script two owners.
struct DocrootClaim {
  std::string docroot;
  std::string account;
};
struct DocrootOverlap {
  std::string docroot;  // this one is equal to or inside
  std::string account;
  std::string other_docroot;  // this one, of another account
  std::string other_account;
};
// Each overlapping docroot once, with the nearest docroot of another account at or above it.
// O(n log n).
std::vector<DocrootOverlap> overlapping_docroots(std::vector<DocrootClaim> claims);

// The rules of single values, for readers that find them outside a parse (a broken file's
// user and docroots): the expectation when `value` breaks them.
std::optional<std::string> user_name_problem(std::string_view name);
std::optional<std::string> account_docroot_problem(std::string_view path);
// A value as messages quote it: in double quotes, control characters escaped.
std::string quoted_value(std::string_view text);

struct LoadOptions {
  // Require the file and every directory on its path to be owned by root and not writable
  // by group or others (check `config`). Always on in suwrap.
  bool require_trusted = true;
};

// The configuration as loaded, or why it could not be (check `config`).
using LoadedConfig = util::Expected<Config, ConfigError>;

// Reads and parses the main file by descriptor (no symlink followed), checking trust as
// asked. The account files are read where they are needed (accounts.hpp).
util::Expected<Config, ConfigError> load_config(const std::string& path, const LoadOptions& options = {});

}  // namespace suwrap::policy
