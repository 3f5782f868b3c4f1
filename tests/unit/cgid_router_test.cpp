// suwrap-cgid's warm routing: warm_route (and the handler rule it shares with check
// `handler`, policy::select_handler), and Router on a real configuration file.
#include "router.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "suwrap/policy/checks.hpp"
#include "suwrap/policy/config.hpp"
#include "support.hpp"

namespace {

using suwrap::cgid::RouteKey;
using suwrap::cgid::Router;
using suwrap::cgid::ScriptOwner;
using suwrap::cgid::warm_route;
using suwrap::cgid::WarmRoute;
using suwrap::policy::Config;
using suwrap::policy::select_handler;
using suwrap::policy::Verdict;

// php is cold, php-warm and php-warm2 are warm; .php goes cold by extension.
constexpr std::string_view main_text = R"toml([global]
caller = "www-data"
docroots = ["/srv/www", "/home/*/public_html"]

[handlers.php]
kind = "php"
path = "/usr/bin/php-cgi"
ini_dir = "/etc/php/8.2/cgi"
extensions = [".php"]

[handlers.php-warm]
kind = "php-fcgi"
path = "/usr/bin/php-cgi"
ini_dir = "/etc/php/8.2/cgi"
idle_seconds = 7
extensions = [".phtml"]

[handlers.php-warm2]
kind = "php-fcgi"
path = "/usr/bin/php-cgi"
ini_dir = "/etc/php/8.2/cgi"

[handlers.cgi]
kind = "cgi"
extensions = [".cgi"]
)toml";

Config config_with(std::string_view text = main_text) {
  auto parsed = suwrap::policy::parse_config(text, "/etc/suwrap/suwrap.toml");
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().to_string());
  return parsed ? std::move(*parsed) : Config{};
}

// Every account file needs docroots; those of these tests all hold /srv/www unless they say.
void add_account(Config& config, std::string_view name, std::string_view text) {
  std::string full(text);
  if (full.find("docroots") == std::string::npos) full += "docroots = [\"/srv/www\"]\n";
  auto account = suwrap::policy::parse_account(full, "/etc/suwrap/accounts.d/" + std::string(name) + ".toml", name);
  ASSERT_TRUE(account.has_value()) << account.error().to_string();
  config.accounts.push_back(std::move(*account));
}

const ScriptOwner alice{1001, "alice"};

std::optional<WarmRoute> route(const Config& config, std::string_view script,
                               std::optional<std::string> handler = std::nullopt, ScriptOwner owner = alice) {
  return warm_route(config, script, handler, owner);
}

// ---- select_handler -------------------------------------------------------------------

TEST(SelectHandler, ChoosesByExtensionAndRefusesFilesNoHandlerRuns) {
  const Config config = config_with();
  auto php = select_handler(config, "/srv/www/a.php", nullptr, std::nullopt);
  ASSERT_TRUE(php.has_value());
  EXPECT_EQ((*php)->name, "php");
  auto jpg = select_handler(config, "/srv/www/a.jpg", nullptr, std::nullopt);
  ASSERT_FALSE(jpg.has_value());
  EXPECT_EQ(jpg.error().verdict, Verdict::deny);
  EXPECT_EQ(jpg.error().reason, "no handler runs .jpg files");
  EXPECT_FALSE(select_handler(config, "/srv/www/README", nullptr, std::nullopt).has_value());
}

TEST(SelectHandler, TheAccountsPhpHandlerReplacesAPhpOneOnly) {
  Config config = config_with();
  add_account(config, "alice", "user = \"alice\"\nphp_handler = \"php-warm2\"\n");
  auto php = select_handler(config, "/srv/www/a.php", &config.accounts[0], std::nullopt);
  ASSERT_TRUE(php.has_value());
  EXPECT_EQ((*php)->name, "php-warm2");
  auto cgi = select_handler(config, "/srv/www/a.cgi", &config.accounts[0], std::nullopt);
  ASSERT_TRUE(cgi.has_value());
  EXPECT_EQ((*cgi)->name, "cgi");
}

