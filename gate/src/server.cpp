// SPDX-License-Identifier: Apache-2.0
#include "server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <utility>
#include <variant>
#include <vector>

#include <asio/experimental/as_tuple.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/read.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "records.hpp"
#include "suwrap/fastcgi/client_reader.hpp"
#include "suwrap/fastcgi/encoder.hpp"
#include "suwrap/fastcgi/server/connection.hpp"
#include "suwrap/fastcgi/server/dispatch.hpp"
#include "suwrap/fastcgi/server/environment.hpp"
#include "suwrap/policy/environment.hpp"
#include "suwrap/policy/log_record.hpp"
#include "suwrap/util/text.hpp"
#include "worker_finder.hpp"

namespace suwrap::gate {

using asio::awaitable;
using asio::use_awaitable;
using clock = std::chrono::steady_clock;
using stream = asio::local::stream_protocol;
namespace fcgi = suwrap::fastcgi;
using policy::Check;
using policy::GateRefusal;
using policy::Verdict;

namespace {

constexpr std::size_t read_chunk = 64 * 1024;
// One request per connection to php-cgi, so one id will do.
constexpr std::uint16_t php_request_id = 1;
constexpr auto as_tuple = asio::experimental::as_tuple(use_awaitable);
// Stopping, a connection that has sent no request yet is given this long to send one.
constexpr std::chrono::seconds quiet_connection_grace{5};
// How long past its wall_seconds a request php-cgi has not taken is watched for a worker.
constexpr std::chrono::seconds kept_connection_patience{60};

// Bytes the peer sent that the gate has not read yet: a kept connection's next request.
// suwrap-cgid checks that a kept connection is still open before it writes to it; what it
// wrote before the gate stopped is served, not dropped unread.
bool has_unread_input(stream::socket& socket) {
  int pending = 0;
  return ::ioctl(socket.native_handle(), FIONREAD, &pending) == 0 && pending > 0;
}

std::optional<std::string> param(const fcgi::NameValuePairs& params, std::string_view name) {
  if (const auto value = fcgi::find_param(params, name)) return std::string(*value);
  return std::nullopt;
}

}  // namespace

// One connection from suwrap-cgid (its socket, session and serialised writes are the
// shared fastcgi::Connection's), with the request on it.
class Connection : public fcgi::Connection {
 public:
  using fcgi::Connection::Connection;

  std::shared_ptr<Exchange> exchange;  // the request on it, from BEGIN_REQUEST to END_REQUEST
  bool between_requests = false;       // kept open (FCGI_KEEP_CONN) after a request
};

// One request, from BEGIN_REQUEST to our END_REQUEST.
struct Exchange {
  Exchange(asio::any_io_executor executor, std::uint16_t request_id, bool keep)
      : id(request_id), keep_conn(keep), deadline(std::move(executor)) {}

  std::uint16_t id;
  bool keep_conn;
  std::string script;  // SCRIPT_FILENAME as asked, for the records
  std::string rid;   // suwrap-cgid's SUWRAP_REQUEST_ID (the request id of the log), for the records
  std::string host;        // HTTP_HOST, else SERVER_NAME, for the records
  bool errors_to_browser = false;
  std::uint64_t wall_seconds = 0;

