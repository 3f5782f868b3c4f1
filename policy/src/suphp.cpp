// SPDX-License-Identifier: Apache-2.0
// suphp.conf in, suwrap.toml out.
//
// The parser follows suPHP's own reading of the file (IniFile: sections, key=value and
// key+=value, values split at unquoted ':'), so what it accepts is what suPHP ran with.
// The translation is conservative: a setting is carried over only where suwrap has the same
// meaning; where it has none, or a different one, a note says what suwrap does instead, and
// nothing is ever widened (a docroot pattern suwrap cannot express is dropped, not broadened).
// Every translated value is checked by parse_config itself, and so is the whole result.
#include "suwrap/policy/suphp.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <set>
#include <string>
#include <utility>

#include "suwrap/policy/account_file.hpp"
#include "suwrap/config/paths.hpp"
#include "suwrap/util/text.hpp"

namespace suwrap::policy {

using util::join;
using util::Expected;
using util::unexpected;

namespace {

// ---------------------------------------------------------------------------------------
// Reading the INI dialect.

std::string_view trimmed(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const size_t last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

ConfigError line_error(std::string_view file, int line, std::string message) {
  return ConfigError{std::string(file), line, "", std::move(message)};
}

// One ':'-separated token: surrounding blanks dropped, "..." quotes removed (only around the
// whole token), and the escapes \\ \" \: resolved. Other escapes (\* and \$, which suPHP's
// documentation mentions for patterns and variables) are kept as written for the translation
// to judge. Returns nullopt when the token is malformed.
std::optional<std::string> token_value(std::string_view raw) {
  const std::string_view token = trimmed(raw);
  std::string out;
  bool in_quotes = false;
  bool closed = false;
  for (size_t i = 0; i < token.size(); ++i) {
    const char c = token[i];
    if (closed) return std::nullopt;  // content after the closing quote
    if (c == '\\') {
      if (i + 1 == token.size()) return std::nullopt;
      const char next = token[++i];
      if (next != '\\' && next != '"' && next != ':') out += '\\';
      out += next;
    } else if (c == '"') {
      if (!in_quotes && i != 0) return std::nullopt;  // content before the opening quote
      if (in_quotes) closed = true;
      in_quotes = !in_quotes;
    } else {
      out += c;
    }
  }
  if (in_quotes || out.empty()) return std::nullopt;
  return out;
}

// The values of "key=..." after the '=': split at each ':' outside quotes and not escaped.
std::optional<std::vector<std::string>> split_values(std::string_view text) {
  std::vector<std::string> values;
  bool in_quotes = false;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size()) {
      const char c = text[i];
      if (c == '\\') {
        if (i + 1 == text.size()) return std::nullopt;  // suPHP has no continuation lines
        ++i;  // whatever follows is escaped (checked by token_value)
        continue;
      }
      if (c == '"') in_quotes = !in_quotes;
      if (c != ':' || in_quotes) continue;
    } else if (in_quotes) {
      return std::nullopt;
    }
    auto value = token_value(text.substr(start, i - start));
    if (!value) return std::nullopt;
    values.push_back(std::move(*value));
    start = i + 1;
  }
  return values;
}

// ---------------------------------------------------------------------------------------
// Value rules of suPHP, and suwrap's own through a probe of parse_config.

std::optional<bool> suphp_bool(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  for (const std::string_view yes : {"true", "yes", "on", "enabled", "1"})
    if (lower == yes) return true;
  for (const std::string_view no : {"false", "no", "off", "disabled", "0"})
    if (lower == no) return false;
  return std::nullopt;
}

std::optional<std::uint64_t> decimal(std::string_view text, std::uint64_t max) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

// suPHP reads a umask with any number of leading zeros ("00022" is 022).
std::optional<unsigned> octal(std::string_view text) {
  while (text.size() > 1 && text.front() == '0') text.remove_prefix(1);
  if (text.empty() || text.size() > 3) return std::nullopt;
  unsigned value = 0;
  for (const char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    value = value * 8 + static_cast<unsigned>(c - '0');
  }
  if (value > 0777) return std::nullopt;
  return value;
}

// What parse_config says of `table` holding `body` (one or more "key = value" lines), if it
// refuses it: the translation never guesses suwrap's rules, it asks them.
std::optional<std::string> suwrap_refuses(std::string_view table, const std::string& body) {
  auto parsed = parse_config("[" + std::string(table) + "]\n" + body + "\n", "suwrap.toml");
  if (parsed) return std::nullopt;
  return parsed.error().message;
}

std::string toml_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ", ";
    out += toml_string(items[i]);
  }
  return out + "]";
}

