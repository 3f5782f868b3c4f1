// SPDX-License-Identifier: Apache-2.0
#include "pools.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "log_line.hpp"
#include "sites.hpp"
#include "spawn.hpp"
#include "suwrap/config/gate_record.hpp"

namespace suwrap::cgid {

using asio::awaitable;
using asio::use_awaitable;
using asio::experimental::as_tuple;

namespace {

// suwrap's refusal is a short CGI response; more than this is not one, and is cut.
constexpr std::size_t max_refusal_bytes = 64 * 1024;
// cgid retires an idle pool this long before the gate would leave on its own.
constexpr std::chrono::milliseconds idle_margin{500};

std::string describe(const RouteKey& key) {
  return "uid " + std::to_string(key.uid) + " handler " + key.handler +
         (key.account.empty() ? "" : " account " + key.account);
}

// Reads the start channel to its end; what it holds is suwrap's refusal (kept up to
// max_refusal_bytes). True at EOF, false on a read error.
awaitable<bool> read_start_channel(asio::posix::stream_descriptor& channel, std::string& bytes) {
  std::string chunk(4096, '\0');
  for (;;) {
    auto [ec, n] = co_await channel.async_read_some(asio::buffer(chunk), as_tuple(use_awaitable));
    if (ec == asio::error::eof) co_return true;
    if (ec) co_return false;
    if (bytes.size() < max_refusal_bytes)
      bytes.append(chunk.data(), std::min(n, max_refusal_bytes - bytes.size()));
  }
}

bool has_exited(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

// Through the pidfd, never by pid: once the supervisor is reaped its pid may be another
// process's, but the pidfd stays its own.
void signal_supervisor(const Pool& pool, int sig) {
  if (pool.state == Pool::State::ended || !pool.pidfd || !pool.pidfd->is_open()) return;
  ::syscall(SYS_pidfd_send_signal, pool.pidfd->native_handle(), sig, nullptr, 0);
}

// A fresh listening socket at `path`, replacing a stale socket file (never anything else).
util::Fd listen_at(const std::string& path, dev_t& dev, ino_t& ino, std::string& error) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      error = path + " exists and is not a socket; not removing it";
      return {};
    }
    ::unlink(path.c_str());
  }
  util::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    error = std::string("socket: ") + std::strerror(errno);
    return {};
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  // The directory is ours alone (0700); the socket itself is made as narrow as that too.
  const mode_t old_umask = ::umask(0177);
  const int bound = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  const int bind_errno = errno;
  ::umask(old_umask);
  if (bound != 0) {
    error = "bind " + path + ": " + std::strerror(bind_errno);
    return {};
  }
  if (::listen(fd.get(), SOMAXCONN) != 0 || ::lstat(path.c_str(), &st) != 0) {
    error = "listen " + path + ": " + std::strerror(errno);
    ::unlink(path.c_str());
    return {};
  }
  dev = st.st_dev;
  ino = st.st_ino;
  return fd;
}

}  // namespace

std::optional<std::string> pool_socket_path(std::string_view dir, const RouteKey& key) {
  std::string path(dir);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  path += '/';
  path += std::to_string(key.uid);
  path += '-';
  path += key.handler;
  if (!key.account.empty()) {
    path += '-';
    path += key.account;
  }
  path += ".sock";
  // Handler and account names are [A-Za-z0-9_.-]; a '/' or NUL could only come from a broken config.
  const auto bad = [](const std::string& name) { return name.find_first_of(std::string_view("/\0", 2)) != std::string::npos; };
  if (key.handler.empty() || bad(key.handler) || bad(key.account)) return std::nullopt;
  if (path.size() >= sizeof(sockaddr_un::sun_path)) return std::nullopt;
  return path;
}

std::optional<policy::Check> gate_refusal_check(std::uint32_t app_status) {
  if (app_status <= policy::gate_refusal_app_status_base) return std::nullopt;
  const std::uint32_t number = app_status - policy::gate_refusal_app_status_base;
  if (number > static_cast<std::uint32_t>(policy::Check::exec)) return std::nullopt;
  return static_cast<policy::Check>(number);
}

