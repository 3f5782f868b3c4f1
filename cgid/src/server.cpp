// SPDX-License-Identifier: Apache-2.0
#include "server.hpp"

#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>
#include <variant>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "log_line.hpp"
#include "spawn.hpp"
#include "suwrap/fastcgi/client_reader.hpp"
#include "suwrap/fastcgi/encoder.hpp"
#include "suwrap/config/request_id.hpp"
#include "suwrap/fastcgi/server/connection.hpp"
#include "suwrap/fastcgi/server/dispatch.hpp"
#include "suwrap/fastcgi/server/environment.hpp"

namespace suwrap::cgid {

using asio::awaitable;
using asio::use_awaitable;
using clock = std::chrono::steady_clock;
using stream = asio::local::stream_protocol;
namespace fcgi = suwrap::fastcgi;

namespace {

constexpr std::size_t read_chunk = 64 * 1024;
constexpr std::size_t status_sniff_limit = 8 * 1024;
// A request still running this long after its SIGTERM is logged: its program ignores
// the signal, and only suwrap's wall_seconds will end it.
constexpr std::chrono::seconds term_grace{10};
// Each warm request has a connection of its own to the pool, so its id there is always 1.
constexpr std::uint16_t pool_request_id = 1;

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
  }
}

// The CGI status of a response from its header block: "Status: NNN", else 200 (or 302
// for a Location header, as CGI servers do).
std::optional<int> sniff_status(std::string_view head) {
  size_t end = head.find("\r\n\r\n");
  if (end == std::string_view::npos) end = head.find("\n\n");
  if (end == std::string_view::npos) return std::nullopt;
  head = head.substr(0, end);
  int status = 200;
  bool location = false;
  while (!head.empty()) {
    const size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head = nl == std::string_view::npos ? std::string_view{} : head.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (name == "status" && value.size() >= 3) {
      int code = 0;
      for (size_t i = 0; i < 3 && std::isdigit(static_cast<unsigned char>(value[i])) != 0; ++i)
        code = code * 10 + (value[i] - '0');
      if (code >= 100 && code <= 999) return code;
    }
    if (name == "location") location = true;
  }
  return location ? 302 : status;
}

// This daemon's own descriptors or memory ran out (not the peer's fault). Not ENOBUFS:
// Asio reports a unix socket's full listen backlog (EAGAIN) as that, and a pool whose
// gate does not accept is retired like one that cannot be reached.
bool is_out_of_resources(const std::error_code& ec) {
  return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system ||
         ec == std::errc::not_enough_memory;
}

std::string_view param(const fcgi::NameValuePairs& params, std::string_view name) {
  return fcgi::find_param(params, name).value_or(std::string_view{});
}

// A message about one request: its id goes with it (RequestScope).
template <typename... Args>
void log_about(spdlog::logger& log, std::string_view request_id, spdlog::level::level_enum level,
               spdlog::format_string_t<Args...> format, Args&&... args) {
  const RequestScope scope(request_id);
  log.log(level, format, std::forward<Args>(args)...);
}

// The request's id for every log line about it: the web server's, from --request-id-param,
// when it is one, else a new one. It replaces whatever SUWRAP_REQUEST_ID the client sent,
// and goes on to suwrap (its environment) and to the gate (a param) as that.
std::string take_request_id(fcgi::NameValuePairs& params, const std::string& from_param) {
  std::string id;
  if (!from_param.empty()) {
    // The last value wins, as for every param.
    for (const auto& [name, value] : params)
      if (name == from_param) id = value;
    if (!policy::is_request_id(id)) id.clear();
  }
  if (id.empty()) id = policy::new_request_id();
  std::erase_if(params, [](const fcgi::NameValuePair& p) { return p.first == "SUWRAP_REQUEST_ID"; });
  params.emplace_back("SUWRAP_REQUEST_ID", id);
  return id;
}

}  // namespace

// One FastCGI connection (its socket, session and serialised writes are the shared
// fastcgi::Connection's), with the request on it.
class Connection : public fcgi::Connection {
 public:
  using fcgi::Connection::Connection;

  bool draining = false;  // shutting down: close after the running request
  std::shared_ptr<Request> current;
  std::string site;  // came on this account's site socket (--sites-dir); empty: on ours
};

// One request on a connection, from BEGIN_REQUEST to END_REQUEST.
struct Request {
  enum class Stage { waiting, running, finished };

  Request(asio::any_io_executor ex, std::uint16_t request_id, bool keep)
      : id(request_id), keep_conn(keep), executor(std::move(ex)) {}

  std::uint16_t id;
  bool keep_conn;
  asio::any_io_executor executor;
  fcgi::NameValuePairs params;
  std::string rid;  // the request id of the logs (take_request_id), once the params came
  Stage stage = Stage::waiting;
  Waiters started;  // the stdin feeder waits here until the child runs (or never will)

  pid_t pid = -1;
  std::unique_ptr<asio::posix::stream_descriptor> stdin_pipe;
  std::unique_ptr<asio::posix::stream_descriptor> stdout_pipe;
  std::unique_ptr<asio::posix::stream_descriptor> stderr_pipe;
  std::unique_ptr<asio::posix::stream_descriptor> pidfd;
  bool stdin_end = false;
  // Warm: the connection to the account's pool, instead of a child's pipes.
  std::unique_ptr<stream::socket> gate;
  bool stdin_end_sent = false;
  int gate_writes = 0;  // writes to the gate under way

  bool gone = false;       // the client went away or aborted: nothing more is sent
  bool timed_out = false;
  bool output_sent = false;   // a byte of the response went out (504 is then too late)
  bool suppress_output = false;
  std::string head;  // the start of stdout, to read the CGI status from
  std::optional<std::string> account;  // counted under this account in the metrics
  std::string refused_check;           // named by suwrap's refusal line on stderr
  bool stderr_seen = false;
  int status = 200;
  bool status_known = false;

