// SPDX-License-Identifier: Apache-2.0
// Account files as suwrap finds them (accounts.hpp), as root on real files: found by user and
// by docroot through the index, read again at every lookup, a broken file refusing only what
// it could govern, and an index that is stale, foreign or not root's never believed.
#include "suwrap/config/accounts.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "suwrap/config/config.hpp"
#include "support.hpp"

namespace {

using suwrap::policy::AccountAnswer;
using suwrap::policy::AccountDirectory;
using suwrap::policy::AccountOptions;
using suwrap::policy::Config;
using suwrap::policy::Mode;
using suwrap::testing::TempTree;
using Kind = suwrap::policy::AccountAnswer::Kind;

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

std::int64_t now_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

// accounts.d in a root-owned tree, and a configuration naming it.
class Accounts : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: account files must be root-owned";
    tree.mkdir("accounts.d", 0755, 0, 0);
    set_mode(Mode::owner);
  }
  void set_mode(Mode mode) {
    config.file = tree.path("suwrap.toml");
    config.accounts_dir = tree.path("accounts.d");
    config.mode = mode;
  }
  void write(std::string_view name, std::string_view text, mode_t mode = 0644) const {
    tree.write("accounts.d/" + std::string(name), text, mode, 0, 0);
  }
  void account(std::string_view name, std::string_view user, std::string_view docroot,
               std::string_view extra = "") const {
    write(std::string(name) + ".toml", "user = \"" + std::string(user) + "\"\ndocroots = [\"" +
                                           std::string(docroot) + "\"]\n" + std::string(extra));
  }
  // A new lookup, as a new suwrap process makes it.
  [[nodiscard]] AccountDirectory directory(bool write_index = true) const {
    AccountOptions options;
    options.write_index = write_index;
    return AccountDirectory(config, options);
  }
  [[nodiscard]] std::string index_path() const { return tree.path("accounts.d/.suwrap/index"); }
  // Waits out the clock's granularity: a directory changed just now makes a racy index.
  static void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(150)); }

  TempTree tree;
  Config config;
};

TEST_F(Accounts, FindsTheAccountNamingAUserAndTheOneHoldingAScript) {
  account("alice", "alice", "/srv/alice");
  account("bob-site", "bob", "/srv/bob");
  auto accounts = directory();
  EXPECT_EQ(accounts.problem(), std::nullopt);
  const AccountAnswer bob = accounts.for_user("bob");
  ASSERT_EQ(bob.kind, Kind::account);
  EXPECT_EQ(bob.account->name, "bob-site");
  EXPECT_EQ(bob.account->file, tree.path("accounts.d/bob-site.toml"));
  EXPECT_EQ(accounts.for_user("carol").kind, Kind::none);
  const AccountAnswer held = accounts.for_script("/srv/alice/blog/index.php");
  ASSERT_EQ(held.kind, Kind::account);
  EXPECT_EQ(held.account->name, "alice");
  EXPECT_EQ(accounts.for_script("/srv/alice2/index.php").kind, Kind::none) << "by component, not prefix";
}

TEST_F(Accounts, IgnoresOtherNamesAndHiddenFiles) {
  account("alice", "alice", "/srv/alice");
  write("README", "not toml [");
  write("carol.toml.bak", "not toml [");
  write(".carol.toml.swp", "not toml [");
  auto accounts = directory();
  EXPECT_EQ(accounts.problem(), std::nullopt);
  const auto files = accounts.files();
  ASSERT_TRUE(files.has_value());
  ASSERT_EQ(files->size(), 1U);
  EXPECT_EQ((*files)[0].name, "alice.toml");
}

TEST_F(Accounts, NoAccountsDirectoryIsNoAccounts) {
  config.accounts_dir = tree.path("missing.d");
  auto accounts = directory();
  EXPECT_EQ(accounts.problem(), std::nullopt);
  EXPECT_EQ(accounts.for_user("alice").kind, Kind::none);
}

