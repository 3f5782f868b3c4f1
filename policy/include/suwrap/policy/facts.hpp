// SPDX-License-Identifier: Apache-2.0
// Gathering facts about the system: the walk and the user database.
// The checks ask a FactSource; SystemFacts asks the kernel and NSS.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "suwrap/util/expected.hpp"
#include "suwrap/policy/walk.hpp"

namespace suwrap::policy {

struct UserInfo {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;  // primary group
  std::string home;
};

struct GroupInfo {
  std::string name;
  gid_t gid = 0;
};

class FactSource {
 public:
  virtual ~FactSource() = default;
  virtual util::Expected<Walk, WalkError> walk(std::string_view absolute_path) = 0;
  // stat() following symlinks, for root's own files (handler binaries, php.ini).
  virtual std::optional<FileFacts> stat_path(std::string_view path) = 0;
  virtual std::optional<UserInfo> user_by_name(std::string_view name) = 0;
  virtual std::optional<UserInfo> user_by_uid(uid_t uid) = 0;
  virtual std::optional<GroupInfo> group_by_name(std::string_view name) = 0;
  virtual std::optional<GroupInfo> group_by_gid(gid_t gid) = 0;
  // Which PHP SAPI the program at `path` (links followed) is built as, read from the SAPI
  // names in its read-only data: "cgi-fcgi" (php-cgi, "CGI/FastCGI"), "cli" (the command-line
  // binary, "Command Line Interface"), "" when it is neither; nullopt when it cannot be read.
  // php-cgi built for another PHP extension API than suwrap's PHP guard (which it would not
  // load) is "cgi-fcgi-other".
  virtual std::optional<std::string> php_sapi(std::string_view path) = 0;
};

// SystemFacts::php_sapi's reading, for any open file: the ELF's .rodata, or the whole file
// when it has none (at most 64 MiB).
std::optional<std::string> php_sapi_of(int fd);

class SystemFacts final : public FactSource {
 public:
  util::Expected<Walk, WalkError> walk(std::string_view absolute_path) override;
  std::optional<FileFacts> stat_path(std::string_view path) override;
  std::optional<UserInfo> user_by_name(std::string_view name) override;
  std::optional<UserInfo> user_by_uid(uid_t uid) override;
  std::optional<GroupInfo> group_by_name(std::string_view name) override;
  std::optional<GroupInfo> group_by_gid(gid_t gid) override;
  std::optional<std::string> php_sapi(std::string_view path) override;
};

}  // namespace suwrap::policy
