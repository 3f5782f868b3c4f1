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

namespace suwrap::cli {

inline constexpr int exit_ok = 0;
inline constexpr int exit_refused = 1;
inline constexpr int exit_error = 2;

struct Command {
  CLI::App* app;             // the (leaf) subcommand
  std::function<int()> run;  // its work; the exit status
};
using Commands = std::vector<Command>;

void add_check_commands(CLI::App& app, Commands& commands);        // check, config check, version
void add_account_commands(CLI::App& app, Commands& commands);      // account add|set|remove|list|show
void add_audit_command(CLI::App& app, Commands& commands);         // audit
void add_import_suphp_command(CLI::App& app, Commands& commands);  // import-suphp

int run_version();

// Reads a whole file of at most `max_bytes` into `text`; returns what went wrong, if anything.
std::optional<std::string> read_text_file(const std::string& path, std::size_t max_bytes, std::string& text);

// "'...'" for a POSIX shell: the text between single quotes, each ' written as '\''.
std::string shell_quote(const std::string& text);

// The text with control characters written as \xHH: safe on a terminal, and unable to end
// a "# comment" line of printed shell commands and start a command of its own.
std::string printable(std::string_view text);

}  // namespace suwrap::cli
