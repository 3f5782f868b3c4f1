// Configuration and account files (CONTRACT.md §2): strict parsing with toml++, and loading
// by descriptor with the trust rules of check `config`.
//
// The file has three parts:
//   1. value rules and a small reader that turns TOML nodes into typed values, reporting
//      the first problem as "FILE:LINE: KEY: expected ..., got ...";
//   2. the main file and account files, key by key;
//   3. reading the files from the file system: every directory from "/" opened with
//      O_NOFOLLOW and fstat'ed, so what is checked for trust is what is read.
#include "suwrap/policy/config.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <utility>

#include <toml++/toml.h>

#include "suwrap/policy/fd.hpp"

namespace suwrap::policy {
namespace {

// ---------------------------------------------------------------------------------------
// Spellings of the enumerations: one table each, used by parsing and by to_string alike.

template <class E>
struct Spelling {
  std::string_view word;
  E value;
};

constexpr std::array<Spelling<Mode>, 2> mode_spellings{{
    {"owner", Mode::owner},
    {"account", Mode::account},
}};
constexpr std::array<Spelling<SymlinkPolicy>, 2> symlink_spellings{{
    {"deny", SymlinkPolicy::deny},
    {"owner-match", SymlinkPolicy::owner_match},
}};
constexpr std::array<Spelling<HandlerKind>, 3> kind_spellings{{
    {"php", HandlerKind::php},
    {"php-fcgi", HandlerKind::php_fcgi},
    {"cgi", HandlerKind::cgi},
}};

template <class E, std::size_t N>
std::string_view spelling_of(const std::array<Spelling<E>, N>& spellings, E value) {
  for (const auto& spelling : spellings)
    if (spelling.value == value) return spelling.word;
  return "?";
}

// ---------------------------------------------------------------------------------------
// Text helpers for messages.

bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_control(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(), is_control);
}

// A value in double quotes, with quotes, backslashes and control characters escaped, so a
// crafted value cannot forge a line in a log or a terminal.
std::string quoted(std::string_view text) {
  static constexpr std::string_view hex = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (is_control(c)) {
      const auto byte = static_cast<unsigned char>(c);
      out += "\\x";
      out += hex[byte >> 4U];
      out += hex[byte & 0xfU];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

// toml++'s messages quote the offending input as it is, a line break included ("saw 'n
// <newline>'"): their control characters are escaped as quoted() does, the rest kept.
std::string with_controls_escaped(std::string_view text) {
  static constexpr std::string_view hex = "0123456789abcdef";
  std::string out;
  for (const char c : text) {
    if (!is_control(c)) {
      out += c;
      continue;
    }
    const auto byte = static_cast<unsigned char>(c);
    out += "\\x";
    out += hex[byte >> 4U];
    out += hex[byte & 0xfU];
  }
  return out;
}

std::string joined(std::span<const std::string_view> words, std::string_view separator) {
  std::string out;
  for (const auto word : words) {
    if (!out.empty()) out += separator;
    out += word;
  }
  return out;
}

// `"php", "php-fcgi" or "cgi"`
template <class E, std::size_t N>
std::string alternatives(const std::array<Spelling<E>, N>& spellings) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) out += (i + 1 == N) ? " or " : ", ";
    out += quoted(spellings[i].word);
  }
  return out;
}

// A TOML key as it is written in an error: bare when TOML allows it bare, else quoted.
std::string key_text(std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return is_ascii_alnum(c) || c == '_' || c == '-';
  });
  return bare ? std::string(key) : quoted(key);
}

std::string dotted(std::string_view prefix, std::string_view key) {
  if (prefix.empty()) return key_text(key);
  return std::string(prefix) + "." + key_text(key);
}

int line_of(const toml::source_region& source) {
  return static_cast<int>(source.begin.line);
}
int line_of(const toml::node& node) {
  return line_of(node.source());
}

std::string_view type_name(const toml::node& node) {
  if (node.is_string()) return "a string";
  if (node.is_integer()) return "an integer";
  if (node.is_floating_point()) return "a float";
  if (node.is_boolean()) return "a boolean";
  if (node.is_array()) return "an array";
  if (node.is_table()) return "a table";
  return "a date or time";
}

// What a node holds, for "got ...": the value itself where it is short, else its type.
std::string describe(const toml::node& node) {
  if (const auto* text = node.as_string()) return quoted(text->get());
  if (const auto* number = node.as_integer()) return std::to_string(number->get());
  if (const auto* flag = node.as_boolean()) return flag->get() ? "true" : "false";
  return std::string(type_name(node));
}

std::string wrong_type(std::string_view expected, const toml::node& node) {
  std::string got(type_name(node));
  if (node.is_string() || node.is_integer() || node.is_boolean()) got += " " + describe(node);
  return "expected " + std::string(expected) + ", got " + got;
}

std::string bad_value(std::string_view expectation, const toml::node& node) {
  return "expected " + std::string(expectation) + ", got " + describe(node);
}

// ---------------------------------------------------------------------------------------
// Value rules. Each returns what was expected when the value breaks the rule.

using Rule = std::optional<std::string> (*)(std::string_view value);