std::chrono::milliseconds idle_retire_after(std::chrono::seconds idle_seconds) {
  const auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(idle_seconds);
  // With a very short idle time the margin would eat it all: then half of it.
  if (idle <= 2 * idle_margin) return idle / 2;
  return idle - idle_margin;
}

std::optional<RouteKey> least_recently_used_idle(std::span<const PoolUse> pools) {
  const PoolUse* oldest = nullptr;
  for (const auto& use : pools) {
    if (use.idle && (oldest == nullptr || use.last_used < oldest->last_used)) oldest = &use;
  }
  if (oldest == nullptr) return std::nullopt;
  return oldest->key;
}

Pools::Pools(asio::io_context& io, PoolOptions options, std::shared_ptr<spdlog::logger> log, Metrics& metrics)
    : io_(io), options_(std::move(options)), log_(std::move(log)), metrics_(metrics), kept_sweep_(io) {}

Pools::~Pools() {
  // The daemon is exiting: whatever pool is still alive gets its SIGTERM (the supervisor
  // ends its gate and workers); their sockets go with the directory's next use.
  for (const auto& [key, pool] : pools_) signal_supervisor(*pool, SIGTERM);
}

bool Pools::prepare(std::string& error) {
  if (::mkdir(options_.dir.c_str(), 0700) != 0 && errno != EEXIST) {
    error = "cannot create the pool directory " + options_.dir + ": " + std::strerror(errno);
    return false;
  }
  // Whoever else could write here could put a socket of their own where we connect.
  struct stat st {};
  if (::lstat(options_.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & 077) != 0) {
    error = "the pool directory " + options_.dir + " must be a directory of uid " + std::to_string(::geteuid()) +
            " with mode 0700";
    return false;
  }
  enabled_ = true;
  return true;
}

awaitable<PoolAcquired> Pools::acquire(const WarmRoute& route, const std::vector<std::string>& environment,
                                       std::optional<std::string> account) {
  auto executor = co_await asio::this_coro::executor;
  if (!enabled_) co_return PoolFallback{};
  const auto room_deadline = PoolClock::now() + options_.room_timeout;
  int fresh_starts = 0;
  for (;;) {
    if (stopping_) co_return PoolUnavailable{503};
    if (auto it = pools_.find(route.key); it != pools_.end()) {
      auto pool = it->second;
      if (pool->state == Pool::State::starting) {
        ++pool->waiting;
        while (pool->state == Pool::State::starting) co_await pool->started.wait(executor, PoolClock::time_point::max());
        --pool->waiting;
      }
      if (pool->state == Pool::State::ready) {
        take(pool);
        co_return PoolReady{pool};
      }
      if (!pool->refusal.empty())
        co_return PoolRefused{pool->refusal, static_cast<std::uint32_t>(std::max(pool->exit_status, 0))};
      if (pool->failed_status != 0) co_return PoolUnavailable{pool->failed_status};
      // It ended just after it was ready: once more with a fresh one.
      if (++fresh_starts > 2) co_return PoolUnavailable{502};
      continue;
    }

    if (alive_ >= options_.max_pools) {
      std::vector<PoolUse> uses;
      uses.reserve(pools_.size());
      for (const auto& [key, pool] : pools_)
        uses.push_back({key, pool->state == Pool::State::ready && pool->in_flight == 0 && pool->waiting == 0 &&
                                 pool->site.empty(),
                        pool->last_used});
      if (auto victim = least_recently_used_idle(uses)) {
        retire(pools_.at(*victim), "--max-pools reached: the least recently used idle pool makes room");
      } else if (alive_ == pools_.size()) {
        // Every pool is busy and none is on its way out: nothing will make room soon.
        ++metrics_.pools_full;
        log_->warn("no pool for {}: --max-pools {} pools are all busy: 503", describe(route.key), options_.max_pools);
        co_return PoolUnavailable{503};
      }
      if (PoolClock::now() >= room_deadline || !co_await exited_.wait(executor, room_deadline)) {
        ++metrics_.pools_full;
        log_->warn("no pool for {}: no room under --max-pools {} within {}s: 503", describe(route.key),
                   options_.max_pools, options_.room_timeout.count());
        co_return PoolUnavailable{503};
      }
      continue;
    }

    PoolAcquired failure = PoolFallback{};
    if (!start(route, environment, account, failure)) co_return failure;
    // The new pool is in the map, starting: the loop waits for it like any other request.
  }
}