  // Through the pidfd, never by pid: once suwrap is reaped its pid may belong to another
  // process, but its pidfd stays its own. A warm request is ended by closing its
  // connection to the pool: the gate then ends the PHP worker that serves it.
  void terminate(int sig = SIGTERM) {
    if (stage != Stage::running) return;
    if (gate) {
      close_gate();
      return;
    }
    if (!pidfd || !pidfd->is_open()) return;
    ::syscall(SYS_pidfd_send_signal, pidfd->native_handle(), sig, nullptr, 0);
  }
  void close_gate() {
    if (!gate) return;
    std::error_code ignored;
    gate->shutdown(stream::socket::shutdown_both, ignored);
    gate->close(ignored);
  }
  void close_stdin() {
    stdin_end = true;
    if (stdin_pipe) {
      std::error_code ignored;
      stdin_pipe->close(ignored);
    }
  }
  // Reads the CGI status from the start of the response, as its bytes go by.
  void note_stdout(std::string_view data) {
    output_sent = true;
    if (status_known) return;
    if (head.size() < status_sniff_limit) head.append(data.substr(0, status_sniff_limit - head.size()));
    if (auto sniffed = sniff_status(head)) {
      status = *sniffed;
      status_known = true;
      head.clear();
    } else if (head.size() >= status_sniff_limit) {
      status_known = true;
    }
  }
  // The client gave up (abort or disconnect). As under php-fpm, the script is not ended:
  // its output side closes, so its next write fails and PHP decides (ignore_user_abort,
  // connection_aborted()); wall_seconds and --timeout still bound it, and it keeps its
  // child slot until it ends. A warm request's gate is told with FCGI_ABORT_REQUEST
  // (closing the connection to it would end the worker): Server::abort_at_gate.
  void give_up() {
    if (gone) return;
    gone = true;
    if (stage == Stage::running && !gate) {
      std::error_code ignored;
      if (stdout_pipe) stdout_pipe->close(ignored);
      close_stdin();
    }
    started.notify_all();
  }
};

Server::Server(asio::io_context& io, Options options, std::shared_ptr<spdlog::logger> log)
    : io_(io),
      options_(std::move(options)),
      log_(std::move(log)),
      acceptor_(io),
      slots_(options_.max_children),
      metrics_(MetricsSettings{options_.version, options_.max_children, options_.max_pools, options_.timeout,
                               options_.queue_timeout, options_.metrics_accounts}),
      router_(options_.config_path),
      pools_(io,
             PoolOptions{options_.wrapper, options_.pool_dir, options_.max_pools, options_.timeout,
                         options_.queue_timeout},
             log_, metrics_),
      sites_(io, SiteOptions{options_.sites_dir, options_.socket_mode,
                             options_.socket_group},
             log_, [this](stream::socket socket, const std::string& site) { take_connection(std::move(socket), site); }) {
  session_config_.max_conns = static_cast<std::uint32_t>(std::max<std::size_t>(options_.max_children, 1));
  session_config_.max_reqs = session_config_.max_conns;
  session_config_.max_requests_per_connection = 1;
  // Large enough that suwrap, not the daemon, judges an oversized environment (check
  // `request`: 512 variables, 256 KiB), and answers it with a proper refusal.
  session_config_.max_params_bytes = 512 * 1024;
  session_config_.max_params_count = 2000;
}

Server::~Server() {
  if (socket_owned_) ::unlink(options_.listen.c_str());
}

bool Server::open_socket(std::string& error) {
  const int inherited = ::sd_listen_fds(1);
  if (inherited < 0) {
    error = std::string("sd_listen_fds: ") + std::strerror(-inherited);
    return false;
  }
  if (inherited > 0) {
    const int fd = SD_LISTEN_FDS_START;
    if (inherited != 1 || ::sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) <= 0) {
      error = "socket activation: expected exactly one listening unix stream socket";
      return false;
    }
    std::error_code ec;
    acceptor_.assign(stream(), fd, ec);
    if (ec) {
      error = "socket activation: " + ec.message();
      return false;
    }
    log_->info("listening on the socket passed by systemd (fd {})", fd);
    return true;
  }

  if (options_.listen.empty()) {
    error = "--listen is required without socket activation";
    return false;
  }
  // Replace a stale socket from an earlier run, never anything else.
  struct stat st {};
  if (::lstat(options_.listen.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      error = options_.listen + " exists and is not a socket; not removing it";
      return false;
    }
    ::unlink(options_.listen.c_str());
  }
  // Created with no permission for anyone but us, then opened to the configured mode:
  // there is no moment when a wider mode than asked applies.
  const mode_t old_umask = ::umask(0177);
  std::error_code ec;
  acceptor_.open(stream(), ec);
  if (!ec) acceptor_.bind(stream::endpoint(options_.listen), ec);
  ::umask(old_umask);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "cannot listen on " + options_.listen + ": " + ec.message();
    return false;
  }
  socket_owned_ = true;
  if (!options_.socket_group.empty()) {
    const group* g = ::getgrnam(options_.socket_group.c_str());  // NOLINT(concurrency-mt-unsafe)
    if (g == nullptr || ::chown(options_.listen.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
      error = "cannot give " + options_.listen + " to group " + options_.socket_group;
      return false;
    }
  }
  if (::chmod(options_.listen.c_str(), options_.socket_mode) != 0) {
    error = "cannot chmod " + options_.listen + ": " + std::strerror(errno);
    return false;
  }
  log_->info("listening on {} (mode {:04o})", options_.listen, static_cast<unsigned>(options_.socket_mode));
  return true;
}

