// SPDX-License-Identifier: Apache-2.0
// The configuration parser: suwrap.toml(5) keys and defaults, strict errors that name the
// file, line, key and expectation, and loading by descriptor with the trust rules of `config`.
// Account files as suwrap finds them: accounts_test.cpp.
#include "suwrap/config/config.hpp"
#include "suwrap/config/trusted.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "support.hpp"

namespace {

using suwrap::policy::Account;
using suwrap::policy::check_trusted_path;
using suwrap::policy::Config;
using suwrap::policy::ConfigError;
using suwrap::policy::Handler;
using suwrap::policy::HandlerKind;
using suwrap::policy::LimitOverrides;
using suwrap::policy::Limits;
using suwrap::policy::load_config;
using suwrap::policy::LoadOptions;
using suwrap::policy::Mode;
using suwrap::policy::parse_account;
using suwrap::policy::parse_config;
using suwrap::policy::SymlinkPolicy;
using suwrap::policy::overlapping_docroots;
using suwrap::policy::account_handler_problem;
using suwrap::testing::TempTree;
using suwrap::testing::TestUser;

constexpr std::string_view main_file = "/etc/suwrap/suwrap.toml";
constexpr std::string_view alice_file = "/etc/suwrap/accounts.d/alice.toml";

// The main file's example of suwrap.toml(5).
constexpr std::string_view contract_example = R"toml([global]
caller      = "www-data"                  # the only user allowed to run suwrap
mode        = "owner"                     # "owner": run as the script's owner
                                          # "account": run as the account whose docroot holds the script;
                                          #            the script must be owned by that account's user
min_uid     = 1000
min_gid     = 1000
docroots    = ["/var/www", "/home/*/public_html"]   # '*' matches one path component
accounts_dir = "/etc/suwrap/accounts.d"   # default: accounts.d beside the config file
log         = "/var/log/suwrap/suwrap.log"          # or "syslog"
safe_path   = "/usr/local/bin:/usr/bin:/bin"
umask       = "022"
errors_to_browser = false                 # true: the refusal's reason goes in the response body
symlinks    = "owner-match"               # "deny" | "owner-match" (link and target owned by the target user)
allow_file_group_writable = false
allow_dir_group_writable  = false
check_vhost = false                       # account mode: SERVER_NAME must be one of the account's domains

[handlers.php]
kind = "php"                    # "php": exec `path`, the script reaches it only via SCRIPT_FILENAME
path = "/usr/bin/php-cgi"
args = []                       # optional fixed arguments, set by root only (e.g. ["-d", "opcache.enable=0"]);
                                # php-cgi ignores them for a query string that starts with '-', so never rely on them for policy
ini_dir = "/etc/php/8.2/cgi"    # required for kinds php and php-fcgi: PHPRC=<ini_dir>/php.ini unless the account sets php_ini_dir
extensions = [".php"]

[handlers.php-warm]
kind = "php-fcgi"               # warm mode: per-account php-cgi FastCGI workers behind a gate
path = "/usr/bin/php-cgi"
ini_dir = "/etc/php/8.2/cgi"
workers = 4                     # PHP_FCGI_CHILDREN of each account's pool
max_requests = 500              # PHP_FCGI_MAX_REQUESTS
idle_seconds = 60               # a pool unused this long ends
extensions = []

[handlers.cgi]
kind = "cgi"                    # "cgi": exec the script itself (must be executable)
extensions = [".cgi"]

[limits]                        # defaults for every account; 0 = unlimited
cpu_seconds  = 30
wall_seconds = 60
memory_mb    = 512
nproc        = 64
nofile       = 256
fsize_mb     = 256
)toml";

// The account file example of suwrap.toml(5).
constexpr std::string_view contract_account_example = R"toml(user      = "alice"
group     = "alice"                       # optional: the user's primary group
docroots  = ["/home/alice/public_html"]
domains   = ["alice.example", "www.alice.example"]
php_handler = "php82"                     # the account's PHP: replaces any php/php-fcgi handler picked by extension
handlers  = ["php82", "php81", "cgi"]     # the handlers it may use (default: all)
php_ini_dir = "/home/alice/etc/php"       # PHPRC=<php_ini_dir>/php.ini for this account (owned by root or the account user)
disabled  = false
[limits]                                   # overrides of [limits]
cpu_seconds = 10
)toml";

::testing::AssertionResult Contains(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// The error of a main file that must not parse.
ConfigError config_error(std::string_view text) {
  auto config = parse_config(text, main_file);
  EXPECT_FALSE(config.has_value()) << "parsed although invalid:\n" << text;
  return config.has_value() ? ConfigError{} : config.error();
}

// The error of an account file that must not parse.
ConfigError account_error(std::string_view text, std::string_view name = "alice") {
  auto account = parse_account(text, alice_file, name);
  EXPECT_FALSE(account.has_value()) << "parsed although invalid:\n" << text;
  return account.has_value() ? ConfigError{} : account.error();
}

// Checks where an error points and that it says what was expected.
void expect_error(const ConfigError& error, int line, std::string_view key, std::string_view expected,
                  std::string_view file = main_file) {
  EXPECT_EQ(error.file, file);
  EXPECT_EQ(error.line, line) << error.to_string();
  EXPECT_EQ(error.key, key) << error.to_string();
  EXPECT_TRUE(Contains(error.message, expected));
}

Config config_with_handlers() {
  auto config = parse_config(R"toml(
[handlers.php]
kind = "php"
path = "/usr/bin/php-cgi"
ini_dir = "/etc/php/8.2/cgi"
extensions = [".php"]

[handlers.cgi]
kind = "cgi"
extensions = [".cgi"]
)toml",
                             main_file);
  EXPECT_TRUE(config.has_value()) << config.error().to_string();
  return config.has_value() ? *config : Config{};
}

Account account(std::string name, std::string user, std::vector<std::string> docroots) {
  Account a;
  a.file = "/etc/suwrap/accounts.d/" + name + ".toml";
  a.name = std::move(name);
  a.user = std::move(user);
  a.docroots = std::move(docroots);
  return a;
}

// ---- parse_config: what parses ----------------------------------------------------------

