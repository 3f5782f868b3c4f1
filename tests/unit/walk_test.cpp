// SPDX-License-Identifier: Apache-2.0
// walk_path on real trees: the physical directory chain, the facts, the links it follows
// and records, and the ways it stops.
#include "suwrap/policy/walk.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "support.hpp"

namespace {

using suwrap::policy::FileFacts;
using suwrap::policy::walk_path;
using suwrap::policy::WalkErrorKind;
using suwrap::policy::WalkOptions;
using suwrap::testing::TempTree;
using suwrap::testing::TestUser;

using namespace std::string_literals;

// The tree's root with any link on the way to it resolved, so that expectations are
// physical paths like the walk's.
std::string physical(const TempTree& tree) {
  char* resolved = ::realpath(tree.root().c_str(), nullptr);
  EXPECT_NE(resolved, nullptr);
  std::string result = resolved != nullptr ? resolved : "";
  std::free(resolved);  // NOLINT(cppcoreguidelines-no-malloc)
  return result;
}

// "/", "/a", "/a/b" for "/a/b".
std::vector<std::string> chain_of(const std::string& dir) {
  std::vector<std::string> chain = {"/"};
  for (size_t pos = dir.find('/', 1); pos != std::string::npos; pos = dir.find('/', pos + 1))
    chain.push_back(dir.substr(0, pos));
  if (dir != "/") chain.push_back(dir);
  return chain;
}

FileFacts lstat_facts(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return FileFacts::from(st);
}

void expect_same_facts(const FileFacts& actual, const FileFacts& expected, const std::string& what) {
  EXPECT_EQ(actual.dev, expected.dev) << what;
  EXPECT_EQ(actual.ino, expected.ino) << what;
  EXPECT_EQ(actual.mode, expected.mode) << what;
  EXPECT_EQ(actual.uid, expected.uid) << what;
  EXPECT_EQ(actual.gid, expected.gid) << what;
  EXPECT_EQ(actual.nlink, expected.nlink) << what;
  EXPECT_EQ(actual.size, expected.size) << what;
}

std::vector<std::string> dir_paths(const suwrap::policy::Walk& walk) {
  std::vector<std::string> paths;
  for (const auto& dir : walk.dirs) paths.push_back(dir.path);
  return paths;
}

size_t open_fd_count() {
  size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++count;
  return count;
}

TEST(WalkPath, PlainFileGivesThePhysicalChainAndItsFacts) {
  TempTree tree;
  tree.write("site/sub/x.php", "<?php echo 1;", 0640);
  const std::string base = physical(tree);
  const std::string file = base + "/site/sub/x.php";

  const auto walk = walk_path(file);
  ASSERT_TRUE(walk) << walk.error().to_string();

  EXPECT_EQ(walk->object.path, file);
  EXPECT_EQ(walk->physical_path(), file);
  EXPECT_TRUE(walk->object.facts.is_regular());
  expect_same_facts(walk->object.facts, lstat_facts(file), file);
  EXPECT_EQ(walk->object.facts.mode & 07777, 0640U);

  EXPECT_EQ(dir_paths(*walk), chain_of(base + "/site/sub"));
  ASSERT_FALSE(walk->dirs.empty());
  EXPECT_EQ(walk->dirs.front().path, "/");
  EXPECT_EQ(walk->dirs.back().path, base + "/site/sub");
  for (const auto& dir : walk->dirs) {
    EXPECT_TRUE(dir.facts.is_dir()) << dir.path;
    expect_same_facts(dir.facts, lstat_facts(dir.path), dir.path);
  }
  EXPECT_TRUE(walk->links.empty());
}

TEST(WalkPath, FactsCarryTheOwnerOfEachObject) {
  SUWRAP_REQUIRE_ROOT();
  TestUser alice("wk");
  TempTree tree;
  tree.mkdir("home/alice", 0750, alice.uid(), alice.gid());
  tree.write("home/alice/x.php", "x", 0600, alice.uid(), alice.gid());
  const std::string base = physical(tree);

  const auto walk = walk_path(base + "/home/alice/x.php");
  ASSERT_TRUE(walk) << walk.error().to_string();
  EXPECT_EQ(walk->object.facts.uid, alice.uid());
  EXPECT_EQ(walk->object.facts.gid, alice.gid());
  ASSERT_GE(walk->dirs.size(), 2U);
  EXPECT_EQ(walk->dirs.back().facts.uid, alice.uid());
  EXPECT_EQ(walk->dirs.back().facts.mode & 07777, 0750U);
  EXPECT_EQ(walk->dirs[walk->dirs.size() - 2].facts.uid, 0U);  // "home", made by root
}

TEST(WalkPath, ReturnedFdIsTheObjectOpenedAsOPath) {
  TempTree tree;
  tree.write("x.php", "x");
  const std::string file = physical(tree) + "/x.php";

  const auto walk = walk_path(file);
  ASSERT_TRUE(walk) << walk.error().to_string();
  ASSERT_TRUE(walk->fd.valid());
  struct stat st {};
  ASSERT_EQ(::fstat(walk->fd.get(), &st), 0);
  EXPECT_EQ(st.st_dev, walk->object.facts.dev);
  EXPECT_EQ(st.st_ino, walk->object.facts.ino);
  const auto real = lstat_facts(file);
  EXPECT_EQ(st.st_ino, real.ino);

  const int status_flags = ::fcntl(walk->fd.get(), F_GETFL);
  EXPECT_NE(status_flags & O_PATH, 0) << "the walk holds objects without opening them for I/O";
  EXPECT_NE(::fcntl(walk->fd.get(), F_GETFD) & FD_CLOEXEC, 0) << "no walk fd may reach the handler";
}

TEST(WalkPath, KeepsOnlyTheObjectsFdOpen) {
  TempTree tree;
  tree.write("a/b/c/x.php", "x");
  tree.symlink("c/x.php", "a/b/link.php");
  const std::string base = physical(tree);

  const size_t before = open_fd_count();
  {
    const auto walk = walk_path(base + "/a/b/link.php");
    ASSERT_TRUE(walk) << walk.error().to_string();
    EXPECT_EQ(open_fd_count(), before + 1);
  }
  EXPECT_EQ(open_fd_count(), before);
  {
    const auto missing = walk_path(base + "/a/b/c/nope/x.php");
    ASSERT_FALSE(missing);
    EXPECT_EQ(open_fd_count(), before);
  }
}

TEST(WalkPath, MissingComponentNamesWhereItStopped) {
  TempTree tree;
  tree.mkdir("site");
  const std::string base = physical(tree);

  const auto walk = walk_path(base + "/site/nope/x.php");
  ASSERT_FALSE(walk);
  EXPECT_EQ(walk.error().kind, WalkErrorKind::missing);
  EXPECT_EQ(walk.error().err, ENOENT);
  EXPECT_EQ(walk.error().path, base + "/site/nope");
  EXPECT_EQ(walk.error().to_string(), base + "/site/nope does not exist");

  const auto last = walk_path(base + "/site/x.php");
  ASSERT_FALSE(last);
  EXPECT_EQ(last.error().kind, WalkErrorKind::missing);
  EXPECT_EQ(last.error().path, base + "/site/x.php");
}

TEST(WalkPath, FileUsedAsDirectoryIsNotDirectory) {
  TempTree tree;
  tree.write("site/x.php", "x");
  const std::string base = physical(tree);

  const auto walk = walk_path(base + "/site/x.php/y");
  ASSERT_FALSE(walk);
  EXPECT_EQ(walk.error().kind, WalkErrorKind::not_directory);
  EXPECT_EQ(walk.error().path, base + "/site/x.php/y");
  EXPECT_EQ(walk.error().to_string(), base + "/site/x.php/y: x.php is not a directory");

  // Neither "." nor ".." nor a trailing '/' can be asked of a file, as with the kernel.
  const std::string file = base + "/site/x.php";
  for (const char* suffix : {"/.", "/..", "/"}) {
    const auto dotted = walk_path(file + suffix);
    ASSERT_FALSE(dotted) << suffix;
    EXPECT_EQ(dotted.error().kind, WalkErrorKind::not_directory) << suffix;
  }
}

TEST(WalkPath, DirectoryIsAnObjectToo) {
  TempTree tree;
  tree.mkdir("site/sub");
  const std::string base = physical(tree);

  const auto walk = walk_path(base + "/site/sub/");
  ASSERT_TRUE(walk) << walk.error().to_string();
  EXPECT_EQ(walk->object.path, base + "/site/sub");
  EXPECT_TRUE(walk->object.facts.is_dir());
  EXPECT_EQ(dir_paths(*walk), chain_of(base + "/site"));
}

TEST(WalkPath, RootHasNoHoldingDirectory) {
  const auto walk = walk_path("/");
  ASSERT_TRUE(walk) << walk.error().to_string();
  EXPECT_EQ(walk->object.path, "/");
  EXPECT_TRUE(walk->object.facts.is_dir());
  EXPECT_TRUE(walk->dirs.empty());
  expect_same_facts(walk->object.facts, lstat_facts("/"), "/");
}

TEST(WalkPath, RelativeSymlinkInTheSameDirectoryIsFollowedAndRecorded) {
  SUWRAP_REQUIRE_ROOT();
  TestUser alice("wl");
  TempTree tree;
  tree.write("site/x.php", "x", 0644, alice.uid(), alice.gid());
  tree.symlink("x.php", "site/link.php", alice.uid(), alice.gid());
  const std::string base = physical(tree);

  const auto walk = walk_path(base + "/site/link.php");
  ASSERT_TRUE(walk) << walk.error().to_string();
  EXPECT_EQ(walk->object.path, base + "/site/x.php");
  EXPECT_TRUE(walk->object.facts.is_regular());
  EXPECT_EQ(dir_paths(*walk), chain_of(base + "/site"));

  ASSERT_EQ(walk->links.size(), 1U);
  const auto& link = walk->links[0];
  EXPECT_EQ(link.path, base + "/site/link.php");
  EXPECT_EQ(link.target, "x.php");
  EXPECT_TRUE(link.link.is_symlink());
  EXPECT_EQ(link.link.uid, alice.uid());
  EXPECT_EQ(link.link.gid, alice.gid());
  expect_same_facts(link.link, lstat_facts(base + "/site/link.php"), "the link itself");
  EXPECT_EQ(link.resolved_path, base + "/site/x.php");
  EXPECT_TRUE(link.resolved.same_file(walk->object.facts));
  EXPECT_EQ(link.resolved.uid, alice.uid());
}

TEST(WalkPath, LinkOwnerAndTargetOwnerAreKeptApart) {
  SUWRAP_REQUIRE_ROOT();
  TestUser mallory("wm");
  TempTree tree;
  tree.write("secret.php", "x", 0600);  // root's
  tree.symlink(physical(tree) + "/secret.php", "site/x.php", mallory.uid(), mallory.gid());
  const std::string base = physical(tree);

  const auto walk = walk_path(base + "/site/x.php");
  ASSERT_TRUE(walk) << walk.error().to_string();
  ASSERT_EQ(walk->links.size(), 1U);
  EXPECT_EQ(walk->links[0].link.uid, mallory.uid());
  EXPECT_EQ(walk->links[0].resolved.uid, 0U);
  EXPECT_EQ(walk->object.facts.uid, 0U);
}

TEST(WalkPath, AbsoluteSymlinkMakesTheChainTheTargets) {
  TempTree tree;
  tree.write("real/site/index.php", "x");
  const std::string base = physical(tree);
  tree.symlink(base + "/real/site", "www/site");

  const auto walk = walk_path(base + "/www/site/index.php");
  ASSERT_TRUE(walk) << walk.error().to_string();
  EXPECT_EQ(walk->object.path, base + "/real/site/index.php");
  EXPECT_EQ(dir_paths(*walk), chain_of(base + "/real/site"));
  for (const auto& dir : walk->dirs)
    EXPECT_NE(dir.path, base + "/www") << "the link's directory is not on the chain";

  ASSERT_EQ(walk->links.size(), 1U);
  EXPECT_EQ(walk->links[0].path, base + "/www/site");
  EXPECT_EQ(walk->links[0].target, base + "/real/site");
  EXPECT_EQ(walk->links[0].resolved_path, base + "/real/site");
  EXPECT_TRUE(walk->links[0].resolved.is_dir());
}

TEST(WalkPath, DotDotInALinkPopsThePhysicalChain) {
  TempTree tree;
  tree.mkdir("a/b");
  tree.write("a/c/file.php", "x");
  tree.symlink("../c/file.php", "a/b/link.php");
  const std::string base = physical(tree);

  const auto walk = walk_path(base + "/a/b/link.php");
  ASSERT_TRUE(walk) << walk.error().to_string();
  EXPECT_EQ(walk->object.path, base + "/a/c/file.php");
  EXPECT_EQ(dir_paths(*walk), chain_of(base + "/a/c"));
  ASSERT_EQ(walk->links.size(), 1U);
  EXPECT_EQ(walk->links[0].resolved_path, base + "/a/c/file.php");
}

TEST(WalkPath, DotDotAfterALinkedDirectoryLeavesTheTargetNotTheLink) {
  // As in the kernel, ".." after a link to a directory is the target's parent.
  TempTree tree;
  tree.write("deep/er/x.php", "x");
  tree.write("deep/y.php", "y");
  const std::string base = physical(tree);
  tree.symlink(base + "/deep/er", "top/link");

  const auto walk = walk_path(base + "/top/link/../y.php");
  ASSERT_TRUE(walk) << walk.error().to_string();
  EXPECT_EQ(walk->object.path, base + "/deep/y.php");
}

TEST(WalkPath, DotDotNeverClimbsAboveRoot) {
  TempTree tree;
  tree.write("a/c/file.php", "x");
  const std::string base = physical(tree);
  std::string climb;
  for (int i = 0; i < 64; ++i) climb += "../";
  tree.symlink(climb + base.substr(1) + "/a/c/file.php", "a/up.php");

  const auto walk = walk_path(base + "/a/up.php");
  ASSERT_TRUE(walk) << walk.error().to_string();
  EXPECT_EQ(walk->object.path, base + "/a/c/file.php");
  EXPECT_EQ(dir_paths(*walk), chain_of(base + "/a/c"));
}

TEST(WalkPath, ChainedLinksAllResolveToTheFinalObject) {
  TempTree tree;
  tree.write("site/x.php", "x");
  tree.symlink("second.php", "site/first.php");
  tree.symlink("x.php", "site/second.php");
  const std::string base = physical(tree);

  const auto walk = walk_path(base + "/site/first.php");
  ASSERT_TRUE(walk) << walk.error().to_string();
  EXPECT_EQ(walk->object.path, base + "/site/x.php");
  ASSERT_EQ(walk->links.size(), 2U);
  EXPECT_EQ(walk->links[0].path, base + "/site/first.php");
  EXPECT_EQ(walk->links[1].path, base + "/site/second.php");
  EXPECT_EQ(walk->links[0].resolved_path, base + "/site/x.php");
  EXPECT_EQ(walk->links[1].resolved_path, base + "/site/x.php");
  EXPECT_TRUE(walk->links[0].resolved.is_regular())
      << "a chained link resolves to the final object, not a link";
}

TEST(WalkPath, LinkInsideALinksTargetResolvesToItsOwnEnd) {
  // dirlink -> real; real/inner.php -> x.php. The first link leads to the directory, the
  // second to the file.
  TempTree tree;
  tree.write("real/x.php", "x");
  tree.symlink("x.php", "real/inner.php");
  tree.symlink("real", "dirlink");
  const std::string base = physical(tree);

  const auto walk = walk_path(base + "/dirlink/inner.php");
  ASSERT_TRUE(walk) << walk.error().to_string();
  ASSERT_EQ(walk->links.size(), 2U);
  EXPECT_EQ(walk->links[0].resolved_path, base + "/real");
  EXPECT_TRUE(walk->links[0].resolved.is_dir());
  EXPECT_EQ(walk->links[1].path, base + "/real/inner.php");
  EXPECT_EQ(walk->links[1].resolved_path, base + "/real/x.php");
}

TEST(WalkPath, LinkLoopIsTooManyLinks) {
  TempTree tree;
  tree.symlink("loop2", "site/loop1");
  tree.symlink("loop1", "site/loop2");
  tree.symlink("self", "site/self");
  const std::string base = physical(tree);

  const std::string site = base + "/site/";
  for (const char* name : {"loop1", "self"}) {
    const auto walk = walk_path(site + name);
    ASSERT_FALSE(walk) << name;
    EXPECT_EQ(walk.error().kind, WalkErrorKind::too_many_links) << name;
    EXPECT_EQ(walk.error().err, ELOOP) << name;
  }
}

TEST(WalkPath, LinkBudgetCountsEveryLink) {
  TempTree tree;
  tree.write("site/x.php", "x");
  tree.symlink("x.php", "site/one.php");
  tree.symlink("one.php", "site/two.php");
  const std::string base = physical(tree);

  EXPECT_TRUE(walk_path(base + "/site/one.php", WalkOptions{1}));
  const auto over = walk_path(base + "/site/two.php", WalkOptions{1});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().kind, WalkErrorKind::too_many_links);
  EXPECT_EQ(over.error().path, base + "/site/one.php");

