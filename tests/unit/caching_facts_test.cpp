// SPDX-License-Identifier: Apache-2.0
// CachingFacts, the fact source of `suwrap-policy audit`: on a real tree its walks are the
// walks from "/" (same chain, same object, same links, same errors), and it asks the source
// it wraps once per user, group and stat.
#include "suwrap/policy/caching_facts.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "support.hpp"
#include "suwrap/policy/checks.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/policy/facts.hpp"
#include "suwrap/policy/walk.hpp"

namespace {

using suwrap::policy::CachingFacts;
using suwrap::util::Expected;
using suwrap::policy::FactSource;
using suwrap::policy::FileFacts;
using suwrap::policy::GroupInfo;
using suwrap::policy::SystemFacts;
using suwrap::policy::UserInfo;
using suwrap::policy::Walk;
using suwrap::policy::WalkError;
using suwrap::testing::TempTree;

// Delegates to the real system and counts what it was asked: the test observes the cache,
// the kernel still answers every question.
class CountingFacts final : public FactSource {
 public:
  Expected<Walk, WalkError> walk(std::string_view path) override {
    ++walks;
    return system.walk(path);
  }
  std::optional<std::string> php_sapi(std::string_view path) override { return system.php_sapi(path); }
  std::optional<FileFacts> stat_path(std::string_view path) override {
    ++stats;
    return system.stat_path(path);
  }
  std::optional<UserInfo> user_by_name(std::string_view name) override {
    ++user_lookups;
    return system.user_by_name(name);
  }
  std::optional<UserInfo> user_by_uid(uid_t uid) override {
    ++user_lookups;
    return system.user_by_uid(uid);
  }
  std::optional<GroupInfo> group_by_name(std::string_view name) override {
    ++group_lookups;
    return system.group_by_name(name);
  }
  std::optional<GroupInfo> group_by_gid(gid_t gid) override {
    ++group_lookups;
    return system.group_by_gid(gid);
  }

  SystemFacts system;
  int walks = 0;
  int stats = 0;
  int user_lookups = 0;
  int group_lookups = 0;
};

void expect_same_facts(const FileFacts& a, const FileFacts& b, const std::string& what) {
  EXPECT_EQ(a.dev, b.dev) << what;
  EXPECT_EQ(a.ino, b.ino) << what;
  EXPECT_EQ(a.mode, b.mode) << what;
  EXPECT_EQ(a.uid, b.uid) << what;
  // A directory's link count moves whenever a subdirectory comes or goes, and tests that
  // run beside this one make theirs in /run/suwrap-tests; the checks read nlink only for
  // the script, a regular file.
  if (!S_ISDIR(a.mode)) {
    EXPECT_EQ(a.nlink, b.nlink) << what;
  }
}

// The cached walk and the walk from "/" agree on everything the checks read.
void expect_same_walk(CachingFacts& cached, const std::string& path) {
  auto fast = cached.walk(path);
  auto slow = suwrap::policy::walk_path(path);
  ASSERT_EQ(fast.has_value(), slow.has_value()) << path;
  if (!slow) {
    EXPECT_EQ(fast.error().kind, slow.error().kind) << path;
    EXPECT_EQ(fast.error().path, slow.error().path) << path;
    return;
  }
  EXPECT_EQ(fast->physical_path(), slow->physical_path()) << path;
  expect_same_facts(fast->object.facts, slow->object.facts, path);
  ASSERT_EQ(fast->dirs.size(), slow->dirs.size()) << path;
  for (size_t i = 0; i < slow->dirs.size(); ++i) {
    EXPECT_EQ(fast->dirs[i].path, slow->dirs[i].path) << path;
    expect_same_facts(fast->dirs[i].facts, slow->dirs[i].facts, slow->dirs[i].path);
  }
  ASSERT_EQ(fast->links.size(), slow->links.size()) << path;
  for (size_t i = 0; i < slow->links.size(); ++i) {
    EXPECT_EQ(fast->links[i].path, slow->links[i].path) << path;
    EXPECT_EQ(fast->links[i].resolved_path, slow->links[i].resolved_path) << path;
  }
  EXPECT_TRUE(fast->fd.valid()) << path;
}

class CachingFactsWalk : public ::testing::Test {
 protected:
  void SetUp() override {
    tree.mkdir("site/sub");
    tree.write("site/a.php", "<?php");
    tree.write("site/b.php", "<?php");
    tree.write("site/sub/c.php", "<?php", 0664);
    tree.mkdir("elsewhere/real");
    tree.write("elsewhere/real/d.php", "<?php");
    tree.symlink("../elsewhere/real", "site/linked");  // a directory reached through a link
    tree.symlink("a.php", "site/link.php");            // the script itself a link
    tree.symlink("missing.php", "site/dangling.php");  // a link to nothing
    tree.write("site/file", "not a directory");
  }
  TempTree tree;
};

TEST_F(CachingFactsWalk, GivesTheWalkFromRootForEveryKindOfPath) {
  CountingFacts source;
  CachingFacts cached(source);
  for (const std::string rel :
       {"site/a.php", "site/b.php", "site/sub/c.php", "site/linked/d.php", "site/link.php",
        "site/dangling.php", "site/missing.php", "site/file/x.php", "site/sub", "site/a.php"})
    expect_same_walk(cached, tree.path(rel));
}

TEST_F(CachingFactsWalk, WalksEachDirectoryFromRootOnceForItsFiles) {
  CountingFacts source;
  CachingFacts cached(source);
  ASSERT_TRUE(cached.walk(tree.path("site/a.php")).has_value());
  const int after_first = source.walks;
  EXPECT_EQ(after_first, 1) << "the directory, walked from \"/\"";
  ASSERT_TRUE(cached.walk(tree.path("site/b.php")).has_value());
  EXPECT_EQ(source.walks, after_first) << "the second file of the same directory is opened from it";
  ASSERT_TRUE(cached.walk(tree.path("site/sub/c.php")).has_value());
  EXPECT_EQ(source.walks, after_first + 1) << "another directory is walked from \"/\" once";
}

TEST_F(CachingFactsWalk, ALinkAsTheLastComponentIsWalkedFromRoot) {
  CountingFacts source;
  CachingFacts cached(source);
  ASSERT_TRUE(cached.walk(tree.path("site/a.php")).has_value());
  const int before = source.walks;
  auto walk = cached.walk(tree.path("site/link.php"));
  ASSERT_TRUE(walk.has_value());
  EXPECT_EQ(source.walks, before + 1);
  ASSERT_EQ(walk->links.size(), 1U) << "the link is recorded for the symlinks policy";
}

TEST_F(CachingFactsWalk, SeesAFileChangedAfterItsDirectoryWasCached) {
  CountingFacts source;
  CachingFacts cached(source);
  ASSERT_TRUE(cached.walk(tree.path("site/a.php")).has_value());
  tree.chmod("site/b.php", 0666);
  auto walk = cached.walk(tree.path("site/b.php"));
  ASSERT_TRUE(walk.has_value());
  EXPECT_EQ(walk->object.facts.mode & 07777, 0666U)
      << "only the directory chain is cached, never a file's facts";
}

TEST(CachingFacts, AsksForEachUserGroupAndStatOnce) {
  CountingFacts source;
  CachingFacts cached(source);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(cached.user_by_name("root").has_value());
    EXPECT_TRUE(cached.user_by_uid(0).has_value());
    EXPECT_FALSE(cached.user_by_name("no-such-user-here").has_value());
    EXPECT_TRUE(cached.group_by_gid(0).has_value());
    EXPECT_TRUE(cached.group_by_name("root").has_value());
    EXPECT_TRUE(cached.stat_path("/").has_value());
    EXPECT_FALSE(cached.stat_path("/no/such/file").has_value());
  }
  EXPECT_EQ(source.user_lookups, 3) << "one each for root by name, root by uid, and the missing user";
  EXPECT_EQ(source.group_lookups, 2);
  EXPECT_EQ(source.stats, 2);
}