  std::unique_ptr<stream::socket> php;  // set once the request is forwarded; closed, never reset
  bool php_takes_input = true;          // false once a write to php-cgi failed
  bool body_sent = false;               // the end of the body went to php-cgi
  bool let_go = false;                  // the client aborted: php's output is dropped, it runs on
  std::uint64_t worker_socket = 0;      // let go and shut: the inode of the worker's end (0: not shut)
  bool php_answered = false;            // php-cgi's END_REQUEST came
  bool output_started = false;          // a byte of php's STDOUT went to the client
  std::optional<Ending> cut_short;      // why it ended before php-cgi's END_REQUEST
  std::string cut_note;
  asio::steady_timer deadline;
  bool completed = false;  // our END_REQUEST went out (or the connection is gone)
};

Server::Server(asio::io_context& io, int listener, PoolIdentity pool, std::chrono::seconds idle_after,
               policy::CurrentConfig& config, PhpPool& php)
    : io_(io),
      self_(::getpid()),
      acceptor_(io, stream(), listener),
      pool_(std::move(pool)),
      idle_after_(idle_after),
      config_(config),
      php_(php),
      last_activity_(clock::now()) {
  session_config_.max_requests_per_connection = 1;
  // Large enough that the policy, not the codec, judges an oversized environment (check
  // `request`: 512 variables, 256 KiB) and answers it with a proper refusal.
  session_config_.max_params_bytes = 512 * 1024;
  session_config_.max_params_count = 2000;
}

Server::~Server() = default;

void Server::start() {
  fcgi::spawn(io_.get_executor(), accept_loop(), completion("the gate's accept loop"));
  fcgi::spawn(io_.get_executor(), watch_php(), completion("the gate's watch on php-cgi"));
  fcgi::spawn(io_.get_executor(), watch_idle(), completion("the gate's idle watch"));
  fcgi::spawn(io_.get_executor(), watch_children(), completion("the gate's watch on its children"));
  fcgi::spawn(io_.get_executor(), watch_lifetime(), completion("the gate's lifetime watch"));
  fcgi::spawn(io_.get_executor(), watch_groups(), completion("the gate's watch on the groups"));
}

// How the gate's coroutines end (fastcgi::spawn): a failure is a record.
fcgi::Completion Server::completion(std::string task) {
  return fcgi::Completion(io_.get_executor(), std::move(task), [](std::string_view failed, std::string_view what) {
    write_record({Verdict::error, Check::exec, 500, "", std::string(failed) + " failed: " + std::string(what)});
  });
}

// A relay that fails leaves its request answered: a 500 if nothing of php's answer went
// out yet, and END_REQUEST.
fcgi::Completion Server::request_completion(std::string task, const std::shared_ptr<Connection>& conn,
                                            const std::shared_ptr<Exchange>& ex) {
  auto request = std::make_shared<fcgi::RequestInFlight>();
  request->request_id = ex->id;
  request->ended = [ex] { return ex->completed; };
  request->answer_started = [ex] { return ex->output_started || ex->let_go; };
  request->end = [this, conn, ex](std::string records) { return end_failed(conn, ex, std::move(records)); };
  return completion(std::move(task)).with_request(std::move(request));
}

awaitable<void> Server::end_failed(std::shared_ptr<Connection> conn, std::shared_ptr<Exchange> ex,
                                   std::string records) {
  // The worker first, while our end still finds it: nothing would end it at wall_seconds
  // once the deadline is cancelled and the connection closed.
  end_early(*ex, Ending::client_gone, "the gate's relay failed");
  if (ex->php) {
    std::error_code ignored;
    ex->php->close(ignored);
  }
  ex->deadline.cancel();
  co_await complete(conn, ex, std::move(records), 0);
}

// --- connections ------------------------------------------------------------------------

awaitable<void> Server::accept_loop() {
  while (!stopping_) {
    auto [ec, socket] = co_await acceptor_.async_accept(as_tuple);
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      // Out of descriptors and the like: do not spin.
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      (void)co_await pause.async_wait(as_tuple);
      continue;
    }
    take_connection(std::move(socket));
  }
}

std::optional<uid_t> Server::caller_uid(const std::shared_ptr<policy::ConfigSnapshot>& config) {
  if (config != caller_config_) {
    caller_config_ = config;
    caller_uid_.reset();
    if (config->config.has_value()) {
      if (auto caller = facts_.user_by_name(config->config->caller)) caller_uid_ = caller->uid;
    }
  }
  return caller_uid_;
}

void Server::take_connection(stream::socket socket) {
  // Only root and the configured caller (suwrap-cgid's user) may hand the gate requests:
  // anyone else could forge REMOTE_ADDR, HTTPS or REMOTE_USER for the account's scripts.
  ucred peer{};
  socklen_t length = sizeof(peer);
  const bool known = ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &length) == 0;
  const auto caller = caller_uid(config_.get());
  if (!known || (peer.uid != 0 && (!caller || peer.uid != *caller))) {
    // Check `caller` is suwrap's own (the supervisor takes no such record from a gate):
    // a peer the gate does not serve is a request it refuses.
    write_record({Verdict::deny, Check::request, 403, "",
                  known ? "closed a connection from uid " + std::to_string(peer.uid) + " (pid " +
                              std::to_string(peer.pid) +
                              "): the gate serves only root and the configured caller"
                        : "closed a connection whose peer is unknown (SO_PEERCRED failed)"});
    std::error_code ignored;
    socket.close(ignored);
    return;
  }
  auto conn = std::make_shared<Connection>(std::move(socket), session_config_);
  connections_.insert(conn);
  fcgi::spawn(io_.get_executor(), serve(conn), completion("a connection to the gate"));
}

