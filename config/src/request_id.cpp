// SPDX-License-Identifier: Apache-2.0
#include "suwrap/config/request_id.hpp"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>

namespace suwrap::policy {

bool is_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  constexpr std::string_view punctuation = "._:@+/=-";
  for (const char c : id) {
    const bool alphanumeric = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alphanumeric && punctuation.find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string new_request_id() {
  std::array<unsigned char, 16> bytes{};
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, GRND_NONBLOCK);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got < bytes.size()) {
    // The kernel's pool not ready yet (early boot), or no getrandom(): the time, the pid and
    // a count of this process's ids still make ids unique enough to join lines by. It is a
    // label, never a secret.
    static std::uint64_t made = 0;
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    const std::uint64_t time_ns =
        static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000U + static_cast<std::uint64_t>(now.tv_nsec);
    const std::uint64_t process = (static_cast<std::uint64_t>(::getpid()) << 32U) | (++made & 0xffffffffU);
    for (std::size_t i = 0; i < 8; ++i) {
      bytes[i] = static_cast<unsigned char>(time_ns >> (i * 8));
      bytes[8 + i] = static_cast<unsigned char>(process >> (i * 8));
    }
  }
  constexpr std::string_view hex = "0123456789abcdef";
  std::string id;
  id.reserve(bytes.size() * 2);
  for (const unsigned char b : bytes) {
    id += hex[b >> 4U];
    id += hex[b & 0x0fU];
  }
  return id;
}

std::string request_host(std::string_view host) {
  if (host.size() <= max_request_host_bytes) return std::string(host);
  std::size_t end = max_request_host_bytes;
  // Back to the start of the sequence the cut falls in (at most three continuation bytes).
  while (end > max_request_host_bytes - 3 && (static_cast<unsigned char>(host[end]) & 0xc0U) == 0x80U) --end;
  return std::string(host.substr(0, end));
}

}  // namespace suwrap::policy