// Splits on '/', keeping empty components (so "//" and a trailing "/" can be refused).
std::vector<std::string_view> raw_components(std::string_view absolute_path) {
  std::vector<std::string_view> parts;
  std::size_t start = 1;
  while (start <= absolute_path.size()) {
    const std::size_t slash = absolute_path.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? absolute_path.size() : slash;
    parts.push_back(absolute_path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// Absolute and normalised: what is written is the only way to read it.
std::optional<std::string> absolute_path_problem(std::string_view path) {
  if (path.empty() || path.front() != '/') return "an absolute path (starting with \"/\")";
  if (has_control(path)) return "a path without control characters";
  if (path == "/") return std::nullopt;
  if (path.back() == '/') return "a path without a trailing \"/\"";
  for (const auto component : raw_components(path)) {
    if (component.empty()) return "a path without empty components (\"//\")";
    if (component == "." || component == "..") return "a path without \".\" or \"..\" components";
  }
  return std::nullopt;
}

// A [global] docroot: an absolute path where "*" may stand for one whole component.
std::optional<std::string> docroot_pattern_problem(std::string_view path) {
  if (auto problem = absolute_path_problem(path)) return problem;
  if (path == "/") return "a directory below \"/\" (the whole file system cannot be a docroot)";
  bool has_named_component = false;
  for (const auto component : raw_components(path)) {
    if (component == "*") continue;
    if (component.find('*') != std::string_view::npos)
      return "\"*\" only as a whole path component, like \"/home/*/public_html\"";
    has_named_component = true;
  }
  if (!has_named_component) return "a docroot with at least one named component";
  return std::nullopt;
}

// An account's docroot names one directory: no patterns.
std::optional<std::string> account_docroot_problem(std::string_view path) {
  if (auto problem = absolute_path_problem(path)) return problem;
  if (path == "/") return "a directory below \"/\" (the whole file system cannot be a docroot)";
  if (path.find('*') != std::string_view::npos)
    return "a literal directory (\"*\" patterns belong in [global] docroots)";
  return std::nullopt;
}

std::optional<std::string> log_target_problem(std::string_view value) {
  if (value == "syslog" || !absolute_path_problem(value)) return std::nullopt;
  return "an absolute file path or \"syslog\"";
}

// An empty entry in PATH means the working directory: never that.
std::optional<std::string> safe_path_problem(std::string_view value) {
  std::size_t start = 0;
  while (true) {
    const std::size_t colon = value.find(':', start);
    const std::size_t end = colon == std::string_view::npos ? value.size() : colon;
    if (absolute_path_problem(value.substr(start, end - start)))
      return "colon-separated absolute directories, like \"/usr/bin:/bin\"";
    if (colon == std::string_view::npos) return std::nullopt;
    start = colon + 1;
  }
}

std::optional<std::string> umask_problem(std::string_view value) {
  const bool octal_digits =
      std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '7'; });
  if (value.size() < 3 || value.size() > 4 || !octal_digits)
    return "an octal string of 3 or 4 digits like \"022\"";
  if (value.size() == 4 && value.front() != '0') return "an octal umask of at most \"0777\"";
  return std::nullopt;
}

mode_t octal_value(std::string_view digits) {
  mode_t value = 0;
  for (const char c : digits) value = static_cast<mode_t>(value * 8U + static_cast<mode_t>(c - '0'));
  return value;
}

bool is_name_char(char c) {
  return is_ascii_alnum(c) || c == '_' || c == '.' || c == '-';
}

bool is_name(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_name_char);
}

// The portable user and group names (plus the '$' of machine accounts).
std::optional<std::string> user_name_problem(std::string_view name) {
  std::string_view body = name;
  if (!body.empty() && body.back() == '$') body.remove_suffix(1);
  if (is_name(body) && name.size() <= 32 && name.front() != '-') return std::nullopt;
  return "a user or group name of letters, digits, '_', '.' and '-' (at most 32, not starting with '-')";
}

std::optional<std::string> handler_name_problem(std::string_view name) {
  if (is_name(name)) return std::nullopt;
  return "a handler name of letters, digits, '_', '.' and '-'";
}

std::optional<std::string> account_name_problem(std::string_view name) {
  if (is_name(name) && name.front() != '.') return std::nullopt;
  return "an account name of letters, digits, '_', '.' and '-', not starting with '.'";
}

// The extension of a file name as extension_of() gives it: one leading dot, no other.
std::optional<std::string> extension_problem(std::string_view extension) {
  if (extension.size() < 2 || extension.front() != '.' ||
      extension.find_first_of("./", 1) != std::string_view::npos || has_control(extension))
    return "an extension of one \".\" and a name without \"/\", like \".php\"";
  return std::nullopt;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// A host name as SERVER_NAME carries it; judged lowercased, as it is stored.
std::optional<std::string> domain_problem(std::string_view domain) {
  static constexpr std::string_view expectation = "a host name like \"www.example.org\"";
  const std::string name = lowercase(domain);
  if (name.empty() || name.size() > 253) return std::string(expectation);
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::size_t end = dot == std::string::npos ? name.size() : dot;
    const std::string_view label = std::string_view(name).substr(start, end - start);
    const bool label_ok =
        !label.empty() && label.size() <= 63 && std::all_of(label.begin(), label.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        });
    if (!label_ok) return std::string(expectation);
    if (dot == std::string::npos) return std::nullopt;
    start = dot + 1;
  }
}

struct IntegerRule {
  std::int64_t min;
  std::int64_t max;
  std::string_view expectation;
};

constexpr std::int64_t largest_id = std::int64_t{std::numeric_limits<uid_t>::max()} - 1;  // -1 is "no id"
constexpr IntegerRule id_rule{1, largest_id, "an integer from 1 to 4294967294"};