awaitable<void> Server::serve(std::shared_ptr<Connection> conn) {
  // However the reading ends, the connection ends with it, a failure too.
  const fcgi::AtEnd over([this, conn, alive = lifetime_.token()] {
    if (!alive.expired()) connection_over(conn);
  });
  std::vector<fcgi::Event> events;
  std::error_code read_error;
  bool open = true;
  while (open && !conn->closed()) {
    // Closed while the read completed (stop() found no unread byte: these were already
    // taken): nothing more runs from it.
    if (!co_await conn->receive(events, read_error) || conn->closed()) break;

    for (auto& event : events) {
      const std::shared_ptr<Exchange> ex = conn->exchange;
      const auto is_current = [&ex](std::uint16_t id) { return ex && ex->id == id && !ex->completed; };
      co_await fcgi::dispatch(
          event,
          [&](const fcgi::BeginRequest& begin) -> awaitable<void> {
            conn->exchange = std::make_shared<Exchange>(io_.get_executor(), begin.request_id, begin.keep_conn);
            conn->between_requests = false;
            request_begun();
            co_return;
          },
          [&](fcgi::Params& params) -> awaitable<void> {
            if (is_current(params.request_id)) co_await on_params(conn, ex, std::move(params.params));
          },
          [&](const fcgi::ParamsRefused& refused) -> awaitable<void> {
            if (is_current(refused.request_id)) {
              GateRefusal refusal{Verdict::deny, Check::request, 403, "", refused.reason};
              co_await refuse(conn, ex, std::move(refusal));
            }
          },
          [&](const fcgi::Stdin& in) -> awaitable<void> {
            // Awaited before the next bytes are read: the backpressure that keeps a body
            // out of memory while php-cgi has not taken it.
            if (is_current(in.request_id)) {
              std::string record;
              fcgi::append_stdin(record, php_request_id, in.bytes);
              co_await to_php(ex, std::move(record));
            }
          },
          [&](const fcgi::StdinEnd& end) -> awaitable<void> {
            if (is_current(end.request_id)) {
              std::string record;
              fcgi::append_stdin_end(record, php_request_id);
              co_await to_php(ex, std::move(record));
              ex->body_sent = ex->php_takes_input;
            }
          },
          [&](const fcgi::Abort& abort) -> awaitable<void> {
            if (is_current(abort.request_id)) {
              if (ex->php) {
                let_go(*ex);  // the relay answers END_REQUEST when the worker is done
              } else {
                std::string nothing;
                co_await complete(conn, ex, std::move(nothing), 0);
              }
            }
          },
          [&](const fcgi::ProtocolError& error) -> awaitable<void> {
            write_record({Verdict::deny, Check::request, 403, ex ? ex->script : "",
                          "closed a connection: malformed FastCGI stream: " + error.reason});
            open = false;
            co_return;
          });
      if (!open) break;
    }
  }
}

// The connection is over: suwrap-cgid ended the request (its --timeout, a body that will
// not come whole) or is gone itself. A worker still on it is ended.
void Server::connection_over(const std::shared_ptr<Connection>& conn) {
  if (const auto ex = conn->exchange; ex && !ex->completed) {
    if (ex->php) {
      end_early(*ex, Ending::client_gone, "");
    } else {
      ex->completed = true;
      request_ended();
    }
  }
  conn->close();
  connections_.erase(conn);
  finish_if_drained();
}

// --- one request ------------------------------------------------------------------------

