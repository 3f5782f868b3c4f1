#include "log_sink.hpp"

#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace suwrap {

bool LogSink::open(const std::string& destination, std::string& error) {
  if (destination == "syslog") {
    open_syslog();
    return true;
  }
  // O_NOFOLLOW: a link planted in place of the log cannot redirect root's appends.
  const int fd = ::open(destination.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                        0640);
  if (fd < 0) {
    error = "cannot open the log " + destination + ": " + std::strerror(errno);
    return false;
  }
  fd_.reset(fd);
  return true;
}

void LogSink::open_syslog() {
  ::openlog("suwrap", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
  syslog_ = true;
}

bool LogSink::write(std::string_view line) const {
  if (syslog_) {
    // syslog adds its own line structure; the record goes without its newline.
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    ::syslog(LOG_NOTICE, "%.*s", static_cast<int>(line.size()), line.data());
    return true;
  }
  if (!fd_) return false;
  ssize_t n = -1;
  do {
    n = ::write(fd_.get(), line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(line.size());
}

}  // namespace suwrap
