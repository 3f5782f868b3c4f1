// SPDX-License-Identifier: Apache-2.0
// suwrap-cgid: the FastCGI daemon any web server talks to (suwrap-cgid(8)). It runs as
// the web server's user, holds no privilege, and starts one suwrap per request — or, for a
// php-fcgi handler, forwards the request to the account's warm pool (`suwrap --pool`).
#include <fcntl.h>
#include <systemd/sd-daemon.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <ctime>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "log_line.hpp"
#include "metrics_listener.hpp"
#include "server.hpp"
#include "suwrap/fastcgi/server/completion.hpp"
#include "suwrap/build_config.hpp"
#include "suwrap/util/process.hpp"

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

// stderr when it is the journal's stream (systemd sets JOURNAL_STREAM to its device and
// inode): each line gets the journal's "<priority>" prefix and no time stamp of its own.
class JournalStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  static bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    struct stat st{};
    if (stream == nullptr || ::fstat(STDERR_FILENO, &st) != 0) return false;
    return std::string(stream) == std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string line = "<" + std::to_string(priority(msg.level)) + ">";
    line.append(formatted.data(), formatted.size());
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  static int priority(spdlog::level::level_enum level) {  // syslog's numbers
    switch (level) {
      case spdlog::level::critical: return 2;
      case spdlog::level::err: return 3;
      case spdlog::level::warn: return 4;
      case spdlog::level::info: return 6;
      default: return 7;
    }
  }
};

// What the service manager is told (sd_notify; nothing without NOTIFY_SOCKET): READY=1
// once the socket listens, RELOADING=1 and READY=1 around a SIGHUP, and a STATUS= line
// with the children, the queue and the pools whenever they change.
class Notifier {
 public:
  Notifier(asio::io_context& io, const suwrap::cgid::Server& server, const suwrap::cgid::Options& options)
      : timer_(io), server_(server), options_(options) {}

  void ready() {
    status_ = load_text();
    notify("READY=1\nSTATUS=" + status_);
    schedule();
  }
  void reloading() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1000000ULL +
                      static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
    notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
  }
  // After a reload: READY=1 again; a failed one stays in the status until the next reload.
  void reloaded(const std::optional<std::string>& failure) {
    reload_failure_ = failure ? "reload failed, the previous configuration stays in use: " + *failure : "";
    status_ = load_text();
    notify("READY=1\nSTATUS=" + status_);
  }
  void stopping() {
    timer_.cancel();
    notify("STOPPING=1\nSTATUS=stopping: finishing running requests");
  }

 private:
  std::string load_text() const {
    const auto& m = server_.metrics();
    std::string text = "children " + std::to_string(m.children_active) + "/" +
                       std::to_string(options_.max_children) + ", queued " + std::to_string(m.requests_queued) +
                       ", pools " + std::to_string(m.pools_running) + "/" + std::to_string(options_.max_pools);
    if (!reload_failure_.empty()) text += "; " + reload_failure_;
    return text;
  }
  void schedule() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([this](const std::error_code& ec) {
      if (ec) return;
      if (std::string text = load_text(); text != status_) {
        status_ = std::move(text);
        notify("STATUS=" + status_);
      }
      schedule();
    });
  }
  static void notify(const std::string& state) { (void)::sd_notify(0, state.c_str()); }

  asio::steady_timer timer_;
  const suwrap::cgid::Server& server_;
  const suwrap::cgid::Options& options_;
  std::string status_;
  std::string reload_failure_;
};

int run(int argc, char** argv);
int serve(const suwrap::cgid::Options& options, const std::optional<suwrap::cgid::MetricsAddress>& metrics_address,
          const std::shared_ptr<spdlog::logger>& log, const std::shared_ptr<ReopenableFileSink>& file_sink);

}  // namespace

// Exceptions end here, once: one that escapes the daemon is written to stderr and it exits
// 1 (one that escapes a coroutine ends in its fastcgi::Completion; one that escapes the
// loop once the log is open is logged by run()).
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (...) {
    std::fprintf(stderr, "suwrap-cgid: stopped by an unexpected error: %s\n",
                 suwrap::fastcgi::describe(std::current_exception()).c_str());
    return 1;
  }
}

