// SPDX-License-Identifier: Apache-2.0
// The gate's user and group look-ups: remembered while nothing in the watched directory
// changed and `keep` has not passed; never the walk, and stat() within one question only.
// Real NSS, real inotify.
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "name_cache.hpp"
#include "support.hpp"
#include "suwrap/build_config.hpp"
#include "suwrap/policy/facts.hpp"

namespace {

using suwrap::gate::NameCache;
using suwrap::policy::SystemFacts;
using suwrap::testing::TempTree;
using namespace std::chrono_literals;

// A directory "etc" of its own, holding a passwd file, watched by a cache that keeps its
// answers an hour: what is asked again is asked because the watch said something changed.
class NameCacheWatchingEtc : public ::testing::Test {
 protected:
  NameCacheWatchingEtc() {
    tree.mkdir("etc");
    tree.write("etc/passwd", "one");
    names = std::make_unique<NameCache>(system, tree.path("etc"), 1h);
  }
  TempTree tree;
  SystemFacts system;
  std::unique_ptr<NameCache> names;
};

TEST_F(NameCacheWatchingEtc, AsksTheSourceOnceWhileNothingChanged) {
  NameCache& cache = *names;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(cache.user_by_name("root").has_value());
    EXPECT_EQ(cache.user_by_uid(0)->name, "root");
    EXPECT_EQ(cache.group_by_gid(0)->name, "root");
    EXPECT_EQ(cache.group_by_name("root")->gid, 0U);
    EXPECT_FALSE(cache.user_by_name("no-such-user-suwrap").has_value());
  }
  EXPECT_EQ(cache.source_lookups(), 5U);
}

TEST_F(NameCacheWatchingEtc, AChangeInTheWatchedDirectoryIsAskedAgain) {
  NameCache& cache = *names;
  ASSERT_TRUE(cache.user_by_uid(0).has_value());
  ASSERT_TRUE(cache.user_by_uid(0).has_value());
  EXPECT_EQ(cache.source_lookups(), 1U);
  tree.write("etc/passwd", "two");
  ASSERT_TRUE(cache.user_by_uid(0).has_value());
  EXPECT_EQ(cache.source_lookups(), 2U);
  tree.chmod("etc", 0700);
  ASSERT_TRUE(cache.user_by_uid(0).has_value());
  EXPECT_EQ(cache.source_lookups(), 3U);
  ASSERT_TRUE(cache.user_by_uid(0).has_value());
  EXPECT_EQ(cache.source_lookups(), 3U);
}

TEST_F(NameCacheWatchingEtc, QuietReadsNoEventUntilToldToLookAgain) {
  NameCache& cache = *names;
  EXPECT_EQ(cache.descriptor(), -1) << "nothing watched before the first look-up";
  ASSERT_TRUE(cache.user_by_uid(0).has_value());
  ASSERT_GE(cache.descriptor(), 0);
  cache.set_quiet(true);
  tree.write("etc/passwd", "two");
  ASSERT_TRUE(cache.user_by_uid(0).has_value());
  EXPECT_EQ(cache.source_lookups(), 1U) << "told quiet: the event is not read";
  pollfd fd{cache.descriptor(), POLLIN, 0};
  EXPECT_EQ(::poll(&fd, 1, 0), 1) << "it waits for the caller's next poll";
  cache.set_quiet(false);
  ASSERT_TRUE(cache.user_by_uid(0).has_value());
  EXPECT_EQ(cache.source_lookups(), 2U);
}

TEST(NameCache, QuietKeepsNothingLongerThanKeep) {
  SystemFacts system;
  NameCache cache(system, "/etc", 0s);
  cache.set_quiet(true);
  ASSERT_TRUE(cache.user_by_uid(0).has_value());
  ASSERT_TRUE(cache.user_by_uid(0).has_value());
  EXPECT_EQ(cache.source_lookups(), 2U);
}

TEST(NameCache, NothingIsKeptLongerThanKeep) {
  TempTree tree;
  tree.mkdir("etc");
  SystemFacts system;
  NameCache cache(system, tree.path("etc"), 0s);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cache.user_by_uid(0).has_value());
  EXPECT_EQ(cache.source_lookups(), 3U);
}

TEST(NameCache, WithoutAWatchNothingIsRemembered) {
  TempTree tree;
  SystemFacts system;
  NameCache cache(system, tree.path("missing"), 1h);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cache.group_by_gid(0).has_value());
  EXPECT_EQ(cache.source_lookups(), 3U);
}

TEST_F(NameCacheWatchingEtc, TheWalkAndStatAreNeverRemembered) {
  tree.write("file", "x", 0644);
  NameCache& cache = *names;
  EXPECT_EQ(cache.stat_path(tree.path("file"))->mode & 07777, 0644U);
  ASSERT_TRUE(cache.walk(tree.path("file")).has_value());
  tree.chmod("file", 0600);
  EXPECT_EQ(cache.stat_path(tree.path("file"))->mode & 07777, 0600U);
  EXPECT_EQ(cache.walk(tree.path("file"))->object.facts.mode & 07777, 0600U);
  EXPECT_EQ(cache.source_lookups(), 0U);
}

