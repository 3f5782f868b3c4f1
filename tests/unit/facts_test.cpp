// SPDX-License-Identifier: Apache-2.0
// SystemFacts against the real system: NSS lookups, stat, and the walk it delegates.
#include "suwrap/policy/facts.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "suwrap/build_config.hpp"
#include "support.hpp"

namespace {

using suwrap::policy::FileFacts;
using suwrap::policy::SystemFacts;
using suwrap::testing::TempTree;
using suwrap::testing::TestUser;

using namespace std::string_literals;

// A uid/gid that no Debian system hands out (nobody is 65534; -1 and -2 are special).
constexpr uid_t unused_id = 3999999999U;

TEST(UserByName, RootIsUidZero) {
  SystemFacts facts;
  const auto root = facts.user_by_name("root");
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(root->name, "root");
  EXPECT_EQ(root->uid, 0U);
  EXPECT_EQ(root->gid, 0U);
  EXPECT_EQ(root->home, "/root");
}

TEST(UserByName, UnknownOrMalformedNameIsNullopt) {
  SystemFacts facts;
  EXPECT_FALSE(facts.user_by_name("suwrap-no-such-user-zz").has_value());
  EXPECT_FALSE(facts.user_by_name("").has_value());
  // "root\0x" must not be looked up as "root".
  EXPECT_FALSE(facts.user_by_name("root\0x"s).has_value());
  // A number is a name to NSS, never a uid.
  EXPECT_FALSE(facts.user_by_name("0").has_value());
}

TEST(UserByName, FindsARealUser) {
  SUWRAP_REQUIRE_ROOT();
  TestUser alice("fa");
  SystemFacts facts;
  const auto user = facts.user_by_name(alice.name());
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(user->name, alice.name());
  EXPECT_EQ(user->uid, alice.uid());
  EXPECT_EQ(user->gid, alice.gid());
  EXPECT_GE(user->uid, 1000U);
}

TEST(UserByUid, FindsARealUser) {
  SUWRAP_REQUIRE_ROOT();
  TestUser alice("fu");
  SystemFacts facts;
  const auto user = facts.user_by_uid(alice.uid());
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(user->name, alice.name());
  EXPECT_EQ(user->uid, alice.uid());
  EXPECT_EQ(user->gid, alice.gid());
}

TEST(UserByUid, RootAndUnknown) {
  SystemFacts facts;
  const auto root = facts.user_by_uid(0);
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(root->name, "root");
  EXPECT_FALSE(facts.user_by_uid(unused_id).has_value());
}

TEST(GroupByName, FindsRootAndARealUsersGroup) {
  SystemFacts facts;
  const auto root = facts.group_by_name("root");
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(root->gid, 0U);
  EXPECT_EQ(root->name, "root");
  EXPECT_FALSE(facts.group_by_name("suwrap-no-such-group-zz").has_value());
  EXPECT_FALSE(facts.group_by_name("").has_value());
  EXPECT_FALSE(facts.group_by_name("root\0x"s).has_value());
}

TEST(GroupByName, FindsATestUsersOwnGroup) {
  SUWRAP_REQUIRE_ROOT();
  TestUser alice("fg");
  SystemFacts facts;
  const auto group = facts.group_by_name(alice.name());  // useradd --user-group names it after the user
  ASSERT_TRUE(group.has_value());
  EXPECT_EQ(group->gid, alice.gid());
  EXPECT_EQ(group->name, alice.name());
}

TEST(GroupByGid, FindsRootATestUsersGroupAndNotAnUnknownOne) {
  SystemFacts facts;
  const auto root = facts.group_by_gid(0);
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(root->name, "root");
  EXPECT_FALSE(facts.group_by_gid(unused_id).has_value());

  if (!suwrap::testing::running_as_root()) GTEST_SKIP() << "needs root for a real user's group";
  TestUser alice("fb");
  const auto group = facts.group_by_gid(alice.gid());
  ASSERT_TRUE(group.has_value());
  EXPECT_EQ(group->name, alice.name());
}

TEST(StatPath, ARealFile) {
  SystemFacts facts;
  const auto env = facts.stat_path("/usr/bin/env");
  ASSERT_TRUE(env.has_value());
  EXPECT_TRUE(env->is_regular());
  EXPECT_EQ(env->uid, 0U);
  struct stat st {};
  ASSERT_EQ(::stat("/usr/bin/env", &st), 0);
  EXPECT_EQ(env->ino, st.st_ino);
  EXPECT_EQ(env->dev, st.st_dev);
  EXPECT_EQ(env->mode, st.st_mode);
  EXPECT_EQ(env->size, st.st_size);
}

TEST(StatPath, FollowsSymlinks) {
  // Handler binaries are links through /etc/alternatives: root's files are judged by target.
  TempTree tree;
  tree.write("bin/real-handler", "#!/bin/sh\n", 0755);
  tree.symlink("real-handler", "bin/handler");
  SystemFacts facts;
  const auto linked = facts.stat_path(tree.path("bin/handler"));
  ASSERT_TRUE(linked.has_value());
  EXPECT_TRUE(linked->is_regular());
  EXPECT_FALSE(linked->is_symlink());
  const auto real = facts.stat_path(tree.path("bin/real-handler"));
  ASSERT_TRUE(real.has_value());
  EXPECT_TRUE(linked->same_file(*real));
}

TEST(StatPath, MissingOrMalformedIsNullopt) {
  SystemFacts facts;
  EXPECT_FALSE(facts.stat_path("/nonexistent/suwrap/handler").has_value());
  EXPECT_FALSE(facts.stat_path("").has_value());
  EXPECT_FALSE(facts.stat_path("/usr/bin/env\0.x"s).has_value());
}

TEST(SystemFactsWalk, IsTheWalkByDescriptor) {
  TempTree tree;
  tree.write("site/x.php", "x");
  tree.symlink("x.php", "site/link.php");
  char* resolved = ::realpath(tree.root().c_str(), nullptr);
  ASSERT_NE(resolved, nullptr);
  const std::string base = resolved;
  std::free(resolved);  // NOLINT(cppcoreguidelines-no-malloc)

  SystemFacts facts;
  const auto walk = facts.walk(base + "/site/link.php");
  ASSERT_TRUE(walk) << walk.error().to_string();
  EXPECT_EQ(walk->physical_path(), base + "/site/x.php");
  EXPECT_EQ(walk->links.size(), 1U);

  const auto missing = facts.walk(base + "/site/none.php");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, suwrap::policy::WalkErrorKind::missing);
}

