// SPDX-License-Identifier: Apache-2.0
// The walk remembered until inotify reports a change on it (gate/src/walk_cache.hpp): asked
// of the source once while nothing changed; asked again after a change of a directory's mode,
// an entry made, removed or renamed on the way, the script written or changed; never
// remembered through a link. Real files, real inotify.
#include <poll.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "support.hpp"
#include "suwrap/policy/facts.hpp"
#include "walk_cache.hpp"

namespace {

using suwrap::gate::WalkCache;
using suwrap::policy::SystemFacts;
using suwrap::testing::TempTree;

class WalkCacheOnATree : public ::testing::Test {
 protected:
  WalkCacheOnATree() {
    tree.mkdir("site");
    tree.mkdir("site/sub");
    tree.write("site/sub/page.php", "<?php");
    page = tree.path("site/sub/page.php");
  }
  // Walks `path` through the cache: the answer must be what a fresh walk says now.
  void expect_fresh(const std::string& path) {
    const auto cached = cache.walk(path);
    const auto now = system.walk(path);
    ASSERT_EQ(cached.has_value(), now.has_value());
    if (!now) return;
    EXPECT_EQ(cached->physical_path(), now->physical_path());
    EXPECT_TRUE(cached->object.facts.same_identity(now->object.facts));
    EXPECT_EQ(cached->object.facts.mode, now->object.facts.mode);
    ASSERT_EQ(cached->dirs.size(), now->dirs.size());
    for (std::size_t i = 0; i < now->dirs.size(); ++i) EXPECT_EQ(cached->dirs[i].facts.mode, now->dirs[i].facts.mode);
  }
  // The note of `page`'s walk, walked until it is remembered (a suite beside this one may
  // make the first walks stale at once).
  std::string* remembered_note() {
    for (int attempt = 0; attempt < 20; ++attempt) {
      expect_fresh(page);
      if (std::string* note = cache.note(page)) return note;
    }
    return nullptr;
  }
  TempTree tree;
  SystemFacts system;
  WalkCache cache{system};
  std::string page;
};

// The directories from / down are shared with the suites running beside this one (an entry
// they make in /run/suwrap-tests is an event here too): the counts below are at least what
// this test's own change must cause, and "once" is asked of a quiet moment among a few.
TEST_F(WalkCacheOnATree, WalksOnceWhileNothingChanged) {
  bool once = false;
  for (int attempt = 0; attempt < 20 && !once; ++attempt) {
    WalkCache fresh(system);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(fresh.walk(page).has_value());
    once = fresh.source_walks() == 1 && fresh.remembered() == 1;
  }
  EXPECT_TRUE(once) << "five walks of an unchanged path asked the source more than once, twenty times over";
  for (int i = 0; i < 5; ++i) expect_fresh(page);
}

// What lives on a file system whose changes inotify does not see whole (NFS, FUSE, overlayfs;
// here procfs, which is not local storage either) is never remembered.
TEST_F(WalkCacheOnATree, NothingOnAFileSystemInotifyCannotFollowIsRemembered) {
  WalkCache fresh(system);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(fresh.walk("/proc/version").has_value());
  EXPECT_EQ(fresh.source_walks(), 3U);
  EXPECT_EQ(fresh.remembered(), 0U);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(fresh.stat_path("/proc/version").has_value());
  EXPECT_EQ(fresh.source_stats(), 3U);
}

TEST_F(WalkCacheOnATree, ADirectoryOnTheWayChangingModeIsWalkedAgain) {
  expect_fresh(page);
  tree.chmod("site", 0775);
  expect_fresh(page);
  EXPECT_GE(cache.source_walks(), 2U);
}

TEST_F(WalkCacheOnATree, TheScriptWrittenOrChangedIsWalkedAgain) {
  expect_fresh(page);
  std::ofstream(page, std::ios::app) << "echo 1;";  // a new change time
  expect_fresh(page);
  const auto after_write = cache.source_walks();
  EXPECT_GE(after_write, 2U);
  tree.chmod("site/sub/page.php", 0664);
  expect_fresh(page);
  EXPECT_GT(cache.source_walks(), after_write);
}

TEST_F(WalkCacheOnATree, ARenameOnTheWayIsWalkedAgain) {
  expect_fresh(page);
  // Another directory takes sub's place: the same name now means other files.
  tree.mkdir("other");
  tree.write("other/page.php", "<?php other", 0664);
  ASSERT_EQ(::rename(tree.path("site/sub").c_str(), tree.path("old-sub").c_str()), 0);
  ASSERT_EQ(::rename(tree.path("other").c_str(), tree.path("site/sub").c_str()), 0);
  expect_fresh(page);
  EXPECT_GE(cache.source_walks(), 2U);
}

TEST_F(WalkCacheOnATree, AScriptRemovedIsNotFoundAgain) {
  expect_fresh(page);
  ASSERT_EQ(::unlink(page.c_str()), 0);
  EXPECT_FALSE(cache.walk(page).has_value());
  EXPECT_EQ(cache.remembered(), 0U);
}

// What note() answers: nothing, or a note made since the last walk (not `kept`).
bool forgotten(const std::string* note) {
  return note == nullptr || note->empty();
}

TEST_F(WalkCacheOnATree, AnEntryMadeInADirectoryOnTheWayIsWalkedAgain) {
  expect_fresh(page);
  std::string* note = remembered_note();
  ASSERT_NE(note, nullptr);
  *note = "kept";
  tree.write("site/.user.ini", "x=1");
  expect_fresh(page);
  EXPECT_TRUE(forgotten(cache.note(page)));
  EXPECT_GE(cache.source_walks(), 2U);
}

TEST_F(WalkCacheOnATree, APathThroughALinkIsNeverRemembered) {
  tree.symlink("site/sub", "linked");
  const std::string through = tree.path("linked/page.php");
  expect_fresh(through);
  expect_fresh(through);
  EXPECT_EQ(cache.source_walks(), 2U);
  EXPECT_EQ(cache.remembered(), 0U);
}

TEST_F(WalkCacheOnATree, ANoteIsKeptWithItsWalkAndForgottenWithIt) {
  EXPECT_EQ(cache.note(page), nullptr);
  std::string* note = remembered_note();
  ASSERT_NE(note, nullptr);
  *note = "verdict";
  tree.chmod("site/sub", 0700);
  // The note is asked after the request's walk, which reads the queue.
  expect_fresh(page);
  EXPECT_TRUE(forgotten(cache.note(page)));
}

TEST_F(WalkCacheOnATree, AQuietCacheReadsNothingUntilToldToLookAgain) {
  std::string* note = remembered_note();
  ASSERT_NE(note, nullptr);
  *note = "verdict";
  ASSERT_GE(cache.descriptor(), 0);
  // The caller polled and found nothing: the walk is answered from memory.
  cache.set_quiet(true);
  const std::size_t walks = cache.source_walks();
  ASSERT_TRUE(cache.walk(page).has_value());
  EXPECT_EQ(cache.source_walks(), walks);
  // A change is waiting on the descriptor, for the caller's next poll.
  tree.chmod("site/sub", 0700);
  pollfd fd{cache.descriptor(), POLLIN, 0};
  EXPECT_EQ(::poll(&fd, 1, 0), 1);
  cache.set_quiet(false);
  expect_fresh(page);
  EXPECT_GT(cache.source_walks(), walks);
  EXPECT_TRUE(forgotten(cache.note(page)));
}

// ---- stat() of a handler's files, remembered while watched --------------------------------

class StatCacheOnATree : public WalkCacheOnATree {
 protected:
  StatCacheOnATree() {
    tree.mkdir("etc/ini");
    tree.write("etc/ini/php.ini", "x=1");
    tree.mkdir("usr/bin");
    tree.write("usr/bin/php-cgi8", "#!");
    tree.mkdir("etc/alt");
    tree.symlink(tree.path("usr/bin/php-cgi8"), "etc/alt/php-cgi");
    tree.symlink("../../etc/alt/php-cgi", "usr/bin/php-cgi");
    ini = tree.path("etc/ini/php.ini");
    program = tree.path("usr/bin/php-cgi");
  }
  // stat() through the cache: what stat() says now.
  void expect_fresh_stat(const std::string& path) {
    const auto cached = cache.stat_path(path);
    const auto now = system.stat_path(path);
    ASSERT_EQ(cached.has_value(), now.has_value()) << path;
    if (!now) return;
    EXPECT_TRUE(cached->same_identity(*now)) << path;
    EXPECT_EQ(cached->mode, now->mode) << path;
    EXPECT_EQ(cached->size, now->size) << path;
  }
  // Whether `path` is answered from memory at one quiet moment among a few (the directories
  // from / down are shared with the suites running beside this one).
  bool answered_from_memory(const std::string& path) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      expect_fresh_stat(path);
      const std::size_t stats = cache.source_stats();
      expect_fresh_stat(path);
      if (cache.source_stats() == stats) return true;
    }
    return false;
  }
  // Whether `change` makes the next stat() of `path` go to the source.
  void expect_asked_again_after(const std::string& path, const std::function<void()>& change) {
    ASSERT_TRUE(answered_from_memory(path)) << path;
    const std::size_t stats = cache.source_stats();
    change();
    expect_fresh_stat(path);
    EXPECT_GT(cache.source_stats(), stats) << path;
  }
  std::string ini, program;
};