TEST(ParseConfig, ReadsEveryValueOfTheContractExample) {
  auto parsed = parse_config(contract_example, main_file);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  const Config& config = *parsed;

  EXPECT_EQ(config.file, main_file);
  EXPECT_EQ(config.caller, "www-data");
  EXPECT_EQ(config.mode, Mode::owner);
  EXPECT_EQ(config.min_uid, 1000U);
  EXPECT_EQ(config.min_gid, 1000U);
  EXPECT_EQ(config.docroots, (std::vector<std::string>{"/var/www", "/home/*/public_html"}));
  EXPECT_EQ(config.accounts_dir, "/etc/suwrap/accounts.d");
  EXPECT_EQ(config.log, "/var/log/suwrap/suwrap.log");
  EXPECT_EQ(config.safe_path, "/usr/local/bin:/usr/bin:/bin");
  EXPECT_EQ(config.umask, 022U);
  EXPECT_FALSE(config.errors_to_browser);
  EXPECT_EQ(config.symlinks, SymlinkPolicy::owner_match);
  EXPECT_FALSE(config.allow_file_group_writable);
  EXPECT_FALSE(config.allow_dir_group_writable);
  EXPECT_FALSE(config.check_vhost);

  ASSERT_EQ(config.handlers.size(), 3U);
  const Handler* php = config.handler("php");
  ASSERT_NE(php, nullptr);
  EXPECT_EQ(php->name, "php");
  EXPECT_EQ(php->kind, HandlerKind::php);
  EXPECT_EQ(php->path, "/usr/bin/php-cgi");
  EXPECT_TRUE(php->args.empty());
  EXPECT_EQ(php->ini_dir, "/etc/php/8.2/cgi");
  EXPECT_EQ(php->extensions, (std::vector<std::string>{".php"}));

  const Handler* warm = config.handler("php-warm");
  ASSERT_NE(warm, nullptr);
  EXPECT_EQ(warm->kind, HandlerKind::php_fcgi);
  EXPECT_EQ(warm->path, "/usr/bin/php-cgi");
  EXPECT_EQ(warm->ini_dir, "/etc/php/8.2/cgi");
  EXPECT_EQ(warm->workers, 4U);
  EXPECT_EQ(warm->max_requests, 500U);
  EXPECT_EQ(warm->idle_seconds, 60U);
  EXPECT_EQ(warm->max_lifetime_seconds, 3600U) << "an hour unless set";
  EXPECT_FALSE(warm->direct) << "a relaying gate unless set";
  EXPECT_TRUE(warm->extensions.empty());

  const Handler* cgi = config.handler("cgi");
  ASSERT_NE(cgi, nullptr);
  EXPECT_EQ(cgi->kind, HandlerKind::cgi);
  EXPECT_TRUE(cgi->path.empty());
  EXPECT_TRUE(cgi->ini_dir.empty());
  EXPECT_EQ(cgi->extensions, (std::vector<std::string>{".cgi"}));

  EXPECT_EQ(config.limits.cpu_seconds, 30U);
  EXPECT_EQ(config.limits.wall_seconds, 60U);
  EXPECT_EQ(config.limits.memory_mb, 512U);
  EXPECT_EQ(config.limits.nproc, 64U);
  EXPECT_EQ(config.limits.nofile, 256U);
  EXPECT_EQ(config.limits.fsize_mb, 256U);
}

TEST(ParseConfig, ReadsValuesThatDifferFromTheDefaults) {
  auto parsed = parse_config(R"toml(
[global]
caller = "nginx"
mode = "account"
min_uid = 2000
min_gid = 3000
docroots = ["/srv/*/htdocs"]
accounts_dir = "/etc/suwrap/accounts"
log = "syslog"
safe_path = "/bin"
umask = "0077"
errors_to_browser = true
symlinks = "deny"
allow_file_group_writable = true
allow_dir_group_writable = true
check_vhost = true

[handlers.php]
kind = "php"
path = "/usr/bin/php-cgi8.2"
args = ["-d", "opcache.enable=0"]
ini_dir = "/etc/php/8.2/cgi"

[handlers.warm]
kind = "php-fcgi"
path = "/usr/bin/php-cgi"
ini_dir = "/etc/php/8.2/cgi"
workers = 256
max_requests = 1
idle_seconds = 5
max_lifetime_seconds = 600
direct = true

[limits]
cpu_seconds = 0
memory_mb = 1024
)toml",
                             main_file);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  const Config& config = *parsed;
  EXPECT_EQ(config.caller, "nginx");
  EXPECT_EQ(config.mode, Mode::account);
  EXPECT_EQ(config.min_uid, 2000U);
  EXPECT_EQ(config.min_gid, 3000U);
  EXPECT_EQ(config.docroots, (std::vector<std::string>{"/srv/*/htdocs"}));
  EXPECT_EQ(config.accounts_dir, "/etc/suwrap/accounts");
  EXPECT_EQ(config.log, "syslog");
  EXPECT_EQ(config.safe_path, "/bin");
  EXPECT_EQ(config.umask, 077U);
  EXPECT_TRUE(config.errors_to_browser);
  EXPECT_EQ(config.symlinks, SymlinkPolicy::deny);
  EXPECT_TRUE(config.allow_file_group_writable);
  EXPECT_TRUE(config.allow_dir_group_writable);
  EXPECT_TRUE(config.check_vhost);
  ASSERT_NE(config.handler("php"), nullptr);
  EXPECT_EQ(config.handler("php")->args, (std::vector<std::string>{"-d", "opcache.enable=0"}));
  EXPECT_TRUE(config.handler("php")->extensions.empty());
  ASSERT_NE(config.handler("warm"), nullptr);
  EXPECT_EQ(config.handler("warm")->workers, 256U);
  EXPECT_EQ(config.handler("warm")->max_requests, 1U);
  EXPECT_EQ(config.handler("warm")->idle_seconds, 5U);
  EXPECT_EQ(config.handler("warm")->max_lifetime_seconds, 600U);
  EXPECT_TRUE(config.handler("warm")->direct);
  EXPECT_EQ(config.limits.cpu_seconds, 0U);
  EXPECT_EQ(config.limits.memory_mb, 1024U);
  EXPECT_EQ(config.limits.wall_seconds, 60U);  // keys not given keep their defaults
}

TEST(ParseConfig, EmptyFileGivesTheDefaultsOfTheHeader) {
  auto parsed = parse_config("", main_file);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  const Config& config = *parsed;
  const Config defaults;
  EXPECT_EQ(config.file, main_file);
  EXPECT_EQ(config.caller, defaults.caller);
  EXPECT_EQ(config.caller, "www-data");
  EXPECT_EQ(config.mode, Mode::owner);
  EXPECT_EQ(config.min_uid, 1000U);
  EXPECT_EQ(config.min_gid, 1000U);
  EXPECT_EQ(config.docroots, (std::vector<std::string>{"/var/www", "/home/*/public_html"}));
  EXPECT_EQ(config.accounts_dir, "/etc/suwrap/accounts.d");  // beside the file
  EXPECT_EQ(config.log, "/var/log/suwrap/suwrap.log");
  EXPECT_EQ(config.safe_path, "/usr/local/bin:/usr/bin:/bin");
  EXPECT_EQ(config.umask, 022U);
  EXPECT_FALSE(config.errors_to_browser);
  EXPECT_EQ(config.symlinks, SymlinkPolicy::owner_match);
  EXPECT_FALSE(config.allow_file_group_writable);
  EXPECT_FALSE(config.allow_dir_group_writable);
  EXPECT_FALSE(config.check_vhost);
  EXPECT_TRUE(config.handlers.empty());
  EXPECT_EQ(config.limits.cpu_seconds, 30U);
  EXPECT_EQ(config.limits.wall_seconds, 60U);
  EXPECT_EQ(config.limits.memory_mb, 512U);
  EXPECT_EQ(config.limits.nproc, 64U);
  EXPECT_EQ(config.limits.nofile, 256U);
  EXPECT_EQ(config.limits.fsize_mb, 256U);
}

TEST(ParseConfig, DefaultAccountsDirIsBesideTheFile) {
  auto parsed = parse_config("", "/opt/x/conf.toml");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->accounts_dir, "/opt/x/accounts.d");
}

// ---- parse_config: one case per kind of error -------------------------------------------