// ---------------------------------------------------------------------------------------
// Reading one TOML table. Problems keeps the first error of a file; a reader reports into it.

class Problems {
 public:
  explicit Problems(std::string_view file) : file_(file) {}

  void report(int line, std::string key, std::string message) {
    if (!first_) first_ = ConfigError{file_, line, std::move(key), std::move(message)};
  }
  [[nodiscard]] bool any() const { return first_.has_value(); }
  [[nodiscard]] ConfigError first() const { return *first_; }

 private:
  std::string file_;
  std::optional<ConfigError> first_;
};

class TableReader {
 public:
  // `prefix` is the dotted name of the table ("global", "handlers.php"; "" for the document).
  TableReader(const toml::table& table, std::string prefix, Problems& problems)
      : table_(table), prefix_(std::move(prefix)), problems_(problems) {}

  // Every key of the table must be one of `known`.
  void allow_only(std::span<const std::string_view> known) const {
    for (auto&& [key, node] : table_) {
      if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
      const std::string_view what = node.is_table() ? "unknown table" : "unknown key";
      problems_.report(line_of(key.source()), dotted(prefix_, key.str()),
                       std::string(what) + "; expected one of: " + joined(known, ", "));
    }
  }
  void allow_only(std::initializer_list<std::string_view> known) const {
    allow_only(std::span<const std::string_view>(known.begin(), known.size()));
  }

  // A required key that is absent is reported at the line of its table (none for a whole file).
  void require(std::string_view key, std::string_view expectation) const {
    if (table_.contains(key)) return;
    const int line = prefix_.empty() ? 0 : line_of(table_);
    problems_.report(line, dotted(prefix_, key), "missing; expected " + std::string(expectation));
  }

  void forbid(std::string_view key, std::string_view why) const {
    if (const toml::node* node = table_.get(key)) fail(*node, key, std::string(why));
  }

  [[nodiscard]] std::optional<std::string> string_at(std::string_view key, Rule rule = nullptr) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return std::nullopt;
    return checked_string(*node, key, rule);
  }

  [[nodiscard]] std::optional<std::vector<std::string>> strings_at(std::string_view key,
                                                                   Rule rule = nullptr) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return std::nullopt;
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      fail(*node, key, wrong_type("an array of strings", *node));
      return std::nullopt;
    }
    std::vector<std::string> values;
    for (const toml::node& element : *array) {
      auto value = checked_string(element, key, rule);
      if (!value) return std::nullopt;
      values.push_back(std::move(*value));
    }
    return values;
  }

  [[nodiscard]] std::optional<bool> bool_at(std::string_view key) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return std::nullopt;
    if (const auto* flag = node->as_boolean()) return flag->get();
    fail(*node, key, wrong_type("true or false", *node));
    return std::nullopt;
  }

  [[nodiscard]] std::optional<std::int64_t> integer_at(std::string_view key, const IntegerRule& rule) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return std::nullopt;
    const auto* number = node->as_integer();
    if (number == nullptr) {
      fail(*node, key, wrong_type("an integer", *node));
      return std::nullopt;
    }
    if (number->get() < rule.min || number->get() > rule.max) {
      fail(*node, key, bad_value(rule.expectation, *node));
      return std::nullopt;
    }
    return number->get();
  }

  template <class E, std::size_t N>
  [[nodiscard]] std::optional<E> choice_at(std::string_view key,
                                           const std::array<Spelling<E>, N>& spellings) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return std::nullopt;
    if (const auto* text = node->as_string()) {
      for (const auto& spelling : spellings)
        if (text->get() == spelling.word) return spelling.value;
    }
    fail(*node, key, bad_value(alternatives(spellings), *node));
    return std::nullopt;
  }

  [[nodiscard]] const toml::table* table_at(std::string_view key) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return nullptr;
    if (const toml::table* table = node->as_table()) return table;
    fail(*node, key, wrong_type("a table ([" + dotted(prefix_, key) + "])", *node));
    return nullptr;
  }

  void fail(const toml::node& where, std::string_view key, std::string message) const {
    problems_.report(line_of(where), dotted(prefix_, key), std::move(message));
  }
  // A problem with a key that is present, found by name for its line.
  void fail(std::string_view key, std::string message) const {
    const toml::node* node = table_.get(key);
    problems_.report(node != nullptr ? line_of(*node) : line_of(table_), dotted(prefix_, key),
                     std::move(message));
  }

 private:
  std::optional<std::string> checked_string(const toml::node& node, std::string_view key, Rule rule) const {
    const auto* text = node.as_string();
    if (text == nullptr) {
      fail(node, key, wrong_type("a string", node));
      return std::nullopt;
    }
    // A NUL would cut the value short wherever it becomes a C string (a path, an argument).
    if (text->get().find('\0') != std::string::npos) {
      fail(node, key, bad_value("a string without NUL characters", node));
      return std::nullopt;
    }
    if (rule != nullptr) {
      if (auto expectation = rule(text->get())) {
        fail(node, key, bad_value(*expectation, node));
        return std::nullopt;
      }
    }
    return text->get();
  }

  const toml::table& table_;
  std::string prefix_;
  Problems& problems_;
};

// Assigns a value that was present and valid; leaves the default otherwise.
template <class Target, class Value>
void set_if_present(Target& target, std::optional<Value> value) {
  if (value) target = static_cast<Target>(std::move(*value));
}

