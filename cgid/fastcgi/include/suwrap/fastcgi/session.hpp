// SPDX-License-Identifier: Apache-2.0
// The responder's side of one FastCGI connection: records in, events out.
//
// A Session is fed the bytes a web server sends on one connection, in chunks
// cut anywhere, and turns them into events for the daemon (suwrap-cgid) or the
// gate. It answers what the protocol lets it answer alone (FCGI_GET_VALUES,
// unknown management types, roles it does not play, a second request on a
// connection that is full) by appending records to a reply buffer the caller
// writes back. Anything else it does not expect ends the session with one
// ProtocolError event naming why; the caller logs it and closes the connection.
//
// Every record type is dispatched through one table of
// {type, id scope, what happens for an id that is not active, body size, handler}
// (session.cpp); a type missing from it cannot reach any handler.
//
// The rules, chosen where the specification leaves room:
//  - Management records (requestId 0): FCGI_GET_VALUES is answered with the
//    configured FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS, only those asked
//    for, each once; any type the table does not know is answered with
//    FCGI_UNKNOWN_TYPE. A type that only applications send (END_REQUEST, STDOUT,
//    STDERR, GET_VALUES_RESULT, UNKNOWN_TYPE), an application type with
//    requestId 0, GET_VALUES with a requestId, or an unknown type with a
//    requestId: protocol error.
//  - BEGIN_REQUEST for an id still active: protocol error. A role not accepted
//    (only RESPONDER by default): END_REQUEST{UNKNOWN_ROLE}. A new id while
//    max_requests_per_connection are active: END_REQUEST{CANT_MPX_CONN}, as the
//    specification asks, and the connection goes on. FCGI_MPXS_CONNS is 1 only
//    when more than one request per connection is configured.
//  - PARAMS, STDIN or DATA for an id never begun: protocol error. For an id the
//    session itself ended (end_request, or refused with END_REQUEST) they are
//    dropped silently: a web server may still be sending a body when the answer
//    has gone out. The last `remembered_ended_ids` such ids are remembered.
//  - ABORT_REQUEST for an id not active: ignored. For an active one: an Abort
//    event, and the request's later records are dropped until end_request.
//  - PARAMS after the params stream ended, STDIN or DATA before it ended, STDIN
//    or DATA after their own end, DATA for a request that is not a FILTER:
//    protocol error.
//  - One request's params stream over max_params_bytes (raw stream bytes), or
//    with more than max_params_count pairs: protocol error, before anything
//    more is stored. A stream that ends inside a pair: protocol error.
//  - A name or value holding a NUL byte: the request is refused whole with a
//    ParamsRefused event instead of Params (no pair of it is handed out, so
//    nothing can pass on truncated); the caller answers it with a 400 and
//    end_request. Its STDIN and DATA are then dropped, still checked for order.
//    (suwrap-cgid(8): refused whole, never truncated.)
//  - A name given twice: the last value wins, at the place of its first
//    appearance (suwrap-cgid(8), as in php-fpm).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "suwrap/fastcgi/protocol.hpp"

namespace suwrap::fastcgi {

struct SessionConfig {
  std::size_t max_params_bytes = 64 * 1024;     // one request's params stream, raw bytes
  std::size_t max_params_count = 1000;          // pairs in one request's params, repeats counted
  std::size_t max_requests_per_connection = 1;  // at least 1; above 1 the connection multiplexes
  std::uint32_t max_conns = 64;                 // advertised as FCGI_MAX_CONNS
  std::uint32_t max_reqs = 64;                  // advertised as FCGI_MAX_REQS
  bool accept_authorizer = false;
  bool accept_filter = false;
};

inline constexpr std::size_t remembered_ended_ids = 64;

// --- events ---------------------------------------------------------------

struct BeginRequest {
  std::uint16_t request_id;
  Role role;
  bool keep_conn;  // false: close the connection after this request's END_REQUEST
  friend bool operator==(const BeginRequest&, const BeginRequest&) = default;
};

// The complete params of a request, once their stream has ended.
struct Params {
  std::uint16_t request_id;
  NameValuePairs params;
  friend bool operator==(const Params&, const Params&) = default;
};

// The params ended but may not be used at all (a NUL in a name or value).
struct ParamsRefused {
  std::uint16_t request_id;
  std::string reason;
  friend bool operator==(const ParamsRefused&, const ParamsRefused&) = default;
};

// Request body bytes, streamed as they arrive (at most one record's worth each).
struct Stdin {
  std::uint16_t request_id;
  std::string bytes;
  friend bool operator==(const Stdin&, const Stdin&) = default;
};
struct StdinEnd {
  std::uint16_t request_id;
  friend bool operator==(const StdinEnd&, const StdinEnd&) = default;
};

// The FILTER role's second input stream.
struct Data {
  std::uint16_t request_id;
  std::string bytes;
  friend bool operator==(const Data&, const Data&) = default;
};
struct DataEnd {
  std::uint16_t request_id;
  friend bool operator==(const DataEnd&, const DataEnd&) = default;
};

// The web server gave up on the request; answer with end_request.
struct Abort {
  std::uint16_t request_id;
  friend bool operator==(const Abort&, const Abort&) = default;
};

using Event =
    std::variant<BeginRequest, Params, ParamsRefused, Stdin, StdinEnd, Data, DataEnd, Abort, ProtocolError>;

// --- the session ------------------------------------------------------------

// One per connection. Move-only; a moved-from Session may only be destroyed or assigned to.
class Session {
 public:
  explicit Session(SessionConfig config = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Takes the next bytes from the web server. Events are appended to `events`,
  // records the session answers itself to `reply` (write them to the peer).
  // After a ProtocolError event nothing more is taken or produced.
  // Never throws: an allocation failure becomes a ProtocolError.
  void feed(std::string_view input, std::vector<Event>& events, std::string& reply) noexcept;
  void feed(std::span<const std::byte> input, std::vector<Event>& events, std::string& reply) noexcept {
    feed(as_chars(input), events, reply);
  }

  struct FeedResult {
    std::vector<Event> events;
    std::string reply;
  };
  FeedResult feed(std::string_view input) noexcept;

  // The application is done with an active request: appends its END_REQUEST
  // to `out` and frees the id. False (nothing appended) if the id is not active.
  bool end_request(std::uint16_t request_id, std::uint32_t app_status, std::string& out,
                   ProtocolStatus status = ProtocolStatus::request_complete);

  [[nodiscard]] bool failed() const noexcept;
  [[nodiscard]] std::size_t active_requests() const noexcept;
  [[nodiscard]] bool is_active(std::uint16_t request_id) const noexcept;
  // Whether the bytes so far end exactly after a record: a peer that closes
  // the connection here did not cut a record short.
  [[nodiscard]] bool at_record_boundary() const noexcept;

 private:
  class State;  // the dispatch table and its handlers (session.cpp)
  std::unique_ptr<State> state_;
};

}  // namespace suwrap::fastcgi
