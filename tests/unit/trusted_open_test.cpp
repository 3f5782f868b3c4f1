// SPDX-License-Identifier: Apache-2.0
// util::open_trusted: one case per refusal, and the opens that pass, on real files in a
// root-owned TempTree (ownership and modes need root).
#include "suwrap/util/trusted_open.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "support.hpp"

namespace {

using suwrap::testing::TempTree;
using suwrap::util::open_trusted;
using suwrap::util::open_trusted_in;
using suwrap::util::TrustedOpenError;
using suwrap::util::TrustedOpenOptions;
using suwrap::util::Untrusted;
using suwrap::util::untrusted;
using Kind = TrustedOpenOptions::Kind;
using Reason = TrustedOpenError::Reason;

constexpr uid_t someone = 4242;  // not a user of the machine: an owner that is not root

const TrustedOpenOptions any_object{};
const TrustedOpenOptions a_file{.kind = Kind::regular_file, .for_reading = true};
const TrustedOpenOptions a_directory{.kind = Kind::directory};

// The refusal of an open that must fail.
TrustedOpenError refusal_of(const std::string& path, const TrustedOpenOptions& options) {
  auto opened = open_trusted(path, options);
  EXPECT_FALSE(opened.has_value()) << path << " was opened although it must not be";
  return opened.has_value() ? TrustedOpenError{} : opened.error();
}

// A tree as root installs one: dir/ (0755) holding file (0644), all root's.
class TrustedTree {
 public:
  TrustedTree() {
    tree.mkdir("dir", 0755, 0, 0);
    tree.write("dir/file", "content", 0644, 0, 0);
  }
  // Expects the open of `rel` to stop at `where` (both inside the tree) for `reason`.
  TrustedOpenError expect_refusal(std::string_view rel, const TrustedOpenOptions& options, Reason reason,
                                  std::string_view where) const {
    auto refused = refusal_of(tree.path(rel), options);
    EXPECT_EQ(refused.reason, reason) << rel;
    EXPECT_EQ(refused.path, tree.path(where)) << rel;
    return refused;
  }
  // The same for an object not root's alone; returns what fstat said of it.
  struct stat expect_untrusted(std::string_view rel, const TrustedOpenOptions& options, Untrusted why,
                               std::string_view where) const {
    const auto refused = expect_refusal(rel, options, Reason::untrusted, where);
    EXPECT_EQ(refused.why, why) << rel;
    return refused.st;
  }
  TempTree tree;
};

struct stat stat_with(uid_t uid, mode_t mode) {
  struct stat st {};
  st.st_uid = uid;
  st.st_mode = S_IFREG | mode;
  return st;
}

TEST(Untrusted, IsTheOwnerThenOthersThenGroup) {
  EXPECT_FALSE(untrusted(stat_with(0, 0755)).has_value());
  EXPECT_FALSE(untrusted(stat_with(0, 01755)).has_value()) << "sticky and read bits are not writes";
  EXPECT_EQ(untrusted(stat_with(someone, 0644)), Untrusted::owner);
  EXPECT_EQ(untrusted(stat_with(someone, 0666)), Untrusted::owner);
  EXPECT_EQ(untrusted(stat_with(0, 0646)), Untrusted::writable_by_others);
  EXPECT_EQ(untrusted(stat_with(0, 0666)), Untrusted::writable_by_others);
  EXPECT_EQ(untrusted(stat_with(0, 0664)), Untrusted::writable_by_group);
}

TEST(OpenTrusted, OpensARootOwnedFileForReading) {
  SUWRAP_REQUIRE_ROOT();
  TrustedTree files;
  auto opened = open_trusted(files.tree.path("dir/file"), a_file);
  ASSERT_TRUE(opened.has_value()) << opened.error().path;
  struct stat st {};
  ASSERT_EQ(::stat(files.tree.path("dir/file").c_str(), &st), 0);
  EXPECT_EQ(opened->st.st_ino, st.st_ino) << "what was judged is what is held";
  char buffer[16] = {};
  EXPECT_EQ(::read(opened->fd.get(), buffer, sizeof(buffer)), 7) << "opened for reading, not O_PATH";
  EXPECT_NE(::fcntl(opened->fd.get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(OpenTrusted, OpensADirectoryAndAnyObjectWithOPath) {
  SUWRAP_REQUIRE_ROOT();
  TrustedTree files;
  auto dir = open_trusted(files.tree.path("dir"), a_directory);
  ASSERT_TRUE(dir.has_value()) << dir.error().path;
  EXPECT_TRUE(S_ISDIR(dir->st.st_mode));
  EXPECT_NE(::fcntl(dir->fd.get(), F_GETFL) & O_PATH, 0);
  auto file = open_trusted(files.tree.path("dir/file"), any_object);
  ASSERT_TRUE(file.has_value()) << file.error().path;
  EXPECT_NE(::fcntl(file->fd.get(), F_GETFL) & O_PATH, 0);
  auto root = open_trusted("/", a_directory);
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(root->st.st_uid, 0U);
}

TEST(OpenTrusted, RefusesARelativePath) {
  EXPECT_EQ(refusal_of("etc/suwrap", any_object).reason, Reason::not_absolute);
  EXPECT_EQ(refusal_of("", any_object).reason, Reason::not_absolute);
}

// Each refusal of the walk itself, and where it stops: the first component that fails.
TEST(OpenTrusted, RefusesEachWayOffTheWalkWhereItHappens) {
  SUWRAP_REQUIRE_ROOT();
  TrustedTree files;
  files.tree.symlink("dir", "linked", 0, 0);
  files.tree.symlink("file", "dir/link", 0, 0);
  struct Case {
    std::string_view rel;
    const TrustedOpenOptions& options;
    Reason reason;
    std::string_view where;
  };
  const Case cases[] = {
      {"dir/../dir/file", a_file, Reason::not_canonical, "dir/../dir/file"},
      {"dir/./file", a_file, Reason::not_canonical, "dir/./file"},
      // A trailing "/" names a directory: not a file, nor "anything".
      {"dir/file/", a_file, Reason::not_canonical, "dir/file/"},
      {"dir/file/", any_object, Reason::not_canonical, "dir/file/"},
      {"none/file", a_file, Reason::missing, "none"},
      {"linked/file", a_file, Reason::symlink, "linked"},
      // Root's link to root's file: still refused, opened for reading or with O_PATH.
      {"dir/link", a_file, Reason::symlink, "dir/link"},
      {"dir/link", any_object, Reason::symlink, "dir/link"},
      {"dir/file/more", any_object, Reason::not_directory, "dir/file"},
      {"dir", a_file, Reason::not_regular, "dir"},
      {"dir/file", a_directory, Reason::not_directory, "dir/file"},
  };
  for (const Case& c : cases) files.expect_refusal(c.rel, c.options, c.reason, c.where);
  EXPECT_EQ(refusal_of("/", a_file).reason, Reason::not_regular);
  EXPECT_EQ(refusal_of(std::string("/etc\0/passwd", 12), any_object).reason, Reason::not_canonical);
}

TEST(OpenTrusted, RefusesAFifoWithoutWaitingOnIt) {
  SUWRAP_REQUIRE_ROOT();
  TrustedTree files;
  ASSERT_EQ(::mkfifo(files.tree.path("dir/fifo").c_str(), 0644), 0);
  // Nobody writes to it: without O_NONBLOCK this open would wait forever.
  files.expect_refusal("dir/fifo", a_file, Reason::not_regular, "dir/fifo");
}

TEST(OpenTrusted, RefusesADirectoryOwnedByAnother) {
  SUWRAP_REQUIRE_ROOT();
  TrustedTree files;
  files.tree.chown("dir", someone, someone);
  EXPECT_EQ(files.expect_untrusted("dir/file", a_file, Untrusted::owner, "dir").st_uid, someone);
}

TEST(OpenTrusted, RefusesADirectoryWritableByOthers) {
  SUWRAP_REQUIRE_ROOT();
  TrustedTree files;
  files.tree.chmod("dir", 0777);
  EXPECT_EQ(files.expect_untrusted("dir/file", a_file, Untrusted::writable_by_others, "dir").st_mode & 07777,
            0777U);
}

TEST(OpenTrusted, RefusesAFileWritableByItsGroup) {
  SUWRAP_REQUIRE_ROOT();
  TrustedTree files;
  files.tree.chmod("dir/file", 0664);
  files.expect_untrusted("dir/file", a_file, Untrusted::writable_by_group, "dir/file");
}

TEST(OpenTrusted, RefusesAFileOwnedByAnother) {
  SUWRAP_REQUIRE_ROOT();
  TrustedTree files;
  files.tree.chown("dir/file", someone, someone);
  files.expect_untrusted("dir/file", any_object, Untrusted::owner, "dir/file");
}

TEST(OpenTrusted, ReportsWhatCannotBeOpened) {
  SUWRAP_REQUIRE_ROOT();
  TrustedTree files;
  const auto refused = refusal_of(files.tree.path("dir/" + std::string(300, 'x')), a_file);
  EXPECT_EQ(refused.reason, Reason::cannot_open);
  EXPECT_EQ(refused.error, ENAMETOOLONG);
}

TEST(OpenTrusted, WithoutTrustOpensAnotherOwnersFileButNeverALink) {
  SUWRAP_REQUIRE_ROOT();
  TrustedTree files;
  files.tree.chown("dir", someone, someone);
  files.tree.chmod("dir/file", 0666);
  files.tree.symlink("file", "dir/link", 0, 0);
  const TrustedOpenOptions untrusted_file{
      .kind = Kind::regular_file, .require_trusted = false, .for_reading = true};
  auto opened = open_trusted(files.tree.path("dir/file"), untrusted_file);
  ASSERT_TRUE(opened.has_value()) << opened.error().path;
  EXPECT_EQ(opened->st.st_mode & 07777, 0666U) << "the caller gets what it needs to judge";
  EXPECT_EQ(refusal_of(files.tree.path("dir/link"), untrusted_file).reason, Reason::symlink);
}

TEST(OpenTrustedIn, OpensOneNameInAnOpenedDirectory) {
  SUWRAP_REQUIRE_ROOT();
  TrustedTree files;
  auto dir = open_trusted(files.tree.path("dir"), a_directory);
  ASSERT_TRUE(dir.has_value());
  auto file = open_trusted_in(dir->fd.get(), files.tree.path("dir"), "file", a_file);
  ASSERT_TRUE(file.has_value()) << file.error().path;
  EXPECT_TRUE(S_ISREG(file->st.st_mode));

  files.tree.chmod("dir/file", 0646);
  const auto refused = open_trusted_in(dir->fd.get(), files.tree.path("dir"), "file", a_file);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().why, Untrusted::writable_by_others);
  EXPECT_EQ(refused.error().path, files.tree.path("dir/file"));
  // One component only: no way up, no way further down.
  for (const char* name : {"..", ".", "sub/file", ""}) {
    const auto path = open_trusted_in(dir->fd.get(), files.tree.path("dir"), name, any_object);
    ASSERT_FALSE(path.has_value()) << name;
    EXPECT_EQ(path.error().reason, Reason::not_canonical) << name;
  }
}

}  // namespace