void Server::prepare_warm_mode() {
  if (auto error = router_.reload()) {
    log_->warn("warm routing is off: cannot load {}: {}", router_.config_path(), *error);
    return;
  }
  if (!router_.has_warm_handlers()) {
    log_->info("warm routing: {} has no php-fcgi handler; every request runs its own suwrap", router_.config_path());
    return;
  }
  std::string error;
  if (!pools_.prepare(error)) {
    log_->warn("warm mode is off: {}", error);
    return;
  }
  log_->info("warm routing: php-fcgi handlers go to per-account pools under {} (--max-pools {})",
             options_.pool_dir, options_.max_pools);
  if (sites_.enabled()) {
    if (!sites_.prepare(error)) {
      log_->warn("sites are off: {}", error);
      return;
    }
    pools_.use_sites(&sites_);
    sites_.follow(router_.accounts_dir());
    log_->info("sites: one socket per account file under {}", options_.sites_dir);
  }
}

void Server::take_connection(stream::socket socket, const std::string& site) {
  std::string who;
  if (stopping_ || !peer_allowed(socket.native_handle(), who)) {
    if (!stopping_) {
      ++metrics_.peers_rejected;
      log_->warn("closed a connection from {}: not our uid, root, or an --allow-uid", who);
    }
    std::error_code ignored;
    socket.close(ignored);
    return;
  }
  fcgi::spawn(io_.get_executor(), serve(std::move(socket), site), completion("a connection"));
}

std::optional<std::string> Server::reload_routing() {
  if (auto error = router_.reload()) {
    log_->error("SIGHUP: {} did not load, the routing in use stays: {}", router_.config_path(), *error);
    return error;
  }
  std::string error;
  if (router_.has_warm_handlers() && !pools_.enabled() && !pools_.prepare(error)) {
    log_->warn("SIGHUP: configuration reloaded; warm mode is off: {}", error);
    return std::nullopt;
  }
  if (sites_.enabled() && pools_.enabled()) sites_.follow(router_.accounts_dir());
  log_->info("SIGHUP: configuration reloaded for warm routing{}",
             router_.has_warm_handlers() ? "" : " (no php-fcgi handler)");
  return std::nullopt;
}

void Server::start() { fcgi::spawn(io_.get_executor(), accept_loop(), completion("the accept loop")); }

fcgi::Completion Server::completion(std::string task) { return logged_completion(io_, log_, std::move(task)); }

// A request's coroutine that fails leaves its request answered: a 500 if nothing of it
// went out yet, and END_REQUEST (end_request resets the connection's current request).
fcgi::Completion Server::request_completion(std::string task, const std::shared_ptr<Connection>& conn,
                                            const std::shared_ptr<Request>& req) {
  auto request = std::make_shared<fcgi::RequestInFlight>();
  request->request_id = req->id;
  request->ended = [conn, req] { return conn->current != req; };
  request->answer_started = [req] { return req->output_sent || req->gone; };
  request->end = [this, conn, req](std::string records) { return end_failed(conn, req, std::move(records)); };
  return completion(std::move(task)).with_request(std::move(request));
}

awaitable<void> Server::end_failed(std::shared_ptr<Connection> conn, std::shared_ptr<Request> req,
                                   std::string records) {
  if (!records.empty()) {
    req->output_sent = true;
    req->status = 500;
    (void)co_await conn->send(std::move(records));
  }
  co_await end_request(conn, req, 0);
}

std::string Server::render_metrics() {
  metrics_.config_loads = router_.config_loads();
  return metrics_.render();
}

void Server::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  log_->info("stopping: no new connections; {} open, waiting for running requests", connections_.size());
  std::error_code ignored;
  acceptor_.close(ignored);
  if (socket_owned_) {
    ::unlink(options_.listen.c_str());
    socket_owned_ = false;
  }
  sites_.close_all();
  // Idle connections close now; busy ones after their request. Pools are retired as soon
  // as no request uses them.
  for (const auto& conn : connections_) {
    conn->draining = true;
    if (!conn->current) conn->close();
  }
  pools_.shutdown();
  fcgi::spawn(io_.get_executor(), wait_for_requests(), completion("the shutdown"));
}

// Waits for the running requests (at most --shutdown-grace), then stops the io_context.
awaitable<void> Server::wait_for_requests() {
  const auto deadline = clock::now() + options_.shutdown_grace;
  asio::steady_timer tick(io_);
  // A request whose client went away runs on without a connection: it is waited for too.
  while ((!connections_.empty() || pools_.alive() > 0 || metrics_.children_active > 0) &&
         clock::now() < deadline) {
    tick.expires_after(std::chrono::milliseconds(50));
    co_await tick.async_wait(asio::experimental::as_tuple(use_awaitable));
  }
  if (!connections_.empty()) log_->warn("{} connection(s) still open after the grace; closing", connections_.size());
  if (pools_.alive() > 0) log_->warn("{} pool(s) still ending after the grace", pools_.alive());
  io_.stop();
}

bool Server::peer_allowed(int fd, std::string& who) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    who = std::string("unknown peer (SO_PEERCRED: ") + std::strerror(errno) + ")";
    return false;
  }
  who = "uid " + std::to_string(cred.uid) + " pid " + std::to_string(cred.pid);
  if (cred.uid == euid_ || cred.uid == 0) return true;
  return std::find(options_.allow_uids.begin(), options_.allow_uids.end(), cred.uid) != options_.allow_uids.end();
}

awaitable<void> Server::accept_loop() {
  while (!stopping_) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::experimental::as_tuple(use_awaitable));
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      log_->warn("accept: {}", ec.message());
      // Out of descriptors and the like: do not spin.
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::experimental::as_tuple(use_awaitable));
      continue;
    }
    // Another local user who reaches the socket could forge REMOTE_ADDR, REMOTE_USER or
    // HTTPS for someone else's site: such a peer is closed before a byte is read.
    std::string who;
    if (!peer_allowed(socket.native_handle(), who)) {
      ++metrics_.peers_rejected;
      log_->warn("closed a connection from {}: not our uid, root, or an --allow-uid", who);
      std::error_code ignored;
      socket.close(ignored);
      continue;
    }
    fcgi::spawn(io_.get_executor(), serve(std::move(socket), {}), completion("a connection"));
  }
}