// The look-ups the source answered, after one more of uid 0.
std::size_t asked_after_uid_0(NameCache& cache) {
  EXPECT_TRUE(cache.user_by_uid(0).has_value());
  return cache.source_lookups();
}

// A question (a request's check) looks for a change once: one made before it is seen by
// its first look-up, one made while it runs by the next question.
TEST_F(NameCacheWatchingEtc, AQuestionLooksForAChangeOnceAtItsFirstLookUp) {
  NameCache& cache = *names;
  EXPECT_EQ(asked_after_uid_0(cache), 1U);
  tree.write("etc/passwd", "two");
  {
    const NameCache::Question question(cache);
    EXPECT_EQ(asked_after_uid_0(cache), 2U) << "a change before the question is seen at once";
    tree.write("etc/passwd", "three");
    EXPECT_EQ(asked_after_uid_0(cache), 2U) << "one made during the question is not, yet";
  }
  {
    const NameCache::Question question(cache);
    EXPECT_EQ(asked_after_uid_0(cache), 3U) << "the next question sees it";
    EXPECT_EQ(asked_after_uid_0(cache), 3U);
  }
  EXPECT_EQ(asked_after_uid_0(cache), 3U);
}

// Within a question a path is stat()ed once (the handler's program: its checks and its
// SAPI's identity describe the same file); the next question stat()s it again.
TEST_F(NameCacheWatchingEtc, AQuestionStatsAPathOnceAndTheNextOneAgain) {
  tree.write("file", "x", 0644);
  NameCache& cache = *names;
  {
    const NameCache::Question question(cache);
    EXPECT_EQ(cache.stat_path(tree.path("file"))->mode & 07777, 0644U);
    tree.chmod("file", 0600);
    EXPECT_EQ(cache.stat_path(tree.path("file"))->mode & 07777, 0644U) << "one stat per question";
    EXPECT_EQ(cache.walk(tree.path("file"))->object.facts.mode & 07777, 0600U) << "the walk is never remembered";
  }
  {
    const NameCache::Question question(cache);
    EXPECT_EQ(cache.stat_path(tree.path("file"))->mode & 07777, 0600U);
  }
  EXPECT_EQ(cache.stat_path(tree.path("file"))->mode & 07777, 0600U);
}

// The real /etc: a user removed with userdel is gone at the next look-up, whatever `keep`.
TEST(NameCache, AUserRemovedFromTheSystemIsGoneAtOnce) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: creates a user";
  SystemFacts system;
  NameCache cache(system, "/etc", 1h);
  std::string name;
  {
    const suwrap::testing::TestUser user("namecache");
    name = user.name();
    ASSERT_TRUE(cache.user_by_name(name).has_value());
    ASSERT_TRUE(cache.user_by_name(name).has_value());
  }
  EXPECT_FALSE(cache.user_by_name(name).has_value());
}

}  // namespace

namespace {

// A handler's SAPI is read once while the program is the same file, and again once it is
// replaced (as an upgrade does, by rename).
TEST_F(NameCacheWatchingEtc, AProgramsSapiIsReadAgainOnlyWhenTheProgramIsReplaced) {
  // php-cgi of the guard's build: the SAPI's name and the extension build string.
  tree.write("program", std::string("\0CGI/FastCGI\0", 13) + suwrap::build::php_build_id + '\0', 0755);
  NameCache& cache = *names;
  EXPECT_EQ(cache.php_sapi(tree.path("program")), "cgi-fcgi");
  tree.write("elsewhere", std::string("\0Command Line Interface\0", 24), 0755);
  ASSERT_EQ(::rename(tree.path("elsewhere").c_str(), tree.path("program").c_str()), 0);
  EXPECT_EQ(cache.php_sapi(tree.path("program")), "cli") << "a renamed-in file is a new identity";
  {
    const NameCache::Question question(cache);
    EXPECT_EQ(cache.stat_path(tree.path("program"))->mode & 07777, 0755U);
    EXPECT_EQ(cache.php_sapi(tree.path("program")), "cli") << "by the identity the question stat()ed";
  }
  // Written in place as root would: the change time moves, so the SAPI is read again.
  tree.write("program", std::string("\0CGI/FastCGI\0", 13) + suwrap::build::php_build_id + '\0', 0755);
  EXPECT_EQ(cache.php_sapi(tree.path("program")), "cgi-fcgi") << "a file written in place is a new identity";
  EXPECT_EQ(cache.php_sapi(tree.path("missing")), std::nullopt);
}

}  // namespace