TEST(ParseConfig, ErrorNamesFileLineKeyAndExpectation) {
  const auto error = config_error(R"toml([global]
caller = "www-data"
mode = "owner"
min_uid = 1000
min_gid = 1000
docroots = ["/var/www"]
umask = "999"
)toml");
  EXPECT_EQ(
      error.to_string(),
      R"(/etc/suwrap/suwrap.toml:7: global.umask: expected an octal string of 3 or 4 digits like "022", got "999")");
}

TEST(ParseConfig, RefusesAnUnknownKeyInGlobal) {
  const auto error = config_error("[global]\ncaller = \"www-data\"\ncolour = \"blue\"\n");
  expect_error(error, 3, "global.colour", "unknown key");
  EXPECT_TRUE(Contains(error.message, "caller"));  // says which keys exist
}

TEST(ParseConfig, RefusesAnUnknownTable) {
  const auto error = config_error("[global]\n\n[extras]\nx = 1\n");
  expect_error(error, 3, "extras", "unknown table");
  EXPECT_TRUE(Contains(error.message, "global, handlers, limits"));
}

TEST(ParseConfig, RefusesAnUnknownTopLevelKey) {
  expect_error(config_error("caller = \"www-data\"\n"), 1, "caller", "unknown key");
}

TEST(ParseConfig, RefusesAnUnknownKeyInAHandler) {
  const auto error = config_error(R"toml([handlers.php]
kind = "php"
path = "/usr/bin/php-cgi"
ini_dir = "/etc/php/8.2/cgi"
extension = [".php"]
)toml");
  expect_error(error, 5, "handlers.php.extension", "unknown key");
  EXPECT_TRUE(Contains(error.message, "extensions"));
}

TEST(ParseConfig, RefusesAnUnknownKeyInLimits) {
  expect_error(config_error("[limits]\ncpu = 3\n"), 2, "limits.cpu", "unknown key");
}

TEST(ParseConfig, RefusesAWrongType) {
  const auto error = config_error("[global]\nmin_uid = \"1000\"\n");
  expect_error(error, 2, "global.min_uid", "expected an integer");
  EXPECT_TRUE(Contains(error.message, "got a string \"1000\""));
}

TEST(ParseConfig, RefusesWrongTypesOfOtherKeys) {
  expect_error(config_error("[global]\nerrors_to_browser = \"yes\"\n"), 2, "global.errors_to_browser",
               "true or false");
  expect_error(config_error("[global]\ndocroots = \"/var/www\"\n"), 2, "global.docroots",
               "an array of strings");
  expect_error(config_error("[global]\ndocroots = [\"/var/www\", 7]\n"), 2, "global.docroots",
               "expected a string");
  expect_error(config_error("[global]\ncaller = 33\n"), 2, "global.caller", "expected a string");
  expect_error(config_error("global = 1\n"), 1, "global", "expected a table");
  expect_error(config_error("[limits]\nnproc = 1.5\n"), 2, "limits.nproc", "expected an integer");
}

TEST(ParseConfig, RefusesUmaskThatIsNotOctal) {
  expect_error(config_error("[global]\numask = \"999\"\n"), 2, "global.umask",
               R"(octal string of 3 or 4 digits like "022", got "999")");
}

TEST(ParseConfig, RefusesUmaskTooShort) {
  expect_error(config_error("[global]\numask = \"8\"\n"), 2, "global.umask",
               R"(octal string of 3 or 4 digits like "022", got "8")");
  expect_error(config_error("[global]\numask = \"22\"\n"), 2, "global.umask", "octal string");
}

TEST(ParseConfig, RefusesUmaskAbove0777) {
  expect_error(config_error("[global]\numask = \"1022\"\n"), 2, "global.umask", "at most \"0777\"");
}

TEST(ParseConfig, RefusesUmaskAsAnInteger) {
  // 022 is not even valid TOML; 18 would silently be decimal: only a string is accepted.
  expect_error(config_error("[global]\numask = 18\n"), 2, "global.umask", "expected a string");
}

TEST(ParseConfig, RefusesARelativeDocroot) {
  const auto error = config_error("[global]\ndocroots = [\n  \"/var/www\",\n  \"srv/www\",\n]\n");
  expect_error(error, 4, "global.docroots", "absolute path");
  EXPECT_TRUE(Contains(error.message, "got \"srv/www\""));
}

TEST(ParseConfig, RefusesADocrootWithDotDot) {
  expect_error(config_error("[global]\ndocroots = [\"/var/www/../etc\"]\n"), 2, "global.docroots",
               R"(without "." or ".." components, got "/var/www/../etc")");
  expect_error(config_error("[global]\ndocroots = [\"/var/./www\"]\n"), 2, "global.docroots",
               "\"..\" components");
}

TEST(ParseConfig, RefusesDocrootsThatAreNotNormalised) {
  expect_error(config_error("[global]\ndocroots = [\"/var//www\"]\n"), 2, "global.docroots",
               "empty components");
  expect_error(config_error("[global]\ndocroots = [\"/var/www/\"]\n"), 2, "global.docroots", "trailing");
}

TEST(ParseConfig, RefusesTheRootDirectoryAsDocroot) {
  expect_error(config_error("[global]\ndocroots = [\"/\"]\n"), 2, "global.docroots", "below \"/\"");
  expect_error(config_error("[global]\ndocroots = [\"/*\"]\n"), 2, "global.docroots", "named component");
}

TEST(ParseConfig, AllowsStarOnlyAsAWholeComponent) {
  expect_error(config_error("[global]\ndocroots = [\"/home/user*/www\"]\n"), 2, "global.docroots",
               "whole path component");
  EXPECT_TRUE(
      parse_config("[global]\ndocroots = [\"/home/*/www\", \"/srv/*/*/htdocs\"]\n", main_file).has_value());
}

TEST(ParseConfig, RefusesMinUidZero) {
  const auto error = config_error("[global]\nmin_uid = 0\n");
  expect_error(error, 2, "global.min_uid", "from 1");
  EXPECT_TRUE(Contains(error.message, "got 0"));
  expect_error(config_error("[global]\nmin_gid = 0\n"), 2, "global.min_gid", "from 1");
}

TEST(ParseConfig, RefusesIdsBeyondUidRange) {
  expect_error(config_error("[global]\nmin_uid = 4294967295\n"), 2, "global.min_uid", "to 4294967294");
  expect_error(config_error("[global]\nmin_gid = -5\n"), 2, "global.min_gid", "from 1");
}

TEST(ParseConfig, RefusesABadMode) {
  expect_error(config_error("[global]\nmode = \"group\"\n"), 2, "global.mode",
               R"(expected "owner" or "account", got "group")");
}

TEST(ParseConfig, RefusesABadSymlinksValue) {
  expect_error(config_error("[global]\nsymlinks = \"follow\"\n"), 2, "global.symlinks",
               R"(expected "deny" or "owner-match", got "follow")");
}

TEST(ParseConfig, RefusesABadCaller) {
  expect_error(config_error("[global]\ncaller = \"\"\n"), 2, "global.caller", "user or group name");
  expect_error(config_error("[global]\ncaller = \"www data\"\n"), 2, "global.caller", "user or group name");
}

