// SPDX-License-Identifier: Apache-2.0
// The CGI response of a refusal (suwrap(8), EXIT STATUS), written to standard output.
#pragma once

#include <optional>
#include <string_view>

#include "suwrap/policy/checks.hpp"

namespace suwrap {

// Writes the whole response to fd 1, after the check's refusal line on fd 2
// (policy::refusal_line); a client that went away is not an error to report.
void write_refusal(int http_status, bool errors_to_browser, std::optional<policy::Check> check,
                   std::string_view reason);

}  // namespace suwrap