  const auto none = walk_path(base + "/site/one.php", WalkOptions{0});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, WalkErrorKind::too_many_links);
  EXPECT_TRUE(walk_path(base + "/site/x.php", WalkOptions{0}));
}

TEST(WalkPath, DanglingLinkIsMissingAtItsTarget) {
  TempTree tree;
  tree.symlink("nowhere.php", "site/dangling.php");
  const std::string base = physical(tree);

  const auto walk = walk_path(base + "/site/dangling.php");
  ASSERT_FALSE(walk);
  EXPECT_EQ(walk.error().kind, WalkErrorKind::missing);
  EXPECT_EQ(walk.error().path, base + "/site/nowhere.php");
}

TEST(WalkPath, LinkWithATrailingSlashToAFileIsNotDirectory) {
  TempTree tree;
  tree.write("site/x.php", "x");
  tree.symlink("x.php/", "site/slash.php");
  const std::string base = physical(tree);

  const auto walk = walk_path(base + "/site/slash.php");
  ASSERT_FALSE(walk);
  EXPECT_EQ(walk.error().kind, WalkErrorKind::not_directory);
}

TEST(WalkPath, DirectoryWithoutSearchPermissionIsDenied) {
  SUWRAP_REQUIRE_ROOT();
  TestUser bob("wd");
  TempTree tree;
  tree.mkdir("private", 0700);  // root's, and nobody else may search it
  tree.write("private/x.php", "x");
  const std::string base = physical(tree);
  const std::string file = base + "/private/x.php";

  // As root the walk passes: root searches anything.
  ASSERT_TRUE(walk_path(file));

  const pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    // The child takes bob's uid for good; the verdict travels back in its exit status.
    if (::setresuid(bob.uid(), bob.uid(), bob.uid()) != 0) ::_exit(10);
    const auto walk = walk_path(file);
    if (walk) ::_exit(11);
    if (walk.error().kind != WalkErrorKind::denied) ::_exit(12);
    if (walk.error().err != EACCES) ::_exit(13);
    if (walk.error().path != file) ::_exit(14);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10: setresuid failed, 11: walk passed, 12: wrong kind, 13: wrong errno, "
         "14: wrong path";
}

