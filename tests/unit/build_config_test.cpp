// SPDX-License-Identifier: Apache-2.0
#include <string_view>

#include <gtest/gtest.h>

#include "suwrap/build_config.hpp"
#include "suwrap/policy/checks.hpp"
#include "suwrap/policy/environment.hpp"
#include "suwrap/policy/log_record.hpp"
#include "suwrap/config/paths.hpp"

TEST(BuildConfig, ConfigPathIsAbsolute) {
  const std::string_view path = suwrap::build::config_path;
  ASSERT_FALSE(path.empty());
  EXPECT_EQ(path.front(), '/');
}