TEST(SelectHandler, SuwrapHandlerChoosesWithinTheFamilyOnly) {
  const Config config = config_with();
  auto warm = select_handler(config, "/srv/www/a.php", nullptr, std::string("php-warm2"));
  ASSERT_TRUE(warm.has_value());
  EXPECT_EQ((*warm)->name, "php-warm2");
  auto cross = select_handler(config, "/srv/www/a.php", nullptr, std::string("cgi"));
  ASSERT_FALSE(cross.has_value());
  EXPECT_EQ(cross.error().verdict, Verdict::deny);
  auto unknown = select_handler(config, "/srv/www/a.php", nullptr, std::string("php99"));
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().reason.find("php99"), std::string::npos);
}

TEST(SelectHandler, AHandlerTheAccountMayNotUseIsRefused) {
  Config config = config_with();
  add_account(config, "alice", "user = \"alice\"\nhandlers = [\"php\"]\n");
  auto refused = select_handler(config, "/srv/www/a.php", &config.accounts[0], std::string("php-warm"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().reason, "handler php-warm is not allowed for account alice");
}

TEST(SelectHandler, APhpHandlerMissingFromTheConfigurationIsAnError) {
  Config config = config_with();
  add_account(config, "alice", "user = \"alice\"\nphp_handler = \"php-warm2\"\n");
  config.handlers.erase("php-warm2");  // as validate_accounts would have caught
  auto refused = select_handler(config, "/srv/www/a.php", &config.accounts[0], std::nullopt);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().verdict, Verdict::error);
}

// ---- warm_route -----------------------------------------------------------------------

TEST(WarmRoute, APhpFcgiHandlerByExtensionIsWarmWithItsIdleTime) {
  const Config config = config_with();
  EXPECT_EQ(route(config, "/srv/www/a.phtml"), (WarmRoute{RouteKey{1001, "php-warm"}, std::chrono::seconds(7)}));
}

TEST(WarmRoute, OtherHandlersAndFilesNoHandlerRunsAreNotWarm) {
  const Config config = config_with();
  EXPECT_EQ(route(config, "/srv/www/a.php"), std::nullopt);
  EXPECT_EQ(route(config, "/srv/www/a.cgi"), std::nullopt);
  EXPECT_EQ(route(config, "/srv/www/a.jpg"), std::nullopt);
}

TEST(WarmRoute, TheKeyIsTheScriptOwnersUidAndTheHandler) {
  const Config config = config_with();
  EXPECT_EQ(route(config, "/srv/www/a.phtml", std::nullopt, ScriptOwner{1002, "bob"})->key,
            (RouteKey{1002, "php-warm"}));
  EXPECT_EQ(route(config, "/srv/www/a.php", std::string("php-warm2"))->key, (RouteKey{1001, "php-warm2"}));
}

TEST(WarmRoute, TheOwnersAccountPhpHandlerMakesPhpWarm) {
  Config config = config_with();
  add_account(config, "alice", "user = \"alice\"\nphp_handler = \"php-warm\"\n");
  EXPECT_EQ(route(config, "/srv/www/a.php")->key, (RouteKey{1001, "php-warm"}));
  // Bob has no account file: his .php stays cold.
  EXPECT_EQ(route(config, "/srv/www/a.php", std::nullopt, ScriptOwner{1002, "bob"}), std::nullopt);
}

TEST(WarmRoute, WhatSuwrapRefusesBeforeChoosingAHandlerGoesThePerRequestWay) {
  Config config = config_with();
  add_account(config, "alice", "user = \"alice\"\nphp_handler = \"php-warm\"\n");
  // No user has the owner's uid (check `target`).
  EXPECT_EQ(route(config, "/srv/www/a.phtml", std::nullopt, ScriptOwner{4242, std::nullopt}), std::nullopt);
  // A malformed script path (check `request`).
  EXPECT_EQ(route(config, "/srv/www/../a.phtml"), std::nullopt);
  EXPECT_EQ(route(config, "a.phtml"), std::nullopt);
  // A handler that is not there, or of the other family (check `handler`).
  EXPECT_EQ(route(config, "/srv/www/a.phtml", std::string("nope")), std::nullopt);
  EXPECT_EQ(route(config, "/srv/www/a.phtml", std::string("cgi")), std::nullopt);
  // Two account files for one user (check `target`).
  add_account(config, "alice2", "user = \"alice\"\n");
  EXPECT_EQ(route(config, "/srv/www/a.php"), std::nullopt);
}

