// SPDX-License-Identifier: Apache-2.0
// Writing account files (suwrap.toml(5)): the text that parse_account reads back as the
// same account. Used by `suwrap-policy account add|set`, which write accounts_dir for panels.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "suwrap/config/config.hpp"

namespace suwrap::policy {

// An account's [limits] keys, in the order of suwrap.toml(5), with the override each sets.
struct LimitField {
  std::string_view key;
  std::optional<std::uint64_t> LimitOverrides::*value;
};
inline constexpr std::array<LimitField, 6> limit_fields{{
    {"cpu_seconds", &LimitOverrides::cpu_seconds},
    {"wall_seconds", &LimitOverrides::wall_seconds},
    {"memory_mb", &LimitOverrides::memory_mb},
    {"nproc", &LimitOverrides::nproc},
    {"nofile", &LimitOverrides::nofile},
    {"fsize_mb", &LimitOverrides::fsize_mb},
}};

// Why `name` cannot name an account (the file <name>.toml), if it cannot: an account name is
// letters, digits, '_', '.' and '-', and does not start with '.' (the loader skips hidden files).
std::optional<std::string> account_name_error(std::string_view name);

// A TOML basic string, quotes included, with '"', '\\' and every control character escaped,
// so that no value can end the string early or start a new key.
std::string toml_string(std::string_view text);

// The account file's text: the keys the account sets, in the order of suwrap.toml(5), then its
// [limits] overrides. `disabled` is always written, so that a panel reading the file sees it.
std::string account_to_toml(const Account& account);

}  // namespace suwrap::policy