TEST(WalkPath, InputMustBeAbsoluteAndWhole) {
  TempTree tree;
  tree.write("x.php", "x");
  const std::string base = physical(tree);

  const auto relative = walk_path("tmp/x.php");
  ASSERT_FALSE(relative);
  EXPECT_EQ(relative.error().kind, WalkErrorKind::io);
  EXPECT_EQ(relative.error().err, EINVAL);

  EXPECT_FALSE(walk_path(""));

  // A NUL would make the system call see only "<base>/x.php".
  const auto with_nul = walk_path(base + "/x.php\0/../other"s);
  ASSERT_FALSE(with_nul);
  EXPECT_EQ(with_nul.error().kind, WalkErrorKind::io);
  EXPECT_EQ(with_nul.error().err, EINVAL);
}

TEST(WalkPath, OverlongPathOrNameIsTooLong) {
  const auto long_path = walk_path("/" + std::string(PATH_MAX, 'a'));
  ASSERT_FALSE(long_path);
  EXPECT_EQ(long_path.error().kind, WalkErrorKind::too_long);

  const auto long_name = walk_path("/" + std::string(NAME_MAX + 1, 'a'));
  ASSERT_FALSE(long_name);
  EXPECT_EQ(long_name.error().kind, WalkErrorKind::too_long);
}