awaitable<void> Server::serve(stream::socket socket, std::string site) {
  auto conn = std::make_shared<Connection>(std::move(socket), session_config_);
  conn->site = std::move(site);
  connections_.insert(conn);
  ++metrics_.connections_open;
  auto executor = conn->socket().get_executor();
  // However the reading ends, the connection ends with it, a failure too.
  const fcgi::AtEnd over([this, conn, alive = lifetime_.token()] {
    if (!alive.expired()) connection_over(conn);
  });

  std::vector<fcgi::Event> events;
  std::error_code read_error;
  bool open = true;
  // Whether an event is for the request on the connection.
  const auto is_current = [&conn](std::uint16_t id) { return conn->current && conn->current->id == id; };
  while (open && !conn->closed()) {
    if (!co_await conn->receive(events, read_error)) {
      if (read_error && read_error != asio::error::eof && read_error != asio::error::operation_aborted)
        log_->debug("connection read: {}", read_error.message());
      break;
    }
    for (auto& event : events) {
      co_await fcgi::dispatch(
          event,
          [&](fcgi::BeginRequest& begin) -> awaitable<void> {
            conn->current = std::make_shared<Request>(executor, begin.request_id, begin.keep_conn);
            co_return;
          },
          [&](fcgi::Params& params) -> awaitable<void> {
            if (is_current(params.request_id)) {
              conn->current->params = std::move(params.params);
              fcgi::spawn(executor, run_request(conn, conn->current), request_completion("request", conn, conn->current));
            }
            co_return;
          },
          [&](fcgi::ParamsRefused& refused) -> awaitable<void> {
            if (is_current(refused.request_id)) {
              log_->warn("request refused whole: {}", refused.reason);
              auto req = conn->current;
              req->stage = Request::Stage::finished;
              fcgi::spawn(executor, respond(conn, req, 400, "text/plain", "400 Bad Request\n"),
                          request_completion("request", conn, req));
            }
            co_return;
          },
          [&](fcgi::Stdin& in) -> awaitable<void> {
            if (is_current(in.request_id)) co_await feed_stdin(conn->current, std::move(in.bytes));
          },
          [&](fcgi::StdinEnd& end) -> awaitable<void> {
            if (is_current(end.request_id)) co_await end_stdin(conn->current);
          },
          [&](fcgi::Abort& abort) -> awaitable<void> {
            if (is_current(abort.request_id)) {
              log_about(*log_, conn->current->rid, spdlog::level::info,
                        "aborted by the web server (FastCGI request {})", abort.request_id);
              client_gone(conn->current);
            }
            co_return;
          },
          [&](fcgi::ProtocolError& error) -> awaitable<void> {
            open = false;
            ++metrics_.protocol_errors;
            // A request whose params are over the bound is one the web server sent whole and
            // well-formed: it gets an answer before the connection closes (the session is over,
            // so the records are written here), not a silent close.
            const auto req = conn->current;
            const bool oversized = error.violation == fcgi::Violation::params_too_large ||
                                   error.violation == fcgi::Violation::too_many_params;
            if (oversized && req && req->stage == Request::Stage::waiting && !req->output_sent) {
              log_->warn("FastCGI request {} refused with 431: {}; closing the connection", req->id, error.reason);
              req->stage = Request::Stage::finished;
              req->status = 431;
              ++metrics_.requests_by_status[req->status];
              std::string out;
              fcgi::append_stdout(out, req->id,
                                  "Status: 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\n\r\n"
                                  "431 Request Header Fields Too Large\n");
              fcgi::append_stream_end(out, fcgi::RecordType::stdout_stream, req->id);
              fcgi::append_end_request(out, req->id, 0, fcgi::ProtocolStatus::request_complete);
              (void)co_await conn->send(std::move(out));
            } else {
              log_->warn("closing a connection: malformed FastCGI stream: {}", error.reason);
            }
          });
      if (!open) break;
    }
  }
}

// The connection is over: a request still running has lost its client.
void Server::connection_over(const std::shared_ptr<Connection>& conn) {
  if (conn->current && conn->current->stage != Request::Stage::finished) client_gone(conn->current);
  conn->close();
  connections_.erase(conn);
  --metrics_.connections_open;
}

void Server::client_gone(const std::shared_ptr<Request>& req) {
  const bool was_gone = req->gone;
  req->give_up();
  if (!was_gone && req->stage == Request::Stage::running && req->gate)
    fcgi::spawn(req->executor, abort_at_gate(req), completion("telling the pool of an abort"));
}

// Warm: the gate lets the worker run on (its output side closed) when told with
// FCGI_ABORT_REQUEST, and relay_from_pool reads on until the gate's END_REQUEST, so the
// request stays counted against its pool until the script ends. A body not yet sent whole
// will never come: then the connection closes, and the gate ends the worker, which would
// otherwise wait for it until wall_seconds.
awaitable<void> Server::abort_at_gate(std::shared_ptr<Request> req) {
  if (!req->gate || !req->gate->is_open()) co_return;
  if (!req->stdin_end_sent || req->gate_writes > 0) {
    req->close_gate();
    co_return;
  }
  std::string out;
  fcgi::append_abort_request(out, pool_request_id);
  ++req->gate_writes;
  (void)co_await asio::async_write(*req->gate, asio::buffer(out), asio::experimental::as_tuple(use_awaitable));
  --req->gate_writes;
}

