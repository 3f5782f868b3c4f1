// SPDX-License-Identifier: Apache-2.0
// Test helpers: real temporary trees and real users. No mocks of the kernel.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace suwrap::testing {

bool running_as_root();

// Skips the current test with a reason unless it runs as root.
#define SUWRAP_REQUIRE_ROOT()                                                       \
  do {                                                                              \
    if (!::suwrap::testing::running_as_root())                                      \
      GTEST_SKIP() << "needs root: it creates users and root-owned files";          \
  } while (0)

// Runs a command through /bin/sh; returns its exit status (-1 if it did not exit).
int run_shell(const std::string& command);
// Runs a command and returns its standard output; `status` gets the exit status.
std::string capture_shell(const std::string& command, int* status = nullptr);

// A scratch directory, removed with everything in it on destruction. As root it is made
// under /run/suwrap-tests (root-owned, 0755, so that the trust checks of a configuration
// can pass there); otherwise under $TMPDIR or /tmp.
class TempTree {
 public:
  TempTree();
  ~TempTree();
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  [[nodiscard]] const std::string& root() const { return root_; }
  // Absolute path of a relative name inside the tree.
  [[nodiscard]] std::string path(std::string_view rel) const;

  // Each creates parents as needed (root-owned, 0755), then the object with the given
  // mode and owner (uid/gid -1: leave as created).
  void mkdir(std::string_view rel, mode_t mode = 0755, uid_t uid = static_cast<uid_t>(-1),
             gid_t gid = static_cast<gid_t>(-1)) const;
  void write(std::string_view rel, std::string_view content, mode_t mode = 0644,
             uid_t uid = static_cast<uid_t>(-1), gid_t gid = static_cast<gid_t>(-1)) const;
  void symlink(std::string_view target, std::string_view rel, uid_t uid = static_cast<uid_t>(-1),
               gid_t gid = static_cast<gid_t>(-1)) const;
  void chmod(std::string_view rel, mode_t mode) const;
  void chown(std::string_view rel, uid_t uid, gid_t gid) const;

 private:
  std::string root_;
};

// A real user made with useradd (uid >= 1000, its own group, no home), removed with userdel.
class TestUser {
 public:
  explicit TestUser(std::string_view prefix);
  ~TestUser();
  TestUser(const TestUser&) = delete;
  TestUser& operator=(const TestUser&) = delete;

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] uid_t uid() const { return uid_; }
  [[nodiscard]] gid_t gid() const { return gid_; }

 private:
  std::string name_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

}  // namespace suwrap::testing
