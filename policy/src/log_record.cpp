// SPDX-License-Identifier: Apache-2.0
// The JSON Lines log of suwrap(8), LOG, and the CGI refusal response of suwrap(8), EXIT STATUS.
// Everything a request controls (script names, reasons quoting them) passes through
// json_escape, whose output never holds a raw control character or invalid UTF-8: one
// record is always exactly one line, and a file name cannot forge another.
#include "suwrap/policy/log_record.hpp"


#include <array>
#include <cstdio>
#include <string>
#include <utility>

#include "suwrap/policy/environment.hpp"

namespace suwrap::policy {
namespace {

using namespace std::string_view_literals;

void append_number_or_null(std::string& out, const auto& value) {
  if (value) {
    out += std::to_string(*value);
  } else {
    out += "null";
  }
}

// Empty strings stand for "not known yet" (a refusal before the handler or the target user
// was found); null says so plainly, where "" would look like a name.
void append_string_or_null(std::string& out, std::string_view value) {
  if (value.empty()) {
    out += "null";
  } else {
    out += json_string(value);
  }
}

std::string_view reason_phrase(int http_status) {
  switch (http_status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
  }
}

// The reason on one line for a text/plain body: control characters (CR and LF among them)
// become spaces so the body cannot be read as more than the one sentence it is.
std::string one_line(std::string_view text) {
  std::string line(text);
  for (char& c : line) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20U || byte == 0x7fU) c = ' ';
  }
  return line;
}

}  // namespace


// caller, script and reason are always strings (a refusal still has a script as asked and a
// reason); handler, user, uid and gid are null until the checks have established them.
std::string decision_line(const DecisionRecord& r) {
  std::string line = "{\"ts\":";
  line += json_string(rfc3339_now());
  line += ",\"event\":\"decision\",\"pid\":";
  line += std::to_string(r.pid);
  line += ",\"request_id\":";
  append_string_or_null(line, r.request_id);
  line += ",\"caller\":";
  line += json_string(r.caller);
  line += ",\"script\":";
  line += json_string(r.script);
  line += ",\"handler\":";
  append_string_or_null(line, r.handler);
  line += ",\"user\":";
  append_string_or_null(line, r.user);
  line += ",\"uid\":";
  append_number_or_null(line, r.uid);
  line += ",\"gid\":";
  append_number_or_null(line, r.gid);
  line += ",\"account\":";
  append_string_or_null(line, r.account);
  line += ",\"host\":";
  append_string_or_null(line, r.host);
  line += ",\"decision\":";
  line += json_string(verdict_name(r.verdict));
  line += ",\"check\":";
  if (r.check) {
    line += json_string(check_name(*r.check));
  } else {
    line += "null";
  }
  line += ",\"reason\":";
  line += json_string(r.reason);
  line += "}\n";
  return line;
}

std::string exit_line(const ExitRecord& r) {
  std::string line = "{\"ts\":";
  line += json_string(rfc3339_now());
  line += ",\"event\":\"exit\",\"pid\":";
  line += std::to_string(r.pid);
  line += ",\"request_id\":";
  append_string_or_null(line, r.request_id);
  line += ",\"account\":";
  append_string_or_null(line, r.account);
  line += ",\"user\":";
  append_string_or_null(line, r.user);
  line += ",\"handler\":";
  append_string_or_null(line, r.handler);
  line += ",\"script\":";
  append_string_or_null(line, r.script);
  line += ",\"host\":";
  append_string_or_null(line, r.host);
  line += ",\"status\":";
  append_number_or_null(line, r.status);
  line += ",\"signal\":";
  append_number_or_null(line, r.signal);
  line += ",\"wall_ms\":";
  line += std::to_string(r.wall_ms);
  line += ",\"cpu_ms\":";
  line += std::to_string(r.cpu_ms);
  line += ",\"maxrss_kb\":";
  line += std::to_string(r.maxrss_kb);
  line += ",\"timed_out\":";
  line += r.timed_out ? "true" : "false";
  line += "}\n";
  return line;
}

DecisionRecord record_of(const Decision& d, pid_t pid, std::string caller, const RequestLabels& labels) {
  DecisionRecord r;
  r.pid = pid;
  r.request_id = labels.request_id;
  r.caller = std::move(caller);
  r.script = d.script;
  r.handler = d.handler_name;
  if (d.target) {
    r.user = d.target->user.name;
    r.uid = d.target->user.uid;
    r.gid = d.target->group.gid;
    if (d.target->account) r.account = d.target->account->name;
  }
  r.host = labels.host;
  r.verdict = d.verdict;
  r.check = d.failed;
  r.reason = d.reason;
  return r;
}

ExitRecord exit_record_of(const Decision& d, pid_t pid, const RequestLabels& labels) {
  ExitRecord r;
  r.pid = pid;
  r.request_id = labels.request_id;
  if (d.target) {
    r.user = d.target->user.name;
    if (d.target->account) r.account = d.target->account->name;
  }
  r.handler = d.handler_name;
  r.script = d.script;
  r.host = labels.host;
  return r;
}

RequestLabels request_labels(const std::vector<std::string>& environment) {
  RequestLabels labels;
  for (const std::string_view name : {"SUWRAP_REQUEST_ID"sv, "UNIQUE_ID"sv}) {
    const auto id = find_variable(environment, name);
    if (id && is_request_id(*id)) {
      labels.request_id = std::string(*id);
      break;
    }
  }
  if (labels.request_id.empty()) labels.request_id = new_request_id();
  auto host = find_variable(environment, "HTTP_HOST");
  if (!host || host->empty()) host = find_variable(environment, "SERVER_NAME");
  if (host) labels.host = request_host(*host);
  return labels;
}

std::string cgi_refusal(int http_status, bool errors_to_browser, std::optional<Check> check,
                        std::string_view reason) {
  // A Status header must be three digits; anything else from a caller's bug is answered
  // as the internal error it is rather than as a malformed response.
  if (http_status < 100 || http_status > 599) http_status = 500;
  const std::string status = std::to_string(http_status) + " " + std::string(reason_phrase(http_status));

  std::string response = "Status: " + status + "\r\nContent-Type: text/plain\r\n\r\n" + status;
  if (errors_to_browser) {
    if (check) {
      response += ": refused by check `";
      response += check_name(*check);
      response += '`';
    }
    const std::string why = one_line(reason);
    if (!why.empty()) {
      response += ": ";
      response += why;
    }
  }
  response += '\n';
  return response;
}

}  // namespace suwrap::policy