Server::Judgement Server::judge(Exchange& ex, const fcgi::NameValuePairs& params) {
  Judgement judged;
  ex.script = param(params, "SCRIPT_FILENAME").value_or("");
  ex.rid = param(params, "SUWRAP_REQUEST_ID").value_or("");
  ex.host = param(params, "HTTP_HOST").value_or("");
  if (ex.host.empty()) ex.host = param(params, "SERVER_NAME").value_or("");
  const auto config = config_.get();
  ex.errors_to_browser = config->config.has_value() && config->config->errors_to_browser;
  // One question to the user and group database: it is looked at for a change once.
  const NameCache::Question question(facts_);

  // The params as an environment, as suwrap would get them.
  policy::Request request;
  auto environment = fcgi::params_to_environment(params);
  if (!environment) {
    judged.refusal = GateRefusal{Verdict::deny, Check::request, 403, ex.script, "a param name is empty or holds '='"};
    return judged;
  }
  request.environment = std::move(*environment);
  // Checks 1-12 with the code suwrap runs. The caller check is suwrap's (it started this
  // pool for the caller); here the request comes from the caller's daemon, so it passes.
  request.real_uid = caller_uid(config).value_or(static_cast<uid_t>(-1));
  request.script = param(params, "SCRIPT_FILENAME");
  request.handler = param(params, "SUWRAP_HANDLER");
  request.server_name = param(params, "SERVER_NAME");
  const policy::Decision decision = policy::decide(request, config->config, config->account_source(), facts_);
  if (decision.verdict != Verdict::allow) {
    // `caller` can fail here only when the configured caller is no longer a user: a
    // configuration problem, and reported as one (a gate's record never names `caller`).
    Check failed = decision.failed.value_or(Check::request);
    if (failed == Check::caller) failed = Check::config;
    judged.refusal = GateRefusal{decision.verdict, failed, decision.http_status, ex.script, decision.reason};
    return judged;
  }
  // Allowed, and then for this pool: this account, this handler, this php.ini.
  const auto groups = facts_.groups_of(pool_.user, decision.target ? decision.target->group.gid : pool_.gid);
  if (const auto mismatch = mismatch_for_pool(decision, pool_, groups.value_or(std::vector<gid_t>{}))) {
    judged.refusal =
        GateRefusal{mismatch->verdict, mismatch->check, mismatch->http_status, ex.script, mismatch->reason};
    judged.retire_pool = mismatch->retire_pool;
    return judged;
  }

  // What php-cgi gets is what suwrap gives a handler (suwrap(8), ENVIRONMENT): the allowlisted
  // params, and SCRIPT_FILENAME as checked.
  fcgi::NameValuePairs php_params;
  for (const auto& entry :
       policy::build_environment(request.environment, php_environment(decision, config->config->safe_path))) {
    const auto equals = entry.find('=');
    php_params.emplace_back(entry.substr(0, equals), entry.substr(equals + 1));
  }
  // What the PHP guard in the worker compares the script it opens with. The client's own
  // SUWRAP_* params were dropped by the allowlist above: only the gate's value gets there.
  php_params.emplace_back(std::string(policy::script_identity_name), decision.script_facts.identity());
  fcgi::append_begin_request(judged.php_head, php_request_id, fcgi::Role::responder, false);
  if (!fcgi::append_params(judged.php_head, php_request_id, php_params)) {
    judged.refusal = GateRefusal{Verdict::error, Check::exec, 500, ex.script, "the params cannot be encoded"};
    return judged;
  }
  judged.wall_seconds = decision.limits.wall_seconds;
  return judged;
}

std::optional<GateRefusal> Server::connect_php(Exchange& ex) {
  auto upstream = php_.connect();
  if (!upstream)
    return GateRefusal{Verdict::error, Check::exec, 502, ex.script,
                       "cannot reach php-cgi: " + upstream.error()};
  auto socket = std::make_unique<stream::socket>(io_);
  std::error_code ec;
  socket->assign(stream(), upstream->get(), ec);
  if (ec)
    return GateRefusal{Verdict::error, Check::exec, 500, ex.script, "cannot use the connection to php-cgi"};
  (void)upstream->release();  // the socket owns it now
  ex.php = std::move(socket);
  return std::nullopt;
}

