// SPDX-License-Identifier: Apache-2.0
// Migration from suPHP: suphp.conf read as suPHP reads it, and translated into a suwrap.toml
// that parse_config accepts, with a note for every setting that has no equivalent.
#include "suwrap/policy/suphp.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "suwrap/config/config.hpp"

namespace {

using suwrap::policy::Config;
using suwrap::policy::HandlerKind;
using suwrap::policy::import_suphp;
using suwrap::policy::Mode;
using suwrap::policy::parse_config;
using suwrap::policy::parse_suphp_conf;
using suwrap::policy::SuphpConf;
using suwrap::policy::SuphpImport;
using suwrap::policy::SuphpImportOptions;

constexpr std::string_view file = "/etc/suphp/suphp.conf";

// The shape of Debian's suphp.conf (suphp-common), with the settings a real file has.
constexpr std::string_view debian_conf = R"ini([global]
;Path to logfile
logfile=/var/log/suphp/suphp.log

;Loglevel
loglevel=info

;User Apache is running as
webserver_user=www-data

;Path all scripts have to be in
docroot=/var/www:${HOME}/public_html

;Path to chroot() to before executing script
;chroot=/mychroot

; Security options
allow_file_group_writeable=false
allow_file_others_writeable=false
allow_directory_group_writeable=false
allow_directory_others_writeable=false

;Check wheter script is within DOCUMENT_ROOT
check_vhost_docroot=true

;Send minor error messages to browser
errors_to_browser=false

;PATH environment variable
env_path="/bin:/usr/bin"

;Umask to set, specify in octal notation
umask=0077

; Minimum UID
min_uid=100

; Minimum GID
min_gid=100

[handlers]
;Handler for php-scripts
application/x-httpd-suphp="php:/usr/bin/php-cgi"

;Handler for CGI-scripts
x-suphp-cgi="execute:!self"
)ini";

SuphpConf parsed(std::string_view text) {
  auto conf = parse_suphp_conf(text, file);
  EXPECT_TRUE(conf.has_value()) << (conf ? "" : conf.error().to_string());
  return conf ? *conf : SuphpConf{};
}

SuphpImport imported(std::string_view text, const SuphpImportOptions& options = {}) {
  auto result = import_suphp(parsed(text), file, options);
  EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().to_string());
  return result ? *result : SuphpImport{};
}

Config loaded(const SuphpImport& import) {
  auto config = parse_config(import.toml, "/etc/suwrap/suwrap.toml");
  EXPECT_TRUE(config.has_value()) << (config ? "" : config.error().to_string()) << "\n" << import.toml;
  return config ? *config : Config{};
}

bool has_note(const SuphpImport& import, std::string_view key, std::string_view words) {
  return std::any_of(import.notes.begin(), import.notes.end(), [&](const std::string& note) {
    return note.find(std::string(key) + ": ") != std::string::npos && note.find(words) != std::string::npos;
  });
}

std::string all_notes(const SuphpImport& import) {
  std::string out;
  for (const auto& note : import.notes) out += note + "\n";
  return out;
}

// ---- parse_suphp_conf ---------------------------------------------------------------------

TEST(ParseSuphpConf, ReadsSectionsKeysAndValues) {
  const SuphpConf conf = parsed(debian_conf);
  ASSERT_NE(conf.section("global"), nullptr);
  ASSERT_NE(conf.section("handlers"), nullptr);
  const auto* user = conf.section("global")->find("webserver_user");
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(user->values, std::vector<std::string>{"www-data"});
  EXPECT_EQ(user->line, 9);
}

TEST(ParseSuphpConf, SplitsAtUnquotedColonsOnly) {
  const SuphpConf conf = parsed(debian_conf);
  EXPECT_EQ(conf.section("global")->find("docroot")->values,
            (std::vector<std::string>{"/var/www", "${HOME}/public_html"}));
  EXPECT_EQ(conf.section("global")->find("env_path")->values, std::vector<std::string>{"/bin:/usr/bin"});
  EXPECT_EQ(conf.section("handlers")->find("application/x-httpd-suphp")->values,
            std::vector<std::string>{"php:/usr/bin/php-cgi"});
}

TEST(ParseSuphpConf, ResolvesEscapesAndKeepsOthersForTheTranslation) {
  const SuphpConf conf =
      parsed("[handlers]\nx-httpd-php=php\\:/usr/bin/php\n[global]\ndocroot=/a\\\\b:/c\\*d\n");
  EXPECT_EQ(conf.section("handlers")->find("x-httpd-php")->values,
            std::vector<std::string>{"php:/usr/bin/php"});
  EXPECT_EQ(conf.section("global")->find("docroot")->values, (std::vector<std::string>{"/a\\b", "/c\\*d"}));
}

