// SPDX-License-Identifier: Apache-2.0
// The walk by descriptor. Every component is opened relative to the descriptor of the
// directory before it, with O_NOFOLLOW, so no name is ever resolved twice and nothing that
// changes under us between two system calls can redirect the walk. Symbolic links are read
// and resolved here, in user space, so that each one met is recorded for the `symlinks`
// policy and the chain of directories is the physical one.
#include "suwrap/policy/walk.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <new>
#include <optional>
#include <system_error>
#include <utility>
#include <variant>

#include "suwrap/config/paths.hpp"
#include "suwrap/util/text.hpp"
#include "suwrap/util/trusted_open.hpp"

namespace suwrap::policy {

using util::child_path;
using util::Expected;
using util::Fd;
using util::unexpected;

FileFacts FileFacts::from(const struct stat& st) {
  FileFacts facts;
  facts.dev = st.st_dev;
  facts.ino = st.st_ino;
  facts.mode = st.st_mode;
  facts.uid = st.st_uid;
  facts.gid = st.st_gid;
  facts.nlink = st.st_nlink;
  facts.size = st.st_size;
  facts.ctime_sec = st.st_ctim.tv_sec;
  facts.ctime_nsec = st.st_ctim.tv_nsec;
  return facts;
}

std::string FileFacts::identity() const {
  return std::to_string(dev) + ":" + std::to_string(ino) + ":" + std::to_string(ctime_sec) + ":" +
         std::to_string(ctime_nsec);
}

namespace {

// Deeper than any real site; it bounds the work a hostile tree of links can cause.
constexpr size_t max_depth = 512;

std::string_view basename_of(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string WalkError::to_string() const {
  switch (kind) {
    case WalkErrorKind::missing: return path + " does not exist";
    case WalkErrorKind::not_directory: {
      // `path` runs to the component that was asked of the non-directory.
      const std::string_view holder = directory_of(path);
      return path + ": " + std::string(basename_of(holder)) + " is not a directory";
    }
    case WalkErrorKind::too_many_links: return path + ": too many levels of symbolic links";
    case WalkErrorKind::too_long: return path + ": the path is too long or too deep";
    case WalkErrorKind::denied: return path + ": permission denied on the way";
    case WalkErrorKind::io: break;
  }
  // error_code rather than strerror: the daemon and the gate may walk from several threads.
  return path + ": " + std::error_code(err, std::generic_category()).message();
}

namespace {

struct OpenObject {
  WalkNode node;
  Fd fd;
};

// The end of a link's content in the queue of components still to walk: when it comes up,
// wherever the walk stands is what that link leads to.
struct EndOfLink {
  size_t link_index;
};

using Step = std::variant<std::string, EndOfLink>;

WalkError make_error(WalkErrorKind kind, std::string path, int err) {
  return WalkError{kind, std::move(path), err};
}

WalkErrorKind kind_of_errno(int err) {
  switch (err) {
    case ENOENT: return WalkErrorKind::missing;
    case ENOTDIR: return WalkErrorKind::not_directory;
    case EACCES: return WalkErrorKind::denied;
    case ELOOP: return WalkErrorKind::too_many_links;
    case ENAMETOOLONG: return WalkErrorKind::too_long;
    default: return WalkErrorKind::io;
  }
}

// A failed openat is told by its errno; a failed fstat after it is an I/O error.
WalkError step_error(const util::StepFailure& failure, std::string path) {
  return make_error(failure.at_fstat ? WalkErrorKind::io : kind_of_errno(failure.error), std::move(path),
                    failure.error);
}

class Walker {
 public:
  explicit Walker(const WalkOptions& options) : options_(options) {}

  Expected<Walk, WalkError> run(std::string_view absolute_path) {
    if (absolute_path.empty() || absolute_path.front() != '/')
      return unexpected(make_error(WalkErrorKind::io, std::string(absolute_path), EINVAL));
    // A NUL would cut a name short at the system call and open something else.
    if (absolute_path.find('\0') != std::string_view::npos)
      return unexpected(make_error(WalkErrorKind::io, std::string(absolute_path), EINVAL));
    if (absolute_path.size() >= PATH_MAX)
      return unexpected(make_error(WalkErrorKind::too_long, std::string(absolute_path), ENAMETOOLONG));

    auto root = util::open_root();
    if (!root) return unexpected(step_error(root.error(), "/"));
    dirs_.push_back(OpenObject{WalkNode{"/", FileFacts::from(root->st)}, std::move(root->fd)});

    queue_components(absolute_path);
    while (!pending_.empty()) {
      Step step = std::move(pending_.back());
      pending_.pop_back();
      if (const auto* end = std::get_if<EndOfLink>(&step)) {
        finish_link(end->link_index);
        continue;
      }
      if (auto error = walk_component(std::get<std::string>(step))) return unexpected(std::move(*error));
    }
    return finish();
  }

 private:
  // Queues the components of `path` so they come off the back in order. A trailing '/'
  // asks for a directory, as it does of the kernel: it is queued as a "." that a
  // non-directory cannot take.
  void queue_components(std::string_view path) {
    const auto components = split_components(path);
    if (!components.empty() && path.back() == '/') pending_.emplace_back(std::string("."));
    for (auto it = components.rbegin(); it != components.rend(); ++it)
      pending_.emplace_back(std::string(*it));
  }

  [[nodiscard]] const OpenObject& current() const { return leaf_ ? *leaf_ : dirs_.back(); }

  void finish_link(size_t index) {
    SymlinkFact& link = links_[index];
    link.resolved_path = current().node.path;
    link.resolved = current().node.facts;
  }

  std::optional<WalkError> walk_component(const std::string& name) {
    // Past a non-directory there is nowhere to go, not even "." or "..".
    if (leaf_) return make_error(WalkErrorKind::not_directory, child_path(leaf_->node.path, name), ENOTDIR);
    if (name == ".") return std::nullopt;
    if (name == "..") {
      if (dirs_.size() > 1) dirs_.pop_back();  // ".." of "/" is "/"
      return std::nullopt;
    }

    const OpenObject& parent = dirs_.back();
    std::string path = child_path(parent.node.path, name);
    if (dirs_.size() >= max_depth || path.size() >= PATH_MAX || name.size() > NAME_MAX)
      return make_error(WalkErrorKind::too_long, std::move(path), ENAMETOOLONG);

    // The step of the trusted open (util/trusted_open.hpp), without its judgement: the
    // checks judge what the walk gathers, and a link is followed here, not refused.
    auto opened = util::open_step(parent.fd.get(), name, O_PATH);
    if (!opened) return step_error(opened.error(), std::move(path));
    Fd object = std::move(opened->fd);
    const FileFacts facts = FileFacts::from(opened->st);

    if (facts.is_symlink()) return follow_link(std::move(path), facts, object);
    if (facts.is_dir()) {
      dirs_.push_back(OpenObject{WalkNode{std::move(path), facts}, std::move(object)});
    } else {
      leaf_ = OpenObject{WalkNode{std::move(path), facts}, std::move(object)};
    }
    return std::nullopt;
  }

  std::optional<WalkError> follow_link(std::string path, const FileFacts& facts, const Fd& link) {
    if (links_.size() >= options_.max_links)
      return make_error(WalkErrorKind::too_many_links, std::move(path), ELOOP);

    // readlinkat with an empty name reads the link an O_PATH|O_NOFOLLOW descriptor holds:
    // the very link that was fstat'ed, not whatever bears its name by now.
    std::string target(PATH_MAX, '\0');
    const ssize_t length = ::readlinkat(link.get(), "", target.data(), target.size());
    if (length < 0) {
      const int err = errno;
      return make_error(kind_of_errno(err), std::move(path), err);
    }
    if (static_cast<size_t>(length) >= target.size())
      return make_error(WalkErrorKind::too_long, std::move(path), ENAMETOOLONG);
    target.resize(static_cast<size_t>(length));
    // The kernel resolves an empty link to nothing.
    if (target.empty()) return make_error(WalkErrorKind::missing, std::move(path), ENOENT);

    const size_t index = links_.size();
    links_.push_back(SymlinkFact{std::move(path), facts, target, {}, {}});
    // An absolute link starts again from "/"; a relative one goes on from the link's
    // directory, which is where the walk stands.
    if (target.front() == '/') dirs_.erase(dirs_.begin() + 1, dirs_.end());
    pending_.emplace_back(EndOfLink{index});
    queue_components(target);
    return std::nullopt;
  }

  Walk finish() {
    Walk walk;
    if (leaf_) {
      walk.object = std::move(leaf_->node);
      walk.fd = std::move(leaf_->fd);
    } else {
      // The path names a directory: it is the object, its parents are the chain ("/" has none).
      walk.object = std::move(dirs_.back().node);
      walk.fd = std::move(dirs_.back().fd);
      dirs_.pop_back();
    }
    walk.dirs.reserve(dirs_.size());
    for (OpenObject& dir : dirs_) walk.dirs.push_back(std::move(dir.node));
    walk.links = std::move(links_);
    return walk;
  }

  WalkOptions options_;
  std::vector<OpenObject> dirs_;    // the physical chain, "/" first; each held open
  std::optional<OpenObject> leaf_;  // a non-directory reached; nothing may follow it
  std::vector<SymlinkFact> links_;
  std::vector<Step> pending_;  // components still to walk; the next is at the back
};

}  // namespace

Expected<Walk, WalkError> walk_path(std::string_view absolute_path, const WalkOptions& options) {
  try {
    return Walker(options).run(absolute_path);
  } catch (const std::bad_alloc&) {
    return unexpected(WalkError{WalkErrorKind::io, std::string(), ENOMEM});
  }
}

}  // namespace suwrap::policy
