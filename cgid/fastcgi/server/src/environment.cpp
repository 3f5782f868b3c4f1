// SPDX-License-Identifier: Apache-2.0
#include "suwrap/fastcgi/server/environment.hpp"

namespace suwrap::fastcgi {

std::optional<std::string_view> find_param(const NameValuePairs& params, std::string_view name) {
  for (const auto& [n, v] : params) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::optional<std::vector<std::string>> params_to_environment(const NameValuePairs& params,
                                                              std::string_view held_back) {
  std::vector<std::string> environment;
  environment.reserve(params.size());
  for (const auto& [name, value] : params) {
    if (name.empty() || name.find('=') != std::string::npos) return std::nullopt;
    if (name == held_back) continue;
    environment.push_back(name + "=" + value);
  }
  return environment;
}

}  // namespace suwrap::fastcgi
