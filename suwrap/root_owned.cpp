// SPDX-License-Identifier: Apache-2.0
#include "root_owned.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

namespace suwrap {

std::optional<std::string> open_root_owned(const std::string& path, const char* what, policy::Fd& out,
                                           struct stat& found) {
  if (path.empty() || path.front() != '/') return std::string("the compiled-in ") + what + " path is not absolute: " + path;
  policy::Fd at(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::size_t start = 1;
  std::string walked;
  for (;;) {
    struct stat st {};
    if (!at || ::fstat(at.get(), &st) != 0)
      return "cannot open " + (walked.empty() ? std::string("/") : walked) + ": " + std::strerror(errno);
    const bool last = start > path.size();
    if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
      return (walked.empty() ? std::string("/") : walked) + " must be owned by root and writable only by root";
    if (last) {
      out = std::move(at);
      found = st;
      return std::nullopt;
    }
    if (!S_ISDIR(st.st_mode)) return walked + " is not a directory";
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string::npos ? path.size() : slash;
    const std::string component = path.substr(start, end - start);
    if (component.empty() || component == "." || component == "..")
      return std::string("the compiled-in ") + what + " path is not canonical: " + path;
    walked += "/" + component;
    at = policy::Fd(::openat(at.get(), component.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    start = end + 1;
  }
}

}  // namespace suwrap
