// SPDX-License-Identifier: Apache-2.0
// The gate's server: FastCGI in from suwrap-cgid on fd 0, the policy on every request,
// FastCGI out to the account's php-cgi workers. One coroutine per connection, one relay
// per forwarded request; it holds no request body whole (STDIN is passed on as it comes,
// and the client's next bytes are read only once php-cgi took the last ones).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>

#include "suwrap/config/watch.hpp"
#include "ending.hpp"
#include "name_cache.hpp"
#include "php_pool.hpp"
#include "pool_rule.hpp"
#include "suwrap/fastcgi/server/completion.hpp"
#include "suwrap/fastcgi/session.hpp"
#include "suwrap/policy/facts.hpp"
#include "suwrap/config/gate_record.hpp"
#include "suwrap/util/fd.hpp"

namespace suwrap::gate {

inline constexpr int exit_idle_or_stopped = 0;
inline constexpr int exit_php_died = 3;

class Connection;
struct Exchange;

class Server {
 public:
  // `listener`: fd 0, the pool's listening socket (the server takes it over).
  Server(asio::io_context& io, int listener, PoolIdentity pool, std::chrono::seconds idle_after,
         policy::CurrentConfig& config, PhpPool& php);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void start();
  // SIGTERM, idle, or a configuration the pool no longer fits: connections to the pool's
  // socket are refused from now on (so suwrap-cgid starts a fresh pool), those already
  // queued are still served, running requests finish, then the io_context stops.
  void stop();
  // SIGHUP: read the configuration again before the next request.
  void reload_config() { config_.mark_changed(); }

  [[nodiscard]] int exit_status() const { return exit_status_; }

 private:
  asio::awaitable<void> accept_loop();
  void take_connection(asio::local::stream_protocol::socket socket);
  asio::awaitable<void> serve(std::shared_ptr<Connection> conn);
  void connection_over(const std::shared_ptr<Connection>& conn);
  // How the coroutines end (fastcgi::spawn): a failure is a record; a relay that fails
  // leaves its request answered, by end_failed.
  fastcgi::Completion completion(std::string task);
  fastcgi::Completion request_completion(std::string task, const std::shared_ptr<Connection>& conn,
                                         const std::shared_ptr<Exchange>& ex);
  asio::awaitable<void> end_failed(std::shared_ptr<Connection> conn, std::shared_ptr<Exchange> ex,
                                   std::string records);
  asio::awaitable<void> on_params(std::shared_ptr<Connection> conn, std::shared_ptr<Exchange> ex,
                                  fastcgi::NameValuePairs params);
  asio::awaitable<void> to_php(std::shared_ptr<Exchange> ex, std::string bytes);
  asio::awaitable<void> relay(std::shared_ptr<Connection> conn, std::shared_ptr<Exchange> ex);
  asio::awaitable<void> watchdog(std::shared_ptr<Exchange> ex,
                                 std::chrono::steady_clock::time_point deadline);
  asio::awaitable<void> refuse(std::shared_ptr<Connection> conn, std::shared_ptr<Exchange> ex,
                               policy::GateRefusal refusal);
  asio::awaitable<void> complete(std::shared_ptr<Connection> conn, std::shared_ptr<Exchange> ex,
                                 std::string before_end, std::uint32_t app_status);
  asio::awaitable<void> watch_php();
  asio::awaitable<void> watch_idle();
  // The pool ends at max_lifetime_seconds, and within a few seconds of its user's groups
  // changing: its processes would keep the old ones.
  asio::awaitable<void> watch_lifetime();
  asio::awaitable<void> watch_groups();
  asio::awaitable<void> close_quiet_connections();
  asio::awaitable<void> watch_children();

  // A request judged: refused (with a record), or what goes to php-cgi.
  struct Judgement {
    std::optional<policy::GateRefusal> refusal;
    bool retire_pool = false;  // after the refusal, the pool ends
    std::string php_head;      // BEGIN_REQUEST and PARAMS for php-cgi
    std::uint64_t wall_seconds = 0;
  };
  // Checks 1-12, then the pool rule; builds php-cgi's params. No I/O but the policy's.
  Judgement judge(Exchange& ex, const fastcgi::NameValuePairs& params);
  std::optional<policy::GateRefusal> connect_php(Exchange& ex);
  void end_early(Exchange& ex, Ending ending, std::string note);
  // FCGI_ABORT_REQUEST: the client went away. The worker's output side closes and it runs
  // on; PHP decides (ignore_user_abort), wall_seconds still bounds it.
  void let_go(Exchange& ex);
  asio::awaitable<void> until_worker_lets_go(std::shared_ptr<Exchange> ex);
  // A request that must end while no worker holds it: our end is kept open until a worker
  // takes it and is killed (or the pool ends, or wall_seconds and a minute more pass).
  void keep_until_taken(const Exchange& ex);
  asio::awaitable<void> kill_when_taken(util::Fd connection, std::chrono::steady_clock::time_point give_up);
  std::optional<uid_t> caller_uid(const std::shared_ptr<policy::ConfigSnapshot>& config);
  void request_begun();
  void request_ended();
  void finish_if_drained();
  void finish(int status);

  asio::io_context& io_;
  const pid_t self_;  // the gate's pid, for the scan of its children after every request
  asio::local::stream_protocol::acceptor acceptor_;
  PoolIdentity pool_;
  std::chrono::seconds idle_after_;
  policy::CurrentConfig& config_;
  PhpPool& php_;
  policy::SystemFacts system_facts_;
  NameCache facts_{system_facts_};  // users and groups remembered a few seconds
  fastcgi::SessionConfig session_config_;

  std::set<std::shared_ptr<Connection>> connections_;
  std::size_t requests_in_flight_ = 0;
  std::chrono::steady_clock::time_point last_activity_;
  bool stopping_ = false;
  bool finished_ = false;
  int exit_status_ = exit_idle_or_stopped;

  std::shared_ptr<policy::ConfigSnapshot> caller_config_;  // caller_uid_ was read from it
  std::optional<uid_t> caller_uid_;
  fastcgi::Lifetime lifetime_;  // last: it expires first, before anything it guards is gone
};

}  // namespace suwrap::gate
