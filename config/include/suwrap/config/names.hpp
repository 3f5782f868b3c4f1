// SPDX-License-Identifier: Apache-2.0
// The names every part of suwrap shares: the checks of suwrap(8), CHECKS, in their order,
// and a decision's verdict. One name per idea, the same in code, log, CLI and tests.
#pragma once

#include <optional>
#include <string_view>

namespace suwrap::policy {

// The stable names and order of suwrap(8), CHECKS. Checks 13-15 are made by suwrap itself.
enum class Check {
  caller = 1,
  config,
  request,
  docroot,
  path,
  target,
  user,
  owner,
  dir_perms,
  file_perms,
  handler,
  vhost,
  drop,
  identity,
  exec,
};
inline constexpr int last_policy_check = 12;  // checks 1..12 are the library's

std::string_view check_name(Check c);
std::optional<Check> check_from_name(std::string_view name);

enum class Verdict { allow, deny, error };
std::string_view verdict_name(Verdict v);

}  // namespace suwrap::policy
