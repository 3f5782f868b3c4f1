// SPDX-License-Identifier: Apache-2.0
#include "suwrap/fastcgi/server/connection.hpp"

#include <utility>

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace suwrap::fastcgi {

namespace {

constexpr std::size_t read_chunk = 64 * 1024;
constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace

Connection::Connection(Socket socket, const SessionConfig& config)
    : socket_(std::move(socket)),
      session_(config),
      buffer_(std::make_unique_for_overwrite<char[]>(read_chunk)) {}  // not zeroed

asio::awaitable<bool> Connection::receive(std::vector<Event>& events, std::error_code& read_error) {
  events.clear();
  auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer_.get(), read_chunk), as_tuple);
  read_error = ec;
  if (ec) co_return false;
  reply_.clear();
  session_.feed(std::string_view(buffer_.get(), n), events, reply_);
  if (!reply_.empty() && !co_await send(std::move(reply_))) co_return false;
  co_return true;
}

asio::awaitable<bool> Connection::send(std::string bytes) {
  while (writing_ && !closed_) co_await write_turn_.wait(socket_.get_executor(), Waiters::clock::time_point::max());
  if (closed_) co_return false;
  writing_ = true;
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(bytes), as_tuple);
  writing_ = false;
  write_turn_.notify_one();
  if (ec) close();
  co_return !closed_;
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  std::error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  write_turn_.notify_all();
}

}  // namespace suwrap::fastcgi
