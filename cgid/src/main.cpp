// SPDX-License-Identifier: Apache-2.0
// suwrap-cgid: the FastCGI daemon any web server talks to (suwrap-cgid(8)). It runs as
// the web server's user, holds no privilege, and starts one suwrap per request — or, for a
// php-fcgi handler, forwards the request to the account's warm pool (`suwrap --pool`).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "server.hpp"
#include "log_line.hpp"
#include "suwrap/build_config.hpp"

namespace {

// A log file that SIGHUP reopens (after logrotate moved it away).
class ReopenableFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ReopenableFileSink(std::string path) : path_(std::move(path)) { open(); }
  ~ReopenableFileSink() override {
    if (file_ != nullptr) std::fclose(file_);
  }
  ReopenableFileSink(const ReopenableFileSink&) = delete;
  ReopenableFileSink& operator=(const ReopenableFileSink&) = delete;

  [[nodiscard]] bool ok() const { return file_ != nullptr; }
  void reopen() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (file_ != nullptr) std::fclose(file_);
    open();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (file_ == nullptr) return;
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::fwrite(formatted.data(), 1, formatted.size(), file_);
    std::fflush(file_);
  }
  void flush_() override {
    if (file_ != nullptr) std::fflush(file_);
  }

 private:
  void open() {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    file_ = fd >= 0 ? ::fdopen(fd, "a") : nullptr;
    if (file_ == nullptr && fd >= 0) ::close(fd);
  }

  std::string path_;
  std::FILE* file_ = nullptr;
};

// Descriptors 0-2 open, so that no pipe or socket of ours becomes one of them.
void ensure_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1) ::open("/dev/null", O_RDWR);
  }
}

}  // namespace

int main(int argc, char** argv) {
  ensure_standard_fds();
  suwrap::cgid::Options options;
  options.wrapper = suwrap::build::wrapper_path;
  options.config_path = suwrap::build::config_path;
  std::string socket_mode = "0660";
  int max_children = 64;
  int queue_timeout = 5;
  int timeout = 60;
  int shutdown_grace = 30;
  std::string log_level = "info";
  std::string log_file;
  int max_pools = 64;

  CLI::App app{
      "suwrap-cgid: a FastCGI responder that runs each request through suwrap, the set-uid wrapper\n"
      "that runs every account's PHP and CGI programs as the account's own user. Run it as the web\n"
      "server's user (never root); point the web server's FastCGI at its socket."};
  app.add_option("--listen", options.listen, "Unix socket to listen on (not needed with systemd socket activation)");
  app.add_option("--wrapper", options.wrapper, "The set-uid suwrap to run per request")
      ->capture_default_str();
  app.add_option("--socket-mode", socket_mode, "Mode of the socket (octal)")->capture_default_str();
  app.add_option("--socket-group", options.socket_group, "Group of the socket (one of ours)");
  app.add_option("--max-children", max_children, "suwrap processes at once; beyond it requests queue")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--queue-timeout", queue_timeout, "Seconds a request waits for a free child before 503")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  app.add_option("--timeout", timeout, "Seconds a request may run; then suwrap is ended and 504 sent if no "
                                       "header went out")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--shutdown-grace", shutdown_grace, "Seconds SIGTERM waits for running requests")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  app.add_option("--status-path", options.status_path, "SCRIPT_NAME that answers with Prometheus metrics");
  app.add_option("--allow-uid", options.allow_uids, "A further peer uid to serve (besides ours and root)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  app.add_option("--log-file", log_file, "Log to this file (reopened on SIGHUP) instead of stderr");
  app.add_option("--config", options.config_path,
                 "suwrap's configuration, read (again on SIGHUP) only to route requests whose handler is of "
                 "kind php-fcgi to the account's warm pool; it decides nothing")
      ->capture_default_str();
  app.add_option("--pool-dir", options.pool_dir,
                 "Directory of the warm pools' sockets, created mode 0700 (its parent must exist); when it "
                 "cannot be used, every request runs its own suwrap")
      ->capture_default_str();
  app.add_option("--max-pools", max_pools,
                 "Warm pools at once; at the limit the least recently used idle one is retired, and with "
                 "none idle a new account's request gets 503")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    options.socket_mode = static_cast<mode_t>(std::stoul(socket_mode, nullptr, 8));
  } catch (const std::exception&) {
    std::fprintf(stderr, "suwrap-cgid: --socket-mode %s is not an octal mode\n", socket_mode.c_str());
    return 2;
  }
  if (options.socket_mode > 0777) {
    std::fprintf(stderr, "suwrap-cgid: --socket-mode %s is not an octal mode\n", socket_mode.c_str());
    return 2;
  }
  options.max_children = static_cast<std::size_t>(max_children);
  options.queue_timeout = std::chrono::seconds(queue_timeout);
  options.timeout = std::chrono::seconds(timeout);
  options.shutdown_grace = std::chrono::seconds(shutdown_grace);
  options.max_pools = static_cast<std::size_t>(max_pools);

  std::shared_ptr<ReopenableFileSink> file_sink;
  std::shared_ptr<spdlog::logger> log;
  if (!log_file.empty()) {
    file_sink = std::make_shared<ReopenableFileSink>(log_file);
    if (!file_sink->ok()) {
      std::fprintf(stderr, "suwrap-cgid: cannot open the log file %s\n", log_file.c_str());
      return 2;
    }
    log = std::make_shared<spdlog::logger>("suwrap-cgid", file_sink);
  } else {
    log = std::make_shared<spdlog::logger>("suwrap-cgid", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  }
  log->set_level(spdlog::level::from_str(log_level));
  // Every message one line: what a client sent is logged with its control characters escaped.
  log->set_formatter(std::make_unique<suwrap::cgid::OneLineFormatter>("%Y-%m-%dT%H:%M:%S.%e%z suwrap-cgid[%P] %l: %v"));

  if (::geteuid() == 0) {
    log->critical("refusing to run as root: run suwrap-cgid as the web server's user");
    return 2;
  }
  if (::access(options.wrapper.c_str(), X_OK) != 0) {
    log->critical("the wrapper {} cannot be executed by this user", options.wrapper);
    return 2;
  }

  // A peer that goes away must not kill the daemon with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  // Every connection, kept pool connection and child pipe is a descriptor: the usual soft
  // limit of 1024 is the first one a busy host meets, so it is raised to the hard limit
  // (suwrap sets each account's own before anything of the account runs).
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &files);
  }

  asio::io_context io(1);
  suwrap::cgid::Server server(io, options, log);
  std::string error;
  if (!server.open_socket(error)) {
    log->critical("{}", error);
    return 2;
  }
  server.prepare_warm_mode();

  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  std::function<void(const std::error_code&, int)> on_signal = [&](const std::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      if (file_sink) file_sink->reopen();
      log->info("SIGHUP: log reopened");
      server.reload_routing();
      signals.async_wait(on_signal);
      return;
    }
    server.shutdown();
  };
  signals.async_wait(on_signal);

  server.start();
  io.run();
  log->info("stopped");
  return 0;
}
