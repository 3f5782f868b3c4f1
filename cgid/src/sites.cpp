// SPDX-License-Identifier: Apache-2.0
#include "sites.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "suwrap/config/accounts.hpp"

namespace suwrap::cgid {

namespace {

using stream = asio::local::stream_protocol;
constexpr std::chrono::seconds look_again_every{2};

}  // namespace

std::optional<std::string> site_socket_path(const std::string& dir, const std::string& account) {
  std::string path = dir + "/" + account + ".sock";
  if (account.empty() || account.find('/') != std::string::npos || path.size() >= sizeof(sockaddr_un::sun_path))
    return std::nullopt;
  return path;
}

Sites::Sites(asio::io_context& io, SiteOptions options, std::shared_ptr<spdlog::logger> log, Serve serve)
    : io_(io), options_(std::move(options)), log_(std::move(log)), serve_(std::move(serve)), watch_timer_(io) {}

Sites::~Sites() { close_all(); }

bool Sites::prepare(std::string& error) {
  if (::mkdir(options_.dir.c_str(), 0755) != 0 && errno != EEXIST) {
    error = "cannot create the sites directory " + options_.dir + ": " + std::strerror(errno);
    return false;
  }
  // Whoever else could write here could put a socket of their own where a web server connects.
  struct stat st {};
  if (::lstat(options_.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & 022) != 0) {
    error = "the sites directory " + options_.dir + " must be a directory of uid " + std::to_string(::geteuid()) +
            " that no one else may write to";
    return false;
  }
  return true;
}

void Sites::follow(std::string accounts_dir) {
  accounts_dir_ = std::move(accounts_dir);
  seen_ctime_ = {};
  sync();
  watch_later();
}

void Sites::watch_later() {
  watch_timer_.expires_after(look_again_every);
  watch_timer_.async_wait([this](std::error_code ec) {
    if (ec || closed_) return;
    struct stat st {};
    if (::stat(accounts_dir_.c_str(), &st) == 0 &&
        (st.st_ctim.tv_sec != seen_ctime_.tv_sec || st.st_ctim.tv_nsec != seen_ctime_.tv_nsec))
      sync();
    watch_later();
  });
}

void Sites::sync() {
  if (closed_ || accounts_dir_.empty()) return;
  struct stat st {};
  if (::stat(accounts_dir_.c_str(), &st) == 0) seen_ctime_ = st.st_ctim;
  std::set<std::string> accounts;
  if (DIR* dir = ::opendir(accounts_dir_.c_str())) {
    while (const dirent* entry = ::readdir(dir)) {
      const std::string name = entry->d_name;
      if (!policy::is_account_file_name(name)) continue;
      accounts.insert(name.substr(0, name.size() - std::strlen(".toml")));
    }
    ::closedir(dir);
  } else {
    log_->warn("sites: cannot read {}: {}; the sites stay as they are", accounts_dir_, std::strerror(errno));
    return;
  }
  for (auto it = sites_.begin(); it != sites_.end();) {
    const auto next = std::next(it);
    if (!accounts.contains(it->first)) {
      log_->info("sites: the socket of account {} is removed (its account file is gone)", it->first);
      close_site(it->first);
    }
    it = next;
  }
  for (const auto& account : accounts)
    if (!sites_.contains(account)) open_site(account);
}

void Sites::open_site(const std::string& account) {
  const auto path = site_socket_path(options_.dir, account);
  if (!path) {
    log_->warn("sites: no socket for account {}: its path under {} is too long", account, options_.dir);
    return;
  }
  struct stat st {};
  if (::lstat(path->c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      log_->warn("sites: {} exists and is not a socket; not removing it", *path);
      return;
    }
    ::unlink(path->c_str());
  }
  auto site = std::make_unique<Site>(io_);
  site->path = *path;
  std::error_code ec;
  const mode_t old_umask = ::umask(0177);
  site->acceptor.open(stream(), ec);
  if (!ec) site->acceptor.bind(stream::endpoint(*path), ec);
  ::umask(old_umask);
  if (!ec) site->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    log_->warn("sites: cannot listen on {}: {}", *path, ec.message());
    return;
  }
  if (!options_.socket_group.empty()) {
    const group* g = ::getgrnam(options_.socket_group.c_str());  // NOLINT(concurrency-mt-unsafe)
    if (g == nullptr || ::chown(path->c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
      log_->warn("sites: cannot give {} to group {}", *path, options_.socket_group);
      ::unlink(path->c_str());
      return;
    }
  }
  if (::chmod(path->c_str(), options_.socket_mode) != 0 || ::lstat(path->c_str(), &st) != 0) {
    log_->warn("sites: cannot chmod {}: {}", *path, std::strerror(errno));
    ::unlink(path->c_str());
    return;
  }
  site->dev = st.st_dev;
  site->ino = st.st_ino;
  sites_.emplace(account, std::move(site));
  log_->info("sites: listening on {} for account {}", *path, account);
  accept_on(account);
}

void Sites::close_site(const std::string& account) {
  const auto it = sites_.find(account);
  if (it == sites_.end()) return;
  Site& site = *it->second;
  std::error_code ignored;
  site.acceptor.close(ignored);
  struct stat st {};
  if (::lstat(site.path.c_str(), &st) == 0 && st.st_dev == site.dev && st.st_ino == site.ino)
    ::unlink(site.path.c_str());
  log_->debug("sites: {} closed (account {})", site.path, account);
  sites_.erase(it);
}

void Sites::close_all() {
  if (closed_) return;
  closed_ = true;
  watch_timer_.cancel();
  for (auto& [account, site] : sites_) {
    std::error_code ignored;
    site->acceptor.close(ignored);
    struct stat st {};
    if (::lstat(site->path.c_str(), &st) == 0 && st.st_dev == site->dev && st.st_ino == site->ino)
      ::unlink(site->path.c_str());
  }
  sites_.clear();
}

void Sites::accept_on(const std::string& account) {
  const auto it = sites_.find(account);
  if (it == sites_.end() || closed_) return;
  Site& site = *it->second;
  if (site.handed) return;  // its pool's now; a fresh socket is bound when the pool ends
  const unsigned generation = site.generation;
  site.acceptor.async_accept([this, account, generation](std::error_code ec, stream::socket socket) {
    // A connection taken is served, whatever happened to the site meanwhile.
    if (!ec) serve_(std::move(socket), account);
    if (closed_) return;
    const auto now = sites_.find(account);
    if (now == sites_.end() || now->second->generation != generation || now->second->handed) return;
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      log_->warn("sites: accept on {}: {}", now->second->path, ec.message());
      auto pause = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
      pause->async_wait([this, account, pause](std::error_code) { accept_on(account); });
      return;
    }
    accept_on(account);
  });
}

