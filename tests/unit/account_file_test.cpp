// SPDX-License-Identifier: Apache-2.0
// Account files as `suwrap-policy account add|set` writes them: whatever account_to_toml
// writes, parse_account reads back as the same account, and toml_string survives any text.
#include "suwrap/policy/account_file.hpp"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "suwrap/config/config.hpp"

namespace {

using suwrap::policy::Account;
using suwrap::policy::account_name_error;
using suwrap::policy::account_to_toml;
using suwrap::policy::parse_account;
using suwrap::policy::parse_config;
using suwrap::policy::toml_string;

constexpr std::string_view file = "/etc/suwrap/accounts.d/alice.toml";

Account read_back(const Account& written) {
  auto parsed = parse_account(account_to_toml(written), file, written.name);
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().to_string()) << "\n"
                                  << account_to_toml(written);
  return parsed ? *parsed : Account{};
}

void expect_same(const Account& a, const Account& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.user, b.user);
  EXPECT_EQ(a.group, b.group);
  EXPECT_EQ(a.docroots, b.docroots);
  EXPECT_EQ(a.domains, b.domains);
  EXPECT_EQ(a.php_handler, b.php_handler);
  EXPECT_EQ(a.handlers, b.handlers);
  EXPECT_EQ(a.php_ini_dir, b.php_ini_dir);
  EXPECT_EQ(a.disabled, b.disabled);
  EXPECT_EQ(a.limits.cpu_seconds, b.limits.cpu_seconds);
  EXPECT_EQ(a.limits.wall_seconds, b.limits.wall_seconds);
  EXPECT_EQ(a.limits.memory_mb, b.limits.memory_mb);
  EXPECT_EQ(a.limits.nproc, b.limits.nproc);
  EXPECT_EQ(a.limits.nofile, b.limits.nofile);
  EXPECT_EQ(a.limits.fsize_mb, b.limits.fsize_mb);
}

Account full_account() {
  Account a;
  a.name = "alice";
  a.user = "alice";
  a.group = "webalice";
  a.docroots = {"/home/alice/public_html", "/srv/alice/www"};
  a.domains = {"alice.example", "www.alice.example"};
  a.php_handler = "php82";
  a.handlers = std::vector<std::string>{"php82", "php81", "cgi"};
  a.php_ini_dir = "/home/alice/etc/php";
  a.disabled = true;
  a.limits.cpu_seconds = 10;
  a.limits.wall_seconds = 0;
  a.limits.memory_mb = 1099511627776;  // the largest memory_mb the loader takes
  a.limits.nproc = 32;
  a.limits.nofile = 1024;
  a.limits.fsize_mb = 100;
  return a;
}

TEST(AccountToToml, EveryKeyReadsBackAsWritten) {
  const Account written = full_account();
  expect_same(read_back(written), written);
}

TEST(AccountToToml, AMinimalAccountReadsBackWithItsDefaults) {
  Account written;
  written.name = "bob";
  written.user = "bob";
  written.docroots = {"/var/www/bob"};
  const Account back = read_back(written);
  expect_same(back, written);
  EXPECT_FALSE(back.group.has_value());
  EXPECT_FALSE(back.handlers.has_value()) << "no handlers key means all handlers";
  EXPECT_FALSE(back.limits.cpu_seconds.has_value());
}

