// SPDX-License-Identifier: Apache-2.0
// JSON strings for the suite's JSON Lines logs (suwrap's, and suwrap-cgid's with
// --log-format json) and its JSON outputs.
#pragma once

#include <string>
#include <string_view>

namespace suwrap::policy {

// JSON string escaping (quotes, backslash, control characters as \uXXXX; bytes >= 0x80 that
// are not valid UTF-8 as \u00XX) so that nothing in a value can forge a line.
std::string json_escape(std::string_view s);
// "\"...\"" with escaping.
std::string json_string(std::string_view s);

// RFC 3339 UTC with milliseconds: "2026-11-21T22:19:17.123Z".
std::string rfc3339_now();

}  // namespace suwrap::policy