awaitable<void> Server::on_params(std::shared_ptr<Connection> conn, std::shared_ptr<Exchange> ex,
                                  fcgi::NameValuePairs params) {
  Judgement judged = judge(*ex, params);
  std::optional<GateRefusal> refusal = std::move(judged.refusal);
  if (!refusal) refusal = connect_php(*ex);
  if (refusal) {
    co_await refuse(conn, ex, std::move(*refusal));
    if (judged.retire_pool) stop();
    co_return;
  }
  ex->wall_seconds = judged.wall_seconds;
  fcgi::spawn(io_.get_executor(), relay(conn, ex), request_completion("the gate's relay", conn, ex));
  if (const auto deadline = wall_deadline(clock::now(), ex->wall_seconds))
    fcgi::spawn(io_.get_executor(), watchdog(ex, *deadline), completion("the gate's wall_seconds watchdog"));
  co_await to_php(ex, std::move(judged.php_head));
}

awaitable<void> Server::to_php(std::shared_ptr<Exchange> ex, std::string bytes) {
  if (!ex->php || !ex->php->is_open() || !ex->php_takes_input) co_return;
  auto [ec, n] = co_await asio::async_write(*ex->php, asio::buffer(bytes), as_tuple);
  // php-cgi stopped reading (it answered early, or its worker is gone): the rest of the
  // body is dropped; the relay sees how the request ended.
  if (ec) ex->php_takes_input = false;
}

awaitable<void> Server::relay(std::shared_ptr<Connection> conn, std::shared_ptr<Exchange> ex) {
  fcgi::ClientReader reader(php_request_id);
  std::vector<fcgi::ClientEvent> events;
  const auto buffer = std::make_unique_for_overwrite<char[]>(read_chunk);  // not zeroed
  Ending answer = Ending::answered;
  std::uint32_t php_status = 0;
  while (!ex->cut_short && !ex->php_answered) {
    auto [ec, n] = co_await ex->php->async_read_some(asio::buffer(buffer.get(), read_chunk), as_tuple);
    if (ec) break;
    events.clear();
    reader.feed(std::string_view(buffer.get(), n), events);
    for (auto& event : events) {
      if (ex->cut_short) break;
      if (ex->let_go && !std::holds_alternative<fcgi::EndRequest>(event)) continue;  // nobody reads it
      if (auto* out = std::get_if<fcgi::Stdout>(&event)) {
        ex->output_started = true;
        std::string record;
        fcgi::append_stdout(record, ex->id, out->bytes);
        // Awaited before php-cgi is read again: a slow client slows the worker down
        // instead of filling the gate's memory.
        if (!co_await conn->send(std::move(record))) end_early(*ex, Ending::client_gone, "");
      } else if (auto* err = std::get_if<fcgi::Stderr>(&event)) {
        std::string record;
        fcgi::append_stderr(record, ex->id, err->bytes);
        if (!co_await conn->send(std::move(record))) end_early(*ex, Ending::client_gone, "");
      } else if (const auto* end = std::get_if<fcgi::EndRequest>(&event)) {
        ex->php_answered = true;
        php_status = end->app_status;
        if (end->protocol_status != fcgi::ProtocolStatus::request_complete) {
          answer = Ending::php_refused;
          ex->cut_note = "protocol status " + std::to_string(static_cast<int>(end->protocol_status));
        }
      } else if (const auto* error = std::get_if<fcgi::ProtocolError>(&event)) {
        end_early(*ex, Ending::malformed_answer, error->reason);
      }
    }
  }
  if (ex->let_go && !ex->cut_short && !ex->php_answered) co_await until_worker_lets_go(ex);
  ex->deadline.cancel();
  std::error_code ignored;
  ex->php->close(ignored);

  const Ending ending = ex->cut_short.value_or(
      ex->php_answered ? answer : (ex->let_go ? Ending::client_gone : Ending::worker_lost));
  const Closing closing = closing_for(ending, ex->output_started, php_status);
  std::string before_end;
  if (closing.record) {
    std::string reason;
    switch (ending) {
      case Ending::wall_limit:
        reason =
            "the request ran past wall_seconds " + std::to_string(ex->wall_seconds) + "; " + ex->cut_note;
        break;
      case Ending::worker_lost:
        reason =
            "the php worker closed the connection before it finished the request (it was killed, or crashed)";
        break;
      case Ending::malformed_answer:
        reason = "php-cgi's answer broke the FastCGI protocol: " + ex->cut_note;
        break;
      case Ending::php_refused: reason = "php-cgi did not take the request: " + ex->cut_note; break;
      case Ending::answered:
      case Ending::client_gone: reason = ex->cut_note; break;
    }
    write_record({closing.record->verdict, closing.record->check, closing.record->http_status, ex->script, reason,
                  ex->rid, ex->host});
    if (closing.error_response)
      fcgi::append_stdout(
          before_end, ex->id,
          policy::cgi_refusal(*closing.error_response, ex->errors_to_browser, closing.record->check, reason));
  }
  co_await complete(conn, ex, std::move(before_end), closing.app_status);
}