TEST(AccountToToml, WritesDisabledAlwaysAndNoLimitsTableWithoutOverrides) {
  Account a;
  a.name = "bob";
  a.user = "bob";
  a.docroots = {"/var/www/bob"};
  const std::string text = account_to_toml(a);
  EXPECT_NE(text.find("disabled = false\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("[limits]"), std::string::npos) << text;
  a.limits.nproc = 0;
  EXPECT_NE(account_to_toml(a).find("[limits]\nnproc = 0\n"), std::string::npos) << account_to_toml(a);
}

TEST(AccountToToml, AnEmptyHandlersListStaysEmptyNotAll) {
  Account a;
  a.name = "locked";
  a.user = "locked";
  a.docroots = {"/var/www/locked"};
  a.handlers = std::vector<std::string>{};
  const Account back = read_back(a);
  ASSERT_TRUE(back.handlers.has_value());
  EXPECT_TRUE(back.handlers->empty());
}

TEST(TomlString, EscapesWhatWouldEndTheStringOrTheLine) {
  EXPECT_EQ(toml_string("plain"), "\"plain\"");
  EXPECT_EQ(toml_string("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(toml_string("a\\b"), "\"a\\\\b\"");
  EXPECT_EQ(toml_string("a\nb"), "\"a\\nb\"");
  EXPECT_EQ(toml_string(std::string_view("a\x01"
                                         "b\x7f",
                                         4)),
            "\"a\\u0001b\\u007F\"");
}

// handlers.*.args takes any string, so it carries arbitrary text through the real parser.
TEST(TomlString, AnyTextReadsBackUnchangedThroughTheConfigurationParser) {
  const std::vector<std::string> texts = {"",
                                          "plain",
                                          "quote \" inside",
                                          "back\\slash",
                                          "line\nbreak",
                                          "tab\tand\rcr",
                                          "\x1b[31mred",
                                          "x = 1\n[global]",
                                          "unicode é ✓",
                                          "\"\"\"",
                                          "'single'"};
  for (const auto& text : texts) {
    const std::string config =
        "[handlers.p]\nkind = \"php\"\npath = \"/usr/bin/php-cgi\"\nini_dir = \"/etc/php\"\n"
        "args = [" +
        toml_string(text) + "]\n";
    auto parsed = parse_config(config, "/etc/suwrap/suwrap.toml");
    ASSERT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().to_string());
    const auto* handler = parsed->handler("p");
    ASSERT_NE(handler, nullptr);
    ASSERT_EQ(handler->args.size(), 1U);
    EXPECT_EQ(handler->args[0], text);
  }
}

TEST(AccountToToml, AValueCannotAddAKey) {
  // The loader refuses such a user name, but the writer must not let it become a second key.
  Account a;
  a.name = "evil";
  a.user = "evil\"\ndisabled = false\nx = \"";
  a.docroots = {"/var/www/evil"};
  a.disabled = true;
  const std::string text = account_to_toml(a);
  auto parsed = parse_account(text, file, "evil");
  ASSERT_FALSE(parsed.has_value()) << text;
  EXPECT_EQ(parsed.error().key, "user") << parsed.error().to_string();
}

TEST(AccountNameError, AcceptsNamesOfLettersDigitsAndPunctuation) {
  for (const std::string_view name : {"alice", "Alice_2", "alice.example.org", "a-b", "x", "9"})
    EXPECT_FALSE(account_name_error(name).has_value()) << name;
}

TEST(AccountNameError, RefusesWhatCannotNameAnAccountFile) {
  for (const std::string_view name :
       {"", ".hidden", "..", "a/b", "../etc/passwd", "a b", "a\nb", "caf\xc3\xa9", "a*", "a:b"})
    EXPECT_TRUE(account_name_error(name).has_value()) << name;
  EXPECT_TRUE(account_name_error(std::string(251, 'a')).has_value());
  EXPECT_FALSE(account_name_error(std::string(250, 'a')).has_value());
}

TEST(AccountNameError, AgreesWithTheLoaderOnEveryAcceptedName) {
  Account a;
  a.user = "alice";
  a.docroots = {"/var/www/alice"};
  for (const std::string_view name : {"alice", "Alice_2", "alice.example.org", "a-b", "-x"}) {
    ASSERT_FALSE(account_name_error(name).has_value()) << name;
    a.name = name;
    EXPECT_TRUE(parse_account(account_to_toml(a), file, name).has_value()) << name;
  }
}

}  // namespace