TEST(FileFactsFrom, CopiesEveryField) {
  struct stat st {};
  st.st_dev = 7;
  st.st_ino = 42;
  st.st_mode = S_IFREG | 04755;
  st.st_uid = 1001;
  st.st_gid = 1002;
  st.st_nlink = 3;
  st.st_size = 12345;
  const FileFacts facts = FileFacts::from(st);
  EXPECT_EQ(facts.dev, 7U);
  EXPECT_EQ(facts.ino, 42U);
  EXPECT_EQ(facts.mode, static_cast<mode_t>(S_IFREG | 04755));
  EXPECT_EQ(facts.uid, 1001U);
  EXPECT_EQ(facts.gid, 1002U);
  EXPECT_EQ(facts.nlink, 3U);
  EXPECT_EQ(facts.size, 12345);
  EXPECT_TRUE(facts.is_regular());
  EXPECT_FALSE(facts.is_dir());
}

}  // namespace

namespace {

// The SAPI is read from the program's own data, not from its name.
TEST(PhpSapi, TellsPhpCgiFromTheCommandLineBinaryAndFromOtherPrograms) {
  suwrap::policy::SystemFacts facts;
  if (::access("/usr/bin/php-cgi", X_OK) == 0) {
    EXPECT_EQ(facts.php_sapi("/usr/bin/php-cgi"), "cgi-fcgi");
  }
  if (::access("/usr/bin/php", X_OK) == 0) {
    EXPECT_EQ(facts.php_sapi("/usr/bin/php"), "cli");
  }
  EXPECT_EQ(facts.php_sapi("/bin/sh"), "");
  EXPECT_EQ(facts.php_sapi("/etc/passwd"), "");
  EXPECT_EQ(facts.php_sapi("/no/such/program"), std::nullopt);
  EXPECT_EQ(facts.php_sapi("/etc"), std::nullopt) << "a directory is no program";
}

// A file that is not ELF is searched whole; the name must stand alone as a C string.
TEST(PhpSapi, FindsTheNameOnlyAsAWholeString) {
  suwrap::testing::TempTree tree;
  const std::string build = std::string(1, '\0') + suwrap::build::php_build_id + '\0';
  tree.write("cgi", std::string("x\0CGI/FastCGI\0y", 15) + build);
  tree.write("other", std::string("x\0CGI/FastCGI\0y", 15) + std::string(1, '\0') + "API1,NTS" + '\0');
  tree.write("fpm", std::string("x\0FPM/CGI/FastCGIx\0y", 20));
  tree.write("cli", std::string("\0Command Line Interface\0", 24));
  suwrap::policy::SystemFacts facts;
  EXPECT_EQ(facts.php_sapi(tree.path("cgi")), "cgi-fcgi");
  EXPECT_EQ(facts.php_sapi(tree.path("other")), "cgi-fcgi-other") << "another PHP build would not load the guard";
  EXPECT_EQ(facts.php_sapi(tree.path("fpm")), "");
  EXPECT_EQ(facts.php_sapi(tree.path("cli")), "cli");
}

}  // namespace
