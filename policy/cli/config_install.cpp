// SPDX-License-Identifier: Apache-2.0
// suwrap-policy config install FILE: puts a staged main configuration in place, only if it
// would be valid there (suwrap-policy(8), docs/hosting-panels.md).
//
// A staged copy usually lives where root's trust rules do not hold (/tmp, a panel's spool),
// so `config check --config FILE` refuses it for that alone. Here the text is judged as if it
// were the destination: parsed under the destination's name (so accounts_dir defaults beside
// it), the destination's directories checked for trust, and everything `config check` looks at
// judged against it, the account files included. Only then is it written beside the
// destination (root's, 0644, fsync) and renamed over it, and the directory fsync'ed: suwrap
// sees the old file or the new one, never a mix, and never one that does not load.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <system_error>

#include "commands.hpp"
#include "output.hpp"
#include "suwrap/build_config.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/util/fd.hpp"
#include "suwrap/config/trusted.hpp"
#include "suwrap/policy/log_record.hpp"
#include "suwrap/util/text.hpp"

namespace suwrap::cli {

using util::child_path;
using util::errno_text;
using util::Fd;

namespace {

using namespace suwrap::policy;

constexpr std::size_t max_config_bytes = std::size_t{1} << 20;  // as load_config reads it

struct InstallOptions {
  std::string file;
  std::string destination = suwrap::build::config_path;
  bool json = false;
  bool dry_run = false;
};

// The text now at the destination, if there is a file there that can be read.
std::optional<std::string> current_text(const std::string& destination) {
  std::string text;
  if (read_text_file(destination, max_config_bytes, text)) return std::nullopt;
  return text;
}

std::optional<std::string> install(const std::string& directory, const std::string& name, const std::string& text) {
  const Fd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return "cannot open " + directory + ": " + errno_text(errno);
  // Two installs at once: each rename is whole, and the lock makes the last one win cleanly.
  while (::flock(dir.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return "cannot lock " + directory + ": " + errno_text(errno);
  }
  std::random_device random;
  const std::string temp = "." + name + ".install." + std::to_string(::getpid()) + "." + std::to_string(random());
  Fd file(::openat(dir.get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!file) return "cannot create a file in " + directory + ": " + errno_text(errno);
  const auto abandon = [&](const std::string& why) -> std::optional<std::string> {
    ::unlinkat(dir.get(), temp.c_str(), 0);
    return why;
  };
  if (::fchown(file.get(), 0, 0) != 0 || ::fchmod(file.get(), 0644) != 0)
    return abandon("cannot make the new file root's and 0644: " + errno_text(errno));
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(file.get(), text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return abandon("cannot write the new file in " + directory + ": " + errno_text(errno));
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(file.get()) != 0) return abandon("cannot fsync the new file: " + errno_text(errno));
  if (::close(file.release()) != 0) return abandon("cannot close the new file: " + errno_text(errno));
  if (::renameat(dir.get(), temp.c_str(), dir.get(), name.c_str()) != 0)
    return abandon("cannot rename the new file into " + child_path(directory, name) + ": " + errno_text(errno));
  if (::fsync(dir.get()) != 0) return "cannot fsync " + directory + ": " + errno_text(errno);
  return std::nullopt;
}

int run_install(const InstallOptions& opt) {
  if (!opt.dry_run && ::geteuid() != 0)
    return fail(ErrorCode::invalid, "config install replaces root's configuration; run it as root");
  std::string text;
  if (auto error = read_text_file(opt.file, max_config_bytes, text)) return fail(ErrorCode::io, *error);
  auto parts = split_directory_and_name(opt.destination);
  if (!parts) return fail(ErrorCode::invalid, parts.error().to_string());
  const auto& [directory, name] = *parts;

  // Judged as the destination: its name, its directories' trust, and what it names.
  auto config = parse_config(text, opt.destination);
  if (!config) {
    ConfigError error = config.error();
    error.message += " (in " + opt.file + ", to be installed as " + opt.destination + ")";
    return fail(ErrorCode::invalid, std::vector<Problem>{{error.to_string(), {}, opt.file}});
  }
  if (auto problem = check_trusted_path(directory))
    return fail(ErrorCode::invalid, problem->to_string() + "; suwrap would refuse every request with " +
                                        opt.destination + " there (check config)");
  const ConfigReport report = check_configuration(*config, false);
  if (!report.errors.empty()) return report_failure(report, opt.file + " (as " + opt.destination + ")");
  for (const auto& w : report.warnings) std::fprintf(stderr, "warning: %s: %s\n", w.file.c_str(), w.message.c_str());

  const auto current = current_text(opt.destination);
  const bool changed = !current || *current != text;
  if (changed && !opt.dry_run) {
    if (auto error = install(directory, name, text))
      return fail(ErrorCode::io, *error + "; " + opt.destination + " is unchanged");
  }
  if (opt.json) {
    std::printf("%s\"installed\":%s,\"from\":%s,\"dry_run\":%s,\"changed\":%s,\"handlers\":%zu,\"accounts\":%zu,"
                "\"broken\":%zu,\"warnings\":%s}\n",
                json_object_start().c_str(), json_string(opt.destination).c_str(), json_string(opt.file).c_str(),
                opt.dry_run ? "true" : "false", changed ? "true" : "false", report.handlers, report.accounts,
                report.broken, findings_json(report.warnings).c_str());
  } else if (opt.dry_run) {
    std::printf("OK %s as %s: %s; nothing written (--dry-run)\n", opt.file.c_str(), opt.destination.c_str(),
                counts_text(report).c_str());
  } else if (changed) {
    std::printf("installed %s as %s: %s\n", opt.file.c_str(), opt.destination.c_str(), counts_text(report).c_str());
  } else {
    std::printf("%s already holds %s; nothing changed\n", opt.destination.c_str(), opt.file.c_str());
  }
  return exit_ok;
}

}  // namespace

void add_config_install_command(CLI::App& config, Commands& commands) {
  auto opt = std::make_shared<InstallOptions>();
  auto* install = config.add_subcommand(
      "install",
      "Validate the staged main configuration FILE as if it were in place (the destination's name,\n"
      "its directories' ownership, every account against it), then rename it into place atomically,\n"
      "root's and mode 0644. Exit 0 done (also when it was in place already), 2 invalid, 6 io.");
  install->add_option("file", opt->file, "The staged configuration (any owner, anywhere)")->required();
  install->add_option("--config", opt->destination,
                      "Where it goes (default: the compiled-in configuration path)");
  install->add_flag("--dry-run", opt->dry_run, "Validate only; write nothing");
  install->add_flag("--json", opt->json,
                    "Print {\"schema_version\", \"installed\", \"from\", \"dry_run\", \"changed\", \"handlers\", "
                    "\"accounts\", \"broken\", \"warnings\"}; failures as JSON too");
  commands.push_back({install, [opt] { return run_install(*opt); }});
}

}  // namespace suwrap::cli