// The point of the cache: decide() through it says what decide() through the system says,
// for scripts that pass and for each way of failing.
TEST_F(CachingFactsWalk, DecideGivesTheSameVerdictThroughTheCache) {
  SUWRAP_REQUIRE_ROOT();
  const suwrap::testing::TestUser alice("cachef");
  for (const std::string rel :
       {"site/a.php", "site/b.php", "site/sub/c.php", "elsewhere/real/d.php", "site/file"})
    tree.chown(rel, alice.uid(), alice.gid());
  tree.write("site/root.php", "<?php");  // root's: refused (check user)

  suwrap::policy::Config config;
  config.file = "/etc/suwrap/suwrap.toml";
  config.caller = "root";
  config.docroots = {tree.path("site")};
  suwrap::policy::Handler cgi;
  cgi.name = "cgi";
  cgi.kind = suwrap::policy::HandlerKind::cgi;
  cgi.extensions = {".php"};
  config.handlers.emplace("cgi", cgi);
  const suwrap::policy::LoadedConfig loaded(config);

  CountingFacts source;
  CachingFacts cached(source);
  SystemFacts system;
  suwrap::policy::AccountList accounts({});
  std::map<std::string, int> outcomes;
  for (const std::string rel :
       {"site/a.php", "site/b.php", "site/sub/c.php", "site/linked/d.php", "site/link.php",
        "site/dangling.php", "site/file/x.php", "site/root.php", "site/a.php"}) {
    suwrap::policy::Request request;
    request.real_uid = 0;
    request.script = tree.path(rel);
    const auto fast = suwrap::policy::decide(request, loaded, accounts, cached);
    const auto slow = suwrap::policy::decide(request, loaded, accounts, system);
    EXPECT_EQ(fast.verdict, slow.verdict) << rel;
    EXPECT_EQ(fast.failed, slow.failed) << rel;
    EXPECT_EQ(fast.reason, slow.reason) << rel;
    ++outcomes[slow.failed ? std::string(suwrap::policy::check_name(*slow.failed)) : "allow"];
  }
  // The cases above reach different checks, so the comparison covers more than one path.
  EXPECT_GE(outcomes.size(), 4U);
  EXPECT_EQ(outcomes["file_perms"], 1) << "c.php is group-writable";
  EXPECT_EQ(outcomes["user"], 1) << "root.php is root's";
  EXPECT_GE(outcomes["handler"], 1) << "a.php is not executable for the cgi handler";
}

}  // namespace
