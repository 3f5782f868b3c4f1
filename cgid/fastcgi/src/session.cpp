// SPDX-License-Identifier: Apache-2.0
#include "suwrap/fastcgi/session.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <exception>
#include <optional>
#include <unordered_map>

#include "name_value.hpp"
#include "suwrap/fastcgi/encoder.hpp"
#include "suwrap/fastcgi/record_parser.hpp"

namespace suwrap::fastcgi {

namespace {

std::uint16_t read_u16(std::string_view bytes, std::size_t at) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(bytes[at]) << 8) |
                                    static_cast<unsigned char>(bytes[at + 1]));
}

std::string describe(std::uint8_t type) {
  if (type >= 1 && type <= max_known_record_type) {
    return std::string(to_string(static_cast<RecordType>(type)));
  }
  return "record type " + std::to_string(type);
}

// One request in progress on the connection.
struct Request {
  std::uint16_t id = 0;
  Role role = Role::responder;
  bool params_done = false;
  bool stdin_done = false;
  bool data_done = false;
  bool aborted = false;
  std::optional<std::string> refusal;  // why the params may not be used, once known
  std::size_t params_bytes = 0;
  std::size_t params_count = 0;
  detail::NameValueDecoder decoder;
  NameValuePairs params;
  std::unordered_map<std::string, std::size_t> position_of;  // name -> index in params
};

}  // namespace

class Session::State {
 public:
  explicit State(SessionConfig config) : config_(config) {
    config_.max_requests_per_connection =
        std::clamp<std::size_t>(config_.max_requests_per_connection, 1, 0xffff);
  }

  void feed(std::string_view input, std::vector<Event>& events, std::string& reply) noexcept;
  bool end_request(std::uint16_t id, std::uint32_t app_status, std::string& out, ProtocolStatus status);

  [[nodiscard]] bool failed() const noexcept { return failed_; }
  [[nodiscard]] std::size_t active_requests() const noexcept { return requests_.size(); }
  [[nodiscard]] bool is_active(std::uint16_t id) const noexcept {
    return std::any_of(requests_.begin(), requests_.end(), [id](const Request& r) { return r.id == id; });
  }
  [[nodiscard]] bool at_record_boundary() const noexcept { return parser_.at_record_boundary(); }

 private:
  // Which request ids a record type may carry.
  enum class Scope : std::uint8_t {
    management,   // only requestId 0
    application,  // never requestId 0
    never,        // a type applications send; a web server sending it is broken
  };
  // What becomes of an application record whose id is not an active request.
  enum class WhenNotActive : std::uint8_t {
    not_asked,  // the handler looks for itself (BEGIN_REQUEST, management records)
    refuse,     // protocol error, unless the session ended that id itself
    ignore,     // dropped
  };
  static constexpr int any_size = -1;

  using Handler = void (State::*)(const RecordView&, Request*);
  struct Rule {
    RecordType type;
    Scope scope;
    WhenNotActive when_not_active;
    int content_size;  // the exact body size, or any_size
    Handler handler;
  };

  // The whole protocol as this side receives it (defined below the class, where
  // the handlers it names are declared).
  static const std::array<Rule, 11> rules;

  static const Rule* find_rule(std::uint8_t type) {
    for (const Rule& rule : rules) {
      if (static_cast<std::uint8_t>(rule.type) == type) return &rule;
    }
    return nullptr;
  }

  void dispatch(const RecordView& record);
  void on_begin_request(const RecordView& record, Request* request);
  void on_abort_request(const RecordView& record, Request* request);
  void on_params(const RecordView& record, Request* request);
  void on_stdin(const RecordView& record, Request* request);
  void on_data(const RecordView& record, Request* request);
  void on_get_values(const RecordView& record, Request* request);

  void take_pair(Request& request);
  void fail(Violation violation, std::string reason);
  Request* find_active(std::uint16_t id);
  bool recently_ended(std::uint16_t id) const;
  void remember_ended(std::uint16_t id);
  void forget_ended(std::uint16_t id);
  bool role_accepted(std::uint16_t role) const;
  // Built in place: moving a whole Event trips a false -Wmaybe-uninitialized in GCC 12.
  template <class E>
  void emit(E event) {
    events_->emplace_back(std::in_place_type<E>, std::move(event));
  }

