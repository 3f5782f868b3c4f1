// SPDX-License-Identifier: Apache-2.0
#include "root_owned.hpp"

#include <cerrno>

#include "suwrap/util/text.hpp"
#include "suwrap/util/trusted_open.hpp"

namespace suwrap {

std::optional<std::string> open_root_owned(const std::string& path, const char* what, util::Fd& out,
                                           struct stat& found) {
  using Reason = util::TrustedOpenError::Reason;
  // An empty component is refused here as it always was; the trusted open would skip it.
  if (path.find("//") != std::string::npos || (path.size() > 1 && path.back() == '/'))
    return std::string("the compiled-in ") + what + " path is not canonical: " + path;
  auto opened = util::open_trusted(path, {.kind = util::TrustedOpenOptions::Kind::any});
  if (opened) {
    out = std::move(opened->fd);
    found = opened->st;
    return std::nullopt;
  }
  const util::TrustedOpenError& refused = opened.error();
  switch (refused.reason) {
    case Reason::not_absolute: return std::string("the compiled-in ") + what + " path is not absolute: " + path;
    case Reason::not_canonical: return std::string("the compiled-in ") + what + " path is not canonical: " + path;
    case Reason::untrusted:
    case Reason::symlink: return refused.path + " must be owned by root and writable only by root";
    case Reason::not_directory: return refused.path + " is not a directory";
    case Reason::missing: return "cannot open " + refused.path + ": " + util::errno_text(ENOENT);
    case Reason::not_regular:  // not asked for: Kind::any
    case Reason::cannot_open:
    case Reason::cannot_stat: break;
  }
  return "cannot open " + refused.path + ": " + util::errno_text(refused.error);
}

}  // namespace suwrap
