// SPDX-License-Identifier: Apache-2.0
// A request's params as the server reads them: one by name, or all as an environment.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "suwrap/fastcgi/protocol.hpp"

namespace suwrap::fastcgi {

// The value of the param `name`; nullopt when the request has none.
[[nodiscard]] std::optional<std::string_view> find_param(const NameValuePairs& params, std::string_view name);

// The params as an environment, "NAME=value" each, in their order. `held_back` is a name
// the server sets itself: a request's own is left out. nullopt when a name cannot be one
// (empty, or holding '='): it cannot be passed on without changing what it says.
[[nodiscard]] std::optional<std::vector<std::string>> params_to_environment(const NameValuePairs& params,
                                                                          std::string_view held_back = {});

}  // namespace suwrap::fastcgi