TEST(ParseSuphpConf, PlusEqualsAppendsAndEqualsReplaces) {
  const SuphpConf conf =
      parsed("[global]\ndocroot=/a\ndocroot+=/b\ndocroot += /c:/d\numask=0022\numask=0077\n");
  EXPECT_EQ(conf.section("global")->find("docroot")->values,
            (std::vector<std::string>{"/a", "/b", "/c", "/d"}));
  EXPECT_EQ(conf.section("global")->find("umask")->values, std::vector<std::string>{"0077"});
  EXPECT_EQ(conf.section("global")->find("umask")->line, 6);
}

TEST(ParseSuphpConf, TrimsBlanksAndCarriageReturnsAndSkipsComments) {
  const SuphpConf conf = parsed("; comment\r\n  [global]  \r\n\t# also a comment\r\n  min_uid = 500 \r\n");
  EXPECT_EQ(conf.section("global")->find("min_uid")->values, std::vector<std::string>{"500"});
}

TEST(ParseSuphpConf, ARepeatedSectionContinuesTheFirst) {
  const SuphpConf conf = parsed("[global]\nmin_uid=1\n[handlers]\n[global]\nmin_gid=2\n");
  EXPECT_EQ(conf.sections.size(), 2U);
  EXPECT_NE(conf.section("global")->find("min_gid"), nullptr);
}

TEST(ParseSuphpConf, RefusesWhatSuphpRefusesNamingTheLine) {
  const struct {
    std::string_view text;
    int line;
  } cases[] = {
      {"min_uid=100\n", 1},                    // an option before any section
      {"[global]\njust some words\n", 2},      // neither section nor key=value
      {"[global]\numask=\n", 2},               // no value
      {"[global]\n=0077\n", 2},                // no key
      {"[global]\nenv_path=\"/bin\n", 2},      // unbalanced quotes
      {"[global]\nenv_path=x\"/bin\"\n", 2},   // text before the quotes
      {"[global]\nenv_path=\"/bin\"x\n", 2},   // text after the quotes
      {"[global]\ndocroot=/a::/b\n", 2},       // an empty value between colons
      {"[global]\n\n\nenv_path=/bin\\\n", 4},  // a trailing backslash
  };
  for (const auto& c : cases) {
    auto conf = parse_suphp_conf(c.text, file);
    ASSERT_FALSE(conf.has_value()) << c.text;
    EXPECT_EQ(conf.error().line, c.line) << c.text << conf.error().to_string();
    EXPECT_EQ(conf.error().file, file);
  }
}

// ---- import_suphp --------------------------------------------------------------------------

TEST(ImportSuphp, DebiansFileBecomesAConfigurationSuwrapLoads) {
  SuphpImportOptions options;
  options.default_ini_dir = "/etc/php/8.2/cgi";
  const SuphpImport import = imported(debian_conf, options);
  const Config config = loaded(import);
  EXPECT_EQ(config.caller, "www-data");
  EXPECT_EQ(config.docroots, (std::vector<std::string>{"/var/www", "/home/*/public_html"}));
  EXPECT_EQ(config.umask, 077U);
  EXPECT_EQ(config.min_uid, 100U);
  EXPECT_EQ(config.min_gid, 100U);
  EXPECT_EQ(config.safe_path, "/bin:/usr/bin");
  EXPECT_FALSE(config.errors_to_browser);
  EXPECT_FALSE(config.allow_file_group_writable);
  EXPECT_FALSE(config.allow_dir_group_writable);
  EXPECT_TRUE(config.check_vhost);
  EXPECT_EQ(config.mode, Mode::owner);

  ASSERT_EQ(config.handlers.size(), 2U) << import.toml;
  const auto* php = config.handler("php");
  ASSERT_NE(php, nullptr) << import.toml;
  EXPECT_EQ(php->kind, HandlerKind::php);
  EXPECT_EQ(php->path, "/usr/bin/php-cgi");
  EXPECT_EQ(php->ini_dir, "/etc/php/8.2/cgi");
  EXPECT_EQ(php->extensions, std::vector<std::string>{".php"});
  const auto* cgi = config.handler("cgi");
  ASSERT_NE(cgi, nullptr) << import.toml;
  EXPECT_EQ(cgi->kind, HandlerKind::cgi);
  EXPECT_EQ(cgi->extensions, std::vector<std::string>{".cgi"});
}