TEST(ParseConfig, RefusesABadLogTarget) {
  expect_error(config_error("[global]\nlog = \"suwrap.log\"\n"), 2, "global.log",
               R"(absolute file path or "syslog")");
}

TEST(ParseConfig, RefusesASafePathWithARelativeOrEmptyEntry) {
  // An empty PATH entry means the working directory: the script's own directory.
  expect_error(config_error("[global]\nsafe_path = \"/usr/bin::/bin\"\n"), 2, "global.safe_path",
               "colon-separated absolute");
  expect_error(config_error("[global]\nsafe_path = \"/usr/bin:bin\"\n"), 2, "global.safe_path",
               "colon-separated absolute");
  expect_error(config_error("[global]\nsafe_path = \"/usr/bin:\"\n"), 2, "global.safe_path",
               "colon-separated absolute");
}

TEST(ParseConfig, RefusesARelativeAccountsDir) {
  expect_error(config_error("[global]\naccounts_dir = \"accounts.d\"\n"), 2, "global.accounts_dir",
               "absolute path");
}

TEST(ParseConfig, RefusesAStringWithANul) {
  expect_error(config_error("[global]\ncaller = \"www\\u0000data\"\n"), 2, "global.caller", "without NUL");
}

TEST(ParseConfig, RefusesAHandlerWithoutKind) {
  const auto error = config_error("\n[handlers.php]\npath = \"/usr/bin/php-cgi\"\n");
  expect_error(error, 2, "handlers.php.kind", "missing");
  EXPECT_TRUE(Contains(error.message, R"("php", "php-fcgi" or "cgi")"));
}

TEST(ParseConfig, RefusesAnUnknownHandlerKind) {
  expect_error(config_error("[handlers.x]\nkind = \"fastcgi\"\n"), 2, "handlers.x.kind", R"(got "fastcgi")");
}

TEST(ParseConfig, RefusesAPhpHandlerWithoutPath) {
  const auto error = config_error("[handlers.php]\nkind = \"php\"\nini_dir = \"/etc/php/8.2/cgi\"\n");
  expect_error(error, 1, "handlers.php.path", "missing");
  EXPECT_TRUE(Contains(error.message, "php-cgi"));
  expect_error(config_error("[handlers.warm]\nkind = \"php-fcgi\"\nini_dir = \"/etc/php\"\n"), 1,
               "handlers.warm.path", "missing");
}

TEST(ParseConfig, RefusesAPhpHandlerWithoutIniDir) {
  expect_error(config_error("[handlers.php]\nkind = \"php\"\npath = \"/usr/bin/php-cgi\"\n"), 1,
               "handlers.php.ini_dir", "missing; expected the absolute directory holding php.ini");
}

TEST(ParseConfig, RefusesACgiHandlerWithPath) {
  const auto error = config_error("[handlers.cgi]\nkind = \"cgi\"\npath = \"/usr/bin/perl\"\n");
  expect_error(error, 3, "handlers.cgi.path", "not allowed for kind \"cgi\"");
  expect_error(config_error("[handlers.cgi]\nkind = \"cgi\"\nini_dir = \"/etc/php\"\n"), 3,
               "handlers.cgi.ini_dir", "not allowed");
  expect_error(config_error("[handlers.cgi]\nkind = \"cgi\"\nargs = []\n"), 3, "handlers.cgi.args",
               "not allowed");
}

// -n makes php-cgi read no ini file at all, suwrap's PHP guard included.
TEST(ParseConfig, RefusesAPhpHandlerArgumentThatLoadsNoIniFile) {
  const std::string head = "[handlers.php]\nkind = \"php\"\npath = \"/usr/bin/php-cgi\"\nini_dir = \"/etc/php\"\n";
  for (const char* args : {R"(["-n"])", R"(["--no-php-ini"])", R"(["--no-php-ini=1"])", R"(["-qn"])", R"(["-d", "x=1", "-n"])"})
    expect_error(config_error(head + "args = " + args + "\n"), 5, "handlers.php.args", "without -n");
  // What follows an option that takes a value is that value: "-dopcache.enable=0" sets no -n.
  for (const char* args : {R"(["-dopcache.enable=0"])", R"(["-d", "display_errors=on"])", R"(["-q"])"}) {
    const auto config = parse_config(head + "args = " + args + "\n", main_file);
    EXPECT_TRUE(config.has_value()) << args << ": " << (config ? "" : config.error().to_string());
  }
}

TEST(ParseConfig, RefusesPoolSettingsOutsidePhpFcgi) {
  expect_error(
      config_error("[handlers.php]\nkind = \"php\"\npath = \"/usr/bin/php-cgi\"\nini_dir = \"/etc/php\"\n"
                   "workers = 4\n"),
      5, "handlers.php.workers", "only a \"php-fcgi\" handler");
}

TEST(ParseConfig, RefusesPoolSettingsOutOfRange) {
  const std::string warm =
      "[handlers.warm]\nkind = \"php-fcgi\"\npath = \"/usr/bin/php-cgi\"\nini_dir = \"/etc/php\"\n";
  expect_error(config_error(warm + "workers = 0\n"), 5, "handlers.warm.workers", "from 1 to 256, got 0");
  expect_error(config_error(warm + "workers = 257\n"), 5, "handlers.warm.workers", "from 1 to 256, got 257");
  expect_error(config_error(warm + "max_requests = -1\n"), 5, "handlers.warm.max_requests", "from 1");
  expect_error(config_error(warm + "idle_seconds = 0\n"), 5, "handlers.warm.idle_seconds", "from 1");
  expect_error(config_error(warm + "max_lifetime_seconds = 4\n"), 5, "handlers.warm.max_lifetime_seconds",
               "from 5 to 604800");
  expect_error(config_error("[handlers.php]\nkind = \"php\"\npath = \"/usr/bin/php-cgi\"\nini_dir = \"/etc/php\"\n"
                            "max_lifetime_seconds = 60\n"),
               5, "handlers.php.max_lifetime_seconds", "only a \"php-fcgi\" handler has a worker pool");
  expect_error(config_error("[handlers.php]\nkind = \"php\"\npath = \"/usr/bin/php-cgi\"\nini_dir = \"/etc/php\"\n"
                            "direct = true\n"),
               5, "handlers.php.direct", "only a \"php-fcgi\" handler has a worker pool");
}

TEST(ParseConfig, RefusesARelativeHandlerPath) {
  expect_error(config_error("[handlers.php]\nkind = \"php\"\npath = \"php-cgi\"\nini_dir = \"/etc/php\"\n"),
               3, "handlers.php.path", "absolute path");
}

TEST(ParseConfig, RefusesABadHandlerName) {
  const auto error = config_error("[handlers.\"my php\"]\nkind = \"cgi\"\n");
  expect_error(error, 1, "handlers.\"my php\"", "handler name");
}

TEST(ParseConfig, RefusesAnExtensionWithoutDot) {
  const auto error = config_error("[handlers.cgi]\nkind = \"cgi\"\nextensions = [\"cgi\"]\n");
  expect_error(error, 3, "handlers.cgi.extensions", R"(like ".php", got "cgi")");
}