std::shared_ptr<Pool> Pools::start(const WarmRoute& route, const std::vector<std::string>& environment,
                                   std::optional<std::string> account, PoolAcquired& failure) {
  // A direct pool of an account with a site socket listens there: the web server's
  // connections to it then reach the account's workers without suwrap-cgid.
  std::optional<Sites::Handed> site;
  if (route.direct && sites_ != nullptr && !route.site.empty()) site = sites_->hand_over(route.site);
  const auto path = site ? std::optional<std::string>(site->path) : pool_socket_path(options_.dir, route.key);
  if (!path) {
    log_->error("no pool for {}: its socket path under {} is too long; serving it per request",
                describe(route.key), options_.dir);
    failure = PoolFallback{};
    return nullptr;
  }
  auto pool = std::make_shared<Pool>(io_.get_executor(), route.key, *path, route.idle);
  pool->direct = route.direct;
  std::string error;
  util::Fd listener;
  if (site) {
    listener = std::move(site->fd);
    pool->site = route.site;
  } else {
    listener = listen_at(*path, pool->socket_dev, pool->socket_ino, error);
  }
  if (!listener) {
    log_->error("no pool for {}: {}; serving it per request", describe(route.key), error);
    failure = PoolFallback{};
    return nullptr;
  }
  // The uid this socket is for goes with the start: suwrap --pool refuses a pool whose
  // decided user is anyone else, so a script swapped between the stat that routed it and
  // suwrap's walk cannot put another account's gate on this account's socket.
  std::vector<std::string> pool_environment;
  pool_environment.reserve(environment.size() + 1);
  for (const auto& entry : environment)
    if (!entry.starts_with("SUWRAP_POOL_UID=")) pool_environment.push_back(entry);
  pool_environment.push_back("SUWRAP_POOL_UID=" + std::to_string(route.key.uid));
  SpawnedPool spawned;
  if (!spawn_pool(options_.wrapper, pool_environment, listener.get(), spawned, error)) {
    ++metrics_.spawn_failures;
    log_->error("cannot start suwrap --pool for {}: {}", describe(route.key), error);
    if (site)
      sites_->released(route.site);
    else
      ::unlink(path->c_str());
    failure = PoolUnavailable{500};
    return nullptr;
  }
  // The listening socket now lives in suwrap (and then the gate); we connect by its path.
  listener.reset();
  pool->pid = spawned.pid;
  pool->account = std::move(account);
  pool->pidfd = std::make_unique<asio::posix::stream_descriptor>(io_, spawned.pidfd.release());
  pools_[route.key] = pool;
  ++alive_;
  metrics_.pools_running = alive_;
  ++metrics_.pool_starts;
  log_->info("starting a pool for {} (suwrap --pool pid {})", describe(route.key), pool->pid);
  fastcgi::spawn(io_.get_executor(), supervise(pool, std::move(spawned.start_channel)),
                 logged_completion(io_, log_, "a pool's supervision"));
  return pool;
}

