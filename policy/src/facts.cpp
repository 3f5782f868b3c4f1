// SPDX-License-Identifier: Apache-2.0
// The system as a fact source: the walk, stat, and the user database through NSS.
// The reentrant lookups are used because the daemon and the gate may look up users from
// more than one thread, and the static buffers of getpwnam() would be shared between them.
#include "suwrap/policy/facts.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <new>
#include <utility>
#include <vector>

namespace suwrap::policy {

namespace {

// A user or group record larger than this is not one we want to believe.
constexpr size_t max_lookup_buffer = size_t{1} << 20;

size_t initial_buffer_size(int sysconf_name) {
  const long suggested = ::sysconf(sysconf_name);
  // -1 means "no fixed limit"; start at a size that holds every ordinary record.
  return suggested > 0 ? static_cast<size_t>(suggested) : size_t{16384};
}

// Calls a get*_r function, growing its buffer while it answers ERANGE, and converts the
// record while the buffer its strings point into is still alive. Returns nullopt when the
// entry does not exist or the lookup failed: the caller fails closed on both.
template <class Record, class Call, class Convert>
auto lookup_record(int sysconf_name, Call&& call, Convert&& convert)
    -> std::optional<decltype(convert(std::declval<const Record&>()))> {
  std::vector<char> buffer(initial_buffer_size(sysconf_name));
  int interruptions = 0;
  while (true) {
    Record entry{};
    Record* result = nullptr;
    const int err = call(&entry, buffer.data(), buffer.size(), &result);
    if (err == 0) {
      if (result == nullptr) return std::nullopt;  // no such entry
      return convert(*result);
    }
    if (err == EINTR && ++interruptions < 8) continue;
    if (err != ERANGE || buffer.size() >= max_lookup_buffer) return std::nullopt;
    buffer.resize(buffer.size() * 2);
  }
}

UserInfo user_from(const passwd& pw) {
  return UserInfo{pw.pw_name != nullptr ? pw.pw_name : "", pw.pw_uid, pw.pw_gid,
                  pw.pw_dir != nullptr ? pw.pw_dir : ""};
}

GroupInfo group_from(const group& gr) {
  return GroupInfo{gr.gr_name != nullptr ? gr.gr_name : "", gr.gr_gid};
}

// A name with a NUL would be looked up truncated, as someone else.
bool usable_name(std::string_view name) {
  return !name.empty() && name.find('\0') == std::string_view::npos;
}

}  // namespace

Expected<Walk, WalkError> SystemFacts::walk(std::string_view absolute_path) {
  return walk_path(absolute_path);
}

std::optional<FileFacts> SystemFacts::stat_path(std::string_view path) {
  try {
    if (path.empty() || path.find('\0') != std::string_view::npos) return std::nullopt;
    const std::string name(path);
    struct stat st {};
    if (::stat(name.c_str(), &st) != 0) return std::nullopt;
    return FileFacts::from(st);
  } catch (const std::bad_alloc&) {
    return std::nullopt;
  }
}

std::optional<UserInfo> SystemFacts::user_by_name(std::string_view name) {
  try {
    if (!usable_name(name)) return std::nullopt;
    const std::string key(name);
    return lookup_record<passwd>(
        _SC_GETPW_R_SIZE_MAX,
        [&](passwd* entry, char* buffer, size_t size, passwd** result) {
          return ::getpwnam_r(key.c_str(), entry, buffer, size, result);
        },
        user_from);
  } catch (const std::bad_alloc&) {
    return std::nullopt;
  }
}

std::optional<UserInfo> SystemFacts::user_by_uid(uid_t uid) {
  try {
    return lookup_record<passwd>(
        _SC_GETPW_R_SIZE_MAX,
        [&](passwd* entry, char* buffer, size_t size, passwd** result) {
          return ::getpwuid_r(uid, entry, buffer, size, result);
        },
        user_from);
  } catch (const std::bad_alloc&) {
    return std::nullopt;
  }
}

std::optional<GroupInfo> SystemFacts::group_by_name(std::string_view name) {
  try {
    if (!usable_name(name)) return std::nullopt;
    const std::string key(name);
    return lookup_record<group>(
        _SC_GETGR_R_SIZE_MAX,
        [&](group* entry, char* buffer, size_t size, group** result) {
          return ::getgrnam_r(key.c_str(), entry, buffer, size, result);
        },
        group_from);
  } catch (const std::bad_alloc&) {
    return std::nullopt;
  }
}

std::optional<GroupInfo> SystemFacts::group_by_gid(gid_t gid) {
  try {
    return lookup_record<group>(
        _SC_GETGR_R_SIZE_MAX,
        [&](group* entry, char* buffer, size_t size, group** result) {
          return ::getgrgid_r(gid, entry, buffer, size, result);
        },
        group_from);
  } catch (const std::bad_alloc&) {
    return std::nullopt;
  }
}

}  // namespace suwrap::policy
