// SPDX-License-Identifier: Apache-2.0
// The names every part of suwrap shares: the checks of suwrap(8), CHECKS, in their order,
// and a decision's verdict. One name per idea, the same in code, log, CLI and tests.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

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

// suwrap's refusal line on its standard error, written once, before the refusal's response:
// "suwrap: refused by check `<name>`\n". suwrap-cgid reads it at the start of that stream
// to count refusals by check (suwrap-cgid(8), METRICS) and passes nothing of it on; a web
// server that runs suwrap itself logs it.
std::string refusal_line(Check check);
// The check of a refusal line at the very start of `bytes`, and the line's length with its
// newline; nullopt for anything else.
std::optional<std::pair<Check, std::size_t>> parse_refusal_line(std::string_view bytes);

enum class Verdict { allow, deny, error };
std::string_view verdict_name(Verdict v);

}  // namespace suwrap::policy
