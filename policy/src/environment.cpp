// SPDX-License-Identifier: Apache-2.0
// The handler's environment (suwrap(8), ENVIRONMENT). The request's environment is never passed
// on as a whole: the handler's is built from nothing, from an allowlist, then suwrap's own
// variables are appended. A malformed request environment is refused, never repaired or
// truncated, so that what was checked is exactly what was asked for.
#include "suwrap/policy/environment.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <string_view>
#include <unordered_set>

namespace suwrap::policy {
namespace {

using namespace std::string_view_literals;

// suwrap(8), ENVIRONMENT, kept sorted so that a lookup is a binary search and a review is a glance.
// The names suwrap sets itself (PATH, SCRIPT_FILENAME, REDIRECT_STATUS, PHPRC, HOME, USER,
// LOGNAME) are deliberately absent: the request can never supply or override them.
constexpr std::array passed_names{
    "AUTH_TYPE"sv,
    "CONTENT_LENGTH"sv,
    "CONTENT_TYPE"sv,
    "CONTEXT_DOCUMENT_ROOT"sv,
    "CONTEXT_PREFIX"sv,
    "DOCUMENT_ROOT"sv,
    "DOCUMENT_URI"sv,
    "GATEWAY_INTERFACE"sv,
    "HTTPS"sv,
    "PATH_INFO"sv,
    "PATH_TRANSLATED"sv,
    "QUERY_STRING"sv,
    "REDIRECT_QUERY_STRING"sv,
    "REDIRECT_URL"sv,
    "REMOTE_ADDR"sv,
    "REMOTE_HOST"sv,
    "REMOTE_IDENT"sv,
    "REMOTE_PORT"sv,
    "REMOTE_USER"sv,
    "REQUEST_METHOD"sv,
    "REQUEST_SCHEME"sv,
    "REQUEST_URI"sv,
    "SCRIPT_NAME"sv,
    "SCRIPT_URI"sv,
    "SCRIPT_URL"sv,
    "SERVER_ADDR"sv,
    "SERVER_ADMIN"sv,
    "SERVER_NAME"sv,
    "SERVER_PORT"sv,
    "SERVER_PROTOCOL"sv,
    "SERVER_SIGNATURE"sv,
    "SERVER_SOFTWARE"sv,
    "TZ"sv,
    "UNIQUE_ID"sv,
};
static_assert(std::ranges::is_sorted(passed_names), "passed_names must stay sorted");

// HTTP_* names that are request headers in disguise but mean something else to the handler:
// "Proxy:" becomes HTTP_PROXY, which HTTP client libraries read as their proxy (httpoxy);
// "Redirect-Status:" becomes HTTP_REDIRECT_STATUS, which php-cgi accepts in place of
// REDIRECT_STATUS for cgi.force_redirect.
constexpr std::array refused_header_names{"HTTP_PROXY"sv, "HTTP_REDIRECT_STATUS"sv};

constexpr std::size_t longest_name_in_messages = 64;
constexpr std::size_t longest_time_zone = 64;

bool is_upper_digit_or_underscore(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_letter_digit_or_underscore(char c) {
  return is_upper_digit_or_underscore(c) || (c >= 'a' && c <= 'z');
}

// True when `name` is `prefix` followed by at least one character, all satisfying `allowed`.
template <class Predicate>
bool is_prefixed_name(std::string_view name, std::string_view prefix, Predicate allowed) {
  if (!name.starts_with(prefix) || name.size() == prefix.size()) return false;
  return std::ranges::all_of(name.substr(prefix.size()), allowed);
}

bool holds_line_break_or_nul(std::string_view s) {
  return s.find_first_of("\n\r\0"sv) != std::string_view::npos;
}

// A variable name as it may appear in a reason: the reason goes to the log and, with
// errors_to_browser, to the client, so a hostile name must neither bloat it nor carry
// control characters. Printable ASCII is kept; other bytes are shown as \xNN.
std::string name_for_message(std::string_view name) {
  std::string shown;
  const bool too_long = name.size() > longest_name_in_messages;
  for (const char c : name.substr(0, longest_name_in_messages)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      shown += c;
    } else {
      std::array<char, 5> hex{};
      std::snprintf(hex.data(), hex.size(), "\\x%02x", static_cast<unsigned>(byte));
      shown += hex.data();
    }
  }
  if (too_long) shown += "...";
  return shown;
}

struct Entry {
  std::string_view name;
  std::string_view value;
};

std::optional<Entry> split_entry(std::string_view entry) {
  const auto equals = entry.find('=');
  if (equals == std::string_view::npos) return std::nullopt;
  return Entry{entry.substr(0, equals), entry.substr(equals + 1)};
}

// A plain zone name such as "Europe/Paris", "UTC" or "America/Argentina/Buenos_Aires": a
// relative path under the zoneinfo directory, nothing else. glibc reads a TZ of "/..." or
// ":..." as a file to open, and a POSIX rule string ("EST5EDT,M3.2.0,...") is no zone name,
// so neither passes. '.' is not among the characters, so no component can be "..".
bool is_plain_zone_name(std::string_view zone) {
  if (zone.empty() || zone.size() > longest_time_zone) return false;
  const auto allowed = [](char c) {
    return is_letter_digit_or_underscore(c) || c == '+' || c == '-' || c == '/';
  };
  if (!std::ranges::all_of(zone, allowed)) return false;
  // No leading or trailing '/' and no empty component.
  return zone.front() != '/' && zone.back() != '/' && zone.find("//"sv) == std::string_view::npos;
}

}  // namespace

std::optional<std::string> validate_environment(std::span<const std::string> environment) {
  if (environment.size() > max_environment_variables) {
    return "environment has " + std::to_string(environment.size()) + " variables, more than " +
           std::to_string(max_environment_variables);
  }

  std::size_t total_bytes = 0;
  std::unordered_set<std::string_view> names_seen;
  names_seen.reserve(environment.size());
  for (const std::string& entry : environment) {
    // As in execve's accounting: each entry and its terminating NUL.
    total_bytes += entry.size() + 1;

    const auto split = split_entry(entry);
    if (!split) {
      return "environment entry " + name_for_message(entry) + " has no '='";
    }
    if (split->name.empty()) {
      return "environment entry " + name_for_message(entry) + " has an empty name";
    }
    if (holds_line_break_or_nul(split->name)) {
      return "environment variable name " + name_for_message(split->name) +
             " holds a newline, carriage return or NUL";
    }
    if (holds_line_break_or_nul(split->value)) {
      return "environment variable " + name_for_message(split->name) +
             " holds a newline, carriage return or NUL";
    }
    if (!names_seen.insert(split->name).second) {
      return "environment variable " + name_for_message(split->name) + " is given twice";
    }
  }

  if (total_bytes > max_environment_bytes) {
    return "environment is " + std::to_string(total_bytes) + " bytes, more than " +
           std::to_string(max_environment_bytes);
  }
  return std::nullopt;
}

bool is_passed_through(std::string_view name) {
  if (std::ranges::binary_search(passed_names, name)) return true;

  // Request headers, as the web server names them: "HTTP_" and upper case, digits and '_'.
  // Anything else under HTTP_ (lower case, '-', '%') was not made by a conforming server.
  if (is_prefixed_name(name, "HTTP_"sv, is_upper_digit_or_underscore)) {
    return std::ranges::find(refused_header_names, name) == refused_header_names.end();
  }

  // TLS facts set by the web server. Mixed case is allowed because mod_ssl really names
  // some of them so (SSL_CLIENT_S_DN_Email, SSL_CLIENT_SAN_OTHER_msUPN_0); nothing outside
  // letters, digits and '_' is, and such a name means nothing to a shell or the loader.
  return is_prefixed_name(name, "SSL_"sv, is_letter_digit_or_underscore);
}

bool is_well_formed(std::string_view name, std::string_view value) {
  if (name == "TZ"sv) return is_plain_zone_name(value);
  // Line breaks and NUL were refused whole by validate_environment; other values are the
  // request's own business.
  return true;
}

std::vector<std::string> build_environment(std::span<const std::string> environment,
                                           const HandlerEnvironment& set) {
  std::vector<std::string> built;
  built.reserve(environment.size() + 8);
  for (const std::string& entry : environment) {
    const auto split = split_entry(entry);
    // validate_environment refused these already; skipping them again costs nothing and
    // keeps a caller that forgot to validate from passing a truncated string to execve.
    if (!split || split->name.empty() || holds_line_break_or_nul(entry)) continue;
    // PHP: php-cgi runs PATH_TRANSLATED instead of SCRIPT_FILENAME when the two differ
    // and REDIRECT_URL is set (Apache's Action compatibility), or with cgi.fix_pathinfo=0.
    // For a PHP handler the only well-formed PATH_TRANSLATED is the checked script, set below.
    if (set.php && split->name == "PATH_TRANSLATED") continue;
    if (is_passed_through(split->name) && is_well_formed(split->name, split->value)) {
      built.push_back(entry);
    }
  }

  // suwrap's own, after the request's: none of these names is in the allowlist, so the
  // request cannot have supplied them, and each appears exactly once.
  built.push_back("PATH=" + set.safe_path);
  built.push_back("SCRIPT_FILENAME=" + set.script_filename);
  if (set.php) {
    built.push_back("PATH_TRANSLATED=" + set.script_filename);
    // php-cgi refuses to run without it (cgi.force_redirect); HTTP_REDIRECT_STATUS is
    // never passed, so this is the only source.
    built.push_back("REDIRECT_STATUS=200");
    built.push_back("PHPRC=" + set.phprc);
  }
  built.push_back("HOME=" + set.home);
  built.push_back("USER=" + set.user);
  built.push_back("LOGNAME=" + set.user);
  return built;
}

std::optional<std::string_view> find_variable(std::span<const std::string> environment,
                                              std::string_view name) {
  // The first match: validate_environment refuses a name given twice, so in a checked
  // environment there is only one.
  for (const std::string& entry : environment) {
    const auto split = split_entry(entry);
    if (split && split->name == name) return split->value;
  }
  return std::nullopt;
}

}  // namespace suwrap::policy