// The wall limit of the account (wall_seconds), per request: the worker is killed, and
// php-cgi's parent forks a fresh one in its place.
awaitable<void> Server::watchdog(std::shared_ptr<Exchange> ex, clock::time_point deadline) {
  if (ex->completed || ex->php_answered) co_return;
  ex->deadline.expires_at(deadline);
  auto [ec] = co_await ex->deadline.async_wait(as_tuple);
  if (ec) co_return;
  end_early(*ex, Ending::wall_limit, "");
}

void Server::end_early(Exchange& ex, Ending ending, std::string note) {
  if (ex.completed || ex.php_answered || ex.cut_short || !ex.php) return;
  ex.cut_short = ending;
  ex.cut_note = std::move(note);
  // Before our end of the connection closes: the worker is found as the holder of its
  // other end. (A worker that finished this request in the same instant and took the
  // next connection no longer holds this one, and is left alone.)
  if (kills_worker(ending) && ex.php->is_open()) {
    const auto killed = kill_peer_worker(php_.parent(), ex.php->native_handle());
    if (!ex.cut_note.empty()) ex.cut_note += "; ";
    ex.cut_note += killed ? "php worker " + std::to_string(*killed) + " killed"
                          : "no php worker killed: " + killed.error();
    // No worker holds it, and our end was never shut: it may be waiting in php-cgi's
    // queue, where closing our end would leave the whole request to be run later with
    // nothing watching it. Our end is kept open instead (a worker cannot be done with it
    // before our end closes), and the worker that takes it is killed.
    if (!killed && ex.worker_socket == 0) keep_until_taken(ex);
  }
  ex.deadline.cancel();
  std::error_code ignored;
  ex.php->close(ignored);  // the relay's read ends; it answers the client
}

void Server::keep_until_taken(const Exchange& ex) {
  const int kept = ::fcntl(ex.php->native_handle(), F_DUPFD_CLOEXEC, 3);
  if (kept < 0) {
    // Nothing to watch it with: the pool ends, and php-cgi's queue with it.
    write_record({Verdict::error, Check::exec, 500, ex.script,
                  "the pool restarts: cannot keep a request php-cgi has not taken: " + util::errno_text(errno)});
    php_.stop();
    finish(exit_status_);
    return;
  }
  const auto give_up = clock::now() + std::chrono::seconds(ex.wall_seconds) + kept_connection_patience;
  fcgi::spawn(io_.get_executor(), kill_when_taken(util::Fd(kept), give_up),
              completion("the gate's watch of a request php-cgi had not taken"));
}

awaitable<void> Server::kill_when_taken(util::Fd connection, clock::time_point give_up) {
  asio::steady_timer pause(io_);
  while (!finished_ && clock::now() < give_up) {
    if (kill_peer_worker(php_.parent(), connection.get())) co_return;
    pause.expires_after(std::chrono::milliseconds(10));
    (void)co_await pause.async_wait(as_tuple);
  }
}

