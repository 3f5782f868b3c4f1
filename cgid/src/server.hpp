// SPDX-License-Identifier: Apache-2.0
// suwrap-cgid's server: the unix socket, one coroutine per connection, one suwrap per
// request — or, for a php-fcgi handler, the request forwarded to the account's warm pool.
// It makes no security decision; suwrap (and in a pool, the gate) decides. It only refuses
// what it cannot carry (peers it does not serve, malformed record streams, params it cannot
// pass, more pools than --max-pools).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/steady_timer.hpp>
#include <spdlog/logger.h>

#include "metrics.hpp"
#include "pools.hpp"
#include "sites.hpp"
#include "router.hpp"
#include "suwrap/fastcgi/server/completion.hpp"
#include "suwrap/fastcgi/session.hpp"
#include "waiters.hpp"

namespace suwrap::cgid {

struct Options {
  std::string listen;                 // socket path (ignored with socket activation)
  std::string wrapper;                // the set-uid suwrap
  mode_t socket_mode = 0660;
  std::string socket_group;           // empty: leave the group as created
  std::size_t max_children = 64;
  std::chrono::seconds queue_timeout{5};
  std::chrono::seconds timeout{60};
  std::string status_path;            // SCRIPT_NAME that answers with metrics; empty: none
  std::string metrics_listen;         // --metrics-listen: address or unix socket; empty: none
  std::size_t metrics_accounts = 100; // accounts with series of their own; 0: no account series
  std::string version;                // for suwrap_cgid_build_info
  std::vector<uid_t> allow_uids;      // besides our own uid and root
  std::chrono::seconds shutdown_grace{30};
  std::string request_id_param;       // --request-id-param: the param a request's id may come in
  std::string config_path;            // suwrap's configuration, read only to route warm requests
  std::string pool_dir = "/run/suwrap/pools";
  std::size_t max_pools = 64;
  std::string sites_dir;  // --sites-dir: empty, none
};

class Connection;
struct Request;

class Server {
 public:
  Server(asio::io_context& io, Options options, std::shared_ptr<spdlog::logger> log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds --listen, or takes the socket systemd passed (LISTEN_FDS). False with the reason.
  bool open_socket(std::string& error);
  // Loads the configuration for warm routing and prepares the pool directory. Warm mode
  // stays off (every request per request) when either fails; the reason is logged.
  void prepare_warm_mode();
  // SIGHUP: loads the configuration again; one that fails to load keeps the routing in use,
  // and its reason is returned (nullopt: loaded).
  std::optional<std::string> reload_routing();
  // Starts accepting. The io_context runs it.
  void start();
  // SIGTERM: stop accepting, let running requests finish (at most shutdown_grace), then
  // stop the io_context.
  void shutdown();

  [[nodiscard]] const Metrics& metrics() const { return metrics_; }
  // For the metrics listener's own counter.
  [[nodiscard]] Metrics& metrics_counters() { return metrics_; }
  // The metrics text as a scrape gets it now (--status-path, --metrics-listen).
  [[nodiscard]] std::string render_metrics();

 private:
  asio::awaitable<void> accept_loop();
  // `site`: the account whose site socket the connection came on (empty: our own socket).
  asio::awaitable<void> serve(asio::local::stream_protocol::socket socket, std::string site);
  void connection_over(const std::shared_ptr<Connection>& conn);
  asio::awaitable<void> wait_for_requests();
  // How the coroutines end (fastcgi::spawn): a failure is logged; a request's coroutine
  // that fails leaves its request answered, by end_failed.
  fastcgi::Completion completion(std::string task);
  fastcgi::Completion request_completion(std::string task, const std::shared_ptr<Connection>& conn,
                                         const std::shared_ptr<Request>& req);
  asio::awaitable<void> end_failed(std::shared_ptr<Connection> conn, std::shared_ptr<Request> req,
                                   std::string records);
  asio::awaitable<void> run_request(std::shared_ptr<Connection> conn, std::shared_ptr<Request> req);
  asio::awaitable<void> pump_output(std::shared_ptr<Connection> conn, std::shared_ptr<Request> req, bool is_stdout);
  asio::awaitable<void> watchdog(std::shared_ptr<Connection> conn, std::shared_ptr<Request> req,
                                 std::shared_ptr<asio::steady_timer> deadline);
  // Warm: false when the request must go the per-request way after all.
  asio::awaitable<bool> run_warm(std::shared_ptr<Connection> conn, std::shared_ptr<Request> req,
                                 const WarmRoute& route, const std::vector<std::string>& environment,
                                 std::chrono::steady_clock::time_point received);
  enum class PoolSend { sent, unreachable, partly_sent, out_of_resources };
  asio::awaitable<PoolSend> connect_to_pool(std::shared_ptr<Request> req, const std::shared_ptr<Pool>& pool);
  // True when the gate's answer ended with END_REQUEST and nothing after it.
  asio::awaitable<bool> relay_from_pool(std::shared_ptr<Connection> conn, std::shared_ptr<Request> req);
  // The client went away (FCGI_ABORT_REQUEST, or its connection closed): the script's
  // output side closes, the script runs on to its end or its limit.
  void client_gone(const std::shared_ptr<Request>& req);
  asio::awaitable<void> abort_at_gate(std::shared_ptr<Request> req);
  asio::awaitable<void> feed_stdin(std::shared_ptr<Request> req, std::string bytes);
  asio::awaitable<void> end_stdin(std::shared_ptr<Request> req);
  asio::awaitable<void> respond(std::shared_ptr<Connection> conn, std::shared_ptr<Request> req, int status,
                                std::string_view content_type, std::string_view body);
  asio::awaitable<void> end_request(std::shared_ptr<Connection> conn, std::shared_ptr<Request> req,
                                    std::uint32_t app_status);
  bool peer_allowed(int fd, std::string& who);
  // A connection on a site socket (--sites-dir) while its account has no pool: served as one
  // on our own socket is, the same peers allowed.
  void take_connection(asio::local::stream_protocol::socket socket, const std::string& site);
  // Whether a request's account is looked up for the metrics: they are served somewhere,
  // and account series are asked for.
  [[nodiscard]] bool counts_accounts() const {
    return options_.metrics_accounts > 0 && (!options_.status_path.empty() || !options_.metrics_listen.empty());
  }

  asio::io_context& io_;
  // Whose connections are ours: suwrap-cgid never changes its uid, so it is asked once.
  const uid_t euid_ = ::geteuid();
  Options options_;
  std::shared_ptr<spdlog::logger> log_;
  asio::local::stream_protocol::acceptor acceptor_;
  fastcgi::SessionConfig session_config_;
  ChildSlots slots_;
  Metrics metrics_;
  Router router_;
  Pools pools_;
  Sites sites_;
  std::set<std::shared_ptr<Connection>> connections_;
  bool stopping_ = false;
  bool socket_owned_ = false;  // we bound the path, so we remove it
  fastcgi::Lifetime lifetime_;  // last: it expires first, before anything it guards is gone
};

}  // namespace suwrap::cgid