TEST(ParseConfig, RefusesExtensionsThatCouldNeverMatch) {
  expect_error(config_error("[handlers.cgi]\nkind = \"cgi\"\nextensions = [\".\"]\n"), 3,
               "handlers.cgi.extensions", "got \".\"");
  expect_error(config_error("[handlers.cgi]\nkind = \"cgi\"\nextensions = [\".a/b\"]\n"), 3,
               "handlers.cgi.extensions", "without \"/\"");
  expect_error(config_error("[handlers.cgi]\nkind = \"cgi\"\nextensions = [\".tar.gz\"]\n"), 3,
               "handlers.cgi.extensions", "one \".\"");
}

TEST(ParseConfig, RefusesAnExtensionClaimedByTwoHandlers) {
  const auto error = config_error(R"toml([handlers.php]
kind = "php"
path = "/usr/bin/php-cgi"
ini_dir = "/etc/php/8.2/cgi"
extensions = [".php"]

[handlers.php81]
kind = "php"
path = "/usr/bin/php-cgi8.1"
ini_dir = "/etc/php/8.1/cgi"
extensions = [".phtml",
              ".php"]
)toml");
  expect_error(error, 12, "handlers.php81.extensions", R"(".php" is already claimed by handler "php")");
}

TEST(ParseConfig, RefusesAnExtensionListedTwice) {
  expect_error(config_error("[handlers.cgi]\nkind = \"cgi\"\nextensions = [\".cgi\", \".cgi\"]\n"), 3,
               "handlers.cgi.extensions", "listed twice");
}

TEST(ParseConfig, RefusesANegativeLimit) {
  const auto error = config_error("[limits]\ncpu_seconds = -1\n");
  expect_error(error, 2, "limits.cpu_seconds", "non-negative integer");
  EXPECT_TRUE(Contains(error.message, "got -1"));
  expect_error(config_error("[limits]\nfsize_mb = -10\n"), 2, "limits.fsize_mb", "non-negative integer");
}

TEST(ParseConfig, RefusesAMemoryLimitThatWouldOverflowInBytes) {
  expect_error(config_error("[limits]\nmemory_mb = 9223372036854775807\n"), 2, "limits.memory_mb", "at most");
}

TEST(ParseConfig, ReportsATomlSyntaxErrorWithItsLine) {
  const auto error = config_error("[global]\ncaller = \"www-data\"\nmode = \n");
  EXPECT_EQ(error.file, main_file);
  EXPECT_EQ(error.line, 3);
  EXPECT_TRUE(error.key.empty());
  EXPECT_TRUE(Contains(error.message, "TOML syntax error"));
  EXPECT_TRUE(Contains(error.to_string(), "/etc/suwrap/suwrap.toml:3: TOML syntax error: "));
}

TEST(ParseConfig, ReportsADuplicateKeyAsASyntaxError) {
  const auto error = config_error("[global]\ncaller = \"a\"\ncaller = \"b\"\n");
  EXPECT_EQ(error.line, 3);
  EXPECT_TRUE(Contains(error.message, "TOML syntax error"));
}

TEST(ParseConfig, QuotesControlCharactersInMessages) {
  // A value with a newline must not produce a message that spans lines (and forge a log line).
  const auto error = config_error("[global]\nmode = \"owner\\n{\\\"decision\\\":\\\"allow\\\"}\"\n");
  EXPECT_EQ(error.message.find('\n'), std::string::npos) << error.message;
  EXPECT_TRUE(Contains(error.message, "\\x0a"));
}

// ---- parse_account ----------------------------------------------------------------------

TEST(ParseAccount, ReadsTheContractExample) {
  auto parsed = parse_account(contract_account_example, alice_file, "alice");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  const Account& a = *parsed;
  EXPECT_EQ(a.name, "alice");
  EXPECT_EQ(a.file, alice_file);
  EXPECT_EQ(a.user, "alice");
  EXPECT_EQ(a.group, std::optional<std::string>("alice"));
  EXPECT_EQ(a.docroots, (std::vector<std::string>{"/home/alice/public_html"}));
  EXPECT_EQ(a.domains, (std::vector<std::string>{"alice.example", "www.alice.example"}));
  EXPECT_EQ(a.php_handler, std::optional<std::string>("php82"));
  ASSERT_TRUE(a.handlers.has_value());
  EXPECT_EQ(*a.handlers, (std::vector<std::string>{"php82", "php81", "cgi"}));
  EXPECT_EQ(a.php_ini_dir, std::optional<std::string>("/home/alice/etc/php"));
  EXPECT_FALSE(a.disabled);
  EXPECT_EQ(a.limits.cpu_seconds, std::optional<std::uint64_t>(10));
  EXPECT_FALSE(a.limits.wall_seconds.has_value());
  EXPECT_FALSE(a.limits.memory_mb.has_value());
  EXPECT_FALSE(a.limits.nproc.has_value());
  EXPECT_FALSE(a.limits.nofile.has_value());
  EXPECT_FALSE(a.limits.fsize_mb.has_value());
}

TEST(ParseAccount, LeavesOptionalKeysUnset) {
  auto parsed = parse_account("user = \"bob\"\ndocroots = [\"/srv/bob\"]\n", "/x/bob.toml", "bob");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  EXPECT_FALSE(parsed->group.has_value());
  EXPECT_TRUE(parsed->domains.empty());
  EXPECT_FALSE(parsed->php_handler.has_value());
  EXPECT_FALSE(parsed->handlers.has_value());  // all handlers allowed
  EXPECT_FALSE(parsed->php_ini_dir.has_value());
  EXPECT_FALSE(parsed->disabled);
  EXPECT_FALSE(parsed->limits.cpu_seconds.has_value());
}

TEST(ParseAccount, StoresDomainsLowercased) {
  auto parsed = parse_account(
      "user = \"bob\"\ndocroots = [\"/srv/bob\"]\ndomains = [\"Bob.Example\", \"WWW.BOB.EXAMPLE\"]\n",
      "/x/bob.toml", "bob");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  EXPECT_EQ(parsed->domains, (std::vector<std::string>{"bob.example", "www.bob.example"}));
}

TEST(ParseAccount, RefusesAMissingUser) {
  const auto error = account_error("docroots = [\"/home/alice/public_html\"]\n");
  expect_error(error, 0, "user", "missing", alice_file);
  EXPECT_EQ(error.to_string(),
            std::string(alice_file) + ": user: missing; expected the account's user name, like \"alice\"");
}

TEST(ParseAccount, RefusesMissingOrEmptyDocroots) {
  expect_error(account_error("user = \"alice\"\n"), 0, "docroots", "missing", alice_file);
  expect_error(account_error("user = \"alice\"\ndocroots = []\n"), 2, "docroots", "at least one docroot",
               alice_file);
}

TEST(ParseAccount, RefusesARelativeDocroot) {
  expect_error(account_error("user = \"alice\"\ndocroots = [\"home/alice\"]\n"), 2, "docroots",
               "absolute path", alice_file);
  expect_error(account_error("user = \"alice\"\ndocroots = [\"/home/alice/../bob\"]\n"), 2, "docroots",
               "\"..\"", alice_file);
}

TEST(ParseAccount, RefusesAPatternDocroot) {
  expect_error(account_error("user = \"alice\"\ndocroots = [\"/home/*/public_html\"]\n"), 2, "docroots",
               "literal directory", alice_file);
}

