// SPDX-License-Identifier: Apache-2.0
#include "support.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

namespace suwrap::testing {

namespace fs = std::filesystem;

bool running_as_root() { return ::geteuid() == 0; }

int run_shell(const std::string& command) {
  const int rc = std::system(command.c_str());  // NOLINT(concurrency-mt-unsafe)
  if (rc == -1 || !WIFEXITED(rc)) return -1;
  return WEXITSTATUS(rc);
}

std::string capture_shell(const std::string& command, int* status) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed: " + command);
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int rc = ::pclose(p);
  if (status != nullptr) *status = (rc != -1 && WIFEXITED(rc)) ? WEXITSTATUS(rc) : -1;
  return out;
}

namespace {

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string base_dir() {
  if (running_as_root()) {
    const std::string base = "/run/suwrap-tests";
    ::mkdir(base.c_str(), 0755);
    // Whatever was there, make it trusted: root-owned, 0755. Changed only when it is not:
    // even a chown or chmod that changes nothing is an event to whoever watches the
    // directory (the gate's configuration watch, in tests running beside this one).
    struct stat st {};
    check(::lstat(base.c_str(), &st) == 0 && S_ISDIR(st.st_mode), "stat " + base);
    if (st.st_uid != 0 || st.st_gid != 0) check(::chown(base.c_str(), 0, 0) == 0, "chown " + base);
    if ((st.st_mode & 07777) != 0755) check(::chmod(base.c_str(), 0755) == 0, "chmod " + base);
    return base;
  }
  const char* tmp = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe)
  return (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
}

void make_parents(const std::string& root, std::string_view rel) {
  const fs::path p = fs::path(root) / fs::path(rel).parent_path();
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) throw std::runtime_error("mkdir -p " + p.string() + ": " + ec.message());
}

}  // namespace

TempTree::TempTree() {
  std::string tmpl = base_dir() + "/tree.XXXXXX";
  check(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp " + tmpl);
  root_ = tmpl;
  check(::chmod(root_.c_str(), 0755) == 0, "chmod " + root_);
}

TempTree::~TempTree() {
  std::error_code ec;
  fs::remove_all(root_, ec);
}

std::string TempTree::path(std::string_view rel) const {
  if (rel.empty()) return root_;
  return root_ + "/" + std::string(rel);
}

void TempTree::mkdir(std::string_view rel, mode_t mode, uid_t uid, gid_t gid) const {
  make_parents(root_, rel);
  const std::string p = path(rel);
  check(::mkdir(p.c_str(), 0700) == 0 || errno == EEXIST, "mkdir " + p);
  chown(rel, uid, gid);
  chmod(rel, mode);
}

void TempTree::write(std::string_view rel, std::string_view content, mode_t mode, uid_t uid,
                     gid_t gid) const {
  make_parents(root_, rel);
  const std::string p = path(rel);
  FILE* f = std::fopen(p.c_str(), "wb");
  check(f != nullptr, "open " + p);
  const size_t n = std::fwrite(content.data(), 1, content.size(), f);
  std::fclose(f);
  check(n == content.size(), "write " + p);
  chown(rel, uid, gid);
  chmod(rel, mode);
}

void TempTree::symlink(std::string_view target, std::string_view rel, uid_t uid, gid_t gid) const {
  make_parents(root_, rel);
  const std::string p = path(rel);
  check(::symlink(std::string(target).c_str(), p.c_str()) == 0, "symlink " + p);
  if (uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1))
    check(::lchown(p.c_str(), uid, gid) == 0, "lchown " + p);
}

void TempTree::chmod(std::string_view rel, mode_t mode) const {
  const std::string p = path(rel);
  check(::chmod(p.c_str(), mode) == 0, "chmod " + p);
}

void TempTree::chown(std::string_view rel, uid_t uid, gid_t gid) const {
  if (uid == static_cast<uid_t>(-1) && gid == static_cast<gid_t>(-1)) return;
  const std::string p = path(rel);
  check(::lchown(p.c_str(), uid, gid) == 0, "chown " + p);
}

TestUser::TestUser(std::string_view prefix) {
  static int counter = 0;
  name_ = "sw" + std::string(prefix) + std::to_string(::getpid() % 100000) + "x" + std::to_string(counter++);
  if (name_.size() > 31) name_.resize(31);
  const std::string cmd = "useradd --user-group --no-create-home --shell /usr/sbin/nologin " + name_ +
                          " >/dev/null 2>&1";
  // useradd fails while another process holds the passwd lock; try again for a while.
  int rc = -1;
  for (int attempt = 0; attempt < 50 && rc != 0; ++attempt) {
    rc = run_shell(cmd);
    if (rc != 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (rc != 0) throw std::runtime_error("useradd " + name_ + " failed");
  const passwd* pw = ::getpwnam(name_.c_str());  // NOLINT(concurrency-mt-unsafe)
  if (pw == nullptr) throw std::runtime_error("user " + name_ + " not found after useradd");
  uid_ = pw->pw_uid;
  gid_ = pw->pw_gid;
}

TestUser::~TestUser() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (run_shell("userdel " + name_ + " >/dev/null 2>&1") == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace suwrap::testing
