// SPDX-License-Identifier: Apache-2.0
// Sites: one listening socket per account (suwrap-cgid --sites-dir), <dir>/<account>.sock,
// that a web server can name in the account's own block (fastcgi_pass unix:...). It is the
// socket of the account's direct pool: while no pool runs, suwrap-cgid accepts on it and
// serves each connection as it serves its own (the first request starts the pool, as
// socket activation starts a service); while the pool runs, suwrap-cgid stops accepting
// and the account's php-cgi workers take the connections themselves, each checking its
// request (docs/warm-mode.md, "Direct pools"). When the pool ends, suwrap-cgid binds a
// fresh socket at the path (released()): it never accepts on one a pool had.
//
// The sockets follow the account files: one is made for each account file of accounts_dir,
// and removed with it (the directory is looked at again when its change time moves, every
// few seconds, and on SIGHUP). They are made with the mode and group of suwrap-cgid's own
// socket, so they reach exactly who may reach suwrap-cgid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <spdlog/logger.h>

#include "suwrap/util/fd.hpp"

namespace suwrap::cgid {

// <dir>/<account>.sock, or nullopt when the account's name does not fit a socket address.
std::optional<std::string> site_socket_path(const std::string& dir, const std::string& account);

struct SiteOptions {
  std::string dir;  // empty: no sites
  mode_t socket_mode = 0660;
  std::string socket_group;
};

class Sites {
 public:
  // Serves a connection taken on the site socket of the account named.
  using Serve = std::function<void(asio::local::stream_protocol::socket, const std::string&)>;
  Sites(asio::io_context& io, SiteOptions options, std::shared_ptr<spdlog::logger> log, Serve serve);
  ~Sites();
  Sites(const Sites&) = delete;
  Sites& operator=(const Sites&) = delete;

  [[nodiscard]] bool enabled() const { return !options_.dir.empty(); }
  // Creates the directory (ours, mode 0755) or checks the one there. False with the reason.
  bool prepare(std::string& error);
  // Makes the socket of every account file in `accounts_dir` and removes those of accounts
  // gone; then looks again whenever the directory changes (a few seconds at most).
  void follow(std::string accounts_dir);
  // Looks at accounts_dir again now.
  void sync();
  // Stops accepting on every socket and removes them (shutdown).
  void close_all();

  // The listening socket of `account`'s site for its pool (a descriptor of its own, and the
  // path): suwrap-cgid stops accepting on it until released(). nullopt: no such site.
  struct Handed {
    util::Fd fd;
    std::string path;
  };
  std::optional<Handed> hand_over(const std::string& account);
  // The pool that had it ended (or never started): suwrap-cgid accepts on it again.
  void released(const std::string& account);

  [[nodiscard]] std::size_t count() const { return sites_.size(); }

 private:
  struct Site {
    explicit Site(asio::io_context& io) : acceptor(io) {}
    asio::local::stream_protocol::acceptor acceptor;
    std::string path;
    dev_t dev = 0;
    ino_t ino = 0;
    bool handed = false;
    unsigned generation = 0;  // an accept loop of another generation stops
  };
  void open_site(const std::string& account);
  void close_site(const std::string& account);
  void accept_on(const std::string& account);
  void watch_later();

  asio::io_context& io_;
  SiteOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  Serve serve_;
  std::string accounts_dir_;
  struct timespec seen_ctime_ {};
  std::map<std::string, std::unique_ptr<Site>> sites_;
  asio::steady_timer watch_timer_;
  bool closed_ = false;
};

}  // namespace suwrap::cgid
