// SPDX-License-Identifier: Apache-2.0
// --metrics-listen: a tiny HTTP/1.1 responder on the daemon's own event loop that answers
// GET /metrics and closes. It cannot stall the daemon: at most metrics_max_connections at
// once (more are closed at accept and counted), a request head of at most
// metrics_head_limit bytes, and one deadline over the whole exchange — a client that
// sends slowly or does not read is cut off. Nothing it reads reaches a request.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <spdlog/logger.h>

#include "metrics.hpp"
#include "metrics_http.hpp"

namespace suwrap::cgid {

class MetricsListener {
 public:
  // `render` makes the metrics text when a scrape comes.
  MetricsListener(asio::io_context& io, MetricsAddress address, std::function<std::string()> render,
                  std::shared_ptr<spdlog::logger> log, Metrics& metrics);
  ~MetricsListener();
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  // Binds the address (a unix socket: mode 0660, a stale socket replaced, anything else
  // left alone). False with the reason.
  bool open(std::string& error);
  void start();
  // Stops accepting; exchanges under way end at their deadline at the latest.
  void close();

  static constexpr std::chrono::seconds deadline{5};

 private:
  template <typename Acceptor>
  asio::awaitable<void> accept_loop(Acceptor& acceptor);
  template <typename Socket>
  asio::awaitable<void> answer(Socket socket);

  asio::io_context& io_;
  MetricsAddress address_;
  std::function<std::string()> render_;
  std::shared_ptr<spdlog::logger> log_;
  Metrics& metrics_;
  asio::ip::tcp::acceptor tcp_;
  asio::local::stream_protocol::acceptor unix_;
  std::size_t open_connections_ = 0;
  bool socket_owned_ = false;
  bool closed_ = false;
};

}  // namespace suwrap::cgid