  SessionConfig config_;
  RecordParser parser_;
  std::vector<Request> requests_;
  std::deque<std::uint16_t> ended_;  // ids this side ended, most recent last
  bool failed_ = false;
  // Where the current feed() puts its output; set for the duration of a call.
  std::vector<Event>* events_ = nullptr;
  std::string* reply_ = nullptr;
};

// The whole protocol as a responder receives it. A type not listed here is
// answered with FCGI_UNKNOWN_TYPE (requestId 0) or ends the session.
const std::array<Session::State::Rule, 11> Session::State::rules{{
    {RecordType::begin_request, Scope::application, WhenNotActive::not_asked, 8, &State::on_begin_request},
    {RecordType::abort_request, Scope::application, WhenNotActive::ignore, 0, &State::on_abort_request},
    {RecordType::end_request, Scope::never, WhenNotActive::not_asked, any_size, nullptr},
    {RecordType::params, Scope::application, WhenNotActive::refuse, any_size, &State::on_params},
    {RecordType::stdin_stream, Scope::application, WhenNotActive::refuse, any_size, &State::on_stdin},
    {RecordType::stdout_stream, Scope::never, WhenNotActive::not_asked, any_size, nullptr},
    {RecordType::stderr_stream, Scope::never, WhenNotActive::not_asked, any_size, nullptr},
    {RecordType::data, Scope::application, WhenNotActive::refuse, any_size, &State::on_data},
    {RecordType::get_values, Scope::management, WhenNotActive::not_asked, any_size, &State::on_get_values},
    {RecordType::get_values_result, Scope::never, WhenNotActive::not_asked, any_size, nullptr},
    {RecordType::unknown_type, Scope::never, WhenNotActive::not_asked, any_size, nullptr},
}};

// --- the dispatcher ---------------------------------------------------------

void Session::State::feed(std::string_view input, std::vector<Event>& events, std::string& reply) noexcept {
  if (failed_) return;
  events_ = &events;
  reply_ = &reply;
  try {
    while (!failed_) {
      const RecordParser::Status status = parser_.consume(input);
      if (status == RecordParser::Status::need_more) break;
      if (status == RecordParser::Status::error) {
        fail(parser_.error().violation, parser_.error().reason);
        break;
      }
      dispatch(parser_.record());
    }
  } catch (const std::exception&) {
    // Only allocation can throw here; a half-applied record must not be built on.
    failed_ = true;
    requests_.clear();
    try {
      events.emplace_back(std::in_place_type<ProtocolError>,
                          ProtocolError{Violation::internal_error, "out of memory decoding a record"});
    } catch (const std::exception&) {
      // Nothing left to report with; failed() still says the session is over.
    }
  }
  events_ = nullptr;
  reply_ = nullptr;
}

void Session::State::dispatch(const RecordView& record) {
  const Rule* rule = find_rule(record.type);
  if (rule == nullptr) {
    if (record.request_id == management_request_id) {
      // Specification §4.2: a management type we do not know is answered, not fatal.
      append_unknown_type(*reply_, record.type);
      return;
    }
    fail(Violation::unexpected_record_type, describe(record.type) + " for request " +
                                                std::to_string(record.request_id) +
                                                " is not a FastCGI 1.0 record type");
    return;
  }

  switch (rule->scope) {
    case Scope::never:
      fail(Violation::unexpected_record_type,
           describe(record.type) + " is sent by applications, never to them");
      return;
    case Scope::management:
      if (record.request_id != management_request_id) {
        fail(Violation::nonzero_request_id, describe(record.type) +
                                                " is a management record but carries request id " +
                                                std::to_string(record.request_id));
        return;
      }
      break;
    case Scope::application:
      if (record.request_id == management_request_id) {
        fail(Violation::zero_request_id, describe(record.type) + " with request id 0");
        return;
      }
      break;
  }

  Request* request = nullptr;
  if (rule->when_not_active != WhenNotActive::not_asked) {
    request = find_active(record.request_id);
    if (request == nullptr) {
      if (rule->when_not_active == WhenNotActive::ignore || recently_ended(record.request_id)) return;
      fail(Violation::request_not_active, describe(record.type) + " for request " +
                                              std::to_string(record.request_id) + ", which was never begun");
      return;
    }
    // The web server gave the request up; what it still had in flight is moot.
    if (request->aborted) return;
  }

  if (rule->content_size != any_size &&
      record.content.size() != static_cast<std::size_t>(rule->content_size)) {
    fail(Violation::malformed_record, describe(record.type) + " has a body of " +
                                          std::to_string(record.content.size()) + " bytes, expected " +
                                          std::to_string(rule->content_size));
    return;
  }

  (this->*(rule->handler))(record, request);
}