std::optional<Sites::Handed> Sites::hand_over(const std::string& account) {
  const auto it = sites_.find(account);
  if (it == sites_.end() || it->second->handed) return std::nullopt;
  Site& site = *it->second;
  util::Fd fd(::fcntl(site.acceptor.native_handle(), F_DUPFD_CLOEXEC, 3));
  if (!fd) {
    log_->warn("sites: cannot hand {} to a pool: {}", site.path, std::strerror(errno));
    return std::nullopt;
  }
  site.handed = true;
  ++site.generation;
  std::error_code ignored;
  site.acceptor.cancel(ignored);
  // php-cgi's workers block in accept(); a non-blocking socket (as we use it) would end
  // each of them at once. The flag belongs to the socket, not to our descriptor: it is set
  // back before we accept again (released()), and nothing of ours waits on it meanwhile.
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    log_->warn("sites: cannot hand {} to a pool: {}", site.path, std::strerror(errno));
    site.handed = false;
    ++site.generation;
    accept_on(account);
    return std::nullopt;
  }
  // Our own descriptor goes: a socket we do not accept on would still wake us for each
  // connection the workers take (the reactor watches it for readiness), a cost on every
  // request of the pool. Taken out of the reactor first (release()): closing it alone
  // would leave it in the epoll set, as the pool's copy keeps the socket open. The path
  // stays ours to remove.
  const int ours = site.acceptor.release(ignored);
  if (ours >= 0) ::close(ours);
  return Handed{std::move(fd), site.path};
}

void Sites::released(const std::string& account) {
  const auto it = sites_.find(account);
  if (it == sites_.end() || !it->second->handed) return;
  // The socket a pool had is never accepted on again: a process of the account may still
  // hold it (PHP's php://stdin is a copy of it) and could make it blocking, and one blocked
  // accept() would stop the daemon for every account. A fresh socket takes its path; the
  // old one, and what is queued on it, goes with its last holder.
  close_site(account);
  open_site(account);
}

}  // namespace suwrap::cgid