TEST(ImportSuphp, NotesEverySettingWithoutAnEquivalent) {
  const SuphpImport import = imported(debian_conf);
  EXPECT_TRUE(has_note(import, "logfile", "JSON")) << all_notes(import);
  EXPECT_TRUE(has_note(import, "loglevel", "no equivalent")) << all_notes(import);
  EXPECT_TRUE(has_note(import, "check_vhost_docroot", "domains")) << all_notes(import);
  EXPECT_TRUE(has_note(import, "docroot", "/home/*")) << all_notes(import);
  EXPECT_TRUE(has_note(import, "mode", "owner")) << all_notes(import);
  EXPECT_TRUE(has_note(import, "application/x-httpd-suphp", "[handlers.php]")) << all_notes(import);
  // Each note names the file and line it is about.
  EXPECT_TRUE(has_note(import, std::string(file) + ":6: loglevel", "")) << all_notes(import);
}

TEST(ImportSuphp, OthersWritableIsNeverCarriedOver) {
  const SuphpImport import = imported(
      "[global]\ndocroot=/var/www\nallow_file_others_writeable=true\nallow_directory_others_writeable=yes\n");
  EXPECT_TRUE(has_note(import, "allow_file_others_writeable", "file_perms")) << all_notes(import);
  EXPECT_TRUE(has_note(import, "allow_directory_others_writeable", "dir_perms")) << all_notes(import);
  EXPECT_EQ(import.toml.find("others"), std::string::npos) << import.toml;
  loaded(import);
}

TEST(ImportSuphp, UnsupportedSettingsAreNotedAndLeftOut) {
  const SuphpImport import = imported(
      "[global]\ndocroot=/var/www\nchroot=/jail\nfull_php_process_display=true\nparanoid_uid_check=true\n"
      "userdir_overrides_usergroup=false\nsomething_else=1\n[weird]\nx=y\n");
  for (const std::string_view key : {"chroot", "full_php_process_display", "paranoid_uid_check",
                                     "userdir_overrides_usergroup", "something_else", "[weird]"})
    EXPECT_TRUE(has_note(import, key, "")) << key << "\n" << all_notes(import);
  EXPECT_TRUE(has_note(import, "chroot", "unsupported")) << all_notes(import);
  EXPECT_EQ(import.toml.find("jail"), std::string::npos) << import.toml;
  loaded(import);
}

// A docroot written but not expressible allows nothing: suwrap's defaults might allow a place
// that suPHP's setting did not. With none written (suPHP: "/"), the defaults are narrower.
TEST(ImportSuphp, ADocrootOfEverythingAllowsNothingWithANote) {
  for (const std::string_view text : {"[global]\ndocroot=/\n", "[global]\ndocroot=/*\n"}) {
    const SuphpImport import = imported(text);
    const Config config = loaded(import);
    EXPECT_TRUE(config.docroots.empty()) << text;
    EXPECT_TRUE(has_note(import, "docroot", "docroots = [] is written")) << text << all_notes(import);
  }
}

TEST(ImportSuphp, NoDocrootBecomesSuwrapsDefaultWithANote) {
  const SuphpImport import = imported("[global]\nmin_uid=1\n");
  const Config config = loaded(import);
  EXPECT_EQ(config.docroots, (std::vector<std::string>{"/var/www", "/home/*/public_html"}));
  EXPECT_TRUE(has_note(import, "docroot", "default")) << all_notes(import);
}

TEST(ImportSuphp, DocrootPatternsAreNeverWidened) {
  const SuphpImport import =
      imported("[global]\ndocroot=/srv/site*/www:/var/www/${USERNAME}:/opt/\\*x:/data/www/\n");
  const Config config = loaded(import);
  // "site*" matches part of a component in suPHP; suwrap's '*' is a whole one, so it is dropped.
  EXPECT_EQ(config.docroots, (std::vector<std::string>{"/var/www/*", "/data/www"})) << import.toml;
  EXPECT_TRUE(has_note(import, "docroot", "/srv/site*/www is not carried over")) << all_notes(import);
  EXPECT_TRUE(has_note(import, "docroot", "/opt/\\*x is not carried over")) << all_notes(import);
}