TEST(ParseAccount, RefusesAnUnknownKey) {
  const auto error = account_error("usr = \"alice\"\nuser = \"alice\"\ndocroots = [\"/home/alice\"]\n");
  expect_error(error, 1, "usr", "unknown key", alice_file);
  EXPECT_TRUE(Contains(error.message, "php_handler"));
}

TEST(ParseAccount, RefusesAnUnknownKeyInLimits) {
  expect_error(account_error("user = \"alice\"\ndocroots = [\"/home/alice\"]\n[limits]\ncpu_secs = 1\n"), 4,
               "limits.cpu_secs", "unknown key", alice_file);
}

TEST(ParseAccount, RefusesBadValues) {
  const std::string base = "user = \"alice\"\ndocroots = [\"/home/alice\"]\n";
  expect_error(account_error(base + "disabled = \"no\"\n"), 3, "disabled", "true or false", alice_file);
  expect_error(account_error(base + "domains = [\"alice example\"]\n"), 3, "domains", "host name",
               alice_file);
  expect_error(account_error(base + "php_ini_dir = \"etc/php\"\n"), 3, "php_ini_dir", "absolute path",
               alice_file);
  expect_error(account_error(base + "handlers = \"php\"\n"), 3, "handlers", "an array of strings",
               alice_file);
  expect_error(account_error(base + "[limits]\nnofile = -1\n"), 4, "limits.nofile", "non-negative",
               alice_file);
  expect_error(account_error(base + "group = \"\"\n"), 3, "group", "user or group name", alice_file);
}

TEST(ParseAccount, RefusesABadAccountName) {
  const std::string text = "user = \"alice\"\ndocroots = [\"/home/alice\"]\n";
  EXPECT_TRUE(Contains(account_error(text, "al ice").message, "account name"));
  EXPECT_TRUE(Contains(account_error(text, ".alice").message, "not starting with '.'"));
  EXPECT_TRUE(Contains(account_error(text, "").message, "account name"));
}

TEST(ParseAccount, ReportsASyntaxErrorWithTheAccountFile) {
  const auto error = account_error("user = \"alice\"\ndocroots = [\"/home/alice\"\n");
  EXPECT_EQ(error.file, alice_file);
  EXPECT_GE(error.line, 2);
  EXPECT_TRUE(Contains(error.message, "TOML syntax error"));
}

// ---- account_handler_problem ------------------------------------------------------------

std::optional<ConfigError> handler_problem(const Account& account) {
  return account_handler_problem(config_with_handlers(), account);
}

TEST(AccountHandlerProblem, AcceptsAnAccountThatUsesExistingHandlers) {
  Account alice = account("alice", "alice", {"/home/alice/public_html"});
  alice.php_handler = "php";
  alice.handlers = std::vector<std::string>{"php", "cgi"};
  const auto problem = handler_problem(alice);
  EXPECT_FALSE(problem.has_value()) << problem->to_string();
}

TEST(AccountHandlerProblem, RefusesAPhpHandlerNamingAnUnknownHandler) {
  Account alice = account("alice", "alice", {"/home/alice/public_html"});
  alice.php_handler = "php82";
  const auto problem = handler_problem(alice);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->file, alice_file);
  EXPECT_EQ(problem->key, "php_handler");
  EXPECT_TRUE(Contains(problem->message, "\"php82\" is not a handler of /etc/suwrap/suwrap.toml"));
  EXPECT_TRUE(Contains(problem->message, "expected one of the PHP handlers: php"));
}

TEST(AccountHandlerProblem, RefusesAPhpHandlerOfKindCgi) {
  Account alice = account("alice", "alice", {"/home/alice/public_html"});
  alice.php_handler = "cgi";
  const auto problem = handler_problem(alice);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->key, "php_handler");
  EXPECT_TRUE(Contains(problem->message, R"(kind "php" or "php-fcgi")"));
}

TEST(AccountHandlerProblem, RefusesAPhpHandlerOutsideTheAccountsHandlers) {
  Account alice = account("alice", "alice", {"/home/alice/public_html"});
  alice.php_handler = "php";
  alice.handlers = std::vector<std::string>{"cgi"};
  const auto problem = handler_problem(alice);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->key, "php_handler");
  EXPECT_TRUE(Contains(problem->message, "not in this account's handlers"));
}

TEST(AccountHandlerProblem, RefusesHandlersNamingAnUnknownHandler) {
  Account alice = account("alice", "alice", {"/home/alice/public_html"});
  alice.handlers = std::vector<std::string>{"cgi", "perl"};
  const auto problem = handler_problem(alice);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->file, alice_file);
  EXPECT_EQ(problem->key, "handlers");
  EXPECT_TRUE(Contains(problem->message, "\"perl\""));
}

// ---- overlapping_docroots ---------------------------------------------------------------

TEST(OverlappingDocroots, FindsADocrootInsideAnotherAccounts) {
  const auto overlaps = overlapping_docroots({{"/home/alice/public_html", "alice"},
                                              {"/srv/shop", "shop"},
                                              {"/home/alice/public_html/shop", "shop"}});
  ASSERT_EQ(overlaps.size(), 1U);
  EXPECT_EQ(overlaps[0].docroot, "/home/alice/public_html/shop");
  EXPECT_EQ(overlaps[0].account, "shop");
  EXPECT_EQ(overlaps[0].other_docroot, "/home/alice/public_html");
  EXPECT_EQ(overlaps[0].other_account, "alice");
}

TEST(OverlappingDocroots, FindsEqualDocrootsAndADocrootHoldingAnothers) {
  EXPECT_EQ(overlapping_docroots({{"/var/www/site", "alice"}, {"/var/www/site", "bob"}}).size(), 1U);
  EXPECT_EQ(overlapping_docroots({{"/home/alice/public_html/blog", "alice"}, {"/home/alice", "bob"}}).size(), 1U);
}

TEST(OverlappingDocroots, ComparesByComponentNotByPrefix) {
  EXPECT_TRUE(overlapping_docroots({{"/var/www", "alice"}, {"/var/www2", "bob"}, {"/var/www-x", "carol"}}).empty());
}

TEST(OverlappingDocroots, AllowsAnAccountToNestItsOwnAndTwoAccountsForOneUser) {
  EXPECT_TRUE(overlapping_docroots({{"/srv/blog", "alice-blog"}, {"/srv/blog/old", "alice-blog"},
                                    {"/srv/shop", "alice-shop"}})
                  .empty());
}

// The sweep finds what comparing every pair finds, on random trees.
TEST(OverlappingDocroots, AgreesWithComparingEveryPair) {
  std::mt19937 random(7);
  const std::vector<std::string> parts{"a", "b", "a-b", "ab", "c"};
  for (int round = 0; round < 200; ++round) {
    std::vector<suwrap::policy::DocrootClaim> claims;
    const int n = 2 + static_cast<int>(random() % 8);
    for (int i = 0; i < n; ++i) {
      std::string path;
      const int depth = 1 + static_cast<int>(random() % 3);
      for (int d = 0; d < depth; ++d) path += "/" + parts[random() % parts.size()];
      claims.push_back({path, "acct" + std::to_string(random() % 4)});
    }
    std::set<std::string> by_pairs;
    for (const auto& x : claims) {
      for (const auto& y : claims) {
        if (x.account == y.account) continue;
        const bool inside = x.docroot == y.docroot || x.docroot.starts_with(y.docroot + "/");
        if (inside) by_pairs.insert(x.docroot + "|" + x.account);
      }
    }
    std::set<std::string> by_sweep;
    for (const auto& o : overlapping_docroots(claims)) by_sweep.insert(o.docroot + "|" + o.account);
    // Of two equal docroots the sweep names the later one only; every docroot named is one
    // the pairs name, and every overlapping pair has one of its docroots named.
    for (const auto& named : by_sweep) EXPECT_TRUE(by_pairs.contains(named)) << named;
    EXPECT_EQ(by_pairs.empty(), by_sweep.empty()) << "round " << round;
  }
}

