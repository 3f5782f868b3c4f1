// SPDX-License-Identifier: Apache-2.0
// Failures as a panel reads them (output.hpp).
#include "output.hpp"

#include <cstdio>

#include "commands.hpp"
#include "suwrap/policy/log_record.hpp"

namespace suwrap::cli {

namespace {
bool json_mode = false;  // set once by main, before any command runs
}  // namespace

int exit_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid: return exit_error;
    case ErrorCode::exists: return exit_exists;
    case ErrorCode::not_found: return exit_not_found;
    case ErrorCode::locked: return exit_locked;
    case ErrorCode::io: return exit_io;
  }
  return exit_error;
}

std::string_view code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid: return "invalid";
    case ErrorCode::exists: return "exists";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::locked: return "locked";
    case ErrorCode::io: return "io";
  }
  return "invalid";
}

void set_json_failures(bool json) {
  json_mode = json;
}

bool json_failures() {
  return json_mode;
}

std::string json_object_start() {
  return "{\"schema_version\":" + std::to_string(schema_version) + ",";
}

int fail(ErrorCode code, const std::vector<Problem>& problems) {
  if (json_mode) {
    std::string out = json_object_start() + "\"error\":{\"code\":" +
                      policy::json_string(code_name(code)) + ",\"problems\":[";
    for (size_t i = 0; i < problems.size(); ++i) {
      if (i != 0) out += ',';
      out += "{\"message\":" + policy::json_string(problems[i].message);
      if (!problems[i].account.empty()) out += ",\"account\":" + policy::json_string(problems[i].account);
      if (!problems[i].file.empty()) out += ",\"file\":" + policy::json_string(problems[i].file);
      out += '}';
    }
    out += "]}}\n";
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
  } else {
    for (const Problem& problem : problems) {
      if (problem.account.empty())
        std::fprintf(stderr, "error: %s\n", printable(problem.message).c_str());
      else
        std::fprintf(stderr, "error: account %s: %s\n", printable(problem.account).c_str(),
                     printable(problem.message).c_str());
    }
  }
  return exit_status(code);
}

int fail(ErrorCode code, const std::string& message) {
  return fail(code, std::vector<Problem>{Problem{message, {}, {}}});
}

std::string limits_text(const policy::Limits& l) {
  return "cpu_seconds=" + std::to_string(l.cpu_seconds) + " wall_seconds=" + std::to_string(l.wall_seconds) +
         " memory_mb=" + std::to_string(l.memory_mb) + " nproc=" + std::to_string(l.nproc) +
         " nofile=" + std::to_string(l.nofile) + " fsize_mb=" + std::to_string(l.fsize_mb);
}

}  // namespace suwrap::cli
