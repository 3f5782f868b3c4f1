// SPDX-License-Identifier: Apache-2.0
#include "metrics_listener.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/address.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "log_line.hpp"

namespace suwrap::cgid {

using asio::awaitable;
using asio::use_awaitable;
using asio::experimental::as_tuple;

MetricsListener::MetricsListener(asio::io_context& io, MetricsAddress address, std::function<std::string()> render,
                                 std::shared_ptr<spdlog::logger> log, Metrics& metrics)
    : io_(io),
      address_(std::move(address)),
      render_(std::move(render)),
      log_(std::move(log)),
      metrics_(metrics),
      tcp_(io),
      unix_(io) {}

MetricsListener::~MetricsListener() { close(); }

bool MetricsListener::open(std::string& error) {
  std::error_code ec;
  if (address_.is_unix()) {
    struct stat st {};
    if (::lstat(address_.path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
        error = "--metrics-listen " + address_.path + " exists and is not a socket; not removing it";
        return false;
      }
      ::unlink(address_.path.c_str());
    }
    const mode_t old_umask = ::umask(0177);
    unix_.open(asio::local::stream_protocol(), ec);
    if (!ec) unix_.bind(asio::local::stream_protocol::endpoint(address_.path), ec);
    ::umask(old_umask);
    if (!ec) unix_.listen(static_cast<int>(metrics_max_connections), ec);
    if (!ec && ::chmod(address_.path.c_str(), 0660) != 0) ec = std::error_code(errno, std::generic_category());
    if (ec) {
      error = "cannot listen on --metrics-listen " + address_.path + ": " + ec.message();
      return false;
    }
    socket_owned_ = true;
    log_->info("metrics on http+unix:{} (GET /metrics)", address_.path);
    return true;
  }
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(address_.host, ec), address_.port);
  if (!ec) tcp_.open(endpoint.protocol(), ec);
  if (!ec) tcp_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) tcp_.bind(endpoint, ec);
  if (!ec) tcp_.listen(static_cast<int>(metrics_max_connections), ec);
  if (ec) {
    error = "cannot listen on --metrics-listen " + address_.host + ":" + std::to_string(address_.port) + ": " +
            ec.message();
    return false;
  }
  log_->info("metrics on http://{}:{}/metrics", address_.host, address_.port);
  return true;
}

void MetricsListener::start() {
  if (address_.is_unix()) {
    fastcgi::spawn(io_.get_executor(), accept_loop(unix_), logged_completion(io_, log_, "the metrics accept loop"));
  } else {
    fastcgi::spawn(io_.get_executor(), accept_loop(tcp_), logged_completion(io_, log_, "the metrics accept loop"));
  }
}

void MetricsListener::close() {
  if (closed_) return;
  closed_ = true;
  std::error_code ignored;
  tcp_.close(ignored);
  unix_.close(ignored);
  if (socket_owned_) ::unlink(address_.path.c_str());
  socket_owned_ = false;
}

template <typename Acceptor>
awaitable<void> MetricsListener::accept_loop(Acceptor& acceptor) {
  while (!closed_) {
    auto [ec, socket] = co_await acceptor.async_accept(as_tuple(use_awaitable));
    if (ec) {
      if (closed_ || ec == asio::error::operation_aborted) break;
      log_->warn("metrics accept: {}", ec.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));  // out of descriptors: no spinning
      co_await pause.async_wait(as_tuple(use_awaitable));
      continue;
    }
    if (open_connections_ >= metrics_max_connections) {
      ++metrics_.metrics_connections_refused;
      std::error_code ignored;
      socket.close(ignored);
      continue;
    }
    fastcgi::spawn(io_.get_executor(), answer(std::move(socket)), logged_completion(io_, log_, "a metrics scrape"));
  }
}

template <typename Socket>
awaitable<void> MetricsListener::answer(Socket socket) {
  using namespace asio::experimental::awaitable_operators;
  ++open_connections_;
  struct Count {
    std::size_t& n;
    ~Count() { --n; }
  } count{open_connections_};

  // The exchange: read the head (bounded), then write the whole answer. One deadline over
  // both; whichever ends first cancels the other.
  auto exchange = [&]() -> awaitable<void> {
    std::string head;
    std::array<char, 1024> chunk{};
    while (head.size() < metrics_head_limit && !request_head_complete(head)) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), as_tuple(use_awaitable));
      if (ec) co_return;
      head.append(chunk.data(), std::min(n, metrics_head_limit - head.size()));
    }
    const MetricsRequest request = judge_metrics_request(head);
    const std::string response =
        metrics_http_response(request, request.status == 200 ? render_() : std::string());
    (void)co_await asio::async_write(socket, asio::buffer(response), as_tuple(use_awaitable));
  };
  asio::steady_timer timer(io_, deadline);
  (void)co_await (exchange() || timer.async_wait(as_tuple(use_awaitable)));
  std::error_code ignored;
  socket.shutdown(asio::socket_base::shutdown_both, ignored);
  socket.close(ignored);
}

}  // namespace suwrap::cgid