// ---- small functions of config.hpp ------------------------------------------------------

TEST(ConfigErrorToString, OmitsLineZeroAndEmptyKey) {
  EXPECT_EQ((ConfigError{"/f.toml", 7, "global.umask", "bad"}).to_string(), "/f.toml:7: global.umask: bad");
  EXPECT_EQ((ConfigError{"/f.toml", 0, "user", "missing"}).to_string(), "/f.toml: user: missing");
  EXPECT_EQ((ConfigError{"/etc/suwrap", 0, "", "owned by uid 1000, must be owned by root"}).to_string(),
            "/etc/suwrap: owned by uid 1000, must be owned by root");
  EXPECT_EQ((ConfigError{"/f.toml", 3, "", "TOML syntax error: x"}).to_string(),
            "/f.toml:3: TOML syntax error: x");
}

TEST(LimitOverridesAppliedTo, ReplacesOnlyTheKeysSet) {
  LimitOverrides overrides;
  overrides.cpu_seconds = 10;
  overrides.fsize_mb = 0;
  const Limits limits = overrides.applied_to(Limits{});
  EXPECT_EQ(limits.cpu_seconds, 10U);
  EXPECT_EQ(limits.fsize_mb, 0U);
  EXPECT_EQ(limits.wall_seconds, 60U);
  EXPECT_EQ(limits.memory_mb, 512U);
  EXPECT_EQ(limits.nproc, 64U);
  EXPECT_EQ(limits.nofile, 256U);

  LimitOverrides all;
  all.wall_seconds = 1;
  all.memory_mb = 2;
  all.nproc = 3;
  all.nofile = 4;
  const Limits replaced = all.applied_to(Limits{});
  EXPECT_EQ(replaced.wall_seconds, 1U);
  EXPECT_EQ(replaced.memory_mb, 2U);
  EXPECT_EQ(replaced.nproc, 3U);
  EXPECT_EQ(replaced.nofile, 4U);
  EXPECT_EQ(replaced.cpu_seconds, 30U);
}

TEST(AccountMayUse, AllowsEverythingWithoutAList) {
  Account a;
  EXPECT_TRUE(a.may_use("php"));
  a.handlers = std::vector<std::string>{"cgi"};
  EXPECT_TRUE(a.may_use("cgi"));
  EXPECT_FALSE(a.may_use("php"));
  a.handlers = std::vector<std::string>{};
  EXPECT_FALSE(a.may_use("cgi"));
}

TEST(ConfigLookup, FindsHandlersByName) {
  const Config config = config_with_handlers();
  ASSERT_NE(config.handler("cgi"), nullptr);
  EXPECT_EQ(config.handler("cgi")->kind, HandlerKind::cgi);
  EXPECT_EQ(config.handler("perl"), nullptr);
}

TEST(ConfigEnumToString, UsesTheConfigSpellings) {
  EXPECT_EQ(suwrap::policy::to_string(Mode::owner), "owner");
  EXPECT_EQ(suwrap::policy::to_string(Mode::account), "account");
  EXPECT_EQ(suwrap::policy::to_string(SymlinkPolicy::deny), "deny");
  EXPECT_EQ(suwrap::policy::to_string(SymlinkPolicy::owner_match), "owner-match");
  EXPECT_EQ(suwrap::policy::to_string(HandlerKind::php), "php");
  EXPECT_EQ(suwrap::policy::to_string(HandlerKind::php_fcgi), "php-fcgi");
  EXPECT_EQ(suwrap::policy::to_string(HandlerKind::cgi), "cgi");
}

// ---- load_config and check_trusted_path, as root on real files --------------------------

constexpr std::string_view loadable_config = R"toml([global]
mode = "account"

[handlers.php]
kind = "php"
path = "/usr/bin/php-cgi"
ini_dir = "/etc/php/8.2/cgi"
extensions = [".php"]
)toml";

// A configuration laid out as installed: etc/suwrap/suwrap.toml and etc/suwrap/accounts.d/,
// everything root-owned and 0755/0644, inside a root-owned TempTree.
class ConfigFiles {
 public:
  ConfigFiles() {
    tree.mkdir("etc", 0755, 0, 0);
    tree.mkdir("etc/suwrap", 0755, 0, 0);
    tree.write("etc/suwrap/suwrap.toml", loadable_config, 0644, 0, 0);
  }
  void add_accounts_dir() const { tree.mkdir("etc/suwrap/accounts.d", 0755, 0, 0); }
  void add_account(std::string_view name, std::string_view user, std::string_view docroot) const {
    tree.write("etc/suwrap/accounts.d/" + std::string(name) + ".toml",
               "user = \"" + std::string(user) + "\"\ndocroots = [\"" + std::string(docroot) + "\"]\n", 0644,
               0, 0);
  }
  [[nodiscard]] std::string main_path() const { return tree.path("etc/suwrap/suwrap.toml"); }
  [[nodiscard]] std::string accounts_path(std::string_view rel = "") const {
    return rel.empty() ? tree.path("etc/suwrap/accounts.d")
                       : tree.path("etc/suwrap/accounts.d/" + std::string(rel));
  }
  // The error of a load that must fail.
  [[nodiscard]] ConfigError load_error(const LoadOptions& options = {}) const {
    auto config = load_config(main_path(), options);
    EXPECT_FALSE(config.has_value()) << "loaded although it must not";
    return config.has_value() ? ConfigError{} : config.error();
  }

  TempTree tree;
};

TEST(LoadConfig, LoadsATrustedMainFileAndNoAccountFile) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  files.add_accounts_dir();
  // Not read here (accounts_test.cpp): one that would fail any load.
  files.tree.write("etc/suwrap/accounts.d/alice.toml", "not toml [", 0644, 0, 0);

  auto config = load_config(files.main_path());
  ASSERT_TRUE(config.has_value()) << config.error().to_string();
  EXPECT_EQ(config->file, files.main_path());
  EXPECT_EQ(config->mode, Mode::account);
  EXPECT_EQ(config->accounts_dir, files.accounts_path());
  ASSERT_NE(config->handler("php"), nullptr);
}

TEST(LoadConfig, RefusesAFileWritableByOthers) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  files.tree.chmod("etc/suwrap/suwrap.toml", 0666);
  const auto error = files.load_error();
  EXPECT_EQ(error.to_string(),
            files.main_path() +
                ": is writable by others (mode 0666); it must be owned by root and writable only by root");
}