TEST_F(Accounts, WritesAnIndexThatTheNextLookupBelieves) {
  account("alice", "alice", "/srv/alice");
  auto first = directory();
  ASSERT_EQ(first.for_user("alice").kind, Kind::account);
  EXPECT_EQ(first.refreshes(), 1U) << "no index yet";
  struct stat st {};
  EXPECT_NE(::stat(index_path().c_str(), &st), 0) << "the directory had just changed: a racy index is not written";
  settle();
  (void)directory().for_user("alice");
  ASSERT_EQ(::stat(index_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0U);
  EXPECT_EQ(st.st_mode & 07777, 0644U);
  auto second = directory(false);
  ASSERT_EQ(second.for_user("alice").kind, Kind::account);
  EXPECT_EQ(second.refreshes(), 0U) << "the index on disk was current";
  EXPECT_FALSE(second.index_in_memory());
}

TEST_F(Accounts, TheIndexDirectoryIsReadableByTheDaemonsWhateverTheUmask) {
  account("alice", "alice", "/srv/alice");
  const mode_t before = ::umask(077);  // suwrap's own
  (void)directory().for_user("alice");
  ::umask(before);
  struct stat st {};
  ASSERT_EQ(::stat(tree.path("accounts.d/.suwrap").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755U);
}

TEST_F(Accounts, ARefreshThatLearntNothingDoesNotRewriteARecentIndex) {
  account("alice", "alice", "/srv/alice");
  (void)directory().for_user("alice");
  settle();
  (void)directory().for_user("alice");
  struct stat first {};
  ASSERT_EQ(::stat(index_path().c_str(), &first), 0);
  AccountOptions told;
  told.write_index = true;
  told.distrust_before_ns = now_ns();  // a refresh, as a hint of "now" asks for at every request
  for (int i = 0; i < 3; ++i) (void)AccountDirectory(config, told).for_user("alice");
  struct stat after {};
  ASSERT_EQ(::stat(index_path().c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, first.st_ino) << "nothing new: the index of a moment ago stays";
  account("alice", "bob", "/srv/alice");  // in place: something new
  told.distrust_before_ns = now_ns();
  (void)AccountDirectory(config, told).for_user("bob");
  ASSERT_EQ(::stat(index_path().c_str(), &after), 0);
  EXPECT_NE(after.st_ino, first.st_ino) << "what a refresh learnt is written at once";
  EXPECT_EQ(directory(false).for_user("bob").kind, Kind::account) << "and believed by the next lookup";
}

TEST_F(Accounts, AFileAddedOrRemovedIsSeenAtTheNextLookup) {
  account("alice", "alice", "/srv/alice");
  (void)directory().for_user("alice");
  account("bob", "bob", "/srv/bob");
  EXPECT_EQ(directory().for_user("bob").kind, Kind::account);
  ASSERT_EQ(::unlink(tree.path("accounts.d/alice.toml").c_str()), 0);
  EXPECT_EQ(directory().for_user("alice").kind, Kind::none);
}

TEST_F(Accounts, TheGoverningFileIsReadAgainEvenWhenEditedInPlace) {
  account("alice", "alice", "/srv/alice");
  settle();
  (void)directory().for_user("alice");
  settle();
  (void)directory().for_user("alice");  // a current index on disk
  account("alice", "alice", "/srv/alice", "disabled = true\n");  // rewritten in place
  auto accounts = directory();
  const AccountAnswer answer = accounts.for_user("alice");
  ASSERT_EQ(answer.kind, Kind::account);
  EXPECT_TRUE(answer.account->disabled);
  EXPECT_EQ(accounts.refreshes(), 0U) << "the index still says where to look";
}

TEST_F(Accounts, AFileThatNoLongerSaysWhatTheIndexSaysRefreshesIt) {
  account("alice", "alice", "/srv/alice");
  settle();
  (void)directory().for_user("alice");
  settle();
  (void)directory().for_user("alice");
  account("alice", "bob", "/srv/alice");  // in place: the file now names bob
  auto accounts = directory();
  EXPECT_EQ(accounts.for_user("alice").kind, Kind::none);
  EXPECT_EQ(accounts.refreshes(), 1U);
  const AccountAnswer bob = directory().for_user("bob");
  ASSERT_EQ(bob.kind, Kind::account);
  EXPECT_EQ(bob.account->name, "alice");
}

TEST_F(Accounts, AnIndexOlderThanAChangeSeenElsewhereIsRefreshed) {
  account("shop", "bob", "/srv/shop");
  settle();
  (void)directory().for_user("bob");
  settle();
  (void)directory().for_user("bob");
  // In place, another file now names alice: nothing on disk dates the index...
  account("shop", "alice", "/srv/shop", "disabled = true\n");
  EXPECT_EQ(directory(false).for_user("alice").kind, Kind::none) << "the limit suwrap alone cannot see";
  // ...but a daemon's inotify saw it, and says when.
  AccountOptions told;
  told.distrust_before_ns = now_ns();
  AccountDirectory accounts(config, told);
  const AccountAnswer alice = accounts.for_user("alice");
  ASSERT_EQ(alice.kind, Kind::account);
  EXPECT_TRUE(alice.account->disabled);
}

TEST_F(Accounts, ABrokenFileRefusesTheUserItNamesAndNoOther) {
  account("bob", "bob", "/srv/bob");
  write("alice.toml", "user = \"alice\"\ndocroots = [\"/srv/alice\"\ndisabled = true\n");  // a syntax error
  auto accounts = directory();
  EXPECT_EQ(accounts.problem(), std::nullopt);
  const AccountAnswer alice = accounts.for_user("alice");
  ASSERT_EQ(alice.kind, Kind::broken);
  EXPECT_EQ(alice.problem.file, tree.path("accounts.d/alice.toml"));
  EXPECT_TRUE(Contains(alice.problem.message, "TOML syntax error")) << alice.problem.to_string();
  EXPECT_EQ(accounts.for_user("bob").kind, Kind::account);
  set_mode(Mode::account);
  auto by_docroot = directory();
  EXPECT_EQ(by_docroot.for_script("/srv/alice/x.php").kind, Kind::broken);
  EXPECT_EQ(by_docroot.for_script("/srv/bob/x.php").kind, Kind::account);
}

TEST_F(Accounts, AnUntrustedFileRefusesWhatItNamesNowAndNamedBefore) {
  account("alice", "alice", "/srv/alice");
  account("bob", "bob", "/srv/bob");
  (void)directory().for_user("alice");  // makes .suwrap
  settle();
  (void)directory().for_user("alice");  // indexed while it named alice
  tree.chmod("accounts.d/alice.toml", 0664);
  write("alice.toml", "user = \"mallory\"\ndocroots = [\"/srv/m\"]\n", 0664);  // its group rewrote it
  auto accounts = directory();
  const AccountAnswer alice = accounts.for_user("alice");
  ASSERT_EQ(alice.kind, Kind::broken) << "still refused: it named alice when it was last read";
  EXPECT_TRUE(Contains(alice.problem.message, "writable by its group"));
  EXPECT_EQ(accounts.for_user("bob").kind, Kind::account);
  // What it names now, once the change is known (the daemons' inotify sees it; so does the
  // next refresh): mallory too.
  AccountOptions told;
  told.distrust_before_ns = now_ns();
  AccountDirectory refreshed(config, told);
  EXPECT_EQ(refreshed.for_user("mallory").kind, Kind::broken);
  EXPECT_EQ(refreshed.for_user("alice").kind, Kind::broken) << "and still alice";
  EXPECT_EQ(refreshed.for_user("bob").kind, Kind::account);
}

TEST_F(Accounts, ABrokenFileThatNamesNothingReadableRefusesEverything) {
  account("bob", "bob", "/srv/bob");
  write("junk.toml", "\x01\x02 not a toml file at all");
  auto accounts = directory();
  const auto problem = accounts.problem();
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->file, tree.path("accounts.d/junk.toml"));
  EXPECT_TRUE(Contains(problem->message, "refuses every request")) << problem->to_string();
  ASSERT_EQ(::unlink(tree.path("accounts.d/junk.toml").c_str()), 0);
  EXPECT_EQ(directory().problem(), std::nullopt);
}

TEST_F(Accounts, AFileThatIsALinkOrNotAFileIsBroken) {
  tree.write("elsewhere.toml", "user = \"alice\"\ndocroots = [\"/srv/alice\"]\n", 0644, 0, 0);
  tree.symlink(tree.path("elsewhere.toml"), "accounts.d/alice.toml", 0, 0);
  auto linked = directory();
  ASSERT_TRUE(linked.problem().has_value());
  EXPECT_TRUE(Contains(linked.problem()->message, "symbolic link"));
  ASSERT_EQ(::unlink(tree.path("accounts.d/alice.toml").c_str()), 0);
  tree.mkdir("accounts.d/bob.toml", 0755, 0, 0);
  auto directory_named_toml = directory();
  ASSERT_TRUE(directory_named_toml.problem().has_value());
  EXPECT_TRUE(Contains(directory_named_toml.problem()->message, "not a regular file"));
}

TEST_F(Accounts, AnAccountsDirectoryThatIsNotRootsAloneRefusesEverything) {
  account("alice", "alice", "/srv/alice");
  tree.chmod("accounts.d", 01777);
  auto writable = directory();
  ASSERT_TRUE(writable.problem().has_value());
  EXPECT_TRUE(Contains(writable.problem()->message, "writable by others (mode 1777)"));
  EXPECT_EQ(writable.for_user("alice").kind, Kind::broken);
  tree.chmod("accounts.d", 0755);
  tree.mkdir("real.d", 0755, 0, 0);
  config.accounts_dir = tree.path("link.d");
  tree.symlink(tree.path("real.d"), "link.d", 0, 0);
  auto linked = directory();
  ASSERT_TRUE(linked.problem().has_value());
  EXPECT_TRUE(Contains(linked.problem()->message, "symbolic link"));
}

TEST_F(Accounts, TwoAccountsHoldingOneScriptAreAmbiguousOnlyThere) {
  set_mode(Mode::account);
  account("site", "alice", "/srv/site");
  account("shop", "bob", "/srv/site/shop");
  auto accounts = directory();
  const AccountAnswer both = accounts.for_script("/srv/site/shop/a.php");
  ASSERT_EQ(both.kind, Kind::ambiguous);
  EXPECT_EQ(both.files, (std::vector<std::string>{"shop", "site"}));
  EXPECT_EQ(accounts.for_script("/srv/site/a.php").kind, Kind::account);
}

TEST_F(Accounts, AnIndexThatIsNotRootsOrNotThisDirectorysIsNotBelieved) {
  account("alice", "alice", "/srv/alice");
  settle();
  (void)directory().for_user("alice");
  settle();
  (void)directory().for_user("alice");
  ASSERT_EQ(directory(false).for_user("alice").kind, Kind::account);
  // Another directory's index (copied here), and an index its group can write.
  tree.mkdir("other.d", 0755, 0, 0);
  tree.write("other.d/bob.toml", "user = \"bob\"\ndocroots = [\"/srv/bob\"]\n", 0644, 0, 0);
  Config other = config;
  other.accounts_dir = tree.path("other.d");
  AccountOptions writing;
  writing.write_index = true;
  (void)AccountDirectory(other, writing).for_user("bob");
  settle();
  (void)AccountDirectory(other, writing).for_user("bob");
  ASSERT_EQ(suwrap::testing::run_shell("cp " + tree.path("other.d/.suwrap/index") + " " + index_path()), 0);
  auto foreign = directory(false);
  EXPECT_EQ(foreign.for_user("alice").kind, Kind::account);
  EXPECT_EQ(foreign.refreshes(), 1U);
  (void)directory().for_user("alice");
  tree.chmod("accounts.d/.suwrap/index", 0664);
  auto untrusted = directory(false);
  EXPECT_EQ(untrusted.for_user("alice").kind, Kind::account);
  EXPECT_EQ(untrusted.refreshes(), 1U);
}

TEST_F(Accounts, AHandlerTheConfigurationLacksBreaksTheFile) {
  account("alice", "alice", "/srv/alice", "php_handler = \"php99\"\n");
  const AccountAnswer alice = directory().for_user("alice");
  ASSERT_EQ(alice.kind, Kind::broken);
  EXPECT_EQ(alice.problem.key, "php_handler");
}

}  // namespace
