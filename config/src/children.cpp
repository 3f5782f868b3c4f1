// SPDX-License-Identifier: Apache-2.0
#include "suwrap/config/children.hpp"

#include <fstream>

namespace suwrap::policy {

std::vector<pid_t> children_of(const std::string& process, pid_t thread) {
  std::ifstream list("/proc/" + process + "/task/" + std::to_string(thread) + "/children");
  std::vector<pid_t> children;
  pid_t child = 0;
  while (list >> child) children.push_back(child);
  return children;
}

}  // namespace suwrap::policy