void Server::let_go(Exchange& ex) {
  if (ex.completed || ex.php_answered || ex.cut_short || ex.let_go || !ex.php || !ex.php->is_open()) return;
  // A body not yet sent whole will never come: the worker would wait for it until
  // wall_seconds. It is ended instead, as before a script of it can have run.
  if (!ex.body_sent) {
    end_early(ex, Ending::client_gone, "");
    return;
  }
  ex.let_go = true;
  // Not yet taken by a worker (still in php-cgi's queue, or being accepted this instant):
  // it runs when a worker takes it, as under php-fpm, and runs to its end with its output
  // dropped. Our end stays whole, so the worker cannot be done with the connection before
  // the relay reads its END_REQUEST, and at wall_seconds it is found as the holder and
  // killed. (Ending it here instead would kill a worker that took it a moment ago, or
  // close our end with the whole request still queued, which php-cgi would then run
  // unwatched.) Its script does not see its client gone: PHP's connection_aborted() stays 0.
  const auto peer = peer_socket_inode(ex.php->native_handle());
  if (!peer || !find_socket_holder(php_.parent(), *peer)) return;
  ex.worker_socket = *peer;
  // Both directions shut: php-cgi's next write fails (EPIPE), so the script sees its
  // client gone, as under php-fpm; and when the request is over, php-cgi's wait for our
  // end (it shuts its writing side, then reads until the end) returns at once, so the
  // worker closes the connection and accepts the next one. Our descriptor stays open, so
  // that at wall_seconds the worker is still found as its holder and killed.
  ::shutdown(ex.php->native_handle(), SHUT_RDWR);
}

// With both directions shut, our socket tells nothing more; the worker is done with the
// request when no worker holds the other end any more. Looked at every 100 ms while an
// abandoned request runs (a few /proc/PID/fd reads); the wall_seconds watchdog, still
// armed, closes our end and ends the wait.
awaitable<void> Server::until_worker_lets_go(std::shared_ptr<Exchange> ex) {
  if (ex->worker_socket == 0) co_return;  // never shut: the relay read the worker's end itself
  asio::steady_timer pause(io_);
  while (ex->php->is_open() && !ex->cut_short) {
    if (!find_socket_holder(php_.parent(), ex->worker_socket)) co_return;
    pause.expires_after(std::chrono::milliseconds(100));
    (void)co_await pause.async_wait(as_tuple);
  }
}

awaitable<void> Server::refuse(std::shared_ptr<Connection> conn, std::shared_ptr<Exchange> ex,
                               GateRefusal refusal) {
  // The record first: a client that hangs up as soon as the answer arrives must not keep
  // the refusal out of the log.
  refusal.request_id = ex->rid;
  refusal.host = ex->host;
  write_record(refusal);
  std::string out;
  fcgi::append_stdout(
      out, ex->id,
      policy::cgi_refusal(refusal.http_status, ex->errors_to_browser, refusal.check, refusal.reason));
  co_await complete(conn, ex, std::move(out), app_status_for(refusal.check));
}

awaitable<void> Server::complete(std::shared_ptr<Connection> conn, std::shared_ptr<Exchange> ex,
                                 std::string before_end, std::uint32_t app_status) {
  if (ex->completed) co_return;
  ex->completed = true;
  std::string out = std::move(before_end);
  fcgi::append_stream_end(out, fcgi::RecordType::stdout_stream, ex->id);
  if (conn->session().end_request(ex->id, app_status, out)) (void)co_await conn->send(std::move(out));
  if (conn->exchange == ex) conn->exchange.reset();
  // A client that asked for FCGI_KEEP_CONN keeps its connection for its next request —
  // which may have begun while this END_REQUEST was being written (then it is served,
  // stopping or not, and the connection is not between requests).
  const bool next_begun = conn->exchange != nullptr;
  if (!ex->keep_conn || (stopping_ && !next_begun && !has_unread_input(conn->socket()))) {
    conn->close();
  } else if (!next_begun) {
    conn->between_requests = true;
  }
  request_ended();
}

// --- the pool's life --------------------------------------------------------------------

void Server::request_begun() {
  ++requests_in_flight_;
  last_activity_ = clock::now();
}

void Server::request_ended() {
  if (requests_in_flight_ > 0) --requests_in_flight_;
  last_activity_ = clock::now();
  // Nothing outlives its request: what a script left running in the background has been
  // re-parented to the gate by now (php's exec() returns once its shell has exited).
  (void)end_escaped_processes(self_, php_.parent());
  finish_if_drained();
}