TEST_F(StatCacheOnATree, AStatIsAnsweredFromMemoryWhileNothingChanged) {
  EXPECT_TRUE(answered_from_memory(ini));
  EXPECT_TRUE(answered_from_memory(tree.path("etc/ini")));
  EXPECT_TRUE(answered_from_memory(program)) << "through two links";
  EXPECT_EQ(cache.remembered_stats(), 3U);
}

TEST_F(StatCacheOnATree, AChmodOrChownOfTheFileIsAskedAgain) {
  expect_asked_again_after(ini, [&] { tree.chmod("etc/ini/php.ini", 0600); });
  if (::geteuid() == 0) expect_asked_again_after(ini, [&] { tree.chown("etc/ini/php.ini", 1, 1); });
}

TEST_F(StatCacheOnATree, AWriteOfTheFileIsAskedAgain) {
  expect_asked_again_after(ini, [&] { std::ofstream(ini, std::ios::app) << "y=2\n"; });
}

TEST_F(StatCacheOnATree, AFileRenamedOverItIsAskedAgain) {
  expect_asked_again_after(ini, [&] {
    tree.write("etc/ini/php.ini.new", "x=3", 0640);
    ASSERT_EQ(::rename(tree.path("etc/ini/php.ini.new").c_str(), ini.c_str()), 0);
  });
  expect_asked_again_after(ini, [&] { ASSERT_EQ(::unlink(ini.c_str()), 0); });
}

