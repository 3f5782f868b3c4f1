// SPDX-License-Identifier: Apache-2.0
#include "log_sink.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "suwrap/util/trusted_open.hpp"

namespace suwrap {

bool LogSink::open(const std::string& destination, std::string& error) {
  if (destination == "syslog") return open_syslog(error);
  destination_ = destination;
  // O_NOFOLLOW: a link planted in place of the log cannot redirect root's appends.
  // O_NONBLOCK: a FIFO planted there cannot hang every request; it is refused below.
  const int fd = ::open(destination.c_str(),
                        O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0640);
  if (fd < 0) {
    error = "cannot open the log " + destination + ": " + std::strerror(errno);
    return false;
  }
  fd_.reset(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || util::untrusted(st) || st.st_nlink != 1) {
    fd_.reset();
    error = "the log " + destination + " must be a regular file owned by root, writable only by root, with one link";
    return false;
  }
  return true;
}

void LogSink::reopen_if_rotated() {
  if (syslog_ || destination_.empty() || !fd_) return;
  struct stat open_file {};
  struct stat at_path {};
  if (::fstat(fd_.get(), &open_file) != 0) return;
  if (::lstat(destination_.c_str(), &at_path) == 0 && at_path.st_dev == open_file.st_dev &&
      at_path.st_ino == open_file.st_ino)
    return;
  LogSink fresh;
  std::string ignored;
  if (fresh.open(destination_, ignored)) fd_ = std::move(fresh.fd_);
}

bool LogSink::open_syslog(std::string& error) {
  syslog_ = true;
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("cannot create a socket for syslog: ") + std::strerror(errno);
    return false;
  }
  fd_.reset(fd);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, "/dev/log", sizeof(addr.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    error = std::string("cannot reach syslog at /dev/log: ") + std::strerror(errno);
    fd_.reset();
    return false;
  }
  return true;
}

bool LogSink::write(std::string_view line) const {
  if (!fd_) return false;
  if (syslog_) {
    // One datagram per record, in the classic format: <priority>tag[pid]: message.
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    std::string datagram;
    datagram.reserve(line.size() + 40);
    datagram.append("<").append(std::to_string(LOG_AUTHPRIV | LOG_NOTICE)).append(">suwrap[");
    datagram.append(std::to_string(::getpid())).append("]: ").append(line);
    ssize_t n = -1;
    do {
      n = ::send(fd_.get(), datagram.data(), datagram.size(), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == static_cast<ssize_t>(datagram.size());
  }
  // A file-size limit the caller set (and suwrap could not raise) would cut the line
  // short: then none of it is written, never a partial line.
  rlimit fsize{};
  struct stat st {};
  if (::getrlimit(RLIMIT_FSIZE, &fsize) == 0 && fsize.rlim_cur != RLIM_INFINITY) {
    if (::fstat(fd_.get(), &st) != 0 || static_cast<rlim_t>(st.st_size) + line.size() > fsize.rlim_cur) {
      LogSink fallback;
      std::string ignored;
      if (fallback.open_syslog(ignored)) (void)fallback.write(line);
      return false;
    }
  }
  ssize_t n = -1;
  do {
    n = ::write(fd_.get(), line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(line.size());
}

}  // namespace suwrap