// toml++ reports syntax errors by exception; here they become a ConfigError with their line.
Expected<toml::table, ConfigError> parse_document(std::string_view text, std::string_view file) {
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& error) {
    return unexpected(ConfigError{std::string(file), line_of(error.source()), "",
                                  "TOML syntax error: " + with_controls_escaped(error.description())});
  }
}

// Library functions never let an exception out (bad_alloc included): it becomes an error.
template <class T, class Function>
Expected<T, ConfigError> without_exceptions(std::string_view file, Function&& function) {
  try {
    return std::forward<Function>(function)();
  } catch (const std::exception& error) {
    return unexpected(ConfigError{std::string(file), 0, "", std::string("cannot read: ") + error.what()});
  }
}

// ---------------------------------------------------------------------------------------
// The main file.

// The [limits] keys, shared by the main file (Limits) and account files (LimitOverrides).
struct LimitKey {
  std::string_view name;
  std::uint64_t Limits::*base;
  std::optional<std::uint64_t> LimitOverrides::*override_value;
  IntegerRule rule;
};

constexpr IntegerRule seconds_or_count_rule{0, std::numeric_limits<std::int64_t>::max(),
                                            "a non-negative integer (0 = unlimited)"};
// Megabytes become bytes for setrlimit; 2^40 MB keeps that product far from overflowing.
constexpr IntegerRule megabytes_rule{0, std::int64_t{1} << 40,
                                     "a non-negative integer of at most 1099511627776 (0 = unlimited)"};

constexpr std::array<LimitKey, 6> limit_keys{{
    {"cpu_seconds", &Limits::cpu_seconds, &LimitOverrides::cpu_seconds, seconds_or_count_rule},
    {"wall_seconds", &Limits::wall_seconds, &LimitOverrides::wall_seconds, seconds_or_count_rule},
    {"memory_mb", &Limits::memory_mb, &LimitOverrides::memory_mb, megabytes_rule},
    {"nproc", &Limits::nproc, &LimitOverrides::nproc, seconds_or_count_rule},
    {"nofile", &Limits::nofile, &LimitOverrides::nofile, seconds_or_count_rule},
    {"fsize_mb", &Limits::fsize_mb, &LimitOverrides::fsize_mb, megabytes_rule},
}};

constexpr std::array<std::string_view, limit_keys.size()> limit_key_names = [] {
  std::array<std::string_view, limit_keys.size()> names{};
  for (std::size_t i = 0; i < limit_keys.size(); ++i) names[i] = limit_keys[i].name;
  return names;
}();

void read_limits(const TableReader& reader, Limits& limits) {
  reader.allow_only(limit_key_names);
  for (const auto& key : limit_keys) set_if_present(limits.*key.base, reader.integer_at(key.name, key.rule));
}

void read_limit_overrides(const TableReader& reader, LimitOverrides& overrides) {
  reader.allow_only(limit_key_names);
  for (const auto& key : limit_keys)
    set_if_present(overrides.*key.override_value, reader.integer_at(key.name, key.rule));
}

void read_global(const TableReader& global, Config& config) {
  global.allow_only({"caller", "mode", "min_uid", "min_gid", "docroots", "accounts_dir", "log", "safe_path",
                     "umask", "errors_to_browser", "symlinks", "allow_file_group_writable",
                     "allow_dir_group_writable", "check_vhost"});
  set_if_present(config.caller, global.string_at("caller", user_name_problem));
  set_if_present(config.mode, global.choice_at("mode", mode_spellings));
  set_if_present(config.min_uid, global.integer_at("min_uid", id_rule));
  set_if_present(config.min_gid, global.integer_at("min_gid", id_rule));
  set_if_present(config.docroots, global.strings_at("docroots", docroot_pattern_problem));
  set_if_present(config.accounts_dir, global.string_at("accounts_dir", absolute_path_problem));
  set_if_present(config.log, global.string_at("log", log_target_problem));
  set_if_present(config.safe_path, global.string_at("safe_path", safe_path_problem));
  if (auto umask = global.string_at("umask", umask_problem)) config.umask = octal_value(*umask);
  set_if_present(config.errors_to_browser, global.bool_at("errors_to_browser"));
  set_if_present(config.symlinks, global.choice_at("symlinks", symlink_spellings));
  set_if_present(config.allow_file_group_writable, global.bool_at("allow_file_group_writable"));
  set_if_present(config.allow_dir_group_writable, global.bool_at("allow_dir_group_writable"));
  set_if_present(config.check_vhost, global.bool_at("check_vhost"));
}