awaitable<void> Server::feed_stdin(std::shared_ptr<Request> req, std::string bytes) {
  // The body may arrive before the child is running (it waits for a slot): hold the
  // reading of the socket until it runs — that is the backpressure — or never will.
  while (req->stage == Request::Stage::waiting && !req->gone)
    co_await req->started.wait(req->executor, clock::time_point::max());
  if (req->stage != Request::Stage::running) co_return;
  if (req->gate) {
    if (!req->gate->is_open() || req->stdin_end_sent) co_return;
    std::string out;
    fcgi::append_stdin(out, pool_request_id, bytes);
    // A failed write is not answered here: the relay sees the pool's end of it.
    ++req->gate_writes;
    (void)co_await asio::async_write(*req->gate, asio::buffer(out), asio::experimental::as_tuple(use_awaitable));
    --req->gate_writes;
    co_return;
  }
  if (!req->stdin_pipe || !req->stdin_pipe->is_open()) co_return;
  auto [ec, n] = co_await asio::async_write(*req->stdin_pipe, asio::buffer(bytes), asio::experimental::as_tuple(use_awaitable));
  if (ec) {
    // The program does not read its input (or has ended): the rest is dropped.
    std::error_code ignored;
    req->stdin_pipe->close(ignored);
  }
}

awaitable<void> Server::end_stdin(std::shared_ptr<Request> req) {
  if (!req->gate) {
    req->close_stdin();
    co_return;
  }
  req->stdin_end = true;
  // Before the request runs, run_warm sends the end with the params.
  if (req->stage != Request::Stage::running || req->stdin_end_sent || !req->gate->is_open()) co_return;
  req->stdin_end_sent = true;
  std::string out;
  fcgi::append_stdin_end(out, pool_request_id);
  ++req->gate_writes;
  (void)co_await asio::async_write(*req->gate, asio::buffer(out), asio::experimental::as_tuple(use_awaitable));
  --req->gate_writes;
}

awaitable<void> Server::respond(std::shared_ptr<Connection> conn, std::shared_ptr<Request> req, int status,
                                std::string_view content_type, std::string_view body) {
  std::string head = "Status: " + std::to_string(status) + " " + std::string(reason_phrase(status)) +
                     "\r\nContent-Type: " + std::string(content_type) + "\r\n\r\n";
  std::string out;
  fcgi::append_stdout(out, req->id, head);
  fcgi::append_stdout(out, req->id, body);
  req->output_sent = true;
  req->status = status;
  (void)co_await conn->send(std::move(out));
  co_await end_request(conn, req, 0);
}

awaitable<void> Server::end_request(std::shared_ptr<Connection> conn, std::shared_ptr<Request> req,
                                    std::uint32_t app_status) {
  req->stage = Request::Stage::finished;
  req->started.notify_all();
  ++metrics_.requests_by_status[req->status];
  if (req->account) metrics_.accounts.add_request(*req->account);
  std::string out;
  fcgi::append_stream_end(out, fcgi::RecordType::stdout_stream, req->id);
  const bool ended = conn->session().end_request(req->id, app_status, out);
  // An aborted request is answered too (the web server waits for END_REQUEST before it
  // reuses a kept connection); for a connection that is gone, send() does nothing.
  if (ended) (void)co_await conn->send(std::move(out));
  if (conn->current == req) conn->current.reset();
  if (!req->keep_conn || conn->draining) conn->close();
}