// ---------------------------------------------------------------------------------------
// The translation.

struct TomlLine {
  std::string key;
  std::string value;    // TOML syntax
  std::string comment;  // where it came from
};

struct TranslatedHandler {
  std::string name;
  std::string mime;
  int line = 0;
  HandlerKind kind = HandlerKind::cgi;
  std::string path;
  std::string ini_dir;
  std::vector<std::string> extensions;
};

constexpr std::string_view suwrap_default_docroots = R"(["/var/www", "/home/*/public_html"])";

class Importer {
 public:
  Importer(const SuphpConf& conf, std::string_view file, const SuphpImportOptions& options)
      : conf_(conf), file_(file), options_(options) {}

  Expected<SuphpImport, ConfigError> run() {
    if (const SuphpSection* global = conf_.section("global")) {
      for (const SuphpEntry& entry : global->entries) global_setting(entry);
    }
    if (!conf_.section("global") || !conf_.section("global")->find("docroot")) {
      note(0, "docroot",
           "not set, so suPHP allowed scripts anywhere (\"/\"); suwrap needs named docroots: " +
               std::string(suwrap_default_docroots) + " (suwrap's default) is written; edit it");
      set("docroots", std::string(suwrap_default_docroots), "suwrap's default; suPHP's was \"/\"");
    }
    const auto missing = [&](std::string_view key) {
      return !conf_.section("global") || !conf_.section("global")->find(key);
    };
    if (missing("webserver_user"))
      note(0, "webserver_user",
           "not set: suPHP used the user it was built with (--with-apache-user, often wwwrun or www-data); "
           "suwrap's caller is www-data: set [global] caller if the web server runs as another user");
    for (const std::string_view key : {"min_uid", "min_gid"}) {
      if (missing(key))
        note(0, key,
             "not set: suPHP's default was 1; suwrap's is 1000 (narrower: system accounts below 1000 no longer "
             "run scripts). Set " + std::string(key) + " if such accounts must");
    }
    if (!conf_.section("global") || !conf_.section("global")->find("mode")) {
      note(0, "mode",
           "suPHP's set-id mode (owner, force or paranoid) was chosen when it was built and is not in this "
           "file; mode = \"owner\" is written (run as the script's owner). For paranoid or force, use mode = "
           "\"account\" with one account file per vhost (suwrap-policy account add)");
      set("mode", toml_string("owner"), "suPHP's set-id mode is not in suphp.conf");
    }
    handlers();
    other_sections();
    if (error_) return unexpected(*error_);
    return finish();
  }

 private:
  void note(int line, std::string_view key, std::string text) {
    std::string where = file_;
    if (line > 0) where += ":" + std::to_string(line);
    notes_.push_back(where + ": " + std::string(key) + ": " + std::move(text));
  }

  void fail(const SuphpEntry& entry, std::string message) {
    if (!error_) error_ = ConfigError{file_, entry.line, entry.key, std::move(message)};
  }

  void set(std::string key, std::string value, std::string comment) {
    // A key set twice (a suPHP key and its default) keeps the value from the file.
    const auto found =
        std::find_if(global_.begin(), global_.end(), [&](const TomlLine& l) { return l.key == key; });
    if (found != global_.end()) return;
    global_.push_back(TomlLine{std::move(key), std::move(value), std::move(comment)});
  }

  // Sets a [global] key if suwrap accepts the value; otherwise notes why it was left out.
  void set_checked(const SuphpEntry& entry, std::string key, std::string value) {
    if (auto refusal = suwrap_refuses("global", key + " = " + value)) {
      note(entry.line, entry.key,
           "no suwrap equivalent for this value (" + key + ": " + *refusal + "); suwrap's default is used");
      return;
    }
    set(std::move(key), std::move(value), "suPHP " + entry.key);
  }

  // The value of a single-valued key, as suPHP 0.7.2 took it: it splits every value at each
  // unquoted ':' and reads the first piece only (IniSection::getValue), so an unquoted
  // "env_path=/bin:/usr/bin" ran with PATH=/bin. What suPHP ran is what is carried over,
  // with a note, once per key.
  std::string single(const SuphpEntry& entry) {
    if (entry.values.size() > 1 && split_noted_.insert(entry.key + "@" + std::to_string(entry.line)).second)
      note(entry.line, entry.key,
           "the unquoted value \"" + join(entry.values, ":") + "\" was split at ':', and suPHP used only \"" +
               entry.values.front() + "\"; that is what is carried over. If the whole was meant, suPHP never "
               "ran with it: quote it in suphp.conf (\"...\") and import again, or edit the result");
    return entry.values.front();
  }

  std::optional<bool> boolean(const SuphpEntry& entry) {
    auto value = suphp_bool(single(entry));
    if (!value)
      fail(entry,
           "expected true/false, yes/no, on/off, enabled/disabled or 1/0, got \"" + single(entry) + "\"");
    return value;
  }

  void global_setting(const SuphpEntry& entry) {
    const std::string& key = entry.key;
    const std::string value = single(entry);
    if (key == "webserver_user") {
      set_checked(entry, "caller", toml_string(value));
    } else if (key == "docroot") {
      docroots(entry);
    } else if (key == "allow_file_group_writeable" || key == "allow_directory_group_writeable") {
      const std::string target =
          key == "allow_file_group_writeable" ? "allow_file_group_writable" : "allow_dir_group_writable";
      if (value == "cpanel") {
        note(entry.line, key,
             "\"cpanel\" (group-writable when the user is alone in the group) has no equivalent; " + target +
                 " = false is written: group-writable " +
                 (target == "allow_file_group_writable" ? "files are" : "directories are") + " refused");
        set(target, "false", "suPHP " + key + " = cpanel");
      } else if (auto allowed = boolean(entry)) {
        set(target, *allowed ? "true" : "false", "suPHP " + key);
      }
    } else if (key == "allow_file_others_writeable" || key == "allow_directory_others_writeable") {
      if (auto allowed = boolean(entry); allowed && *allowed)
        note(entry.line, key,
             std::string("no equivalent: suwrap never runs a script ") +
                 (key == "allow_file_others_writeable"
                      ? "that is writable by others (check file_perms)"
                      : "in a directory writable by others (check dir_perms)") +
                 "; such scripts will be refused");
    } else if (key == "check_vhost_docroot") {
      if (auto on = boolean(entry)) {
        set("check_vhost", *on ? "true" : "false", "suPHP check_vhost_docroot");
        if (*on)
          note(entry.line, key,
               "becomes check_vhost = true, which means something stricter: SERVER_NAME must be one of the "
               "domains of the account the script belongs to. Every owner then needs an account file with "
               "its domains (suwrap-policy account add); without one, requests are refused (check vhost). "
               "Containment in a docroot is checked anyway (check docroot)");
      }
    } else if (key == "errors_to_browser") {
      if (auto on = boolean(entry))
        set("errors_to_browser", *on ? "true" : "false", "suPHP errors_to_browser");
    } else if (key == "env_path") {
      set_checked(entry, "safe_path", toml_string(value));
    } else if (key == "umask") {
      umask(entry, value);
    } else if (key == "min_uid" || key == "min_gid") {
      minimum_id(entry, value);
    } else if (key == "mode") {
      mode(entry, value);
    } else if (key == "logfile") {
      note(entry.line, key,
           "not carried over: suwrap writes one JSON line per decision and per run to [global] log (default "
           "/var/log/suwrap/suwrap.log) or to syslog; suPHP's log format differs, so its file " +
               value + " is not reused");
    } else if (key == "loglevel") {
      note(
          entry.line, key,
          "no equivalent: suwrap has no log levels; every decision, allowed or refused, and the end of every "
          "run is logged");
    } else if (key == "chroot") {
      note(entry.line, key,
           "unsupported: suwrap does not chroot(); " + value +
               " is ignored, and scripts run with the whole file system visible to their user");
    } else if (key == "full_php_process_display") {
      note(
          entry.line, key,
          "no equivalent: php-cgi is started as [path, args...] from the handler; the script reaches it only "
          "through SCRIPT_FILENAME, so process listings show the handler, not the script");
    } else if (key == "paranoid_uid_check" || key == "paranoid_gid_check") {
      note(entry.line, key,
           "no equivalent: in account mode suwrap always requires the script to be owned by the account's "
           "user "
           "(check owner); the script's group is not compared");
    } else if (key == "userdir_overrides_usergroup") {
      note(entry.line, key,
           "no equivalent: suwrap takes the user from the script's owner (owner mode) or from the account "
           "whose "
           "docroot holds the script (account mode), never from the URL");
    } else {
      note(entry.line, key, "not a suPHP setting suwrap knows; ignored");
    }
  }

  void umask(const SuphpEntry& entry, const std::string& value) {
    const auto bits = octal(value);
    if (!bits) return fail(entry, "expected an octal umask like 0077, got \"" + value + "\"");
    std::string digits;
    for (unsigned shift = 9; shift > 0;) {
      shift -= 3;
      digits += static_cast<char>('0' + ((*bits >> shift) & 7U));
    }
    set_checked(entry, "umask", toml_string(digits));
  }

  void minimum_id(const SuphpEntry& entry, const std::string& value) {
    const auto id = decimal(value, 4294967294U);
    if (!id) return fail(entry, "expected a number from 0 to 4294967294, got \"" + value + "\"");
    if (*id == 0) {
      note(entry.line, entry.key,
           "0 becomes 1: suwrap's minimum is 1, and it never runs anything as root (uid or gid 0) anyway");
      set(entry.key, "1", "suPHP " + entry.key + " = 0");
      return;
    }
    set_checked(entry, entry.key, std::to_string(*id));
  }

  void mode(const SuphpEntry& entry, const std::string& value) {
    if (value == "owner") {
      set("mode", toml_string("owner"), "suPHP mode = owner");
    } else if (value == "paranoid" || value == "force") {
      set("mode", toml_string("account"), "suPHP mode = " + value);
      note(entry.line, entry.key,
           value +
               " becomes mode = \"account\": each vhost's suPHP_UserGroup becomes an account file "
               "(suwrap-policy account add NAME --user U --docroot D --domain N), and a script runs only "
               "when the account's user owns it" +
               (value == "force"
                    ? std::string("; force mode's running of other users' scripts has no equivalent")
                    : std::string()));
    } else {
      fail(entry, "expected owner, force or paranoid, got \"" + value + "\"");
    }
  }

  // suPHP docroot patterns: '*' matches within one component, ${HOME} and other variables
  // stand for the target user's values. suwrap's '*' is one whole component; anything that
  // cannot be said that way is dropped with a note, never widened.
  void docroots(const SuphpEntry& entry) {
    std::vector<std::string> patterns;
    for (const std::string& raw : entry.values) {
      if (auto pattern = docroot_pattern(entry, raw)) {
        if (std::find(patterns.begin(), patterns.end(), *pattern) == patterns.end())
          patterns.push_back(*pattern);
      }
    }
    if (patterns.empty()) {
      // suwrap's defaults could allow a place suPHP did not: nothing is written instead.
      note(entry.line, entry.key,
           "no docroot could be carried over, and suwrap's defaults might allow what suPHP did not: "
           "docroots = [] is written, so every request is refused (check docroot) until you name where "
           "scripts live");
      set("docroots", "[]", "suPHP docroot: nothing could be carried over");
      return;
    }
    set("docroots", toml_array(patterns), "suPHP docroot");
  }

  std::optional<std::string> docroot_pattern(const SuphpEntry& entry, const std::string& raw) {
    std::string pattern = raw;
    static constexpr std::string_view home = "${HOME}";
    if (pattern.starts_with(home)) {
      pattern = "/home/*" + pattern.substr(home.size());
      note(entry.line, entry.key,
           raw + " becomes " + pattern +
               ": ${HOME} is taken to be a directory one level below /home; "
               "edit the pattern if homes live elsewhere");
    }
    // A variable that is a whole component is any one component.
    std::string rebuilt;
    for (const std::string_view component : split_components(pattern)) {
      rebuilt += '/';
      const bool variable = component == "${USERNAME}" || component == "${UID}" ||
                            component == "${GROUPNAME}" || component == "${GID}";
      rebuilt += variable ? std::string_view("*") : component;
    }
    if (rebuilt.empty()) rebuilt = "/";
    const auto drop = [&](const std::string& why) -> std::optional<std::string> {
      note(entry.line, entry.key, raw + " is not carried over: " + why);
      return std::nullopt;
    };
    if (pattern.empty() || pattern.front() != '/') return drop("it is not an absolute path");
    if (rebuilt.find("${") != std::string::npos || rebuilt.find('\\') != std::string::npos)
      return drop("suwrap patterns have no variables or escapes");
    bool named = false;
    for (const std::string_view component : split_components(rebuilt)) {
      if (component == "*") continue;
      if (component.find('*') != std::string_view::npos)
        return drop(
            "'*' inside a component (suwrap's '*' stands for one whole component, and widening the "
            "pattern would allow more than suPHP did)");
      named = true;
    }
    if (!named) return drop("it allows scripts anywhere, and suwrap needs a docroot with a named directory");
    if (auto refusal = suwrap_refuses("global", "docroots = [" + toml_string(rebuilt) + "]"))
      return drop(*refusal);
    return rebuilt;
  }

  // ---- [handlers] and [phprc_paths] ---------------------------------------------------

  static std::string handler_name(std::string_view mime, HandlerKind kind,
                                  const std::set<std::string>& taken) {
    std::string_view name = mime.substr(mime.rfind('/') == std::string_view::npos ? 0 : mime.rfind('/') + 1);
    for (const std::string_view prefix : {"x-httpd-", "x-"}) {
      if (name.starts_with(prefix)) {
        name.remove_prefix(prefix.size());
        break;
      }
    }
    if (name.starts_with("suphp-")) name.remove_prefix(6);
    std::string out;
    for (const char c : name) {
      // Not '.': [handlers.php5.6] would be a table php5 holding a table 6.
      const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                         c == '_' || c == '-';
      out += plain ? c : '-';
    }
    if (out.empty() || out == "suphp") out = std::string(to_string(kind));
    std::string unique = out;
    for (int n = 2; taken.count(unique) != 0; ++n) unique = out + "-" + std::to_string(n);
    return unique;
  }

  void handlers() {
    const SuphpSection* section = conf_.section("handlers");
    const SuphpSection* phprc = conf_.section("phprc_paths");
    std::set<std::string> taken;
    bool php_extension_taken = false;
    bool cgi_extension_taken = false;
    if (section == nullptr || section->entries.empty()) {
      note(0, "handlers",
           "no [handlers]: every request will be refused (check handler) until handlers are added");
      return;
    }
    for (const SuphpEntry& entry : section->entries) {
      if (entry.values.size() > 1 && entry.values.front().find(':') == std::string::npos) {
        // Unquoted "php:/usr/bin/php-cgi" was split at ':'; suPHP took "php", which is no
        // interpreter it knows, and refused every request for this handler.
        note(entry.line, entry.key,
             "skipped: the unquoted value \"" + join(entry.values, ":") + "\" was split at ':' and suPHP "
             "read only \"" + entry.values.front() + "\", which it refused as an unknown interpreter for every "
             "request; suwrap refuses them too (check handler). Quote it in suphp.conf to mean the whole");
        continue;
      }
      const std::string spec = single(entry);
      const size_t colon = spec.find(':');
      const std::string mode = spec.substr(0, colon);
      const std::string interpreter = colon == std::string::npos ? std::string() : spec.substr(colon + 1);
      TranslatedHandler handler;
      handler.mime = entry.key;
      handler.line = entry.line;
      if (mode == "php") {
        handler.kind = HandlerKind::php;
        handler.path = interpreter;
        if (auto refusal = suwrap_refuses(
                "handlers.probe", "kind = \"php\"\nini_dir = \"/\"\npath = " + toml_string(interpreter))) {
          note(entry.line, entry.key,
               "skipped: the PHP interpreter \"" + interpreter + "\" is unusable (" + *refusal + ")");
          continue;
        }
        handler.ini_dir = ini_dir_for(entry, phprc);
        if (!php_extension_taken) handler.extensions = {".php"};
        php_extension_taken = true;
      } else if (mode == "execute") {
        handler.kind = HandlerKind::cgi;
        if (interpreter != "!self")
          note(entry.line, entry.key,
               "execute:" + interpreter +
                   " becomes a cgi handler, which runs the script itself (its #! line "
                   "names the interpreter)");
        if (!cgi_extension_taken) handler.extensions = {".cgi"};
        cgi_extension_taken = true;
      } else {
        note(entry.line, entry.key, "skipped: \"" + spec + "\" is neither php:PATH nor execute:!self");
        continue;
      }
      handler.name = handler_name(entry.key, handler.kind, taken);
      taken.insert(handler.name);
      note(entry.line, entry.key,
           "becomes [handlers." + handler.name +
               "]; Apache's AddHandler/AddType, not suphp.conf, chose its "
               "extensions, so " +
               (handler.extensions.empty()
                    ? std::string("it runs no extension (another handler has it): an account picks it with "
                                  "php_handler, or a request with SUWRAP_HANDLER")
                    : "it runs " + handler.extensions.front() + " files: edit extensions to match"));
      handlers_.push_back(std::move(handler));
    }
    if (phprc == nullptr) return;
    for (const SuphpEntry& entry : phprc->entries) {
      const bool used = std::any_of(section->entries.begin(), section->entries.end(),
                                    [&](const SuphpEntry& h) { return h.key == entry.key; });
      if (!used)
        note(entry.line, entry.key, "[phprc_paths] names a handler [handlers] does not have; ignored");
    }
  }

  std::string ini_dir_for(const SuphpEntry& handler, const SuphpSection* phprc) {
    const SuphpEntry* path = phprc != nullptr ? phprc->find(handler.key) : nullptr;
    if (path != nullptr) {
      std::string dir = single(*path);
      while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
      // The fork documents a file here (PHPRC names php.ini itself); suwrap's ini_dir is its
      // directory, and PHPRC is always <ini_dir>/php.ini.
      if (dir.ends_with(".ini")) {
        const std::string file = dir;
        dir = file.substr(0, file.rfind('/'));
        if (file.substr(file.rfind('/') + 1) != "php.ini" || dir.empty()) {
          note(path->line, path->key,
               "names the file " + file + ", which suwrap cannot name: PHPRC is always <ini_dir>/php.ini. "
               "ini_dir = \"" + (dir.empty() ? std::string("/") : dir) + "\" is written: make " +
               (dir.empty() ? std::string("/") : dir) + "/php.ini that file's copy (or a link to it), or the handler's "
               "requests are refused (check handler)");
        } else {
          note(path->line, path->key, "names the file " + file + ": ini_dir = \"" + dir + "\" (PHPRC is its php.ini)");
        }
        if (dir.empty()) dir = "/";
      }
      if (!suwrap_refuses("handlers.probe", "kind = \"php\"\npath = \"/\"\nini_dir = " + toml_string(dir)))
        return dir;
      note(path->line, path->key,
           "the php.ini directory \"" + dir + "\" is unusable; " + options_.default_ini_dir +
               " is written instead");
      return options_.default_ini_dir;
    }
    // Without PHPRC, suPHP's php-cgi read its own compiled-in php.ini: that directory is kept,
    // not another PHP's (a looser disable_functions or open_basedir).
    const std::string interpreter = single(handler).substr(single(handler).find(':') + 1);
    if (auto own = compiled_in_ini_dir(interpreter)) {
      note(handler.line, handler.key,
           "no [phprc_paths] entry: ini_dir = \"" + *own + "\", where " + interpreter +
               " reads its php.ini when PHPRC is unset, as it did under suPHP; a vhost's suPHP_ConfigPath "
               "becomes the account's php_ini_dir");
      return *own;
    }
    note(handler.line, handler.key,
         "no [phprc_paths] entry, and where " + interpreter + " reads its php.ini by itself is not known from "
         "its path: ini_dir = \"" + options_.default_ini_dir + "\" is written, which may not be the php.ini "
         "suPHP's runs read: check it (php-cgi -i | grep 'Loaded Configuration File')");
    return options_.default_ini_dir;
  }

  void other_sections() {
    for (const SuphpSection& section : conf_.sections) {
      if (section.name == "global" || section.name == "handlers" || section.name == "phprc_paths") continue;
      note(section.line, "[" + section.name + "]", "a section suwrap does not know; ignored");
    }
  }

  Expected<SuphpImport, ConfigError> finish() {
    std::string out;
    out += "# suwrap.toml translated from " + file_ + " by suwrap-policy import-suphp.\n";
    out += "# Settings with no equivalent were reported on standard error: read them before use.\n\n";
    out += "[global]\n";
    for (const TomlLine& line : global_) {
      std::string text = line.key + " = " + line.value;
      if (text.size() < 40) text.resize(40, ' ');
      out += text + "  # " + line.comment + "\n";
    }
    for (const TranslatedHandler& handler : handlers_) {
      out += "\n[handlers." + handler.name + "]  # suPHP " + handler.mime + "\n";
      out += "kind = " + toml_string(to_string(handler.kind)) + "\n";
      if (handler.kind == HandlerKind::php) {
        out += "path = " + toml_string(handler.path) + "\n";
        out += "ini_dir = " + toml_string(handler.ini_dir) + "\n";
      }
      out += "extensions = " + toml_array(handler.extensions) + "\n";
    }
    // The translation promises a file suwrap loads; a failure here is this code's mistake.
    if (auto parsed = parse_config(out, "suwrap.toml"); !parsed)
      return unexpected(ConfigError{file_, 0, "",
                                    "the translation is not a valid suwrap.toml (" +
                                        parsed.error().to_string() + "); please report this"});
    return SuphpImport{std::move(out), std::move(notes_)};
  }

  const SuphpConf& conf_;
  std::string file_;
  const SuphpImportOptions& options_;
  std::vector<TomlLine> global_;
  std::vector<TranslatedHandler> handlers_;
  std::vector<std::string> notes_;
  std::optional<ConfigError> error_;
  std::set<std::string> split_noted_;
};

}  // namespace

std::optional<std::string> compiled_in_ini_dir(std::string_view path) {
  const auto digits = [](std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const auto version = [&](std::string_view text) {  // "8.2"
    const size_t dot = text.find('.');
    return dot != std::string_view::npos && digits(text.substr(0, dot)) && digits(text.substr(dot + 1));
  };
  // Debian and Ubuntu: /usr/bin/php-cgiX.Y, /usr/lib/cgi-bin/phpX.Y -> /etc/php/X.Y/cgi.
  for (const std::string_view prefix : {"/usr/bin/php-cgi", "/usr/lib/cgi-bin/php"}) {
    if (path.starts_with(prefix) && version(path.substr(prefix.size())))
      return "/etc/php/" + std::string(path.substr(prefix.size())) + "/cgi";
  }
  // cPanel EA4, CloudLinux alt-php, Remi's collections: the prefix's own etc.
  struct Layout {
    std::string_view prefix, binary, ini;
  };
  for (const Layout& l : {Layout{"/opt/cpanel/ea-php", "/root/usr/bin/php-cgi", "/opt/cpanel/ea-php%/root/etc"},
                          Layout{"/opt/alt/php", "/usr/bin/php-cgi", "/opt/alt/php%/etc"},
                          Layout{"/opt/remi/php", "/root/usr/bin/php-cgi", "/etc/opt/remi/php%"}}) {
    if (!path.starts_with(l.prefix) || !path.ends_with(l.binary)) continue;
    const std::string_view nn = path.substr(l.prefix.size(), path.size() - l.prefix.size() - l.binary.size());
    if (!digits(nn)) continue;
    std::string ini(l.ini);
    ini.replace(ini.find('%'), 1, nn);
    return ini;
  }
  return std::nullopt;
}

const SuphpEntry* SuphpSection::find(std::string_view key) const {
  const auto found =
      std::find_if(entries.begin(), entries.end(), [&](const SuphpEntry& e) { return e.key == key; });
  return found == entries.end() ? nullptr : &*found;
}

const SuphpSection* SuphpConf::section(std::string_view name) const {
  const auto found =
      std::find_if(sections.begin(), sections.end(), [&](const SuphpSection& s) { return s.name == name; });
  return found == sections.end() ? nullptr : &*found;
}

Expected<SuphpConf, ConfigError> parse_suphp_conf(std::string_view text, std::string_view file) {
  try {
    SuphpConf conf;
    SuphpSection* current = nullptr;
    int number = 0;
    size_t start = 0;
    while (start < text.size()) {
      const size_t newline = text.find('\n', start);
      const size_t end = newline == std::string_view::npos ? text.size() : newline;
      std::string_view raw = text.substr(start, end - start);
      start = end + 1;
      ++number;
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      const std::string_view line = trimmed(raw);
      // ';' is suPHP's comment; '#' is accepted too, as hand-edited files use it.
      if (line.empty() || line.front() == ';' || line.front() == '#') continue;
      if (line.find('\0') != std::string_view::npos)
        return unexpected(line_error(file, number, "a NUL byte"));

      if (line.front() == '[' && line.back() == ']') {
        const std::string name(trimmed(line.substr(1, line.size() - 2)));
        auto found = std::find_if(conf.sections.begin(), conf.sections.end(),
                                  [&](const SuphpSection& s) { return s.name == name; });
        if (found == conf.sections.end()) {
          conf.sections.push_back(SuphpSection{name, number, {}});
          current = &conf.sections.back();
        } else {
          current = &*found;
        }
        continue;
      }
      const size_t equals = line.find('=');
      if (equals == std::string_view::npos)
        return unexpected(line_error(file, number, "expected [section], key=value or a ';' comment"));
      if (current == nullptr)
        return unexpected(line_error(file, number, "an option before the first [section]"));
      const bool append = equals > 0 && line[equals - 1] == '+';
      const std::string key(trimmed(line.substr(0, append ? equals - 1 : equals)));
      if (key.empty()) return unexpected(line_error(file, number, "an option without a name"));
      auto values = split_values(line.substr(equals + 1));
      if (!values)
        return unexpected(ConfigError{std::string(file), number, key,
                                      "a malformed value (empty, unbalanced quotes, text around quotes, or a "
                                      "trailing backslash)"});

      auto entry = std::find_if(current->entries.begin(), current->entries.end(),
                                [&](const SuphpEntry& e) { return e.key == key; });
      if (entry == current->entries.end()) {
        current->entries.push_back(SuphpEntry{key, std::move(*values), number});
        continue;
      }
      if (!append) entry->values.clear();
      entry->values.insert(entry->values.end(), values->begin(), values->end());
      entry->line = number;
    }
    return conf;
  } catch (const std::exception& error) {
    return unexpected(line_error(file, 0, std::string("cannot read: ") + error.what()));
  }
}

Expected<SuphpImport, ConfigError> import_suphp(const SuphpConf& conf, std::string_view file,
                                                const SuphpImportOptions& options) {
  try {
    return Importer(conf, file, options).run();
  } catch (const std::exception& error) {
    return unexpected(
        ConfigError{std::string(file), 0, "", std::string("cannot translate: ") + error.what()});
  }
}

}  // namespace suwrap::policy
