// SPDX-License-Identifier: Apache-2.0
// Warm pools as suwrap-cgid keeps them: one per route key (script owner, php-fcgi handler),
// started through `suwrap --pool` (which decides whether the account may have one and
// drops to it), reached through a unix socket in the pool directory, retired when idle.
//
// A pool's life: starting (suwrap runs checks 1-13 and starts the gate; the requests that
// came for it meanwhile wait) -> ready (its start channel closed with no byte) ->
// retiring (SIGTERM to its supervisor: idle, --max-pools, a failed connect, shutdown) ->
// ended (the supervisor exited: forgotten, its socket removed). A start that suwrap
// refuses ends at once, and every request that waited for it gets the same refusal.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <spdlog/logger.h>

#include "metrics.hpp"
#include "router.hpp"
#include "suwrap/config/names.hpp"
#include "suwrap/util/fd.hpp"
#include "waiters.hpp"

namespace suwrap::cgid {

using PoolClock = std::chrono::steady_clock;

// --- the pure rules ----------------------------------------------------------------

// <dir>/<uid>-<handler>.sock, or nullopt when that does not fit a unix socket address.
std::optional<std::string> pool_socket_path(std::string_view dir, const RouteKey& key);

// The check a gate refused a request with, from END_REQUEST's appStatus (1000 + the
// check's number); nullopt for any other status.
std::optional<policy::Check> gate_refusal_check(std::uint32_t app_status);

// How long after its last request cgid retires a pool: a little before the gate's own idle
// exit, so that it is the daemon — which knows what it is about to send — that ends an
// idle pool, and a request is not sent to a gate that is just leaving.
std::chrono::milliseconds idle_retire_after(std::chrono::seconds idle_seconds);

// What --max-pools needs to know of a pool to pick one to retire.
struct PoolUse {
  RouteKey key;
  bool idle = false;  // ready, and no request on it or waiting for it
  PoolClock::time_point last_used;
};
// The idle pool used least recently, if any.
std::optional<RouteKey> least_recently_used_idle(std::span<const PoolUse> pools);

// --- the pools ---------------------------------------------------------------------

struct PoolOptions {
  std::string wrapper;                   // suwrap, run as `suwrap --pool`
  std::string dir = "/run/suwrap/pools";
  std::size_t max_pools = 64;
  std::chrono::seconds start_timeout{60};  // a start that has not ended by then is given up
  std::chrono::seconds room_timeout{5};    // how long a start waits for --max-pools room
  // Idle connections kept to pools: each costs a descriptor of the daemon (and one of the
  // gate), so they are few, and closed soon after a pool's burst of requests is over.
  std::size_t max_kept_per_pool = 8;
  std::size_t max_kept = 64;  // over all pools
  std::chrono::milliseconds kept_for{2000};
};

struct Pool {
  enum class State { starting, ready, retiring, ended };

  Pool(asio::any_io_executor executor, RouteKey route_key, std::string path, std::chrono::seconds idle_after)
      : key(std::move(route_key)), socket_path(std::move(path)), idle(idle_after), idle_timer(std::move(executor)) {}