awaitable<void> Server::run_request(std::shared_ptr<Connection> conn, std::shared_ptr<Request> req) {
  using namespace asio::experimental::awaitable_operators;
  const auto received = clock::now();
  auto executor = req->executor;
  req->rid = take_request_id(req->params, options_.request_id_param);

  if (!options_.status_path.empty() && param(req->params, "SCRIPT_NAME") == options_.status_path) {
    co_await respond(conn, req, 200, "text/plain; version=0.0.4", render_metrics());
    co_return;
  }

  // The params become suwrap's environment as they are; suwrap filters. A name that
  // cannot be one (empty, or holding '=') cannot be passed without changing its meaning.
  // SUWRAP_ACCOUNTS_CHANGED is this daemon's to say, never a request's.
  auto params_environment = fcgi::params_to_environment(req->params, "SUWRAP_ACCOUNTS_CHANGED");
  if (!params_environment) {
    log_about(*log_, req->rid, spdlog::level::warn, "refused: a param name is empty or holds '='");
    co_await respond(conn, req, 400, "text/plain", "400 Bad Request\n");
    co_return;
  }
  std::vector<std::string> environment = std::move(*params_environment);

  // A php-fcgi handler: the account's warm pool, unless no pool can be made here. The
  // account the metrics count it under comes with the same look at the script. Either
  // way the configuration is polled once for the request.
  const bool with_account = counts_accounts();
  Routing routing;
  if (pools_.enabled() || with_account)
    routing = router_.look(req->params, with_account);
  else
    routing.accounts_changed_ns = router_.accounts_changed_ns();
  // When this daemon last saw an account file change: suwrap refreshes an account index
  // older than that instead of believing it, so an edit made in place is seen at once.
  if (routing.accounts_changed_ns != 0)
    environment.push_back("SUWRAP_ACCOUNTS_CHANGED=" + std::to_string(routing.accounts_changed_ns));
  req->account = std::move(routing.account);
  // A site's socket is its account's direct pool's, whoever serves it: what its pool would
  // refuse (another account's script, a handler that is not direct) is refused here too.
  if (!conn->site.empty() &&
      !(pools_.enabled() && routing.warm && routing.warm->direct && routing.warm->site == conn->site)) {
    log_about(*log_, req->rid, spdlog::level::warn,
              "refused {} on the site socket of account {}: not that account's direct pool: 403",
              param(req->params, "SCRIPT_FILENAME"), conn->site);
    co_await respond(conn, req, 403, "text/plain", "403 Forbidden\n");
    co_return;
  }
  if (pools_.enabled() && routing.warm) {
    if (co_await run_warm(conn, req, *routing.warm, environment, received)) co_return;
  }

  ++metrics_.requests_queued;
  const bool got_slot = co_await slots_.acquire(executor, received + options_.queue_timeout);
  --metrics_.requests_queued;
  if (!got_slot) {
    ++metrics_.queue_timeouts;
    log_about(*log_, req->rid, spdlog::level::warn, "request for {} waited {}s for a free child (--max-children {}): 503",
              param(req->params, "SCRIPT_FILENAME"), options_.queue_timeout.count(), options_.max_children);
    co_await respond(conn, req, 503, "text/plain", "503 Service Unavailable\n");
    co_return;
  }
  struct SlotRelease {
    ChildSlots& slots;
    Metrics& metrics;
    std::weak_ptr<const bool> alive;  // the server's (fcgi::Lifetime)
    ~SlotRelease() {
      if (alive.expired()) return;
      slots.release();
      --metrics.children_active;
    }
  } slot_release{slots_, metrics_, lifetime_.token()};
  ++metrics_.children_active;

  if (req->gone) {
    co_await end_request(conn, req, 0);
    co_return;
  }

  const auto spawn_start = clock::now();
  SpawnedChild child;
  std::string spawn_error;
  if (!spawn_wrapper(options_.wrapper, environment, child, spawn_error)) {
    ++metrics_.spawn_failures;
    log_about(*log_, req->rid, spdlog::level::err, "cannot start suwrap: {}", spawn_error);
    co_await respond(conn, req, 500, "text/plain", "500 Internal Server Error\n");
    co_return;
  }
  metrics_.spawn_seconds.observe(std::chrono::duration<double>(clock::now() - spawn_start).count());
  req->pid = child.pid;
  req->stdin_pipe = std::make_unique<asio::posix::stream_descriptor>(executor, child.stdin_fd.release());
  req->stdout_pipe = std::make_unique<asio::posix::stream_descriptor>(executor, child.stdout_fd.release());
  req->stderr_pipe = std::make_unique<asio::posix::stream_descriptor>(executor, child.stderr_fd.release());
  req->pidfd = std::make_unique<asio::posix::stream_descriptor>(executor, child.pidfd.release());
  req->stage = Request::Stage::running;
  if (req->stdin_end) req->close_stdin();
  req->started.notify_all();

  // --timeout: SIGTERM to suwrap (its supervisor ends the whole group), 504 if nothing
  // of the response went out yet.
  auto deadline = std::make_shared<asio::steady_timer>(executor, options_.timeout);
  fcgi::spawn(executor, watchdog(conn, req, deadline), completion("the --timeout watchdog"));

  co_await (pump_output(conn, req, true) && pump_output(conn, req, false));

  // Both pipes are at their end: suwrap is exiting. Reap it through its pidfd.
  (void)co_await req->pidfd->async_wait(asio::posix::stream_descriptor::wait_read, asio::experimental::as_tuple(use_awaitable));
  // Its resource use includes the program's, which suwrap's supervisor waited for.
  siginfo_t info{};
  rusage usage{};
  std::uint32_t app_status = 0;
  if (wait_with_usage(req->pidfd->native_handle(), info, usage)) {
    if (req->account) metrics_.accounts.add_cpu(*req->account, cpu_seconds(usage));
    if (info.si_code == CLD_EXITED) {
      app_status = static_cast<std::uint32_t>(info.si_status);
      if (info.si_status >= 1 && info.si_status <= 3) {
        ++metrics_.wrapper_exits[info.si_status];
        metrics_.count_refusal(RequestMode::cgi, req->refused_check.empty() ? "unknown" : req->refused_check);
      }
    } else {
      app_status = 128 + static_cast<std::uint32_t>(info.si_status);
    }
  }
  deadline->cancel();
  {
    std::error_code ignored;
    req->stdin_pipe->close(ignored);
    req->pidfd->close(ignored);
  }
  req->stage = Request::Stage::finished;
  if (!req->output_sent && !req->gone) {
    // suwrap wrote nothing at all: it died before it could answer.
    std::string out;
    req->status = 502;
    fcgi::append_stdout(out, req->id, "Status: 502 Bad Gateway\r\nContent-Type: text/plain\r\n\r\n502 Bad Gateway\n");
    (void)co_await conn->send(std::move(out));
  }
  metrics_.observe_response(RequestMode::cgi, std::chrono::duration<double>(clock::now() - received).count());
  log_about(*log_, req->rid, spdlog::level::debug, "{} ended: status {}, suwrap exit {}, {} ms",
            param(req->params, "SCRIPT_FILENAME"), req->status, app_status,
            std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - received).count());
  co_await end_request(conn, req, app_status);
}

awaitable<void> Server::pump_output(std::shared_ptr<Connection> conn, std::shared_ptr<Request> req, bool is_stdout) {
  auto& pipe = is_stdout ? *req->stdout_pipe : *req->stderr_pipe;
  const auto chunk = std::make_unique_for_overwrite<char[]>(read_chunk);  // not zeroed
  for (;;) {
    auto [ec, n] = co_await pipe.async_read_some(asio::buffer(chunk.get(), read_chunk), asio::experimental::as_tuple(use_awaitable));
    if (ec) break;  // end of the stream (or an error, which ends it too)
    const std::string_view data(chunk.get(), n);
    if (req->gone || (is_stdout && req->suppress_output)) continue;  // drain, so the child can finish
    std::string out;
    if (is_stdout) {
      req->note_stdout(data);
      fcgi::append_stdout(out, req->id, data);
    } else {
      // suwrap's refusal line, first on its stderr, is this daemon's: the check for the
      // metrics. Its log names the check too, so the line goes no further.
      std::string_view rest = data;
      if (!req->stderr_seen) {
        req->stderr_seen = true;
        if (auto check = policy::parse_refusal_line(rest)) {
          req->refused_check = std::string(policy::check_name(check->first));
          rest.remove_prefix(check->second);
        }
      }
      if (rest.empty()) continue;
      fcgi::append_stderr(out, req->id, rest);
    }
    // Awaiting the write before reading more is the backpressure: a slow client slows
    // the program down instead of filling our memory.
    if (!co_await conn->send(std::move(out))) client_gone(req);
  }
  std::error_code ignored;
  pipe.close(ignored);
}

