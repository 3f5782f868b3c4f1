// SPDX-License-Identifier: Apache-2.0
// One FastCGI connection of a responder (suwrap-cgid, the gate): the socket, its Session,
// and the writes to it. The reading coroutine owns the order of events; writes come from
// it and from the coroutines that relay a request's answer, so they go out one at a time,
// in the order they were asked for. A server derives its own connection from this one,
// with what it keeps per connection.
#pragma once

#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/local/stream_protocol.hpp>

#include "suwrap/fastcgi/server/waiters.hpp"
#include "suwrap/fastcgi/session.hpp"

namespace suwrap::fastcgi {

class Connection {
 public:
  using Socket = asio::local::stream_protocol::socket;

  Connection(Socket socket, const SessionConfig& config);

  Socket& socket() { return socket_; }
  Session& session() { return session_; }

  // Reads the next bytes, hands them to the session, and writes back the records it
  // answers itself; `events` is what it made of them. False when the connection is over:
  // the read failed (`read_error` says why; eof once the peer closed) or the session's
  // reply could not be written.
  asio::awaitable<bool> receive(std::vector<Event>& events, std::error_code& read_error);

  // Writes all of `bytes`, after any write already under way. False once the peer is gone
  // (then nothing more is written).
  asio::awaitable<bool> send(std::string bytes);

  void close();
  [[nodiscard]] bool closed() const { return closed_; }

 private:
  Socket socket_;
  Session session_;
  std::unique_ptr<char[]> buffer_;  // what receive() reads into
  std::string reply_;
  bool writing_ = false;
  bool closed_ = false;
  Waiters write_turn_;
};

}  // namespace suwrap::fastcgi