// --- the handlers -----------------------------------------------------------

void Session::State::on_begin_request(const RecordView& record, Request* /*request*/) {
  const std::uint16_t id = record.request_id;
  if (find_active(id) != nullptr) {
    fail(Violation::request_id_busy,
         "FCGI_BEGIN_REQUEST for request " + std::to_string(id) + ", which is still active");
    return;
  }
  forget_ended(id);
  const std::uint16_t role = read_u16(record.content, 0);
  const bool keep_conn = (static_cast<unsigned char>(record.content[2]) & keep_conn_flag) != 0;

  if (!role_accepted(role)) {
    append_end_request(*reply_, id, 0, ProtocolStatus::unknown_role);
    remember_ended(id);
    return;
  }
  if (requests_.size() >= config_.max_requests_per_connection) {
    append_end_request(*reply_, id, 0, ProtocolStatus::cant_mpx_conn);
    remember_ended(id);
    return;
  }
  Request& request = requests_.emplace_back();
  request.id = id;
  request.role = static_cast<Role>(role);
  emit(BeginRequest{id, request.role, keep_conn});
}

void Session::State::on_abort_request(const RecordView& record, Request* request) {
  request->aborted = true;
  emit(Abort{record.request_id});
}

void Session::State::on_params(const RecordView& record, Request* request) {
  if (request->params_done) {
    fail(Violation::stream_out_of_order,
         "FCGI_PARAMS for request " + std::to_string(request->id) + " after its params ended");
    return;
  }

  if (record.content.empty()) {
    if (!request->decoder.at_pair_boundary()) {
      fail(Violation::params_truncated,
           "the params of request " + std::to_string(request->id) + " end inside a name-value pair");
      return;
    }
    request->params_done = true;
    request->decoder = {};
    request->position_of = {};
    if (request->refusal) {
      emit(ParamsRefused{request->id, *request->refusal});
    } else {
      emit(Params{request->id, std::move(request->params)});
    }
    request->params = {};
    return;
  }

  request->params_bytes += record.content.size();
  if (request->params_bytes > config_.max_params_bytes) {
    fail(Violation::params_too_large, "the params of request " + std::to_string(request->id) + " exceed " +
                                          std::to_string(config_.max_params_bytes) + " bytes");
    return;
  }
  std::string_view rest = record.content;
  while (!failed_ && request->decoder.next_pair(rest)) take_pair(*request);
}

void Session::State::take_pair(Request& request) {
  if (++request.params_count > config_.max_params_count) {
    fail(Violation::too_many_params, "request " + std::to_string(request.id) + " has more than " +
                                         std::to_string(config_.max_params_count) + " params");
    return;
  }
  if (request.refusal) return;  // refused whole: nothing of it is kept

  const std::string& name = request.decoder.name();
  const std::string& value = request.decoder.value();
  if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
    request.refusal = "a param name or value holds a NUL byte";
    request.params = {};
    request.position_of = {};
    return;
  }
  // The last value wins, kept where the name first appeared.
  const auto [at, inserted] = request.position_of.try_emplace(name, request.params.size());
  if (inserted) {
    request.params.emplace_back(name, value);
  } else {
    request.params[at->second].second = value;
  }
}

void Session::State::on_stdin(const RecordView& record, Request* request) {
  if (!request->params_done) {
    fail(Violation::stream_out_of_order,
         "FCGI_STDIN for request " + std::to_string(request->id) + " before its params ended");
    return;
  }
  if (request->stdin_done) {
    fail(Violation::stream_out_of_order,
         "FCGI_STDIN for request " + std::to_string(request->id) + " after its end");
    return;
  }
  if (record.content.empty()) request->stdin_done = true;
  if (request->refusal) return;
  if (record.content.empty()) {
    emit(StdinEnd{request->id});
  } else {
    emit(Stdin{request->id, std::string(record.content)});
  }
}

