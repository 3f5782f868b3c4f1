// SPDX-License-Identifier: Apache-2.0
#include "response.hpp"

#include <unistd.h>

#include <cerrno>
#include <string>

#include "suwrap/policy/log_record.hpp"

namespace suwrap {

void write_refusal(int http_status, bool errors_to_browser, std::optional<policy::Check> check,
                   std::string_view reason) {
  // The check for whoever reads suwrap's stderr (suwrap-cgid's metrics, a web server's
  // error log), in one write; the reason stays in suwrap's own log.
  if (check) {
    const std::string line = policy::refusal_line(*check);
    (void)!::write(STDERR_FILENO, line.data(), line.size());
  }
  const std::string response = policy::cgi_refusal(http_status, errors_to_browser, check, reason);
  std::string_view rest = response;
  while (!rest.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace suwrap