// --timeout: SIGTERM to suwrap, which relays it to the program's whole group; 504 if
// nothing of the response went out yet. Never SIGKILL to suwrap: the kernel would end
// only the group's leader with it (PR_SET_PDEATHSIG), and the rest of the group would run
// on as the account user with no supervisor left to enforce wall_seconds or to reap it.
awaitable<void> Server::watchdog(std::shared_ptr<Connection> conn, std::shared_ptr<Request> req,
                                 std::shared_ptr<asio::steady_timer> deadline) {
  auto [ec] = co_await deadline->async_wait(asio::experimental::as_tuple(use_awaitable));
  if (ec || req->stage != Request::Stage::running) co_return;
  req->timed_out = true;
  ++metrics_.request_timeouts;
  log_about(*log_, req->rid, spdlog::level::warn, "request for {} ran past --timeout {}s: ending it",
            param(req->params, "SCRIPT_FILENAME"),
             options_.timeout.count());
  req->terminate(SIGTERM);
  if (!req->output_sent && !req->gone) {
    req->output_sent = true;
    req->suppress_output = true;
    req->status = 504;
    std::string out;
    fcgi::append_stdout(out, req->id,
                        "Status: 504 Gateway Timeout\r\nContent-Type: text/plain\r\n\r\n504 Gateway Timeout\n");
    (void)co_await conn->send(std::move(out));
  }
  if (req->stage != Request::Stage::running) co_return;
  deadline->expires_after(term_grace);
  auto [ec2] = co_await deadline->async_wait(asio::experimental::as_tuple(use_awaitable));
  if (!ec2 && req->stage == Request::Stage::running)
    log_about(*log_, req->rid, spdlog::level::warn,
              "request for {} still runs {}s after SIGTERM: its program ignores it; suwrap ends it at wall_seconds",
               param(req->params, "SCRIPT_FILENAME"), term_grace.count());
}

// --- warm mode ------------------------------------------------------------------------

awaitable<bool> Server::run_warm(std::shared_ptr<Connection> conn, std::shared_ptr<Request> req,
                                 const WarmRoute& route, const std::vector<std::string>& environment,
                                 clock::time_point received) {
  auto executor = req->executor;
  std::shared_ptr<Pool> pool;
  // Once more on a fresh pool when connecting to one fails: nothing of the request reached
  // it, so nothing can have run twice.
  for (int attempt = 0; attempt < 2 && !pool; ++attempt) {
    auto acquired = co_await pools_.acquire(route, environment, req->account);
    if (std::holds_alternative<PoolFallback>(acquired)) co_return false;
    if (auto* unavailable = std::get_if<PoolUnavailable>(&acquired)) {
      co_await respond(conn, req, unavailable->status, "text/plain",
                       std::to_string(unavailable->status) + " " + std::string(reason_phrase(unavailable->status)) + "\n");
      co_return true;
    }
    if (auto* refused = std::get_if<PoolRefused>(&acquired)) {
      // suwrap's own CGI refusal (it has logged the check): relayed as it is.
      metrics_.count_refusal(RequestMode::warm, "unknown");
      std::string out;
      req->note_stdout(refused->response);
      fcgi::append_stdout(out, req->id, refused->response);
      (void)co_await conn->send(std::move(out));
      co_await end_request(conn, req, refused->app_status);
      co_return true;
    }
    auto candidate = std::get<PoolReady>(acquired).pool;
    if (req->gone) {
      pools_.release(candidate);
      co_await end_request(conn, req, 0);
      co_return true;
    }
    const PoolSend sent = co_await connect_to_pool(req, candidate);
    if (sent == PoolSend::sent) {
      pool = std::move(candidate);
    } else {
      pools_.release(candidate);
      if (sent == PoolSend::out_of_resources) {
        co_await respond(conn, req, 503, "text/plain", "503 Service Unavailable\n");
        co_return true;
      }
      if (sent == PoolSend::partly_sent) break;  // 502 below
    }
  }
  if (!pool) {
    co_await respond(conn, req, 502, "text/plain", "502 Bad Gateway\n");
    co_return true;
  }

  req->stage = Request::Stage::running;
  // The body that came while the pool started may go now; its end, if it came, went with the params.
  req->started.notify_all();
  // The client went away while the request was being handed to the pool.
  if (req->gone) fcgi::spawn(executor, abort_at_gate(req), completion("telling the pool of an abort"));

  auto deadline = std::make_shared<asio::steady_timer>(executor, options_.timeout);
  fcgi::spawn(executor, watchdog(conn, req, deadline), completion("the --timeout watchdog"));
  const bool answered_cleanly = co_await relay_from_pool(conn, req);
  deadline->cancel();
  // The connection serves the pool's next request when this one left nothing behind on
  // it: answered in full, its whole body sent, no write still under way.
  if (answered_cleanly && req->stdin_end_sent && req->gate_writes == 0 && req->gate->is_open()) {
    pools_.keep(pool, std::move(req->gate));
  } else {
    req->close_gate();
  }
  pools_.release(pool);
  metrics_.observe_response(RequestMode::warm, std::chrono::duration<double>(clock::now() - received).count());
  co_return true;
}

