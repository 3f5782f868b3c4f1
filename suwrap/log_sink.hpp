// Where suwrap's log lines go: the configured file (opened before any privilege is
// dropped, O_APPEND, one write(2) per line) or syslog.
#pragma once

#include <string>
#include <string_view>

#include "suwrap/policy/fd.hpp"

namespace suwrap {

class LogSink {
 public:
  // Opens `destination`: an absolute path or "syslog". Returns false (with the reason in
  // `error`) if the file cannot be opened; suwrap then refuses rather than run unlogged.
  bool open(const std::string& destination, std::string& error);
  // Falls back to syslog: used when there is no valid configuration to name a log.
  void open_syslog();

  // Writes one complete line with a single write(2). Returns false if it was not written whole.
  bool write(std::string_view line) const;

 private:
  policy::Fd fd_;
  bool syslog_ = false;
};

}  // namespace suwrap
