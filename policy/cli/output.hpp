// SPDX-License-Identifier: Apache-2.0
// What suwrap-policy answers a panel with: the exit status of each failure, and under --json
// the failure itself as one JSON object on standard output (suwrap-policy(8), EXIT STATUS and
// JSON; schemas/error.schema.json). Every JSON document the commands print starts with
// "schema_version", so that a panel can tell which shapes it is reading.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "suwrap/config/config.hpp"

namespace suwrap::cli {

inline constexpr int schema_version = 1;

// What went wrong, as a panel must react to it. Each has its own exit status.
enum class ErrorCode {
  invalid,    // 2: the request or the configuration is wrong; retrying changes nothing
  exists,     // 3: the account exists (add), and is not the one asked for
  not_found,  // 4: no such account (set, remove, show)
  locked,     // 5: another edit held accounts_dir's lock for longer than --lock-timeout: retry
  io,         // 6: the file system refused a read or a write: nothing was changed
};

int exit_status(ErrorCode code);
std::string_view code_name(ErrorCode code);

// One problem of a failure: what is wrong and what to do, and (account apply) which account.
struct Problem {
  std::string message;
  std::string account;  // empty: not about one account
  std::string file;     // empty: not about one file
};

// Whether failures are printed as JSON on standard output (any --json on the command line)
// or as "error: ..." lines on standard error. main sets it before the command line is parsed,
// so a malformed command line is answered in the form that was asked for too.
void set_json_failures(bool json);
bool json_failures();

// Prints the failure as asked and returns its exit status.
int fail(ErrorCode code, const std::vector<Problem>& problems);
int fail(ErrorCode code, const std::string& message);

// "{\"schema_version\":1," — the start of every JSON object the commands print.
std::string json_object_start();

// "cpu_seconds=N wall_seconds=N memory_mb=N nproc=N nofile=N fsize_mb=N": limits as the
// text outputs show them.
std::string limits_text(const policy::Limits& limits);

}  // namespace suwrap::cli