void Session::State::on_data(const RecordView& record, Request* request) {
  if (request->role != Role::filter) {
    fail(Violation::unexpected_record_type,
         "FCGI_DATA for request " + std::to_string(request->id) + ", which is not a FILTER");
    return;
  }
  if (!request->params_done || request->data_done) {
    fail(Violation::stream_out_of_order,
         "FCGI_DATA for request " + std::to_string(request->id) +
             (request->data_done ? " after its end" : " before its params ended"));
    return;
  }
  if (record.content.empty()) request->data_done = true;
  if (request->refusal) return;
  if (record.content.empty()) {
    emit(DataEnd{request->id});
  } else {
    emit(Data{request->id, std::string(record.content)});
  }
}

void Session::State::on_get_values(const RecordView& record, Request* /*request*/) {
  const std::array<NameValuePair, 3> known{{
      {std::string(max_conns_name), std::to_string(config_.max_conns)},
      {std::string(max_reqs_name), std::to_string(config_.max_reqs)},
      {std::string(mpxs_conns_name), config_.max_requests_per_connection > 1 ? "1" : "0"},
  }};
  std::array<bool, known.size()> asked{};
  NameValuePairs answer;

  detail::NameValueDecoder decoder;
  std::string_view rest = record.content;
  while (decoder.next_pair(rest)) {
    for (std::size_t i = 0; i < known.size(); ++i) {
      if (!asked[i] && decoder.name() == known[i].first) {
        asked[i] = true;
        answer.push_back(known[i]);
      }
    }
  }
  if (!decoder.at_pair_boundary()) {
    fail(Violation::malformed_record, "FCGI_GET_VALUES ends inside a name-value pair");
    return;
  }
  // Three short known values always fit one record.
  static_cast<void>(append_get_values_result(*reply_, answer));
}

// --- bookkeeping ------------------------------------------------------------

void Session::State::fail(Violation violation, std::string reason) {
  failed_ = true;
  requests_.clear();
  emit(ProtocolError{violation, std::move(reason)});
}

Request* Session::State::find_active(std::uint16_t id) {
  const auto it =
      std::find_if(requests_.begin(), requests_.end(), [id](const Request& r) { return r.id == id; });
  return it == requests_.end() ? nullptr : &*it;
}

bool Session::State::recently_ended(std::uint16_t id) const {
  return std::find(ended_.begin(), ended_.end(), id) != ended_.end();
}

void Session::State::remember_ended(std::uint16_t id) {
  forget_ended(id);
  if (ended_.size() == remembered_ended_ids) ended_.pop_front();
  ended_.push_back(id);
}

void Session::State::forget_ended(std::uint16_t id) {
  ended_.erase(std::remove(ended_.begin(), ended_.end(), id), ended_.end());
}

bool Session::State::role_accepted(std::uint16_t role) const {
  switch (role) {
    case static_cast<std::uint16_t>(Role::responder): return true;
    case static_cast<std::uint16_t>(Role::authorizer): return config_.accept_authorizer;
    case static_cast<std::uint16_t>(Role::filter): return config_.accept_filter;
    default: return false;
  }
}

bool Session::State::end_request(std::uint16_t id, std::uint32_t app_status, std::string& out,
                                 ProtocolStatus status) {
  const auto it =
      std::find_if(requests_.begin(), requests_.end(), [id](const Request& r) { return r.id == id; });
  if (it == requests_.end()) return false;
  append_end_request(out, id, app_status, status);
  requests_.erase(it);
  remember_ended(id);
  return true;
}

// --- Session ----------------------------------------------------------------

Session::Session(SessionConfig config) : state_(std::make_unique<State>(config)) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

void Session::feed(std::string_view input, std::vector<Event>& events, std::string& reply) noexcept {
  state_->feed(input, events, reply);
}

Session::FeedResult Session::feed(std::string_view input) noexcept {
  FeedResult result;
  state_->feed(input, result.events, result.reply);
  return result;
}

bool Session::end_request(std::uint16_t request_id, std::uint32_t app_status, std::string& out,
                          ProtocolStatus status) {
  return state_->end_request(request_id, app_status, out, status);
}

bool Session::failed() const noexcept {
  return state_->failed();
}
std::size_t Session::active_requests() const noexcept {
  return state_->active_requests();
}
bool Session::is_active(std::uint16_t request_id) const noexcept {
  return state_->is_active(request_id);
}
bool Session::at_record_boundary() const noexcept {
  return state_->at_record_boundary();
}

}  // namespace suwrap::fastcgi