TEST(LoadConfig, RefusesAFileWritableByItsGroup) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  files.tree.chmod("etc/suwrap/suwrap.toml", 0664);
  const auto error = files.load_error();
  EXPECT_EQ(error.file, files.main_path());
  EXPECT_TRUE(Contains(error.message, "writable by its group (mode 0664)"));
}

TEST(LoadConfig, RefusesAGroupWritableDirectoryOnThePath) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  files.tree.chmod("etc", 0775);
  const auto error = files.load_error();
  EXPECT_EQ(error.file, files.tree.path("etc"));
  EXPECT_TRUE(Contains(error.message, "writable by its group (mode 0775)"));
}

TEST(LoadConfig, RefusesAFileOwnedByAnotherUser) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  const TestUser owner("cfg");
  files.tree.chown("etc/suwrap/suwrap.toml", owner.uid(), owner.gid());
  const auto error = files.load_error();
  EXPECT_EQ(error.to_string(),
            files.main_path() + ": owned by uid " + std::to_string(owner.uid()) + ", must be owned by root");
}

TEST(LoadConfig, RefusesADirectoryOwnedByAnotherUser) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  const TestUser owner("cfd");
  files.tree.chown("etc/suwrap", owner.uid(), owner.gid());
  const auto error = files.load_error();
  EXPECT_EQ(error.file, files.tree.path("etc/suwrap"));
  EXPECT_TRUE(Contains(error.message, "owned by uid " + std::to_string(owner.uid())));
}

TEST(LoadConfig, RefusesAMainFileThatIsASymlink) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  files.tree.write("etc/real.toml", loadable_config, 0644, 0, 0);
  ASSERT_EQ(::unlink(files.main_path().c_str()), 0);
  files.tree.symlink(files.tree.path("etc/real.toml"), "etc/suwrap/suwrap.toml", 0, 0);
  const auto error = files.load_error();
  EXPECT_EQ(error.file, files.main_path());
  EXPECT_TRUE(Contains(error.message, "symbolic link"));
}

TEST(LoadConfig, RefusesASymlinkedDirectoryOnThePath) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  files.tree.symlink("suwrap", "etc/link", 0, 0);
  auto config = load_config(files.tree.path("etc/link/suwrap.toml"));
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().file, files.tree.path("etc/link"));
  EXPECT_TRUE(Contains(config.error().message, "symbolic link"));
}

TEST(LoadConfig, RefusesAFifoWithoutWaitingForAWriter) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  ASSERT_EQ(::unlink(files.main_path().c_str()), 0);
  ASSERT_EQ(::mkfifo(files.main_path().c_str(), 0644), 0);
  const auto error = files.load_error();
  EXPECT_EQ(error.file, files.main_path());
  EXPECT_TRUE(Contains(error.message, "not a regular file"));
}

TEST(LoadConfig, RefusesAMissingFile) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  auto config = load_config(files.tree.path("etc/suwrap/other.toml"));
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().to_string(), files.tree.path("etc/suwrap/other.toml") + ": does not exist");
}

TEST(LoadConfig, RefusesAFileLargerThanOneMebibyte) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  files.tree.write("etc/suwrap/suwrap.toml", "#" + std::string(1U << 20U, 'x') + "\n", 0644, 0, 0);
  EXPECT_TRUE(Contains(files.load_error().message, "larger than 1 MiB"));
}

TEST(LoadConfig, RefusesARelativePath) {
  auto config = load_config("etc/suwrap/suwrap.toml");
  ASSERT_FALSE(config.has_value());
  EXPECT_TRUE(Contains(config.error().message, "absolute path"));
}

TEST(LoadConfig, ReportsParseErrorsWithThePathGiven) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  files.tree.write("etc/suwrap/suwrap.toml", "[global]\nmode = \"group\"\n", 0644, 0, 0);
  const auto error = files.load_error();
  EXPECT_EQ(error.file, files.main_path());
  EXPECT_EQ(error.line, 2);
  EXPECT_EQ(error.key, "global.mode");
}

TEST(LoadConfig, SkipsOwnershipButNotSymlinksWhenTrustIsNotRequired) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  files.tree.chmod("etc/suwrap/suwrap.toml", 0666);
  files.tree.chmod("etc", 0777);
  LoadOptions untrusted;
  untrusted.require_trusted = false;
  auto config = load_config(files.main_path(), untrusted);
  EXPECT_TRUE(config.has_value()) << config.error().to_string();

  files.tree.symlink("suwrap.toml", "etc/suwrap/link.toml", 0, 0);
  auto linked = load_config(files.tree.path("etc/suwrap/link.toml"), untrusted);
  ASSERT_FALSE(linked.has_value());
  EXPECT_TRUE(Contains(linked.error().message, "symbolic link"));
}

TEST(CheckTrustedPath, AcceptsRootOwnedPathsWritableOnlyByRoot) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  const auto file_problem = check_trusted_path(files.main_path());
  EXPECT_FALSE(file_problem.has_value()) << file_problem->to_string();
  const auto dir_problem = check_trusted_path(files.tree.path("etc/suwrap"));
  EXPECT_FALSE(dir_problem.has_value()) << dir_problem->to_string();
}

TEST(CheckTrustedPath, NamesTheFirstUntrustedDirectory) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  files.tree.chmod("etc", 0777);
  files.tree.chmod("etc/suwrap", 0775);
  const auto problem = check_trusted_path(files.main_path());
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->file, files.tree.path("etc"));
  EXPECT_TRUE(Contains(problem->message, "writable by others (mode 0777)"));
}

TEST(CheckTrustedPath, RefusesAnUntrustedFile) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  const TestUser owner("ctp");
  files.tree.chown("etc/suwrap/suwrap.toml", owner.uid(), owner.gid());
  const auto problem = check_trusted_path(files.main_path());
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->file, files.main_path());
  EXPECT_TRUE(Contains(problem->message, "must be owned by root"));
}

TEST(CheckTrustedPath, RefusesASymlinkEvenToATrustedFile) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  files.tree.symlink("suwrap.toml", "etc/suwrap/link.toml", 0, 0);
  const auto problem = check_trusted_path(files.tree.path("etc/suwrap/link.toml"));
  ASSERT_TRUE(problem.has_value());
  EXPECT_TRUE(Contains(problem->message, "symbolic link"));
}

TEST(CheckTrustedPath, RefusesAMissingPath) {
  SUWRAP_REQUIRE_ROOT();
  ConfigFiles files;
  const auto problem = check_trusted_path(files.tree.path("etc/none/suwrap.toml"));
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->file, files.tree.path("etc/none"));
  EXPECT_TRUE(Contains(problem->message, "does not exist"));
}

}  // namespace

// toml++ 3.3 reaches a branch it marks unreachable for some non-ASCII characters where
// whitespace may stand (U+FEEF here, found by config_fuzz); under UBSan (the sanitizer
// pass) that branch would be reported. It must be an ordinary parse error.
TEST(ParseConfig, RefusesUnicodeThatTomlPlusPlusMarksUnreachable) {
  const auto error = config_error("\xef\xbb\xaf[global]\nmode = \"owner\"\n");
  EXPECT_FALSE(error.message.empty());
  const auto accented = config_error("[global]\n\xc3\xa9 = 1\n");
  EXPECT_FALSE(accented.message.empty());
}