TEST(WarmRoute, ADisabledAccountIsNotWarm) {
  Config config = config_with();
  add_account(config, "alice", "user = \"alice\"\nphp_handler = \"php-warm\"\ndisabled = true\n");
  EXPECT_EQ(route(config, "/srv/www/a.php"), std::nullopt);
}

TEST(WarmRoute, InAccountModeTheDeepestDocrootsAccountApplies) {
  Config config = config_with(std::string(main_text).replace(main_text.find("[global]\n") + 9, 0, "mode = \"account\"\n"));
  ASSERT_EQ(config.mode, suwrap::policy::Mode::account);
  add_account(config, "site", "user = \"alice\"\ndocroots = [\"/srv/www\"]\n");
  add_account(config, "shop", "user = \"alice\"\ndocroots = [\"/srv/www/shop\"]\nphp_handler = \"php-warm\"\n");
  EXPECT_EQ(route(config, "/srv/www/shop/a.php")->key, (RouteKey{1001, "php-warm"}));
  EXPECT_EQ(route(config, "/srv/www/a.php"), std::nullopt);
  // No account holds it (check `target`), whatever its extension.
  EXPECT_EQ(route(config, "/home/alice/public_html/a.phtml"), std::nullopt);
}

// ---- Router ---------------------------------------------------------------------------

TEST(RouterRoute, NothingIsWarmWithoutAConfiguration) {
  Router router("/nonexistent/suwrap.toml");
  EXPECT_TRUE(router.reload().has_value());
  EXPECT_FALSE(router.loaded());
  EXPECT_EQ(router.route({{"SCRIPT_FILENAME", "/etc/hostname"}}), std::nullopt);
}

TEST(RouterRoute, RoutesByWhatItStatsAndKeepsTheOldRoutingWhenAReloadFails) {
  SUWRAP_REQUIRE_ROOT();
  suwrap::testing::TempTree tree;
  const std::string config_path = tree.path("suwrap.toml");
  std::string text(main_text);
  text.replace(text.find("docroots = "), 0, "docroots = [\"" + tree.root() + "\"]\n#");
  tree.write("suwrap.toml", text, 0644);
  tree.mkdir("accounts.d", 0755);
  suwrap::testing::TestUser owner("cgidroute");
  tree.write("a.phtml", "<?php\n", 0644, owner.uid(), owner.gid());

  Router router(config_path);
  ASSERT_EQ(router.reload(), std::nullopt);
  EXPECT_TRUE(router.has_warm_handlers());
  const auto warm = router.route({{"SCRIPT_FILENAME", tree.path("a.phtml")}});
  ASSERT_TRUE(warm.has_value());
  EXPECT_EQ(warm->key, (RouteKey{owner.uid(), "php-warm"}));
  // Cannot stat: the per-request way.
  EXPECT_EQ(router.route({{"SCRIPT_FILENAME", tree.path("missing.phtml")}}), std::nullopt);
  EXPECT_EQ(router.route({{"QUERY_STRING", "x"}}), std::nullopt);

  // A configuration that no longer loads (group-writable: check `config`) keeps the routing.
  ASSERT_EQ(::chmod(config_path.c_str(), 0664), 0);
  const auto error = router.reload();
  ASSERT_TRUE(error.has_value());
  EXPECT_TRUE(router.route({{"SCRIPT_FILENAME", tree.path("a.phtml")}}).has_value());
}

}  // namespace