TEST_F(StatCacheOnATree, AnEntryMadeInAWatchedDirectoryIsAskedAgain) {
  const std::string dir = tree.path("etc/ini");
  expect_asked_again_after(dir, [&] { tree.write("etc/ini/other.ini", "z=1"); });
  expect_asked_again_after(dir, [&] { tree.chmod("etc", 0700); });
}

TEST_F(StatCacheOnATree, ALinkOnTheWayReplacedIsAskedAgain) {
  tree.write("usr/bin/php-cgi9", "#!/bin/sh\n", 0700);
  expect_asked_again_after(program, [&] {
    ASSERT_EQ(::unlink(tree.path("etc/alt/php-cgi").c_str()), 0);
    tree.symlink(tree.path("usr/bin/php-cgi9"), "etc/alt/php-cgi");
  });
  const auto now = cache.stat_path(program);
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->mode & 07777, 0700U);
  // The target written through the link.
  expect_asked_again_after(
      program, [&] { std::ofstream(tree.path("usr/bin/php-cgi9"), std::ios::app) << "exit 0\n"; });
}

TEST_F(StatCacheOnATree, WhatDoesNotExistIsNotRemembered) {
  const std::string missing = tree.path("etc/ini/missing.ini");
  EXPECT_FALSE(cache.stat_path(missing).has_value());
  EXPECT_FALSE(cache.stat_path(missing).has_value());
  EXPECT_EQ(cache.remembered_stats(), 0U);
  tree.write("etc/ini/missing.ini", "x=1");
  expect_fresh_stat(missing);
}

TEST_F(StatCacheOnATree, AQuietCacheAnswersFromMemoryUntilToldToLookAgain) {
  ASSERT_TRUE(answered_from_memory(ini));
  cache.set_quiet(true);
  const std::size_t stats = cache.source_stats();
  tree.chmod("etc/ini/php.ini", 0600);
  ASSERT_TRUE(cache.stat_path(ini).has_value());
  EXPECT_EQ(cache.source_stats(), stats);
  pollfd fd{cache.descriptor(), POLLIN, 0};
  EXPECT_EQ(::poll(&fd, 1, 0), 1);
  cache.set_quiet(false);
  expect_fresh_stat(ini);
  EXPECT_GT(cache.source_stats(), stats);
}

TEST_F(WalkCacheOnATree, NeverMoreThanItsBound) {
  WalkCache small(system, 2);
  for (int i = 0; i < 5; ++i) {
    const std::string name = "site/p" + std::to_string(i) + ".php";
    tree.write(name, "<?php");
    ASSERT_TRUE(small.walk(tree.path(name)).has_value());
    EXPECT_LE(small.remembered(), 2U);
    ASSERT_TRUE(small.stat_path(tree.path(name)).has_value());
    EXPECT_LE(small.remembered_stats(), 2U);
  }
}

}  // namespace
