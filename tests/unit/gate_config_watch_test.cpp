// SPDX-License-Identifier: Apache-2.0
// The daemons read the configuration again when, and only when, something it comes from
// changed: ancestors_of, ConfigWatch on real directories, and CurrentConfig on a real,
// trusted configuration (as root), its accounts looked up again after an account file changed.
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "suwrap/config/watch.hpp"
#include "support.hpp"

namespace {

using suwrap::policy::ancestors_of;
using suwrap::policy::ConfigWatch;
using suwrap::policy::CurrentConfig;
using Kind = suwrap::policy::AccountAnswer::Kind;
using suwrap::testing::TempTree;

TEST(AncestorsOf, ListsEveryDirectoryAboveFromTheRootDown) {
  EXPECT_EQ(ancestors_of("/etc/suwrap/accounts.d"), (std::vector<std::string>{"/", "/etc", "/etc/suwrap"}));
  EXPECT_EQ(ancestors_of("/etc"), (std::vector<std::string>{"/"}));
  EXPECT_TRUE(ancestors_of("/").empty());
  EXPECT_TRUE(ancestors_of("relative/path").empty());
}

class WatchedTree : public ::testing::Test {
 protected:
  void SetUp() override {
    tree.mkdir("etc/suwrap");
    tree.write("etc/suwrap/suwrap.toml", "one");
    tree.mkdir("elsewhere");
    const std::string dir = tree.path("etc/suwrap");
    const std::vector<std::string> dirs{dir};
    watch.watch(dirs, ancestors_of(dir));
  }
  TempTree tree;
  ConfigWatch watch;
};

TEST_F(WatchedTree, NothingChangedIsNoChange) {
  EXPECT_FALSE(watch.changed());
  tree.write("elsewhere/file", "x");
  EXPECT_FALSE(watch.changed());
}

TEST_F(WatchedTree, AWriteIsAChangeReportedOnce) {
  tree.write("etc/suwrap/suwrap.toml", "two");
  EXPECT_TRUE(watch.changed());
  EXPECT_FALSE(watch.changed());
}

TEST_F(WatchedTree, ChmodOfAFileIsAChange) {
  tree.chmod("etc/suwrap/suwrap.toml", 0666);
  EXPECT_TRUE(watch.changed());
}

TEST_F(WatchedTree, ANewOrRemovedFileIsAChange) {
  tree.write("etc/suwrap/new.toml", "x");
  EXPECT_TRUE(watch.changed());
  ASSERT_EQ(::unlink(tree.path("etc/suwrap/new.toml").c_str()), 0);
  EXPECT_TRUE(watch.changed());
}

TEST_F(WatchedTree, ANeighbourComingAndGoingAboveIsNoChange) {
  tree.mkdir("neighbour");
  ASSERT_EQ(::rmdir(tree.path("neighbour").c_str()), 0);
  tree.write("etc/other", "x");
  EXPECT_FALSE(watch.changed());
}

TEST_F(WatchedTree, ARenameOrChmodAboveIsAChange) {
  tree.chmod("etc", 0777);
  EXPECT_TRUE(watch.changed());
  ASSERT_EQ(std::rename(tree.path("etc").c_str(), tree.path("etc2").c_str()), 0);
  EXPECT_TRUE(watch.changed());
}

TEST_F(WatchedTree, QuietUntilSomethingChangedAndDrainsNothing) {
  const std::array<const ConfigWatch*, 1> watches{&watch};
  EXPECT_TRUE(ConfigWatch::quiet(watches));
  tree.write("elsewhere/file", "x");
  EXPECT_TRUE(ConfigWatch::quiet(watches));
  tree.write("etc/suwrap/suwrap.toml", "two");
  EXPECT_FALSE(ConfigWatch::quiet(watches));
  EXPECT_FALSE(ConfigWatch::quiet(watches)) << "quiet() reads nothing";
  EXPECT_TRUE(watch.changed());
  EXPECT_TRUE(ConfigWatch::quiet(watches));
}

TEST_F(WatchedTree, OneOfSeveralChangedIsNotQuiet) {
  tree.mkdir("accounts");
  ConfigWatch accounts;
  const std::vector<std::string> dirs{tree.path("accounts")};
  accounts.watch(dirs, {});
  const std::array<const ConfigWatch*, 2> watches{&watch, &accounts};
  // A neighbour made above the watched directory is an event that concerns nothing: not
  // quiet until changed() has read it and found no change.
  EXPECT_FALSE(ConfigWatch::quiet(watches));
  EXPECT_FALSE(watch.changed());
  EXPECT_TRUE(ConfigWatch::quiet(watches));
  tree.write("accounts/alice.toml", "x");
  EXPECT_FALSE(ConfigWatch::quiet(watches));
  EXPECT_FALSE(watch.changed());
  EXPECT_TRUE(accounts.changed());
  EXPECT_TRUE(ConfigWatch::quiet(watches));
}

TEST(ConfigWatch, WhatCannotBeWatchedIsAlwaysChangedAndNeverQuiet) {
  TempTree tree;
  ConfigWatch watch;
  const std::vector<std::string> dirs{tree.path("missing")};
  watch.watch(dirs, {});
  EXPECT_TRUE(watch.changed());
  EXPECT_TRUE(watch.changed());
  ConfigWatch never_set;
  EXPECT_TRUE(never_set.changed());
  const std::array<const ConfigWatch*, 2> watches{&watch, &never_set};
  EXPECT_FALSE(ConfigWatch::quiet(std::span(watches).first(1)));
  EXPECT_FALSE(ConfigWatch::quiet(std::span(watches).last(1)));
}

// ---- CurrentConfig, as root on a trusted configuration ------------------------------------

constexpr std::string_view config_text = R"toml([global]
caller = "root"

[handlers.php-warm]
kind = "php-fcgi"
path = "/usr/bin/php-cgi"
ini_dir = "/etc/php/8.2/cgi"
extensions = [".php"]
)toml";

class TrustedConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: the configuration must be root-owned";
    tree.mkdir("etc", 0755, 0, 0);
    tree.mkdir("etc/suwrap", 0755, 0, 0);
    tree.mkdir("etc/suwrap/accounts.d", 0755, 0, 0);
    tree.write("etc/suwrap/suwrap.toml", config_text, 0644, 0, 0);
  }
  [[nodiscard]] std::string path() const { return tree.path("etc/suwrap/suwrap.toml"); }
  TempTree tree;
};

TEST_F(TrustedConfig, IsReadOnceWhileNothingChanges) {
  CurrentConfig current(path());
  const auto first = current.get();
  ASSERT_TRUE(first->config.has_value()) << first->config.error().to_string();
  EXPECT_EQ(current.get(), first);
  EXPECT_EQ(current.get(), first);
}

TEST_F(TrustedConfig, IsReadAgainAfterTheMainFileChanged) {
  CurrentConfig current(path());
  const auto first = current.get();
  ASSERT_TRUE(first->config.has_value());
  tree.write("etc/suwrap/suwrap.toml", std::string(config_text) + "\n[limits]\nwall_seconds = 7\n", 0644, 0,
             0);
  const auto second = current.get();
  ASSERT_NE(second, first);
  ASSERT_TRUE(second->config.has_value()) << second->config.error().to_string();
  EXPECT_EQ(second->config->limits.wall_seconds, 7U);
}

TEST_F(TrustedConfig, LooksAccountsUpAgainAfterAnAccountFileChanged) {
  CurrentConfig current(path());
  const auto snapshot = current.get();
  EXPECT_EQ(snapshot->account_source().for_user("alice").kind, Kind::none);
  tree.write("etc/suwrap/accounts.d/alice.toml", "user = \"alice\"\ndocroots = [\"/srv/alice\"]\n", 0644, 0,
             0);
  EXPECT_EQ(current.get()->account_source().for_user("alice").kind, Kind::account);
  // Edited in place: seen at the next look.
  tree.write("etc/suwrap/accounts.d/alice.toml", "user = \"alice\"\ndocroots = [\"/srv/alice\"]\ndisabled = true\n",
             0644, 0, 0);
  const auto edited = current.get()->account_source().for_user("alice");
  ASSERT_EQ(edited.kind, Kind::account);
  EXPECT_TRUE(edited.account->disabled);
  EXPECT_GT(current.accounts_changed_ns(), 0);
  // A permission change alone makes the file untrusted: it is seen too, and refuses alice.
  tree.chmod("etc/suwrap/accounts.d/alice.toml", 0666);
  EXPECT_EQ(current.get()->account_source().for_user("alice").kind, Kind::broken);
}