  RouteKey key;
  std::optional<std::string> account;  // what the metrics count its CPU under
  std::string socket_path;
  dev_t socket_dev = 0;  // the socket file we bound: removed at the end only if it is still ours
  ino_t socket_ino = 0;
  std::chrono::seconds idle;
  State state = State::starting;
  pid_t pid = -1;
  std::unique_ptr<asio::posix::stream_descriptor> pidfd;  // the supervisor's
  Waiters started;                                        // requests waiting for the start
  std::size_t in_flight = 0;
  std::size_t waiting = 0;
  PoolClock::time_point last_used = PoolClock::now();
  asio::steady_timer idle_timer;
  // A start that did not make the pool ready: suwrap's refusal, or the status to answer.
  std::string refusal;
  int failed_status = 0;
  int exit_status = -1;  // suwrap's exit status once reaped (128 + signal when killed)
  // Connections to the gate whose last request ended cleanly (FCGI_KEEP_CONN), for the
  // next requests, oldest first; closed when unused for a while, and when the pool
  // retires or ends.
  struct Kept {
    std::unique_ptr<asio::local::stream_protocol::socket> socket;
    PoolClock::time_point since;
  };
  std::vector<Kept> kept;
  // The account whose site socket (--sites-dir) the pool listens on; empty: a socket of its
  // own in the pool directory.
  std::string site;
  // A direct pool (its handler's `direct`): the account's php-cgi workers take the
  // connections themselves; a worker holds a kept connection as long as it is open, so
  // none is kept.
  bool direct = false;
};

struct PoolReady {      // the pool to connect to; its request is counted: Pools::release after
  std::shared_ptr<Pool> pool;
};
struct PoolRefused {    // suwrap refused the start: its CGI refusal, relayed as it is
  std::string response;
  std::uint32_t app_status;
};
struct PoolUnavailable {  // 503 at --max-pools, 502 a start that failed, 504 one that never ended
  int status;
};
struct PoolFallback {};  // no pool can be made here (directory, socket): the per-request way
using PoolAcquired = std::variant<PoolReady, PoolRefused, PoolUnavailable, PoolFallback>;

class Sites;

class Pools {
 public:
  Pools(asio::io_context& io, PoolOptions options, std::shared_ptr<spdlog::logger> log, Metrics& metrics);
  ~Pools();
  Pools(const Pools&) = delete;
  Pools& operator=(const Pools&) = delete;

  // Creates the pool directory (mode 0700, ours) or checks the one there. False with the
  // reason: warm mode is then off and every request goes the per-request way.
  bool prepare(std::string& error);
  [[nodiscard]] bool enabled() const { return enabled_; }
  // Direct pools of account mode listen on their account's site socket when there is one.
  void use_sites(Sites* sites) { sites_ = sites; }

  // The pool of `route`, started with `environment` (the request's params) if there is none.
  // A pool started here counts its processes' CPU under `account` when it ends.
  asio::awaitable<PoolAcquired> acquire(const WarmRoute& route, const std::vector<std::string>& environment,
                                        std::optional<std::string> account = std::nullopt);
  // A request counted by acquire() is over.
  void release(const std::shared_ptr<Pool>& pool);
  // A kept connection to `pool` that is still open (the gate has not closed it), if any.
  std::unique_ptr<asio::local::stream_protocol::socket> take_kept(const std::shared_ptr<Pool>& pool);
  // A connection whose request ended cleanly, kept for the next request while the pool is
  // ready and below `max_kept_per_pool` and `max_kept` in all (else closed). Before release().
  void keep(const std::shared_ptr<Pool>& pool, std::unique_ptr<asio::local::stream_protocol::socket> connection);
  // Connecting to the pool failed: it is retired, and the next request starts a fresh one.
  void discard(const std::shared_ptr<Pool>& pool, std::string_view why);
  // SIGTERM to the daemon: every pool is retired as soon as no request uses it.
  void shutdown();

  [[nodiscard]] std::size_t alive() const { return alive_; }

 private:
  std::shared_ptr<Pool> start(const WarmRoute& route, const std::vector<std::string>& environment,
                              std::optional<std::string> account, PoolAcquired& failure);
  asio::awaitable<void> supervise(std::shared_ptr<Pool> pool, util::Fd start_channel);
  void take(const std::shared_ptr<Pool>& pool);
  void retire(const std::shared_ptr<Pool>& pool, std::string_view why);
  void forget(const std::shared_ptr<Pool>& pool);
  void arm_idle(const std::shared_ptr<Pool>& pool);
  void retire_if_idle_and_stopping(const std::shared_ptr<Pool>& pool);
  void sweep_kept_later();
  [[nodiscard]] std::size_t kept_connections() const;

  asio::io_context& io_;
  PoolOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  Metrics& metrics_;
  std::map<RouteKey, std::shared_ptr<Pool>> pools_;  // the pool each key routes to now
  std::size_t alive_ = 0;  // supervisors not yet reaped, retiring ones included
  Waiters exited_;         // starts waiting for --max-pools room
  bool enabled_ = false;
  bool stopping_ = false;
  Sites* sites_ = nullptr;
  asio::steady_timer kept_sweep_;
  bool kept_sweep_armed_ = false;
};

}  // namespace suwrap::cgid
