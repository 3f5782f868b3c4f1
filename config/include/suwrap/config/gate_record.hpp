// SPDX-License-Identifier: Apache-2.0
// What the warm-mode gate tells the pool's supervisor about a refusal.
//
// The gate runs as the account user, so it cannot open the root-owned log. It writes one
// line per refusal to its stderr, a pipe whose read end the supervisor (`suwrap --pool`,
// still root) holds. The supervisor parses the line and writes the §6 decision line
// itself, filling pid, caller, handler and user/uid/gid from what it decided when it
// started the pool — never from the line. A gate (or a PHP script of the same account)
// that writes forged lines can therefore only claim refusals in its own account's name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "suwrap/config/names.hpp"

namespace suwrap::policy {

struct GateRefusal {
  GateRefusal() = default;
  GateRefusal(Verdict v, Check c, int status, std::string script_asked, std::string why,
              std::string request = {}, std::string for_host = {})
      : verdict(v),
        check(c),
        http_status(status),
        script(std::move(script_asked)),
        reason(std::move(why)),
        request_id(std::move(request)),
        host(std::move(for_host)) {}

  Verdict verdict = Verdict::deny;  // deny or error; never allow
  Check check = Check::request;
  int http_status = 403;            // 403, 404, 500, 502 or 504
  std::string script;
  std::string reason;
  // Like script and reason, what the account's gate says: an account can claim any id and
  // host in its own pool's lines, never another account's name, user or uid.
  std::string request_id;  // the refused request's (suwrap-cgid's SUWRAP_REQUEST_ID); empty: none
  std::string host;        // the host it was for (HTTP_HOST, else SERVER_NAME); empty: not known
};

// A line longer than this (newline included) is not a record; the supervisor drops it.
// PIPE_BUF: one write of a whole record is atomic, never interleaved with another writer's.
inline constexpr std::size_t max_gate_record_bytes = 4096;

// The gate answers a refused request with END_REQUEST appStatus = base + check number, so
// suwrap-cgid can count refusals by check without reading the log.
inline constexpr std::uint32_t gate_refusal_app_status_base = 1000;

// "suwrap-gate\t<verdict>\t<check>\t<status>\t<request id>\t<host>\t<script>\t<reason>\n".
// A request id that is_request_id() does not accept is written empty, a host is cut as
// request_host() cuts it. Host, script and reason are percent-encoded (%, tab, control
// bytes and DEL), and cut so the line fits max_gate_record_bytes.
std::string encode_gate_refusal(const GateRefusal& refusal);

// The line without its '\n'. nullopt for anything that is not exactly such a record: a
// wrong tag or field count, an allow verdict, a request id that is not one, a host longer
// than max_request_host_bytes, a check the gate does not make (caller,
// drop and identity are suwrap's alone), a status other than those above, a bad escape,
// a raw control byte, or a line over the limit.
std::optional<GateRefusal> parse_gate_refusal(std::string_view line);

}  // namespace suwrap::policy