// A child of the gate changed state: an escaped process died (reap it) or was re-parented
// to the gate while no request ended (kill it). php-cgi's parent has its own watch.
awaitable<void> Server::watch_children() {
  asio::signal_set child_signals(io_, SIGCHLD);
  while (!finished_) {
    auto [ec, sig] = co_await child_signals.async_wait(as_tuple);
    if (ec) co_return;
    (void)end_escaped_processes(self_, php_.parent());
  }
}

awaitable<void> Server::watch_php() {
  asio::posix::stream_descriptor parent(io_);
  std::error_code ec;
  parent.assign(::fcntl(php_.pidfd(), F_DUPFD_CLOEXEC, 3), ec);
  if (!ec) (void)co_await parent.async_wait(asio::posix::stream_descriptor::wait_read, as_tuple);
  // php-cgi's parent is gone (or cannot be watched): no worker will be replaced any more.
  // The pool ends; suwrap-cgid starts a new one for the next request.
  if (!finished_) finish(exit_php_died);
}

awaitable<void> Server::watch_idle() {
  asio::steady_timer timer(io_);
  while (!stopping_) {
    timer.expires_at(requests_in_flight_ > 0 ? clock::now() + idle_after_ : last_activity_ + idle_after_);
    (void)co_await timer.async_wait(as_tuple);
    if (stopping_) co_return;
    if (requests_in_flight_ == 0 && clock::now() - last_activity_ >= idle_after_) {
      stop();
      co_return;
    }
  }
}

awaitable<void> Server::watch_lifetime() {
  asio::steady_timer timer(io_, std::chrono::seconds(pool_.max_lifetime_seconds));
  (void)co_await timer.async_wait(as_tuple);
  if (!stopping_) stop();
}

awaitable<void> Server::watch_groups() {
  asio::steady_timer timer(io_);
  while (!stopping_) {
    timer.expires_after(std::chrono::seconds(2));
    (void)co_await timer.async_wait(as_tuple);
    if (stopping_) co_return;
    // NameCache reads the group database again once /etc changed (or after a few seconds).
    const auto groups = facts_.groups_of(pool_.user, pool_.gid);
    if (!groups || *groups != pool_.groups) {
      stop();
      co_return;
    }
  }
}

void Server::stop() {
  if (stopping_) return;
  stopping_ = true;
  // connect() to a listening socket shut down for reading fails at once (ECONNREFUSED),
  // before a byte of a request is sent, which suwrap-cgid answers by starting a new pool.
  // The socket is the pool's, shared with suwrap-cgid; it ends with the pool.
  ::shutdown(acceptor_.native_handle(), SHUT_RD);
  // Connections queued before that were made to this pool: they are served.
  std::error_code ec;
  acceptor_.non_blocking(true, ec);
  while (!ec) {
    stream::socket socket(io_);
    acceptor_.accept(socket, ec);
    if (!ec) take_connection(std::move(socket));
  }
  acceptor_.close(ec);
  // Kept connections waiting for their next request close now, unless that request is
  // already on its way (its bytes are here, unread): it is served, as a queued
  // connection's is. A queued one just taken gets its request served, if it sends one
  // within the grace.
  for (const auto& conn : connections_) {
    if (conn->between_requests && !has_unread_input(conn->socket())) conn->close();
  }
  fcgi::spawn(io_.get_executor(), close_quiet_connections(), completion("the gate's close of quiet connections"));
  finish_if_drained();
}

awaitable<void> Server::close_quiet_connections() {
  asio::steady_timer grace(io_, quiet_connection_grace);
  (void)co_await grace.async_wait(as_tuple);
  for (const auto& conn : connections_) {
    if (!conn->exchange) conn->close();
  }
}

void Server::finish_if_drained() {
  if (stopping_ && !finished_ && connections_.empty() && requests_in_flight_ == 0) finish(exit_status_);
}

void Server::finish(int status) {
  if (finished_) return;
  finished_ = true;
  stopping_ = true;
  exit_status_ = status;
  std::error_code ignored;
  if (acceptor_.is_open()) {
    ::shutdown(acceptor_.native_handle(), SHUT_RD);
    acceptor_.close(ignored);
  }
  for (const auto& conn : connections_) conn->close();
  io_.stop();
}

}  // namespace suwrap::gate
