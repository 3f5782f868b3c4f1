// SPDX-License-Identifier: Apache-2.0
// The request id that ties one request's log lines together: made by suwrap-cgid (or taken
// from the web server), passed to suwrap and the gate, written in every line about it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace suwrap::policy {

// A request id as given by whoever started the request: 1 to 128 of [A-Za-z0-9._:@+/=-]
// (nginx's $request_id, Apache's UNIQUE_ID, a UUID all are). Anything else is not an id:
// it could not be passed on or logged as one plainly.
bool is_request_id(std::string_view id);

// A new request id: 32 hex digits from the kernel's random source.
std::string new_request_id();

// The longest host a log line carries, in bytes.
inline constexpr std::size_t max_request_host_bytes = 255;

// `host` (HTTP_HOST or SERVER_NAME) as logged: cut to max_request_host_bytes, never inside a
// UTF-8 sequence.
std::string request_host(std::string_view host);

}  // namespace suwrap::policy
