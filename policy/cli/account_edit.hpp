// SPDX-License-Identifier: Apache-2.0
// What `account add|set|remove` (account.cpp) and `account apply` (account_apply.cpp) share:
// the validation of one account against the system and the configuration, the lock on
// accounts_dir, the atomic write of a file, and the JSON object of an account.
#pragma once

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "output.hpp"
#include "suwrap/config/accounts.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/util/expected.hpp"
#include "suwrap/util/fd.hpp"
#include "suwrap/policy/facts.hpp"

namespace suwrap::cli::edit {

// Problems found while validating edits: all are reported, then the edit is refused.
class Problems {
 public:
  void error(std::string text, std::string account = {}) {
    errors_.push_back(Problem{std::move(text), std::move(account), {}});
  }
  void warning(std::string text) { warnings_.push_back(std::move(text)); }
  [[nodiscard]] bool any_error() const { return !errors_.empty(); }
  [[nodiscard]] const std::vector<Problem>& errors() const { return errors_; }
  // Warnings go to standard error whatever the format: they never stop an edit.
  void print_warnings() const {
    for (const auto& w : warnings_) std::fprintf(stderr, "warning: %s\n", w.c_str());
  }

 private:
  std::vector<Problem> errors_;
  std::vector<std::string> warnings_;
};

// The account alone: its user and group, the form and existence of its docroots, its
// handlers and its php_ini_dir. What it shares with other accounts is judged apart.
void validate_alone(const policy::Account& account, const policy::Config& config, policy::FactSource& facts,
                    Problems& problems);

// The object of `account show --json` (suwrap-policy(8), schemas/account.schema.json); `changed`,
// when given, is added (add, set: whether the file was written).
std::string account_json(const policy::Account& account, const policy::Config& config,
                         std::optional<bool> changed = std::nullopt);

// The text written for an account: a header naming the command, then account_to_toml.
std::string account_file_text(const policy::Account& account, std::string_view command);

struct AccountsDir {
  std::string path;
  util::Fd fd;  // O_RDONLY|O_DIRECTORY, holding the flock
};

struct DirFailure {
  ErrorCode code;
  std::string message;
};

// Opens accounts_dir (made if missing), checks it is root's as the loader will, and takes
// the edit lock, waiting at most `timeout` for another edit to end. An `account apply` that
// was cut short (its journal left behind) is rolled back first.
util::Expected<AccountsDir, DirFailure> lock_accounts_dir(const std::string& path, std::chrono::milliseconds timeout);

std::optional<std::string> sync_directory(const AccountsDir& dir);

// Writes `text` to the new file `temp_name` in the directory (O_EXCL, root's, 0644), without
// syncing it; nullopt when done.
std::optional<std::string> write_new_file(const AccountsDir& dir, const std::string& temp_name,
                                          const std::string& text);

// A name for a temporary or backup file beside <name>.toml: hidden, so the loader never reads it.
std::string hidden_name(const std::string& name, std::string_view what);

bool running_as_root();

// The accounts as the tools see them: through the index, kept current as root.
policy::AccountOptions tool_accounts();

// Rolls back an `account apply` whose journal is in the directory, if there is one.
std::optional<std::string> recover_interrupted_apply(const AccountsDir& dir);

// `account apply` (account_apply.cpp), added to the `account` subcommand.
void add_account_apply_command(CLI::App* account, Commands& commands);

}  // namespace suwrap::cli::edit