awaitable<void> Pools::supervise(std::shared_ptr<Pool> pool, util::Fd start_channel) {
  using namespace asio::experimental::awaitable_operators;
  auto executor = co_await asio::this_coro::executor;
  {
    asio::posix::stream_descriptor channel(executor, start_channel.release());
    asio::steady_timer start_deadline(executor, options_.start_timeout);
    std::string bytes;
    const auto ended =
        co_await (read_start_channel(channel, bytes) || start_deadline.async_wait(as_tuple(use_awaitable)));
    if (ended.index() == 1) {
      log_->warn("the pool for {} did not start within {}s: ending it", describe(pool->key),
                 options_.start_timeout.count());
      pool->failed_status = 504;
      signal_supervisor(*pool, SIGTERM);
    } else if (!bytes.empty()) {
      pool->refusal = std::move(bytes);  // logged by suwrap itself, with the check
    } else if (!std::get<0>(ended) || has_exited(pool->pidfd->native_handle())) {
      log_->warn("suwrap --pool for {} ended without starting a pool", describe(pool->key));
      pool->failed_status = 502;
    } else {
      pool->state = Pool::State::ready;
      log_->info("the pool for {} is ready at {}", describe(pool->key), pool->socket_path);
      arm_idle(pool);
    }
  }
  if (pool->state == Pool::State::ready) {
    pool->started.notify_all();
    retire_if_idle_and_stopping(pool);
  } else {
    // Not ready: the requests waiting get the answer once suwrap's exit status is known.
    pool->state = Pool::State::retiring;
    forget(pool);
  }


  (void)co_await pool->pidfd->async_wait(asio::posix::stream_descriptor::wait_read, as_tuple(use_awaitable));
  // Reaped with its resource use: the supervisor's, and that of every process below it
  // that was waited for (the gate, php-cgi and its workers) — the pool's CPU.
  siginfo_t info{};
  rusage usage{};
  if (wait_with_usage(pool->pidfd->native_handle(), info, usage)) {
    pool->exit_status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
    if (pool->account) metrics_.accounts.add_cpu(*pool->account, cpu_seconds(usage));
  }
  // Ready, never retired: it ended on its own (its gate or supervisor died).
  if (pool->state == Pool::State::ready) ++metrics_.pool_unexpected_exits;
  if (!pool->refusal.empty() && pool->exit_status >= 1 && pool->exit_status <= 3)
    ++metrics_.wrapper_exits[pool->exit_status];
  {
    std::error_code ignored;
    pool->pidfd->close(ignored);
  }
  const bool was_started = pool->refusal.empty() && pool->failed_status == 0;
  pool->state = Pool::State::ended;
  pool->kept.clear();  // closes them
  pool->idle_timer.cancel();
  forget(pool);
  // Remove the socket file only if it is still the one this pool bound. A fresh pool for
  // the same key (a request that found this one dead started it) has bound the path again:
  // then the file is that pool's, whatever its inode number says — a file system may give
  // the new socket the very inode number the old one freed, and unlinking it would leave
  // the new pool unreachable (connect: ENOENT) and its requests answered 502.
  const auto successor = pools_.find(pool->key);
  struct stat st {};
  if (!pool->site.empty()) {
    // A site's socket is the site's: suwrap-cgid accepts on it again.
    if (sites_ != nullptr) sites_->released(pool->site);
  } else if (successor == pools_.end() && ::lstat(pool->socket_path.c_str(), &st) == 0 &&
             st.st_dev == pool->socket_dev && st.st_ino == pool->socket_ino) {
    ::unlink(pool->socket_path.c_str());
  }
  --alive_;
  metrics_.pools_running = alive_;
  if (was_started) {
    log_->info("the pool for {} ended (suwrap exit {})", describe(pool->key), pool->exit_status);
  } else if (!pool->refusal.empty()) {
    // suwrap has logged which check refused; this says where its answer went.
    log_->info("suwrap --pool refused a pool for {} (exit {}); its answer goes to the {} request(s) waiting",
               describe(pool->key), pool->exit_status, pool->waiting);
  }
  pool->started.notify_all();
  exited_.notify_all();
}

void Pools::take(const std::shared_ptr<Pool>& pool) {
  ++pool->in_flight;
  pool->last_used = PoolClock::now();
  pool->idle_timer.cancel();
}

void Pools::release(const std::shared_ptr<Pool>& pool) {
  if (pool->in_flight > 0) --pool->in_flight;
  pool->last_used = PoolClock::now();
  if (pool->state != Pool::State::ready || pool->in_flight > 0 || pool->waiting > 0) return;
  if (stopping_) {
    retire(pool, "the daemon is stopping");
    return;
  }
  arm_idle(pool);
}

void Pools::retire_if_idle_and_stopping(const std::shared_ptr<Pool>& pool) {
  if (stopping_ && pool->state == Pool::State::ready && pool->in_flight == 0 && pool->waiting == 0)
    retire(pool, "the daemon is stopping");
}

void Pools::discard(const std::shared_ptr<Pool>& pool, std::string_view why) {
  log_->warn("the pool for {} is not reachable ({}): retiring it", describe(pool->key), why);
  retire(pool, why);
}

