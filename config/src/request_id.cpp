// SPDX-License-Identifier: Apache-2.0
#include "suwrap/config/request_id.hpp"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <array>
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
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got < bytes.size()) {
    // The kernel's pool not ready yet (early boot): the time and the pid still make an id
    // to join lines by. It is a label, never a secret.
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    std::uint64_t mix = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000U + static_cast<std::uint64_t>(now.tv_nsec);
    mix ^= static_cast<std::uint64_t>(::getpid()) << 40U;
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] ^= static_cast<unsigned char>(mix >> ((i % 8) * 8));
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

}  // namespace suwrap::policy