Handler read_handler(const TableReader& reader, std::string_view name) {
  reader.allow_only(
      {"kind", "path", "args", "ini_dir", "workers", "max_requests", "idle_seconds", "extensions"});
  Handler handler;
  handler.name = name;
  const auto kind = reader.choice_at("kind", kind_spellings);
  if (!kind) {
    reader.require("kind", alternatives(kind_spellings));
    return handler;
  }
  handler.kind = *kind;

  if (handler.is_php()) {
    reader.require("path", "the absolute path of php-cgi, like \"/usr/bin/php-cgi\"");
    reader.require("ini_dir", "the absolute directory holding php.ini, like \"/etc/php/8.2/cgi\"");
  } else {
    // A cgi handler runs the script itself: a program, arguments or php.ini would be ignored,
    // and a setting that silently does nothing is a mistake worth refusing.
    const std::string why = "not allowed for kind \"cgi\", which executes the script itself; expected no ";
    reader.forbid("path", why + "path");
    reader.forbid("args", why + "args");
    reader.forbid("ini_dir", why + "ini_dir");
  }
  if (handler.kind != HandlerKind::php_fcgi) {
    const std::string why = "only a \"php-fcgi\" handler has a worker pool; expected no ";
    for (const std::string_view key : {"workers", "max_requests", "idle_seconds"})
      reader.forbid(key, why + std::string(key));
  }

  set_if_present(handler.path, reader.string_at("path", absolute_path_problem));
  set_if_present(handler.args, reader.strings_at("args"));
  set_if_present(handler.ini_dir, reader.string_at("ini_dir", absolute_path_problem));
  set_if_present(handler.workers, reader.integer_at("workers", {1, 256, "an integer from 1 to 256"}));
  set_if_present(handler.max_requests,
                 reader.integer_at("max_requests", {1, 1'000'000, "an integer from 1 to 1000000"}));
  set_if_present(handler.idle_seconds,
                 reader.integer_at("idle_seconds", {1, 86'400, "an integer from 1 to 86400 (a day)"}));
  set_if_present(handler.extensions, reader.strings_at("extensions", extension_problem));
  return handler;
}

// An extension picks one handler; two claims on it would make the choice depend on order.
void check_extensions_unique(const toml::table& handlers, Problems& problems) {
  std::map<std::string, std::string, std::less<>> claimed_by;
  for (auto&& [name, node] : handlers) {
    const toml::table* handler = node.as_table();
    const toml::array* extensions = handler != nullptr ? handler->get_as<toml::array>("extensions") : nullptr;
    if (extensions == nullptr) continue;
    for (const toml::node& element : *extensions) {
      const std::string extension = element.value_or(std::string());
      const auto [earlier, inserted] = claimed_by.emplace(extension, name.str());
      if (inserted) continue;
      const std::string key = dotted(dotted("handlers", name.str()), "extensions");
      if (earlier->second == name.str())
        problems.report(line_of(element), key,
                        quoted(extension) + " is listed twice; expected each extension once");
      else
        problems.report(line_of(element), key,
                        quoted(extension) + " is already claimed by handler " + quoted(earlier->second) +
                            "; expected each extension in one handler only");
    }
  }
}

void read_handlers(const toml::table& handlers, Problems& problems, Config& config) {
  for (auto&& [name, node] : handlers) {
    const std::string prefix = dotted("handlers", name.str());
    if (auto expectation = handler_name_problem(name.str())) {
      problems.report(line_of(name.source()), prefix, "expected " + *expectation);
      continue;
    }
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      problems.report(line_of(node), prefix, wrong_type("a table ([" + prefix + "])", node));
      continue;
    }
    Handler handler = read_handler(TableReader(*table, prefix, problems), name.str());
    config.handlers.emplace(handler.name, std::move(handler));
  }
  if (!problems.any()) check_extensions_unique(handlers, problems);
}

// "/etc/suwrap/suwrap.toml" gives "/etc/suwrap/accounts.d".
std::string default_accounts_dir(std::string_view file) {
  const std::size_t slash = file.rfind('/');
  if (slash == std::string_view::npos) return "accounts.d";
  return std::string(file.substr(0, slash)) + "/accounts.d";
}

Expected<Config, ConfigError> parse_config_document(const toml::table& document, std::string_view file) {
  Problems problems(file);
  Config config;
  config.file = file;
  config.accounts_dir = default_accounts_dir(file);

  const TableReader top(document, "", problems);
  top.allow_only({"global", "handlers", "limits"});
  if (const toml::table* global = top.table_at("global"))
    read_global(TableReader(*global, "global", problems), config);
  if (const toml::table* handlers = top.table_at("handlers")) read_handlers(*handlers, problems, config);
  if (const toml::table* limits = top.table_at("limits"))
    read_limits(TableReader(*limits, "limits", problems), config.limits);

  if (problems.any()) return unexpected(problems.first());
  return config;
}

// ---------------------------------------------------------------------------------------
// Account files.

Expected<Account, ConfigError> parse_account_document(const toml::table& document, std::string_view file,
                                                      std::string_view name) {
  Problems problems(file);
  Account account;
  account.name = name;
  account.file = file;

  const TableReader reader(document, "", problems);
  reader.allow_only({"user", "group", "docroots", "domains", "php_handler", "handlers", "php_ini_dir",
                     "disabled", "limits"});
  reader.require("user", "the account's user name, like \"alice\"");
  reader.require("docroots", "an array of the account's docroots, like [\"/home/alice/public_html\"]");

  set_if_present(account.user, reader.string_at("user", user_name_problem));
  set_if_present(account.group, reader.string_at("group", user_name_problem));
  if (auto docroots = reader.strings_at("docroots", account_docroot_problem)) {
    if (docroots->empty()) reader.fail("docroots", "expected at least one docroot, got an empty array");
    account.docroots = std::move(*docroots);
  }
  if (auto domains = reader.strings_at("domains", domain_problem)) {
    for (auto& domain : *domains) domain = lowercase(domain);
    account.domains = std::move(*domains);
  }
  set_if_present(account.php_handler, reader.string_at("php_handler", handler_name_problem));
  set_if_present(account.handlers, reader.strings_at("handlers", handler_name_problem));
  set_if_present(account.php_ini_dir, reader.string_at("php_ini_dir", absolute_path_problem));
  set_if_present(account.disabled, reader.bool_at("disabled"));
  if (const toml::table* limits = reader.table_at("limits"))
    read_limit_overrides(TableReader(*limits, "limits", problems), account.limits);

  if (problems.any()) return unexpected(problems.first());
  return account;
}

// ---------------------------------------------------------------------------------------
// Cross-file rules.

ConfigError account_error(const Account& account, std::string key, std::string message) {
  return ConfigError{account.file, 0, std::move(key), std::move(message)};
}

std::string handler_names(const Config& config, bool php_only) {
  std::string names;
  for (const auto& [name, handler] : config.handlers) {
    if (php_only && !handler.is_php()) continue;
    if (!names.empty()) names += ", ";
    names += name;
  }
  return names.empty() ? "(none configured)" : names;
}

std::optional<ConfigError> account_handler_problem(const Config& config, const Account& account) {
  if (account.handlers) {
    for (const auto& name : *account.handlers) {
      if (config.handler(name) == nullptr)
        return account_error(account, "handlers",
                             quoted(name) + " is not a handler of " + config.file +
                                 "; expected one of: " + handler_names(config, false));
    }
  }
  if (!account.php_handler) return std::nullopt;
  const std::string& name = *account.php_handler;
  const Handler* handler = config.handler(name);
  if (handler == nullptr)
    return account_error(account, "php_handler",
                         quoted(name) + " is not a handler of " + config.file +
                             "; expected one of the PHP handlers: " + handler_names(config, true));
  if (!handler->is_php())
    return account_error(account, "php_handler",
                         quoted(name) + " is of kind " + quoted(to_string(handler->kind)) +
                             "; expected a handler of kind \"php\" or \"php-fcgi\"");
  if (!account.may_use(name))
    return account_error(account, "php_handler",
                         quoted(name) + " is not in this account's handlers; expected one of them");
  return std::nullopt;
}

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> parts;
  for (const auto part : raw_components(path))
    if (!part.empty()) parts.push_back(part);
  return parts;
}

// True when `inner` is `outer` or lies below it, compared component by component
// ("/var/www2" is not inside "/var/www").
bool same_or_inside(std::string_view inner, std::string_view outer) {
  const auto inner_parts = components(inner);
  const auto outer_parts = components(outer);
  return inner_parts.size() >= outer_parts.size() &&
         std::equal(outer_parts.begin(), outer_parts.end(), inner_parts.begin());
}

// In account mode a script belongs to the account whose docroot holds it: overlapping
// docroots would give one script two possible owners.
std::optional<ConfigError> overlapping_docroots(std::span<const Account> accounts) {
  for (std::size_t later = 1; later < accounts.size(); ++later) {
    for (std::size_t earlier = 0; earlier < later; ++earlier) {
      const Account& a = accounts[earlier];
      const Account& b = accounts[later];
      for (const auto& mine : b.docroots) {
        for (const auto& theirs : a.docroots) {
          if (!same_or_inside(mine, theirs) && !same_or_inside(theirs, mine)) continue;
          return account_error(
              b, "docroots",
              quoted(mine) + " overlaps " + quoted(theirs) + " of account " + quoted(a.name) + " (" + a.file +
                  "); expected docroots that are neither equal to nor inside " + "another account's");
        }
      }
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// The file system, by descriptor.

constexpr std::size_t max_file_bytes = std::size_t{1} << 20;

std::string errno_text(int error) {
  return std::generic_category().message(error);
}

ConfigError file_error(std::string path, std::string message) {
  return ConfigError{std::move(path), 0, "", std::move(message)};
}

std::string mode_text(mode_t mode) {
  std::string digits = "0000";
  mode_t bits = mode & 07777U;
  for (std::size_t i = digits.size(); i-- > 0; bits >>= 3U) digits[i] = static_cast<char>('0' + (bits & 7U));
  return digits;
}

// Root's configuration must be root's alone: anyone else who can change it decides who runs as whom.
std::optional<ConfigError> trust_problem(const std::string& path, const struct stat& st) {
  static constexpr std::string_view only_root = "; it must be owned by root and writable only by root";
  if (st.st_uid != 0)
    return file_error(path, "owned by uid " + std::to_string(st.st_uid) + ", must be owned by root");
  if ((st.st_mode & S_IWOTH) != 0)
    return file_error(path,
                      "is writable by others (mode " + mode_text(st.st_mode) + ")" + std::string(only_root));
  if ((st.st_mode & S_IWGRP) != 0)
    return file_error(
        path, "is writable by its group (mode " + mode_text(st.st_mode) + ")" + std::string(only_root));
  return std::nullopt;
}

// Something opened on the way, with what fstat said about it.
struct Opened {
  Fd fd;
  struct stat st {};
};

struct OpenFailure {
  ConfigError error;
  bool missing = false;  // ENOENT: an absent accounts_dir just means "no accounts"
};

// Explains why openat(dir, name) failed; a symlink is named as such, since O_NOFOLLOW
// reports it only as ELOOP or ENOTDIR.
OpenFailure open_failure(int dir, const std::string& name, const std::string& path, int error) {
  if (error == ENOENT) return {file_error(path, "does not exist"), true};
  struct stat st {};
  if ((error == ELOOP || error == ENOTDIR) && ::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode))
      return {file_error(path, "is a symbolic link; configuration paths are read without following links"),
              false};
    if (error == ENOTDIR) return {file_error(path, "is not a directory"), false};
  }
  return {file_error(path, "cannot open: " + errno_text(error)), false};
}

std::optional<ConfigError> fstat_into(Opened& opened, const std::string& path, bool require_trusted) {
  if (::fstat(opened.fd.get(), &opened.st) != 0)
    return file_error(path, "cannot fstat: " + errno_text(errno));
  if (require_trusted) return trust_problem(path, opened.st);
  return std::nullopt;
}

std::string child_path(const std::string& dir, std::string_view name) {
  return (dir == "/" ? dir : dir + "/") + std::string(name);
}

// A path split into the directories to walk and the final name.
struct SplitPath {
  std::vector<std::string> directories;
  std::string name;  // empty for "/"
};

Expected<SplitPath, ConfigError> split_for_walk(const std::string& path) {
  if (path.empty() || path.front() != '/') return unexpected(file_error(path, "expected an absolute path"));
  SplitPath split;
  for (const auto part : components(path)) {
    if (part == "." || part == "..")
      return unexpected(file_error(path, "expected a path without \".\" or \"..\" components"));
    split.directories.emplace_back(part);
  }
  if (!split.directories.empty()) {
    split.name = std::move(split.directories.back());
    split.directories.pop_back();
  }
  return split;
}

// Opens a directory from "/", one openat(O_PATH|O_NOFOLLOW|O_DIRECTORY) per component, so
// that no symlink is followed and each directory checked is the one the next step opens from.
Expected<Opened, OpenFailure> open_directory(std::span<const std::string> directories, bool require_trusted) {
  std::string path = "/";
  Opened current;
  current.fd = Fd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!current.fd) return unexpected(OpenFailure{file_error(path, "cannot open: " + errno_text(errno))});
  if (auto problem = fstat_into(current, path, require_trusted)) return unexpected(OpenFailure{*problem});

  for (const auto& name : directories) {
    const std::string next_path = child_path(path, name);
    Opened next;
    next.fd = Fd(::openat(current.fd.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC));
    if (!next.fd) return unexpected(open_failure(current.fd.get(), name, next_path, errno));
    if (auto problem = fstat_into(next, next_path, require_trusted)) return unexpected(OpenFailure{*problem});
    current = std::move(next);
    path = next_path;
  }
  return current;
}

Expected<std::string, ConfigError> read_capped(const Fd& fd, const std::string& path, off_t size) {
  const auto too_large = [&] {
    return file_error(path, "is larger than 1 MiB; expected a smaller configuration file");
  };
  if (size > static_cast<off_t>(max_file_bytes)) return unexpected(too_large());
  std::string text;
  std::array<char, 65536> buffer{};
  while (true) {
    const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return unexpected(file_error(path, "cannot read: " + errno_text(errno)));
    if (got == 0) return text;
    text.append(buffer.data(), static_cast<std::size_t>(got));
    if (text.size() > max_file_bytes) return unexpected(too_large());  // it grew while we read
  }
}

// Opens `name` in `dir` without following a link, and reads it if it is a (trusted) regular file.
// O_NONBLOCK: a FIFO planted in place of the file cannot make the reader wait forever.
Expected<std::string, ConfigError> read_file_in(int dir, const std::string& name, const std::string& path,
                                                bool require_trusted) {
  Opened file;
  file.fd = Fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!file.fd) return unexpected(open_failure(dir, name, path, errno).error);
  if (::fstat(file.fd.get(), &file.st) != 0)
    return unexpected(file_error(path, "cannot fstat: " + errno_text(errno)));
  if (!S_ISREG(file.st.st_mode)) return unexpected(file_error(path, "is not a regular file"));
  if (require_trusted) {
    if (auto problem = trust_problem(path, file.st)) return unexpected(*problem);
  }
  return read_capped(file.fd, path, file.st.st_size);
}

