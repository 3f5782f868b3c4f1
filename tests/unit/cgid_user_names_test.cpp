// SPDX-License-Identifier: Apache-2.0
// The router's user names: remembered while nothing in the watched directory changed and
// `keep` has not passed, asked again as soon as either happens. Real inotify.
#include <unistd.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "support.hpp"
#include "user_names.hpp"

namespace {

using suwrap::cgid::passwd_user_name;
using suwrap::cgid::UserNames;
using suwrap::testing::TempTree;
using namespace std::chrono_literals;

// A passwd database of one user, whose name the test changes.
struct FakePasswd {
  std::string name = "alice";
  std::optional<std::string> operator()(uid_t uid) const {
    if (uid != 1001) return std::nullopt;
    return name;
  }
};

// Names remembered for an hour unless the watched directory says otherwise.
class WatchedNames : public ::testing::Test {
 protected:
  void SetUp() override { tree.write("etc/passwd", "one"); }
  TempTree tree;
  FakePasswd passwd;
  UserNames names{tree.path("etc"), 1h, std::ref(passwd)};
};

TEST_F(WatchedNames, AsksOnceWhileNothingChanged) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(names.name(1001), "alice");
    EXPECT_EQ(names.name(1002), std::nullopt);
  }
  EXPECT_EQ(names.lookups(), 2U);
}

TEST_F(WatchedNames, AFileEditedOrReplacedInTheDirectoryIsAskedAgain) {
  EXPECT_EQ(names.name(1001), "alice");
  passwd.name = "bob";
  tree.write("etc/passwd", "two");  // edited in place
  EXPECT_EQ(names.name(1001), "bob");
  passwd.name = "carol";
  tree.write("etc/passwd+", "three");
  ASSERT_EQ(::rename(tree.path("etc/passwd+").c_str(), tree.path("etc/passwd").c_str()), 0);  // replaced
  EXPECT_EQ(names.name(1001), "carol");
  EXPECT_EQ(names.name(1001), "carol");
  EXPECT_EQ(names.lookups(), 3U);
}

TEST_F(WatchedNames, ForgetAsksAgain) {
  EXPECT_EQ(names.name(1001), "alice");
  passwd.name = "bob";
  names.forget();
  EXPECT_EQ(names.name(1001), "bob");
}

TEST(UserNames, NothingIsKeptLongerThanKeep) {
  TempTree tree;
  tree.mkdir("etc");
  FakePasswd passwd;
  UserNames names(tree.path("etc"), 0s, std::ref(passwd));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(names.name(1001), "alice");
  EXPECT_EQ(names.lookups(), 3U);
}

TEST(UserNames, WithoutAWatchNothingIsRemembered) {
  TempTree tree;
  FakePasswd passwd;
  UserNames names(tree.path("missing"), 1h, std::ref(passwd));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(names.name(1001), "alice");
  EXPECT_EQ(names.lookups(), 3U);
}

// The real /etc and the real passwd database: a user removed with userdel is gone at the
// next look-up, whatever `keep`.
TEST(UserNames, AUserRemovedFromTheSystemIsGoneAtOnce) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: creates a user";
  UserNames names("/etc", 1h);
  uid_t uid = 0;
  {
    const suwrap::testing::TestUser user("usernames");
    uid = user.uid();
    ASSERT_EQ(names.name(uid), user.name());
    ASSERT_EQ(names.name(uid), user.name());
  }
  EXPECT_EQ(names.name(uid), std::nullopt);
  EXPECT_EQ(passwd_user_name(0), "root");
}

}  // namespace
