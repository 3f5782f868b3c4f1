// SPDX-License-Identifier: Apache-2.0
// suwrap-cgid's warm routing: warm_route (and the account and handler rules it shares with
// checks `target` and `handler`, policy::governing_account and policy::select_handler), and
// Router on a real configuration file.
#include "router.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "suwrap/config/accounts.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/config/routing.hpp"
#include "support.hpp"

namespace {

using suwrap::cgid::RouteKey;
using suwrap::cgid::Router;
using suwrap::cgid::ScriptOwner;
using suwrap::cgid::warm_route;
using suwrap::cgid::WarmRoute;
using suwrap::policy::Account;
using suwrap::policy::AccountList;
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
void add_account(std::vector<Account>& accounts, std::string_view name, std::string_view text) {
  std::string full(text);
  if (full.find("docroots") == std::string::npos) full += "docroots = [\"/srv/www\"]\n";
  auto account = suwrap::policy::parse_account(full, "/etc/suwrap/accounts.d/" + std::string(name) + ".toml", name);
  ASSERT_TRUE(account.has_value()) << account.error().to_string();
  accounts.push_back(std::move(*account));
}

const ScriptOwner alice{1001, "alice", ""};

// The route of `script`, whose physical path is itself unless `owner` says another.
std::optional<WarmRoute> route(const Config& config, const std::vector<Account>& accounts, std::string_view script,
                               std::optional<std::string> handler = std::nullopt, ScriptOwner owner = alice) {
  if (owner.physical_path.empty()) owner.physical_path = script;
  AccountList list(accounts);
  return warm_route(config, list, script, handler, owner);
}
std::optional<WarmRoute> route(const Config& config, std::string_view script,
                               std::optional<std::string> handler = std::nullopt, ScriptOwner owner = alice) {
  return route(config, {}, script, std::move(handler), std::move(owner));
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
  std::vector<Account> accounts;
  add_account(accounts, "alice", "user = \"alice\"\nphp_handler = \"php-warm2\"\n");
  auto php = select_handler(config, "/srv/www/a.php", &accounts[0], std::nullopt);
  ASSERT_TRUE(php.has_value());
  EXPECT_EQ((*php)->name, "php-warm2");
  auto cgi = select_handler(config, "/srv/www/a.cgi", &accounts[0], std::nullopt);
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
  std::vector<Account> accounts;
  add_account(accounts, "alice", "user = \"alice\"\nhandlers = [\"php\"]\n");
  auto refused = select_handler(config, "/srv/www/a.php", &accounts[0], std::string("php-warm"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().reason, "handler php-warm is not allowed for account alice");
}

TEST(SelectHandler, APhpHandlerMissingFromTheConfigurationIsAnError) {
  Config config = config_with();
  std::vector<Account> accounts;
  add_account(accounts, "alice", "user = \"alice\"\nphp_handler = \"php-warm2\"\n");
  config.handlers.erase("php-warm2");  // as account_handler_problem would have caught
  auto refused = select_handler(config, "/srv/www/a.php", &accounts[0], std::nullopt);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().verdict, Verdict::error);
}

// ---- warm_route -----------------------------------------------------------------------

TEST(WarmRoute, APhpFcgiHandlerByExtensionIsWarmWithItsIdleTime) {
  const Config config = config_with();
  EXPECT_EQ(route(config, "/srv/www/a.phtml"), (WarmRoute{RouteKey{1001, "php-warm", ""}, std::chrono::seconds(7), ""}));
}

TEST(WarmRoute, OtherHandlersAndFilesNoHandlerRunsAreNotWarm) {
  const Config config = config_with();
  EXPECT_EQ(route(config, "/srv/www/a.php"), std::nullopt);
  EXPECT_EQ(route(config, "/srv/www/a.cgi"), std::nullopt);
  EXPECT_EQ(route(config, "/srv/www/a.jpg"), std::nullopt);
}

TEST(WarmRoute, TheKeyIsTheScriptOwnersUidAndTheHandler) {
  const Config config = config_with();
  EXPECT_EQ(route(config, "/srv/www/a.phtml", std::nullopt, ScriptOwner{1002, "bob", ""})->key,
            (RouteKey{1002, "php-warm", ""}));
  EXPECT_EQ(route(config, "/srv/www/a.php", std::string("php-warm2"))->key, (RouteKey{1001, "php-warm2", ""}));
}

TEST(WarmRoute, TheOwnersAccountPhpHandlerMakesPhpWarm) {
  Config config = config_with();
  std::vector<Account> accounts;
  add_account(accounts, "alice", "user = \"alice\"\nphp_handler = \"php-warm\"\n");
  EXPECT_EQ(route(config, accounts, "/srv/www/a.php")->key, (RouteKey{1001, "php-warm", ""}));
  // Bob has no account file: his .php stays cold.
  EXPECT_EQ(route(config, accounts, "/srv/www/a.php", std::nullopt, ScriptOwner{1002, "bob", ""}), std::nullopt);
}

TEST(WarmRoute, TheFileThatRunsChoosesTheHandlerNotALinksName) {
  const Config config = config_with();
  // view.phtml is a link to notes.txt: no handler runs .txt, so nothing is warm.
  EXPECT_EQ(route(config, "/srv/www/view.phtml", std::nullopt, ScriptOwner{1001, "alice", "/srv/www/notes.txt"}),
            std::nullopt);
  EXPECT_EQ(route(config, "/srv/www/view.txt", std::nullopt, ScriptOwner{1001, "alice", "/srv/www/a.phtml"})->key,
            (RouteKey{1001, "php-warm", ""}));
}

TEST(WarmRoute, WhatSuwrapRefusesBeforeChoosingAHandlerGoesThePerRequestWay) {
  Config config = config_with();
  std::vector<Account> accounts;
  add_account(accounts, "alice", "user = \"alice\"\nphp_handler = \"php-warm\"\n");
  // No user has the owner's uid (check `target`).
  EXPECT_EQ(route(config, accounts, "/srv/www/a.phtml", std::nullopt, ScriptOwner{4242, std::nullopt, ""}),
            std::nullopt);
  // A malformed script path (check `request`).
  EXPECT_EQ(route(config, accounts, "/srv/www/../a.phtml"), std::nullopt);
  EXPECT_EQ(route(config, accounts, "a.phtml"), std::nullopt);
  // A handler that is not there, or of the other family (check `handler`).
  EXPECT_EQ(route(config, accounts, "/srv/www/a.phtml", std::string("nope")), std::nullopt);
  EXPECT_EQ(route(config, accounts, "/srv/www/a.phtml", std::string("cgi")), std::nullopt);
  // Two account files for one user (check `target`).
  add_account(accounts, "alice2", "user = \"alice\"\n");
  EXPECT_EQ(route(config, accounts, "/srv/www/a.php"), std::nullopt);
}

TEST(WarmRoute, TheSiteIsTheGoverningAccountInEitherMode) {
  Config config = config_with();
  std::vector<Account> accounts;
  add_account(accounts, "alice", "user = \"alice\"\nphp_handler = \"php-warm\"\n");
  EXPECT_EQ(route(config, accounts, "/srv/www/a.php")->site, "alice") << "owner mode: the file naming the owner";
  EXPECT_EQ(route(config, "/srv/www/a.phtml")->site, "") << "owner mode without an account file: no site";
  Config by_account =
      config_with(std::string(main_text).replace(main_text.find("[global]\n") + 9, 0, "mode = \"account\"\n"));
  std::vector<Account> held;
  add_account(held, "shop", "user = \"alice\"\ndocroots = [\"/srv/www/shop\"]\nphp_handler = \"php-warm\"\n");
  EXPECT_EQ(route(by_account, held, "/srv/www/shop/a.php")->site, "shop") << "account mode: the account holding it";
}

TEST(WarmRoute, ADisabledAccountIsNotWarm) {
  Config config = config_with();
  std::vector<Account> accounts;
  add_account(accounts, "alice", "user = \"alice\"\nphp_handler = \"php-warm\"\ndisabled = true\n");
  EXPECT_EQ(route(config, accounts, "/srv/www/a.php"), std::nullopt);
}

TEST(WarmRoute, InAccountModeTheAccountHoldingTheScriptApplies) {
  Config config = config_with(std::string(main_text).replace(main_text.find("[global]\n") + 9, 0, "mode = \"account\"\n"));
  ASSERT_EQ(config.mode, suwrap::policy::Mode::account);
  std::vector<Account> accounts;
  add_account(accounts, "site", "user = \"alice\"\ndocroots = [\"/srv/www/site\"]\n");
  add_account(accounts, "shop", "user = \"alice\"\ndocroots = [\"/srv/www/shop\"]\nphp_handler = \"php-warm\"\n");
  EXPECT_EQ(route(config, accounts, "/srv/www/shop/a.php")->key, (RouteKey{1001, "php-warm", "shop"}))
      << "account mode: a pool per account, whose limits its processes carry";
  EXPECT_EQ(route(config, accounts, "/srv/www/site/a.php"), std::nullopt);
  // No account holds it (check `target`), whatever its extension.
  EXPECT_EQ(route(config, accounts, "/home/alice/public_html/a.phtml"), std::nullopt);
  // Two accounts hold it (overlapping docroots: check `config` refuses it): the per-request way.
  add_account(accounts, "inner", "user = \"alice\"\ndocroots = [\"/srv/www/shop/inner\"]\n");
  EXPECT_EQ(route(config, accounts, "/srv/www/shop/inner/a.php"), std::nullopt);
  EXPECT_EQ(route(config, accounts, "/srv/www/shop/a.php")->key, (RouteKey{1001, "php-warm", "shop"}));
}

// ---- account_label ----------------------------------------------------------------------

std::optional<std::string> label(const Config& config, const std::vector<Account>& accounts, std::string_view script,
                                 ScriptOwner owner = alice) {
  AccountList list(accounts);
  return suwrap::cgid::account_label(config, list, script, owner);
}

TEST(AccountLabel, OwnerModeNamesTheAccountFileElseTheOwnersUser) {
  const Config config = config_with();
  std::vector<Account> accounts;
  EXPECT_EQ(label(config, accounts, "/srv/www/a.php"), "alice") << "no account file: the owner's user";
  add_account(accounts, "alice-site", "user = \"alice\"\n");
  EXPECT_EQ(label(config, accounts, "/srv/www/a.php"), "alice-site") << "never the raw uid";
  EXPECT_EQ(label(config, accounts, "/srv/www/a.php", ScriptOwner{4242, std::nullopt, ""}), std::nullopt)
      << "a uid without a user: suwrap refuses it, counted under no account";
  EXPECT_EQ(label(config, accounts, "relative.php"), std::nullopt);
  EXPECT_EQ(label(config, {}, "/etc/passwd", ScriptOwner{0, "root", ""}), std::nullopt)
      << "a system user is never an account";
}

TEST(AccountLabel, AccountModeNamesTheAccountHoldingTheScriptOrNone) {
  Config config = config_with(std::string(main_text).replace(main_text.find("[global]\n") + 9, 0, "mode = \"account\"\n"));
  std::vector<Account> accounts;
  add_account(accounts, "shop", "user = \"alice\"\ndocroots = [\"/srv/www/shop\"]\n");
  EXPECT_EQ(label(config, accounts, "/srv/www/shop/a.php"), "shop");
  EXPECT_EQ(label(config, accounts, "/srv/www/elsewhere/a.php"), std::nullopt);
}

// ---- Router ---------------------------------------------------------------------------

// main_text with the tree as its docroot, in the tree, and an empty accounts.d beside it.
std::string configuration_in(const suwrap::testing::TempTree& tree) {
  std::string text(main_text);
  text.replace(text.find("docroots = "), 0, "docroots = [\"" + tree.root() + "\"]\n#");
  tree.write("suwrap.toml", text, 0644);
  tree.mkdir("accounts.d", 0755);
  return tree.path("suwrap.toml");
}

TEST(RouterRoute, NothingIsWarmWithoutAConfiguration) {
  Router router("/nonexistent/suwrap.toml");
  EXPECT_TRUE(router.reload().has_value());
  EXPECT_FALSE(router.has_warm_handlers());
  EXPECT_EQ(router.route({{"SCRIPT_FILENAME", "/etc/hostname"}}), std::nullopt);
}

TEST(RouterRoute, RoutesByWhatItStatsAndSendsEverythingToSuwrapWhenTheConfigurationBreaks) {
  SUWRAP_REQUIRE_ROOT();
  suwrap::testing::TempTree tree;
  const std::string config_path = configuration_in(tree);
  suwrap::testing::TestUser owner("cgidroute");
  tree.write("a.phtml", "<?php\n", 0644, owner.uid(), owner.gid());

  Router router(config_path);
  ASSERT_EQ(router.reload(), std::nullopt);
  EXPECT_TRUE(router.has_warm_handlers());
  const auto warm = router.route({{"SCRIPT_FILENAME", tree.path("a.phtml")}});
  ASSERT_TRUE(warm.has_value());
  EXPECT_EQ(warm->key, (RouteKey{owner.uid(), "php-warm", ""}));
  // Cannot stat: the per-request way.
  EXPECT_EQ(router.route({{"SCRIPT_FILENAME", tree.path("missing.phtml")}}), std::nullopt);
  EXPECT_EQ(router.route({{"QUERY_STRING", "x"}}), std::nullopt);

  // A configuration that no longer loads (group-writable: check `config`) is seen without a
  // reload; every request then goes to suwrap, which refuses it with the reason.
  ASSERT_EQ(::chmod(config_path.c_str(), 0664), 0);
  EXPECT_EQ(router.route({{"SCRIPT_FILENAME", tree.path("a.phtml")}}), std::nullopt);
  ASSERT_TRUE(router.reload().has_value());
  ASSERT_EQ(::chmod(config_path.c_str(), 0644), 0);
  EXPECT_TRUE(router.route({{"SCRIPT_FILENAME", tree.path("a.phtml")}}).has_value());
}

TEST(RouterRoute, AnAccountFileWrittenInPlaceIsSeenByTheNextRoute) {
  SUWRAP_REQUIRE_ROOT();
  suwrap::testing::TempTree tree;
  const std::string config_path = configuration_in(tree);
  suwrap::testing::TestUser owner("cgidplace");
  tree.write("a.php", "<?php\n", 0644, owner.uid(), owner.gid());
  tree.write("accounts.d/other.toml", "user = \"nobody\"\ndocroots = [\"/srv/other\"]\n", 0644);

  Router router(config_path);
  ASSERT_EQ(router.reload(), std::nullopt);
  EXPECT_EQ(router.route({{"SCRIPT_FILENAME", tree.path("a.php")}}), std::nullopt) << ".php is cold by extension";
  const auto before = router.accounts_changed_ns();
  // The same file, rewritten in place to name the owner with a warm php_handler.
  tree.write("accounts.d/other.toml",
             "user = \"" + owner.name() + "\"\ndocroots = [\"/srv/other\"]\nphp_handler = \"php-warm\"\n", 0644);
  const auto warm = router.route({{"SCRIPT_FILENAME", tree.path("a.php")}});
  ASSERT_TRUE(warm.has_value());
  EXPECT_EQ(warm->key, (RouteKey{owner.uid(), "php-warm", ""}));
  EXPECT_GT(router.accounts_changed_ns(), before) << "suwrap is told, so that it refreshes its index too";
}

// The owner and the file that runs, as stat() and realpath() see them, through one descriptor.
TEST(StatAndResolve, FollowsLinksAsStatAndRealpathDo) {
  suwrap::testing::TempTree tree;
  tree.mkdir("site/public");
  tree.write("site/public/index.phtml", "<?php\n", 0640);
  tree.symlink("site", "link");
  tree.symlink("public/index.phtml", "site/entry.php");
  const std::unique_ptr<char, decltype(&std::free)> real(::realpath(tree.path("site").c_str(), nullptr), &std::free);
  ASSERT_NE(real, nullptr);
  for (const auto* path : {"site/public/index.phtml", "link/public/index.phtml", "link/entry.php",
                           "link/public/../entry.php"}) {
    struct stat st {};
    std::string physical;
    ASSERT_TRUE(suwrap::cgid::stat_and_resolve(tree.path(path), st, physical)) << path;
    EXPECT_EQ(physical, std::string(real.get()) + "/public/index.phtml") << path;
    struct stat expected {};
    ASSERT_EQ(::stat(tree.path(path).c_str(), &expected), 0);
    EXPECT_EQ(st.st_ino, expected.st_ino);
    EXPECT_EQ(st.st_uid, expected.st_uid);
    EXPECT_EQ(st.st_mode, expected.st_mode);
  }
}

TEST(StatAndResolve, WhatCannotBeStatedIsNot) {
  suwrap::testing::TempTree tree;
  tree.symlink("nowhere", "dangling");
  struct stat st {};
  std::string physical = "left over";
  EXPECT_FALSE(suwrap::cgid::stat_and_resolve(tree.path("missing"), st, physical));
  EXPECT_FALSE(suwrap::cgid::stat_and_resolve(tree.path("dangling"), st, physical));
  EXPECT_TRUE(physical.empty());
}

}  // namespace
