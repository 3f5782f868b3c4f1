// SPDX-License-Identifier: Apache-2.0
// The system as a fact source: the walk, stat, and the user database through NSS.
// The reentrant lookups are used because the daemon and the gate may look up users from
// more than one thread, and the static buffers of getpwnam() would be shared between them.
#include "suwrap/policy/facts.hpp"

#include <elf.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "suwrap/build_config.hpp"
#include "suwrap/util/fd.hpp"

namespace suwrap::policy {

using util::Expected;
using util::Fd;

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

namespace {

bool read_exactly(int fd, void* into, std::size_t size, off_t offset) {
  auto* bytes = static_cast<char*>(into);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, bytes + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Where .rodata lies in a 64-bit ELF file: {offset, size}, or nullopt for anything else.
std::optional<std::pair<off_t, std::size_t>> rodata_of(int fd, off_t file_size) {
  Elf64_Ehdr header{};
  if (!read_exactly(fd, &header, sizeof header, 0)) return std::nullopt;
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_shentsize != sizeof(Elf64_Shdr) || header.e_shnum == 0 || header.e_shnum > 4096 ||
      header.e_shstrndx >= header.e_shnum)
    return std::nullopt;
  std::vector<Elf64_Shdr> sections(header.e_shnum);
  const std::size_t table = sections.size() * sizeof(Elf64_Shdr);
  if (header.e_shoff > static_cast<std::uint64_t>(file_size) || table > static_cast<std::uint64_t>(file_size) - header.e_shoff ||
      !read_exactly(fd, sections.data(), table, static_cast<off_t>(header.e_shoff)))
    return std::nullopt;
  const Elf64_Shdr& names = sections[header.e_shstrndx];
  if (names.sh_size > 1U << 20 || names.sh_offset > static_cast<std::uint64_t>(file_size) ||
      names.sh_size > static_cast<std::uint64_t>(file_size) - names.sh_offset)
    return std::nullopt;
  std::string strings(names.sh_size, '\0');
  if (!read_exactly(fd, strings.data(), strings.size(), static_cast<off_t>(names.sh_offset))) return std::nullopt;
  for (const Elf64_Shdr& section : sections) {
    if (section.sh_name >= strings.size() || std::strcmp(strings.c_str() + section.sh_name, ".rodata") != 0) continue;
    if (section.sh_type == SHT_NOBITS || section.sh_offset > static_cast<std::uint64_t>(file_size) ||
        section.sh_size > static_cast<std::uint64_t>(file_size) - section.sh_offset)
      return std::nullopt;
    return std::make_pair(static_cast<off_t>(section.sh_offset), static_cast<std::size_t>(section.sh_size));
  }
  return std::nullopt;
}

// `name` as a whole C string in `data`: NUL before and after ("CGI/FastCGI" is not found
// inside "FPM/FastCGI").
bool holds(const char* data, std::size_t size, std::string_view name) {
  const char* at = data;
  std::size_t left = size;
  while (left > name.size()) {
    const void* found = ::memmem(at, left, name.data(), name.size());
    if (found == nullptr) return false;
    const char* hit = static_cast<const char*>(found);
    const std::size_t after = static_cast<std::size_t>(hit - data) + name.size();
    if ((hit == data || hit[-1] == '\0') && after < size && data[after] == '\0') return true;
    left -= static_cast<std::size_t>(hit + 1 - at);
    at = hit + 1;
  }
  return false;
}

}  // namespace

// Mapped, not read: the section is searched where the page cache has it (php-cgi has just run),
// at no copy. The file is root's and replaced by rename on upgrade, never cut short in place.
std::optional<std::string> php_sapi_of(int fd) {
  constexpr std::size_t largest = std::size_t{64} << 20;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const auto region = rodata_of(fd, st.st_size);
  const off_t offset = region ? region->first : 0;
  const std::size_t size = region ? region->second : static_cast<std::size_t>(st.st_size);
  if (size > largest) return std::nullopt;
  if (size == 0) return std::string();
  const long page = ::sysconf(_SC_PAGESIZE);
  const off_t aligned = offset - offset % (page > 0 ? page : 4096);
  const std::size_t span = size + static_cast<std::size_t>(offset - aligned);
  void* mapped = ::mmap(nullptr, span, PROT_READ, MAP_PRIVATE, fd, aligned);
  if (mapped == MAP_FAILED) return std::nullopt;
  const char* data = static_cast<const char*>(mapped) + (offset - aligned);
  std::optional<std::string> sapi;
  // A SAPI's pretty name, as sapi_module_struct gives it; php-cgi's is "CGI/FastCGI".
  if (holds(data, size, "CGI/FastCGI"))
    // php-cgi of another PHP build (another minor version) would not load suwrap's guard.
    sapi = holds(data, size, build::php_build_id) ? "cgi-fcgi" : "cgi-fcgi-other";
  else if (holds(data, size, "Command Line Interface"))
    sapi = "cli";
  else
    sapi = "";
  ::munmap(mapped, span);
  return sapi;
}

std::optional<std::string> SystemFacts::php_sapi(std::string_view path) {
  try {
    if (path.empty() || path.find('\0') != std::string_view::npos) return std::nullopt;
    const Fd file(::open(std::string(path).c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!file) return std::nullopt;
    return php_sapi_of(file.get());
  } catch (const std::bad_alloc&) {
    return std::nullopt;
  }
}

}  // namespace suwrap::policy