TEST(ImportSuphp, TranslatesValuesToSuwrapsSpelling) {
  const SuphpImport import = imported(
      "[global]\ndocroot=/var/www\numask=022\nmin_uid=0\nmin_gid=1000\nallow_file_group_writeable=On\n"
      "allow_directory_group_writeable=enabled\nerrors_to_browser=1\ncheck_vhost_docroot=no\nenv_path=/usr/"
      "bin:/bin\n");
  const Config config = loaded(import);
  EXPECT_EQ(config.umask, 022U);
  EXPECT_EQ(config.min_uid, 1U);
  EXPECT_TRUE(has_note(import, "min_uid", "0 becomes 1")) << all_notes(import);
  EXPECT_EQ(config.min_gid, 1000U);
  EXPECT_TRUE(config.allow_file_group_writable);
  EXPECT_TRUE(config.allow_dir_group_writable);
  EXPECT_TRUE(config.errors_to_browser);
  EXPECT_FALSE(config.check_vhost);
  EXPECT_EQ(config.safe_path, "/usr/bin") << "suPHP 0.7.2 read the first ':' piece of an unquoted value";
  EXPECT_TRUE(has_note(import, "env_path", "suPHP used only")) << all_notes(import);
}

TEST(ImportSuphp, ParanoidAndForceModesBecomeAccountMode) {
  for (const std::string_view mode : {"paranoid", "force"}) {
    const SuphpImport import = imported("[global]\ndocroot=/var/www\nmode=" + std::string(mode) + "\n");
    EXPECT_EQ(loaded(import).mode, Mode::account) << mode;
    EXPECT_TRUE(has_note(import, "mode", "account add")) << all_notes(import);
  }
  EXPECT_EQ(loaded(imported("[global]\ndocroot=/var/www\nmode=owner\n")).mode, Mode::owner);
}

TEST(ImportSuphp, PhprcPathsGiveTheHandlersIniDir) {
  const SuphpImport import = imported(
      "[global]\ndocroot=/var/www\n[handlers]\napplication/x-httpd-php74=\"php:/opt/php74/bin/php-cgi\"\n"
      "application/x-httpd-php82=\"php:/usr/bin/php-cgi8.2\"\n[phprc_paths]\napplication/x-httpd-php74=/opt/"
      "php74/etc/\n"
      "application/x-httpd-gone=/etc/gone\n");
  const Config config = loaded(import);
  ASSERT_NE(config.handler("php74"), nullptr) << import.toml;
  ASSERT_NE(config.handler("php82"), nullptr) << import.toml;
  EXPECT_EQ(config.handler("php74")->ini_dir, "/opt/php74/etc");
  EXPECT_EQ(config.handler("php74")->extensions, std::vector<std::string>{".php"});
  // .php can belong to one handler only: the second is picked by an account's php_handler.
  EXPECT_TRUE(config.handler("php82")->extensions.empty());
  EXPECT_TRUE(has_note(import, "application/x-httpd-php82", "php_handler")) << all_notes(import);
  EXPECT_TRUE(has_note(import, "application/x-httpd-gone", "ignored")) << all_notes(import);
}

TEST(ImportSuphp, UnusableHandlersAreSkippedWithANote) {
  const SuphpImport import = imported(
      "[global]\ndocroot=/var/www\n[handlers]\nx-a=\"php:php-cgi\"\nx-b=\"perl:/usr/bin/"
      "perl\"\nx-c=\"execute:/usr/bin/python3\"\n");
  const Config config = loaded(import);
  EXPECT_EQ(config.handlers.size(), 1U) << import.toml;
  EXPECT_TRUE(has_note(import, "x-a", "skipped")) << all_notes(import);
  EXPECT_TRUE(has_note(import, "x-b", "skipped")) << all_notes(import);
  EXPECT_TRUE(has_note(import, "x-c", "cgi")) << all_notes(import);
}

TEST(ImportSuphp, ValuesSuphpWouldRefuseAreErrors) {
  for (const std::string_view text : {"[global]\nerrors_to_browser=maybe\n", "[global]\numask=0999\n",
                                      "[global]\nmin_uid=-5\n", "[global]\nmode=sometimes\n"}) {
    auto result = import_suphp(parsed(text), file);
    ASSERT_FALSE(result.has_value()) << text;
    EXPECT_EQ(result.error().line, 2) << result.error().to_string();
  }
}

TEST(ImportSuphp, ACallerSuwrapCannotTakeIsLeftAtItsDefault) {
  const SuphpImport import = imported("[global]\ndocroot=/var/www\nwebserver_user=\"bad user\"\n");
  EXPECT_EQ(loaded(import).caller, "www-data");
  EXPECT_TRUE(has_note(import, "webserver_user", "no suwrap equivalent")) << all_notes(import);
}

TEST(ImportSuphp, AHostileValueCannotForgeTheOutput) {
  const SuphpImport import = imported(
      "[global]\ndocroot=\"/var/www\"\n[handlers]\nx-httpd-php=\"php:/usr/bin/php-cgi\\\"\\n[global]\"\n");
  loaded(import);  // whatever was made of it, it is one valid TOML document
}

}  // namespace
