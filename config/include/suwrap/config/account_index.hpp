// SPDX-License-Identifier: Apache-2.0
// The account index: where each key (a user, a docroot) is claimed, as sorted lines of text.
//
// One line per fact, fields separated by tabs, sorted bytewise, so that every lookup is a
// binary search over the file in place — a handful of reads, however many accounts there
// are — and the file can be read with `sort -c` and `grep`:
//
//   #suwrap-accounts-index 1 <accounts_dir> <dir stamp> <built> <racy>    header, first
//   d <docroot> <file>          <file> holds <docroot> (or may: it is broken)
//   f <file> <stamp> <valid|broken> <racy>
//   u <user> <file>             <file> names <user> (or may)
//   x docroots <file>           broken, and no docroot can be read from it
//   x users <file>              broken, and no user can be read from it
//   ~end <lines>                trailer, last: a cut-off file is never taken for a short one
//
// A stamp is "dev ino size mtime ctime" (times in nanoseconds). Fields are percent-encoded
// where they hold a space, a control character, '%' or a byte above 0x7e.
//
// An index is current when its header's directory stamp is the directory's now and it is not
// racy: a directory changed within the clock's granularity of the look may change again
// without its stamp moving, so such an index is refreshed again at the next look.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "suwrap/util/expected.hpp"
#include "suwrap/util/fd.hpp"

namespace suwrap::policy {

// What tells that a file changed without reading it.
struct FileStamp {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
  static FileStamp of(const struct stat& st);
};

// How recent a time must be to be racy: a change within this of a look may not move a
// stamp. Linux stamps files with a clock that advances once a tick (1 to 10 ms): 50 ms is
// well past it. A stamp with no nanoseconds may come from a file system that keeps whole
// seconds (ext3's small inodes, FAT keeps two): there, two seconds.
inline constexpr std::int64_t racy_ns = 50'000'000;
inline constexpr std::int64_t racy_whole_seconds_ns = 2'000'000'000;
// Whether `stamp` is too close to `now_ns` to prove that nothing changed after it.
bool racy(const FileStamp& stamp, std::int64_t now_ns);

// One account file as the index records it.
struct IndexedFile {
  std::string name;  // "alice.toml"
  FileStamp stamp;
  bool valid = false;  // trusted and parsed when it was read
  bool racy = false;   // changed so recently that its stamp cannot prove it unchanged
  std::vector<std::string> users;     // valid: its user; broken: every user it may name
  std::vector<std::string> docroots;  // valid: its docroots; broken: every one it may hold
};

struct IndexHeader {
  std::string accounts_dir;
  FileStamp dir;
  std::int64_t built_ns = 0;
  bool racy = true;
};

// The text of an index: header, sorted lines, trailer.
std::string index_text(const IndexHeader& header, const std::vector<IndexedFile>& files);

// Random access to the bytes of an index, in memory or in its file.
class IndexBytes {
 public:
  virtual ~IndexBytes() = default;
  [[nodiscard]] virtual std::uint64_t size() const = 0;
  // Up to `length` bytes at `offset` (fewer at the end); nullopt when they cannot be read.
  virtual std::optional<std::string_view> read(std::uint64_t offset, std::size_t length) = 0;
};

std::unique_ptr<IndexBytes> index_in_memory(std::string text);
// Reads the open file `fd` (an index, judged by the caller) through a small block cache.
std::unique_ptr<IndexBytes> index_in_file(util::Fd fd, std::uint64_t size);

// Lookups over an index's bytes. Every method fails (nullopt, or an error) on an index that
// is not well-formed: a reader never guesses, it refreshes.
class IndexReader {
 public:
  explicit IndexReader(std::unique_ptr<IndexBytes> bytes);
  ~IndexReader();
  IndexReader(IndexReader&&) noexcept;
  IndexReader& operator=(IndexReader&&) noexcept;

  // The header, when the first and last lines are an index's.
  std::optional<IndexHeader> header();
  // The files naming `user` / holding exactly `docroot`, by file name; nullopt on a bad line.
  std::optional<std::vector<std::string>> files_naming(std::string_view user);
  std::optional<std::vector<std::string>> files_holding(std::string_view docroot);
  // Broken files of which nothing can be read: they may govern anything.
  std::optional<std::vector<std::string>> files_of_unknown_scope(bool users);
  // The docroots strictly below `docroot`, with the file holding each.
  std::optional<std::vector<std::pair<std::string, std::string>>> docroots_below(std::string_view docroot);
  // Every file (the "f" lines, with their "u" and "d" lines): for a refresh and for tools.
  util::Expected<std::vector<IndexedFile>, std::string> files();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Field encoding (exposed for tests).
std::string encode_index_field(std::string_view field);
std::optional<std::string> decode_index_field(std::string_view field);

}  // namespace suwrap::policy