Expected<std::string, ConfigError> read_config_file(const std::string& path, bool require_trusted) {
  auto split = split_for_walk(path);
  if (!split) return unexpected(split.error());
  if (split->name.empty()) return unexpected(file_error(path, "is not a regular file"));
  auto dir = open_directory(split->directories, require_trusted);
  if (!dir) return unexpected(dir.error().error);
  return read_file_in(dir->fd.get(), split->name, path, require_trusted);
}

bool is_account_file_name(std::string_view name) {
  static constexpr std::string_view suffix = ".toml";
  // Hidden files are editors' and tools' leftovers (".alice.toml.swp"), never accounts.
  return name.size() > suffix.size() && name.front() != '.' && name.ends_with(suffix);
}

// The *.toml names in a directory, sorted so that the load order never depends on readdir.
Expected<std::vector<std::string>, ConfigError> account_file_names(const Opened& dir,
                                                                   const std::string& path) {
  // fdopendir needs a descriptor open for reading; "." from the O_PATH one is the same directory.
  Fd listing(::openat(dir.fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!listing) return unexpected(file_error(path, "cannot open: " + errno_text(errno)));
  const std::unique_ptr<DIR, int (*)(DIR*)> stream(::fdopendir(listing.get()), ::closedir);
  if (!stream) return unexpected(file_error(path, "cannot list: " + errno_text(errno)));
  listing.release();  // closedir owns it now

  std::vector<std::string> names;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(stream.get());  // NOLINT(concurrency-mt-unsafe): a private stream
    if (entry == nullptr) break;
    const std::string_view name = entry->d_name;
    if (is_account_file_name(name)) names.emplace_back(name);
  }
  if (errno != 0) return unexpected(file_error(path, "cannot list: " + errno_text(errno)));
  std::sort(names.begin(), names.end());
  return names;
}