namespace {

int run(int argc, char** argv) {
  // Descriptors 0-2 open, so that no pipe or socket of ours becomes one of them; without
  // /dev/null the daemon goes on as it can.
  (void)suwrap::util::ensure_standard_fds();
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
  std::string log_format = "text";
  int max_pools = 64;
  int metrics_accounts = 100;

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
  app.add_option("--metrics-listen", options.metrics_listen,
                 "Serve the metrics over plain HTTP (GET /metrics) on an IP address and port "
                 "(127.0.0.1:9258, [::1]:9258) or a unix socket path; default: off");
  app.add_option("--metrics-accounts", metrics_accounts,
                 "Accounts with request and CPU series of their own (the busiest); the rest are summed "
                 "under account=\"(other)\"; 0: no account series")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--allow-uid", options.allow_uids, "A further peer uid to serve (besides ours and root)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", log_format,
                 "text (one message a line) or json (JSON Lines, as suwrap's own log: ts, event, level, pid, "
                 "request_id, message)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--request-id-param", options.request_id_param,
                 "Take each request's id for the logs from this param when the web server sends one that is "
                 "an id (1-128 of A-Z a-z 0-9 . _ : @ + / = -); otherwise, and by default, suwrap-cgid makes "
                 "one. Name only a param the web server sets itself (nginx: fastcgi_param HTTP_X_REQUEST_ID "
                 "$request_id), never a client's header as it came. Passed to suwrap and the gate as "
                 "SUWRAP_REQUEST_ID");
  app.add_option("--log-file", log_file,
                 "Log to this file (reopened on SIGHUP) instead of stderr; under systemd stderr is the journal");
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
  app.add_option("--sites-dir", options.sites_dir,
                 "A listening socket DIR/ACCOUNT.sock for every account file, that a web server may name in the "
                 "account's own block: a request there for a direct pool's handler (`direct = true`) starts the "
                 "account's pool, which then takes the socket's connections itself (docs/warm-mode.md)");
  app.set_version_flag("-V,--version", std::string("suwrap-cgid ") + suwrap::build::version);
  // Bad arguments exit 2, as every other start failure does (suwrap-cgid(8), EXIT STATUS);
  // CLI11's own codes (105-109) are not part of what the daemon answers.
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return 2;
  }

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
  options.metrics_accounts = static_cast<std::size_t>(metrics_accounts);
  options.version = suwrap::build::version;
  std::optional<suwrap::cgid::MetricsAddress> metrics_address;
  if (!options.metrics_listen.empty()) {
    std::string why;
    metrics_address = suwrap::cgid::parse_metrics_address(options.metrics_listen, why);
    if (!metrics_address) {
      std::fprintf(stderr, "suwrap-cgid: --metrics-listen %s: expected %s\n", options.metrics_listen.c_str(),
                   why.c_str());
      return 2;
    }
  }

  std::shared_ptr<ReopenableFileSink> file_sink;
  std::shared_ptr<spdlog::logger> log;
  if (!log_file.empty()) {
    file_sink = std::make_shared<ReopenableFileSink>(log_file);
    if (!file_sink->ok()) {
      std::fprintf(stderr, "suwrap-cgid: cannot open the log file %s\n", log_file.c_str());
      return 2;
    }
    log = std::make_shared<spdlog::logger>("suwrap-cgid", file_sink);
  } else if (JournalStderrSink::stderr_is_journal()) {
    log = std::make_shared<spdlog::logger>("suwrap-cgid", std::make_shared<JournalStderrSink>());
  } else {
    log = std::make_shared<spdlog::logger>("suwrap-cgid", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  }
  log->set_level(spdlog::level::from_str(log_level));
  // Every message one line: what a client sent is logged with its control characters
  // escaped. The journal stamps time, pid and priority itself.
  const bool stamped = file_sink || !JournalStderrSink::stderr_is_journal();
  if (log_format == "json") {
    log->set_formatter(std::make_unique<suwrap::cgid::JsonLineFormatter>());
  } else {
    log->set_formatter(std::make_unique<suwrap::cgid::OneLineFormatter>(
        stamped ? "%Y-%m-%dT%H:%M:%S.%e%z suwrap-cgid[%P] %l: %v" : "%v"));
  }

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

  try {
    return serve(options, metrics_address, log, file_sink);
  } catch (...) {
    log->critical("stopped by an unexpected error: {}", suwrap::fastcgi::describe(std::current_exception()));
    return 1;
  }
}

// The daemon from its socket to its stop.
int serve(const suwrap::cgid::Options& options, const std::optional<suwrap::cgid::MetricsAddress>& metrics_address,
          const std::shared_ptr<spdlog::logger>& log, const std::shared_ptr<ReopenableFileSink>& file_sink) {
  asio::io_context io(1);
  suwrap::cgid::Server server(io, options, log);
  std::string error;
  if (!server.open_socket(error)) {
    log->critical("{}", error);
    return 2;
  }
  server.prepare_warm_mode();
  std::unique_ptr<suwrap::cgid::MetricsListener> metrics_listener;
  if (metrics_address) {
    metrics_listener = std::make_unique<suwrap::cgid::MetricsListener>(
        io, *metrics_address, [&server] { return server.render_metrics(); }, log, server.metrics_counters());
    if (!metrics_listener->open(error)) {
      log->critical("{}", error);
      return 2;
    }
  }

  Notifier notifier(io, server, options);
  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  std::function<void(const std::error_code&, int)> on_signal = [&](const std::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      notifier.reloading();
      if (file_sink) file_sink->reopen();
      log->info("SIGHUP: log reopened");
      notifier.reloaded(server.reload_routing());
      signals.async_wait(on_signal);
      return;
    }
    notifier.stopping();
    if (metrics_listener) metrics_listener->close();
    server.shutdown();
  };
  signals.async_wait(on_signal);

  server.start();
  if (metrics_listener) metrics_listener->start();
  notifier.ready();
  io.run();
  log->info("stopped");
  return 0;
}

}  // namespace