void Pools::shutdown() {
  stopping_ = true;
  std::vector<std::shared_ptr<Pool>> idle;
  for (const auto& [key, pool] : pools_) {
    if (pool->state == Pool::State::ready && pool->in_flight == 0 && pool->waiting == 0) idle.push_back(pool);
  }
  for (const auto& pool : idle) retire(pool, "the daemon is stopping");
  // Busy pools are retired by release(); starting ones once their waiters are done.
}

void Pools::retire(const std::shared_ptr<Pool>& pool, std::string_view why) {
  if (pool->state != Pool::State::ready && pool->state != Pool::State::starting) return;
  log_->info("retiring the pool for {}: {}", describe(pool->key), why);
  pool->state = Pool::State::retiring;
  pool->kept.clear();  // closes them
  pool->idle_timer.cancel();
  forget(pool);
  signal_supervisor(*pool, SIGTERM);
}

std::unique_ptr<asio::local::stream_protocol::socket> Pools::take_kept(const std::shared_ptr<Pool>& pool) {
  while (pool->state == Pool::State::ready && !pool->kept.empty()) {
    auto connection = std::move(pool->kept.back().socket);
    pool->kept.pop_back();
    // Between requests the gate sends nothing: end of file means it closed the connection
    // (it is stopping), and any byte is out of turn. Either way the connection is done.
    char byte = 0;
    const ssize_t n = ::recv(connection->native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return connection;
    std::error_code ignored;
    connection->close(ignored);
  }
  return nullptr;
}

void Pools::keep(const std::shared_ptr<Pool>& pool, std::unique_ptr<asio::local::stream_protocol::socket> connection) {
  if (!pool->direct && pool->state == Pool::State::ready && !stopping_ &&
      pool->kept.size() < options_.max_kept_per_pool &&
      kept_connections() < options_.max_kept) {
    pool->kept.push_back({std::move(connection), PoolClock::now()});
    sweep_kept_later();
    return;
  }
  std::error_code ignored;
  connection->shutdown(asio::local::stream_protocol::socket::shutdown_both, ignored);
  connection->close(ignored);
}

// Over all pools: only pools that route (in pools_) keep connections; a retired or ended
// one has closed its own.
std::size_t Pools::kept_connections() const {
  std::size_t total = 0;
  for (const auto& [key, pool] : pools_) total += pool->kept.size();
  return total;
}

// Once a second while connections are kept: those unused for `kept_for` are closed.
void Pools::sweep_kept_later() {
  if (kept_sweep_armed_) return;
  kept_sweep_armed_ = true;
  kept_sweep_.expires_after(std::chrono::seconds(1));
  kept_sweep_.async_wait([this](const std::error_code& ec) {
    if (ec) return;  // cancelled: the daemon is ending, `this` may be gone
    kept_sweep_armed_ = false;
    const auto stale = PoolClock::now() - options_.kept_for;
    for (auto& [key, pool] : pools_) {
      auto& kept = pool->kept;
      kept.erase(kept.begin(),
                 std::find_if(kept.begin(), kept.end(), [&](const Pool::Kept& k) { return k.since > stale; }));
    }
    if (kept_connections() > 0) sweep_kept_later();
  });
}

void Pools::forget(const std::shared_ptr<Pool>& pool) {
  auto it = pools_.find(pool->key);
  if (it != pools_.end() && it->second == pool) pools_.erase(it);
}

void Pools::arm_idle(const std::shared_ptr<Pool>& pool) {
  // A site's pool serves the web server's connections without us: we cannot tell it is
  // idle; its gate ends it when its workers are.
  if (!pool->site.empty()) return;
  pool->idle_timer.expires_after(idle_retire_after(pool->idle));
  std::weak_ptr<Pool> weak = pool;
  pool->idle_timer.async_wait([this, weak](const std::error_code& ec) {
    if (ec) return;
    auto idle = weak.lock();
    if (!idle || idle->state != Pool::State::ready || idle->in_flight > 0 || idle->waiting > 0) return;
    retire(idle, "idle for " + std::to_string(idle->idle.count()) + "s");
  });
}

}  // namespace suwrap::cgid