Expected<std::vector<Account>, ConfigError> load_accounts(const std::string& accounts_dir,
                                                          bool require_trusted) {
  auto split = split_for_walk(accounts_dir);
  if (!split) return unexpected(split.error());
  if (!split->name.empty()) split->directories.push_back(split->name);
  auto dir = open_directory(split->directories, require_trusted);
  if (!dir) {
    if (dir.error().missing) return std::vector<Account>{};
    return unexpected(dir.error().error);
  }
  auto names = account_file_names(*dir, accounts_dir);
  if (!names) return unexpected(names.error());

  std::vector<Account> accounts;
  for (const auto& file_name : *names) {
    const std::string path = child_path(accounts_dir, file_name);
    auto text = read_file_in(dir->fd.get(), file_name, path, require_trusted);
    if (!text) return unexpected(text.error());
    const std::string_view account_name = std::string_view(file_name).substr(0, file_name.size() - 5);
    auto account = parse_account(*text, path, account_name);
    if (!account) return unexpected(account.error());
    accounts.push_back(std::move(*account));
  }
  return accounts;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// The interface of config.hpp.

std::string_view to_string(Mode m) {
  return spelling_of(mode_spellings, m);
}
std::string_view to_string(SymlinkPolicy p) {
  return spelling_of(symlink_spellings, p);
}
std::string_view to_string(HandlerKind k) {
  return spelling_of(kind_spellings, k);
}

Limits LimitOverrides::applied_to(Limits base) const {
  for (const auto& key : limit_keys) {
    if (const auto& value = this->*key.override_value) base.*key.base = *value;
  }
  return base;
}

bool Account::may_use(std::string_view handler) const {
  return !handlers || std::find(handlers->begin(), handlers->end(), handler) != handlers->end();
}

const Handler* Config::handler(std::string_view name) const {
  const auto found = handlers.find(name);
  return found == handlers.end() ? nullptr : &found->second;
}

const Account* Config::account_named(std::string_view name) const {
  const auto found =
      std::find_if(accounts.begin(), accounts.end(), [&](const Account& a) { return a.name == name; });
  return found == accounts.end() ? nullptr : &*found;
}

// Several accounts may share a user; the first by file name answers.
const Account* Config::account_for_user(std::string_view user) const {
  const auto found =
      std::find_if(accounts.begin(), accounts.end(), [&](const Account& a) { return a.user == user; });
  return found == accounts.end() ? nullptr : &*found;
}

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  if (!out.empty()) out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

Expected<Config, ConfigError> parse_config(std::string_view text, std::string_view file) {
  return without_exceptions<Config>(file, [&]() -> Expected<Config, ConfigError> {
    auto document = parse_document(text, file);
    if (!document) return unexpected(document.error());
    return parse_config_document(*document, file);
  });
}

Expected<Account, ConfigError> parse_account(std::string_view text, std::string_view file,
                                             std::string_view name) {
  return without_exceptions<Account>(file, [&]() -> Expected<Account, ConfigError> {
    if (auto expectation = account_name_problem(name))
      return unexpected(ConfigError{std::string(file), 0, "",
                                    "the file name gives the account name " + quoted(name) + "; expected " +
                                        *expectation + ", then \".toml\""});
    auto document = parse_document(text, file);
    if (!document) return unexpected(document.error());
    return parse_account_document(*document, file, name);
  });
}

std::optional<ConfigError> validate_accounts(const Config& config) {
  try {
    for (const Account& account : config.accounts) {
      if (auto problem = account_handler_problem(config, account)) return problem;
    }
    return overlapping_docroots(config.accounts);
  } catch (const std::exception& error) {
    return ConfigError{config.file, 0, "", std::string("cannot validate accounts: ") + error.what()};
  }
}

Expected<Config, ConfigError> load_config(const std::string& path, const LoadOptions& options) {
  return without_exceptions<Config>(path, [&]() -> Expected<Config, ConfigError> {
    auto text = read_config_file(path, options.require_trusted);
    if (!text) return unexpected(text.error());
    auto config = parse_config(*text, path);
    if (!config) return config;
    auto accounts = load_accounts(config->accounts_dir, options.require_trusted);
    if (!accounts) return unexpected(accounts.error());
    config->accounts = std::move(*accounts);
    if (auto problem = validate_accounts(*config)) return unexpected(*problem);
    return config;
  });
}

std::optional<ConfigError> check_trusted_path(const std::string& path) {
  try {
    auto split = split_for_walk(path);
    if (!split) return split.error();
    auto dir = open_directory(split->directories, true);
    if (!dir) return dir.error().error;
    if (split->name.empty()) return std::nullopt;  // "/" itself, checked by the walk

    // O_PATH without O_DIRECTORY: the object may be a file or a directory; with O_NOFOLLOW
    // a symlink is opened as itself, and refused below.
    Opened object;
    object.fd = Fd(::openat(dir->fd.get(), split->name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!object.fd) return open_failure(dir->fd.get(), split->name, path, errno).error;
    if (::fstat(object.fd.get(), &object.st) != 0)
      return file_error(path, "cannot fstat: " + errno_text(errno));
    if (S_ISLNK(object.st.st_mode))
      return file_error(path, "is a symbolic link; configuration paths are read without following links");
    return trust_problem(path, object.st);
  } catch (const std::exception& error) {
    return file_error(path, std::string("cannot check: ") + error.what());
  }
}

}  // namespace suwrap::policy
