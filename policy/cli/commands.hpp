// SPDX-License-Identifier: Apache-2.0
// The subcommands of suwrap-policy (suwrap-policy(8)), one file each. Each add_* function
// declares its subcommands on the app and returns what to run for each of them; main parses
// once and runs the one that was given.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "suwrap/config/config.hpp"

namespace suwrap::cli {

// Exit statuses (suwrap-policy(8), EXIT STATUS). 0-2 are those of every suwrap-policy command; 3-6 tell a panel
// which failure it met, so that it can retry what may succeed later (5), treat a retried
// add or remove as done (3, 4) where it asked for that, and stop on the rest.
inline constexpr int exit_ok = 0;
inline constexpr int exit_refused = 1;    // check: deny; audit: something refused
inline constexpr int exit_error = 2;      // invalid: the request or the configuration
inline constexpr int exit_exists = 3;     // account add: the account exists
inline constexpr int exit_not_found = 4;  // account set/remove/show: no such account
inline constexpr int exit_locked = 5;     // accounts_dir stayed locked past --lock-timeout
inline constexpr int exit_io = 6;         // a read or write of the file system failed

struct Command {
  CLI::App* app;             // the (leaf) subcommand
  std::function<int()> run;  // its work; the exit status
};
using Commands = std::vector<Command>;

void add_check_commands(CLI::App& app, Commands& commands);        // check, config check, version
void add_account_commands(CLI::App& app, Commands& commands);      // account add|set|remove|list|show
void add_audit_command(CLI::App& app, Commands& commands);         // audit
void add_import_suphp_command(CLI::App& app, Commands& commands);  // import-suphp
void add_config_install_command(CLI::App& config, Commands& commands);  // config install

int run_version();

// What `config check` finds in a configuration that loaded (check.cpp); `config install`
// judges a staged file by the same.
struct ConfigFinding {
  std::string file;
  std::string message;
};
struct ConfigReport {
  std::vector<ConfigFinding> errors;
  std::vector<ConfigFinding> warnings;
  std::size_t handlers = 0;
  std::size_t accounts = 0;  // valid account files
  std::size_t broken = 0;    // broken account files
};
ConfigReport check_configuration(const policy::Config& config, bool write_index);
// Prints the report's errors as a failure (JSON under --json) and returns exit status 2.
int report_failure(const ConfigReport& report, const std::string& file);
std::string counts_text(const ConfigReport& report);
std::string findings_json(const std::vector<ConfigFinding>& findings);

// Reads a whole file of at most `max_bytes` into `text`; returns what went wrong, if anything.
std::optional<std::string> read_text_file(const std::string& path, std::size_t max_bytes, std::string& text);

// "'...'" for a POSIX shell: the text between single quotes, each ' written as '\''.
std::string shell_quote(const std::string& text);

// The text with control characters written as \xHH: safe on a terminal, and unable to end
// a "# comment" line of printed shell commands and start a command of its own.
std::string printable(std::string_view text);

}  // namespace suwrap::cli
