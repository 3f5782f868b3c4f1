// SPDX-License-Identifier: Apache-2.0
// suwrap-policy: explain, audit, validate and manage suwrap's policy (suwrap-policy(8)).
// Each subcommand lives in its own file; this one parses the command line once, runs the
// subcommand that was given, and is the one place where an exception becomes exit status 2.
// With --json anywhere on the command line, every failure, a malformed command line too, is
// one JSON object on standard output (output.hpp).
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "output.hpp"

int main(int argc, char** argv) {
  using namespace suwrap::cli;
  CLI::App app{
      "suwrap-policy: explain, audit and validate the policy of suwrap, the set-uid wrapper that runs\n"
      "each account's PHP and CGI programs under the account's own uid, and manage its accounts."};
  app.require_subcommand(1);
  app.set_version_flag(
      "-V,--version",
      [] {
        run_version();
        return std::string{};
      },
      "Print the version and the compiled-in paths and defaults");

  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--json") set_json_failures(true);
  }

  Commands commands;
  try {
    add_check_commands(app, commands);
    add_audit_command(app, commands);
    add_account_commands(app, commands);
    add_import_suphp_command(app, commands);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "suwrap-policy: %s\n", e.what());
    return exit_error;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (json_failures() && e.get_exit_code() != 0)
      return fail(ErrorCode::invalid, std::string(e.what()) + "; see suwrap-policy --help");
    const int rc = app.exit(e);
    return rc == 0 ? 0 : exit_error;
  }

  try {
    for (const Command& command : commands) {
      if (command.app->parsed()) return command.run();
    }
  } catch (const std::exception& e) {
    return fail(ErrorCode::invalid, std::string("suwrap-policy: ") + e.what());
  }
  return exit_error;
}
