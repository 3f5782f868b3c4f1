// SPDX-License-Identifier: Apache-2.0
#include "suwrap/config/children.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

using suwrap::policy::children_of;

bool lists(const std::vector<pid_t>& children, pid_t pid) {
  return std::find(children.begin(), children.end(), pid) != children.end();
}

TEST(ChildrenOf, SelfAndItsPidListTheSameChildUntilItIsReaped) {
  const pid_t child = ::fork();
  if (child == 0) {
    for (;;) ::pause();
  }
  ASSERT_GT(child, 0);
  EXPECT_TRUE(lists(children_of("self", ::getpid()), child));
  EXPECT_TRUE(lists(children_of(std::to_string(::getpid()), ::getpid()), child));
  ::kill(child, SIGKILL);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_FALSE(lists(children_of("self", ::getpid()), child)) << "reaped: no longer listed";
}

TEST(ChildrenOf, AListThatCannotBeReadIsEmpty) {
  EXPECT_TRUE(children_of("self", 0).empty()) << "no thread 0";
  EXPECT_TRUE(children_of("no-such-process", ::getpid()).empty());
}

}  // namespace