TEST_F(TrustedConfig, SeesAnotherFileClaimingAUserInPlace) {
  tree.write("etc/suwrap/accounts.d/shop.toml", "user = \"bob\"\ndocroots = [\"/srv/shop\"]\n", 0644, 0, 0);
  CurrentConfig current(path());
  EXPECT_EQ(current.get()->account_source().for_user("alice").kind, Kind::none);
  tree.write("etc/suwrap/accounts.d/shop.toml", "user = \"alice\"\ndocroots = [\"/srv/shop\"]\n", 0644, 0, 0);
  EXPECT_EQ(current.get()->account_source().for_user("alice").kind, Kind::account);
}

TEST_F(TrustedConfig, WatchesAnAccountsDirectoryNamedByTheConfiguration) {
  tree.mkdir("srv", 0755, 0, 0);
  tree.mkdir("srv/accounts", 0755, 0, 0);
  tree.write("etc/suwrap/suwrap.toml",
             "[global]\ncaller = \"root\"\naccounts_dir = \"" + tree.path("srv/accounts") + "\"\n", 0644, 0,
             0);
  CurrentConfig current(path());
  const auto first = current.get();
  ASSERT_TRUE(first->config.has_value()) << first->config.error().to_string();
  EXPECT_EQ(current.get(), first);
  EXPECT_EQ(first->account_source().for_user("bob").kind, Kind::none);
  tree.write("srv/accounts/bob.toml", "user = \"bob\"\ndocroots = [\"/srv/bob\"]\n", 0644, 0, 0);
  EXPECT_EQ(current.get()->account_source().for_user("bob").kind, Kind::account);
}

// What one poll() of all a worker's watches finds, for each of `fds`: no event (and each
// could be polled).
bool all_quiet(const std::vector<int>& fds) {
  std::vector<pollfd> polled;
  for (const int fd : fds) {
    if (fd < 0) return false;
    polled.push_back(pollfd{fd, POLLIN, 0});
  }
  return ::poll(polled.data(), polled.size(), 0) == 0;
}

TEST_F(TrustedConfig, QuietTakesTheSnapshotAndAChangeWaitsForTheNextPoll) {
  CurrentConfig current(path());
  const auto first = current.get();
  ASSERT_TRUE(first->config.has_value());
  std::vector<int> fds;
  current.descriptors(fds);
  ASSERT_EQ(fds.size(), 3U);
  EXPECT_TRUE(all_quiet(fds));
  current.set_quiet(true);
  tree.write("etc/suwrap/suwrap.toml", std::string(config_text) + "\n[limits]\nwall_seconds = 7\n", 0644, 0,
             0);
  EXPECT_EQ(current.get(), first) << "told quiet: nothing is read";
  EXPECT_FALSE(all_quiet(fds)) << "the change waits on a descriptor";
  current.set_quiet(false);
  const auto second = current.get();
  ASSERT_NE(second, first);
  EXPECT_EQ(second->config->limits.wall_seconds, 7U);
  fds.clear();
  current.descriptors(fds);
  EXPECT_TRUE(all_quiet(fds));
}

TEST_F(TrustedConfig, MarkChangedReadsItAgainEvenWhenQuiet) {
  CurrentConfig current(path());
  const auto first = current.get();
  current.set_quiet(true);
  current.mark_changed();
  EXPECT_NE(current.get(), first);
}

TEST(ConfigWatch, WhatCannotBeWatchedHasNoDescriptor) {
  TempTree tree;
  ConfigWatch watch;
  EXPECT_EQ(watch.descriptor(), -1);
  const std::vector<std::string> dirs{tree.path("missing")};
  watch.watch(dirs, {});
  EXPECT_EQ(watch.descriptor(), -1);
  const std::vector<std::string> there{tree.root()};
  watch.watch(there, {});
  EXPECT_GE(watch.descriptor(), 0);
}

TEST_F(TrustedConfig, MarkChangedReadsItAgain) {
  CurrentConfig current(path());
  const auto first = current.get();
  current.mark_changed();
  EXPECT_NE(current.get(), first);
}

}  // namespace
