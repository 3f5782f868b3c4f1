// SPDX-License-Identifier: Apache-2.0
// suwrap-policy import-suphp FILE: the suwrap.toml equivalent to a suPHP suphp.conf on
// standard output, and on standard error, one line per setting, what has no equivalent and
// what suwrap does instead (suwrap-policy(8); the translation itself is policy/src/suphp.cpp).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "commands.hpp"
#include "suwrap/util/fd.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/policy/facts.hpp"
#include "suwrap/policy/suphp.hpp"

namespace suwrap::cli {

using util::Fd;

namespace {

using namespace suwrap::policy;

constexpr std::size_t max_suphp_conf_bytes = std::size_t{1} << 20;

// "8.2" before "8.10" would be wrong; compares the dotted numbers as numbers.
bool older_version(const std::string& a, const std::string& b) {
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() || j < b.size()) {
    unsigned long x = 0;
    unsigned long y = 0;
    while (i < a.size() && a[i] != '.') x = x * 10 + static_cast<unsigned long>(a[i++] - '0');
    while (j < b.size() && b[j] != '.') y = y * 10 + static_cast<unsigned long>(b[j++] - '0');
    if (x != y) return x < y;
    ++i;
    ++j;
  }
  return false;
}

// The newest Debian php-cgi ini directory (/etc/php/<version>/cgi holding php.ini), which a
// PHP handler without a [phprc_paths] entry gets as ini_dir.
std::string installed_php_ini_dir() {
  std::string fallback = SuphpImportOptions{}.default_ini_dir;
  const std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/etc/php"), ::closedir);
  if (!dir) return fallback;
  std::vector<std::string> versions;
  while (const dirent* entry = ::readdir(dir.get())) {  // NOLINT(concurrency-mt-unsafe): a private stream
    const std::string name = entry->d_name;
    if (name.empty() ||
        !std::all_of(name.begin(), name.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; }))
      continue;
    struct stat st {};
    if (::stat(("/etc/php/" + name + "/cgi/php.ini").c_str(), &st) == 0 && S_ISREG(st.st_mode))
      versions.push_back(name);
  }
  if (versions.empty()) return fallback;
  std::sort(versions.begin(), versions.end(), older_version);
  return "/etc/php/" + versions.back() + "/cgi";
}

// suPHP ran a handler's program with the script as its argument; suwrap runs it as php-cgi is
// run, the request body on its stdin, which the PHP command-line binary would execute as
// code. Such a handler is carried over as it was written, and refused by `config check` and
// by suwrap (check `handler`): a note says why, and what to name instead.
std::vector<std::string> command_line_php_handlers(const std::string& toml) {
  std::vector<std::string> notes;
  const auto config = parse_config(toml, "imported");
  if (!config) return notes;
  SystemFacts facts;
  for (const auto& [name, handler] : config->handlers) {
    if (!handler.is_php()) continue;
    const auto sapi = facts.php_sapi(handler.path);
    const std::string base = handler.path.substr(handler.path.rfind('/') + 1);
    const bool named_like_cli = base.find("cgi") == std::string::npos && base.starts_with("php");
    // php-cgi of another PHP build is config check's to report; it is php-cgi all the same.
    if (sapi ? sapi->starts_with("cgi-fcgi") : !named_like_cli) continue;
    notes.push_back("handlers." + name + ".path: " + handler.path + " is " +
                    (sapi ? (*sapi == "cli" ? "the PHP command-line binary" : "not php-cgi")
                          : "not on this machine, and named like the PHP command-line binary") +
                    "; suwrap runs a PHP handler with the request body on its stdin, which that binary would "
                    "execute as code, so `config check` and suwrap refuse it (check handler): name php-cgi "
                    "instead (on Debian /usr/bin/php-cgi, or /usr/bin/php-cgi<version>)");
  }
  return notes;
}

int run_import_suphp(const std::string& file) {
  std::string text;
  if (auto error = read_text_file(file, max_suphp_conf_bytes, text)) {
    std::fprintf(stderr, "error: %s\n", printable(*error).c_str());
    return exit_error;
  }

  const auto conf = parse_suphp_conf(text, file);
  if (!conf) {
    std::fprintf(stderr, "error: %s\n", printable(conf.error().to_string()).c_str());
    return exit_error;
  }
  SuphpImportOptions options;
  options.default_ini_dir = installed_php_ini_dir();
  const auto imported = import_suphp(*conf, file, options);
  if (!imported) {
    std::fprintf(stderr, "error: %s\n", printable(imported.error().to_string()).c_str());
    return exit_error;
  }
  for (const auto& note : imported->notes) std::fprintf(stderr, "note: %s\n", printable(note).c_str());
  for (const auto& note : command_line_php_handlers(imported->toml))
    std::fprintf(stderr, "note: %s\n", printable(note).c_str());
  std::fputs(imported->toml.c_str(), stdout);
  return exit_ok;
}

}  // namespace

std::optional<std::string> read_text_file(const std::string& path, std::size_t max_bytes, std::string& text) {
  // O_NONBLOCK: a FIFO given by mistake fails the read instead of waiting forever.
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) return "cannot open " + path + ": " + std::generic_category().message(errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return path + " is not a regular file";
  text.clear();
  std::array<char, 65536> buffer{};
  while (true) {
    const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return "cannot read " + path + ": " + std::generic_category().message(errno);
    if (got == 0) return std::nullopt;
    text.append(buffer.data(), static_cast<std::size_t>(got));
    if (text.size() > max_bytes) return path + " is larger than " + std::to_string(max_bytes) + " bytes";
  }
}

void add_import_suphp_command(CLI::App& app, Commands& commands) {
  auto file = std::make_shared<std::string>();
  auto* import = app.add_subcommand(
      "import-suphp",
      "Print a suwrap.toml equivalent to a suPHP suphp.conf on standard output; each setting\n"
      "with no equivalent, and what suwrap does instead, on standard error. Exit 0 / 2.");
  import->add_option("file", *file, "The suphp.conf to translate")->required();
  commands.push_back({import, [file] { return run_import_suphp(*file); }});
}

}  // namespace suwrap::cli