TEST(WalkPath, OverlyDeepTreeIsTooLong) {
  TempTree tree;
  std::string deep;
  for (int i = 0; i < 600; ++i) deep += "d/";
  tree.write(deep + "x.php", "x");
  const std::string base = physical(tree);

  const auto walk = walk_path(base + "/" + deep + "x.php");
  ASSERT_FALSE(walk);
  EXPECT_EQ(walk.error().kind, WalkErrorKind::too_long);
}

TEST(WalkPath, DotDotInTheInputIsPhysical) {
  TempTree tree;
  tree.mkdir("a/b");
  tree.write("a/c/file.php", "x");
  const std::string base = physical(tree);

  const auto walk = walk_path(base + "/a/b/../c/./file.php");
  ASSERT_TRUE(walk) << walk.error().to_string();
  EXPECT_EQ(walk->object.path, base + "/a/c/file.php");
  EXPECT_EQ(dir_paths(*walk), chain_of(base + "/a/c"));
}

TEST(WalkErrorToString, EveryKindIsASentence) {
  using suwrap::policy::WalkError;
  EXPECT_EQ((WalkError{WalkErrorKind::missing, "/var/www/x.php", ENOENT}).to_string(),
            "/var/www/x.php does not exist");
  EXPECT_EQ((WalkError{WalkErrorKind::not_directory, "/var/www/x.php/y", ENOTDIR}).to_string(),
            "/var/www/x.php/y: x.php is not a directory");
  EXPECT_EQ((WalkError{WalkErrorKind::too_many_links, "/var/www/l", ELOOP}).to_string(),
            "/var/www/l: too many levels of symbolic links");
  EXPECT_EQ((WalkError{WalkErrorKind::denied, "/var/www/p/x.php", EACCES}).to_string(),
            "/var/www/p/x.php: permission denied on the way");
  EXPECT_NE((WalkError{WalkErrorKind::too_long, "/var/www/x", ENAMETOOLONG}).to_string().find("too long"),
            std::string::npos);
  EXPECT_EQ((WalkError{WalkErrorKind::io, "/var/www/x", EIO}).to_string(), "/var/www/x: Input/output error");
}

}  // namespace