// Sends BEGIN_REQUEST (FCGI_KEEP_CONN) and the params as received (and the end of the body,
// if it has come) on a connection kept from an earlier request, or on a new one. A kept
// connection that the gate closed meanwhile is dropped and the next one tried when not a
// byte could be written to it (then the gate has taken nothing). A new connection that
// fails retires the pool (unreachable) — unless what failed is this daemon's own
// descriptors or memory, which says nothing of the pool.
awaitable<Server::PoolSend> Server::connect_to_pool(std::shared_ptr<Request> req, const std::shared_ptr<Pool>& pool) {
  std::string out;
  fcgi::append_begin_request(out, pool_request_id, fcgi::Role::responder, true);
  if (!fcgi::append_params(out, pool_request_id, req->params)) {
    // Cannot happen: the session decoded these very pairs.
    co_return PoolSend::unreachable;
  }
  const bool with_end = req->stdin_end;
  if (with_end) fcgi::append_stdin_end(out, pool_request_id);
  for (;;) {
    auto gate = pools_.take_kept(pool);
    const bool kept = gate != nullptr;
    if (!kept) {
      gate = std::make_unique<stream::socket>(req->executor);
      auto [connect_ec] = co_await gate->async_connect(stream::endpoint(pool->socket_path),
                                                       asio::experimental::as_tuple(use_awaitable));
      if (connect_ec) {
        if (is_out_of_resources(connect_ec)) {
          log_about(*log_, req->rid, spdlog::level::warn, "cannot connect to the pool for {}: {}",
                    param(req->params, "SCRIPT_FILENAME"),
                     connect_ec.message());
          co_return PoolSend::out_of_resources;
        }
        pools_.discard(pool, "connect: " + connect_ec.message());
        co_return PoolSend::unreachable;
      }
    }
    req->gate = std::move(gate);
    auto [write_ec, n] = co_await asio::async_write(*req->gate, asio::buffer(out), asio::experimental::as_tuple(use_awaitable));
    if (!write_ec) break;
    req->close_gate();
    req->gate.reset();
    if (!kept || n > 0) {
      pools_.discard(pool, "write: " + write_ec.message());
      // Part of the request reached the gate, which may have acted on it: not sent again.
      co_return n > 0 ? PoolSend::partly_sent : PoolSend::unreachable;
    }
  }
  req->stdin_end_sent = with_end;
  // The body's end may have come while the params were being written.
  if (req->stdin_end && !req->stdin_end_sent) {
    req->stdin_end_sent = true;
    std::string end;
    fcgi::append_stdin_end(end, pool_request_id);
    (void)co_await asio::async_write(*req->gate, asio::buffer(end), asio::experimental::as_tuple(use_awaitable));
  }
  co_return PoolSend::sent;
}

// The gate's answer, relayed as a child's stdout is: STDOUT content to the web server
// (status read on the way, backpressure by awaiting each write), STDERR likewise, and its
// END_REQUEST's appStatus counted when it names a refusal.
awaitable<bool> Server::relay_from_pool(std::shared_ptr<Connection> conn, std::shared_ptr<Request> req) {
  fcgi::ClientReader reader(pool_request_id);
  std::vector<fcgi::ClientEvent> events;
  const auto chunk = std::make_unique_for_overwrite<char[]>(read_chunk);  // not zeroed
  std::optional<std::uint32_t> app_status;
  bool broken = false;
  while (!app_status && !broken) {
    auto [ec, n] = co_await req->gate->async_read_some(asio::buffer(chunk.get(), read_chunk), asio::experimental::as_tuple(use_awaitable));
    if (ec) break;  // the pool closed the connection, or we did (timeout, client gone)
    events.clear();
    reader.feed(std::string_view(chunk.get(), n), events);
    for (auto& event : events) {
      if (auto* out = std::get_if<fcgi::Stdout>(&event)) {
        if (req->gone || req->suppress_output) continue;
        req->note_stdout(out->bytes);
        std::string record;
        fcgi::append_stdout(record, req->id, out->bytes);
        if (!co_await conn->send(std::move(record))) client_gone(req);
      } else if (auto* err = std::get_if<fcgi::Stderr>(&event)) {
        if (req->gone) continue;
        std::string record;
        fcgi::append_stderr(record, req->id, err->bytes);
        if (!co_await conn->send(std::move(record))) client_gone(req);
      } else if (auto* end = std::get_if<fcgi::EndRequest>(&event)) {
        app_status = end->app_status;
      } else if (auto* error = std::get_if<fcgi::ProtocolError>(&event)) {
        ++metrics_.protocol_errors;
        log_about(*log_, req->rid, spdlog::level::warn, "the pool for {} sent a malformed answer: {}",
                  param(req->params, "SCRIPT_FILENAME"),
                   error->reason);
        broken = true;
      }
    }
  }
  req->stage = Request::Stage::finished;
  if (app_status) {
    if (auto check = gate_refusal_check(*app_status)) {
      metrics_.count_refusal(RequestMode::warm, policy::check_name(*check));
      // This daemon's own record of it, under the id it gave the request: the decision line
      // is suwrap's (the pool's supervisor), written as the gate reported it.
      log_about(*log_, req->rid, spdlog::level::info, "{} refused by its account's gate: check {}, status {}",
                param(req->params, "SCRIPT_FILENAME"), policy::check_name(*check), req->status);
    }
  } else if (!req->output_sent && !req->gone) {
    // The pool went away without an answer: its gate or supervisor died.
    std::string out;
    req->status = 502;
    req->output_sent = true;
    fcgi::append_stdout(out, req->id, "Status: 502 Bad Gateway\r\nContent-Type: text/plain\r\n\r\n502 Bad Gateway\n");
    (void)co_await conn->send(std::move(out));
  }
  log_about(*log_, req->rid, spdlog::level::debug, "{} ended (warm): status {}, app status {}",
            param(req->params, "SCRIPT_FILENAME"), req->status, app_status.value_or(0));
  co_await end_request(conn, req, app_status.value_or(0));
  co_return app_status.has_value() && !broken;
}

}  // namespace suwrap::cgid
