// SPDX-License-Identifier: Apache-2.0
// The account index as sorted lines, and the binary search that reads it in place.
#include "suwrap/config/account_index.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <list>
#include <map>
#include <set>
#include <utility>

#include "suwrap/config/text.hpp"

namespace suwrap::policy {

namespace {

constexpr std::string_view magic = "#suwrap-accounts-index";
constexpr std::string_view version = "1";
constexpr std::string_view trailer_key = "~end";
// The longest line a well-formed index has: a docroot fits PATH_MAX, encoded at most 3x.
constexpr std::size_t max_line = 3 * 4096 + 512;
// Below this many bytes the binary search reads on, line by line.
constexpr std::uint64_t linear_window = 8192;

template <class Integer>
std::optional<Integer> number(std::string_view text) {
  Integer value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::string stamp_text(const FileStamp& s) {
  return std::to_string(s.dev) + " " + std::to_string(s.ino) + " " + std::to_string(s.size) + " " +
         std::to_string(s.mtime_ns) + " " + std::to_string(s.ctime_ns);
}

std::optional<FileStamp> stamp_from(std::string_view text) {
  std::array<std::string_view, 5> parts{};
  std::size_t at = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::size_t space = text.find(' ', at);
    const bool last = i + 1 == parts.size();
    if ((space == std::string_view::npos) != last) return std::nullopt;
    parts[i] = text.substr(at, last ? std::string_view::npos : space - at);
    at = space + 1;
  }
  const auto dev = number<std::uint64_t>(parts[0]);
  const auto ino = number<std::uint64_t>(parts[1]);
  const auto size = number<std::uint64_t>(parts[2]);
  const auto mtime = number<std::int64_t>(parts[3]);
  const auto ctime = number<std::int64_t>(parts[4]);
  if (!dev || !ino || !size || !mtime || !ctime) return std::nullopt;
  return FileStamp{*dev, *ino, *size, *mtime, *ctime};
}

std::string joined_line(std::initializer_list<std::string_view> fields) {
  std::string line;
  for (const auto field : fields) {
    if (!line.empty()) line += '\t';
    line += field;
  }
  return line;
}

// ---------------------------------------------------------------------------------------
// The bytes.

class MemoryBytes final : public IndexBytes {
 public:
  explicit MemoryBytes(std::string text) : text_(std::move(text)) {}
  [[nodiscard]] std::uint64_t size() const override { return text_.size(); }
  std::optional<std::string_view> read(std::uint64_t offset, std::size_t length) override {
    if (offset > text_.size()) return std::nullopt;
    return std::string_view(text_).substr(offset, length);
  }

 private:
  std::string text_;
};

// pread through a few cached blocks: the binary searches of one lookup share their first
// probes, and a line rarely crosses more than one block boundary.
class FileBytes final : public IndexBytes {
 public:
  FileBytes(util::Fd fd, std::uint64_t size) : fd_(std::move(fd)), size_(size) {}
  [[nodiscard]] std::uint64_t size() const override { return size_; }

  std::optional<std::string_view> read(std::uint64_t offset, std::size_t length) override {
    if (offset > size_) return std::nullopt;
    length = static_cast<std::size_t>(std::min<std::uint64_t>(length, size_ - offset));
    scratch_.clear();
    while (length > 0) {
      const std::uint64_t block = offset / block_size;
      const std::string* bytes = block_at(block);
      if (bytes == nullptr) return std::nullopt;
      const std::size_t within = static_cast<std::size_t>(offset - block * block_size);
      if (within >= bytes->size()) return std::nullopt;  // the file is shorter than it said
      const std::size_t take = std::min(length, bytes->size() - within);
      if (scratch_.empty() && take == length) return std::string_view(*bytes).substr(within, take);
      scratch_.append(*bytes, within, take);
      offset += take;
      length -= take;
    }
    return std::string_view(scratch_);
  }

 private:
  static constexpr std::uint64_t block_size = 4096;
  static constexpr std::size_t cached_blocks = 32;

  const std::string* block_at(std::uint64_t block) {
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      if (it->first != block) continue;
      cache_.splice(cache_.begin(), cache_, it);
      return &cache_.front().second;
    }
    std::string bytes(block_size, '\0');
    std::size_t got = 0;
    while (got < bytes.size()) {
      const ssize_t n = ::pread(fd_.get(), bytes.data() + got, bytes.size() - got,
                                static_cast<off_t>(block * block_size + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return nullptr;
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    bytes.resize(got);
    cache_.emplace_front(block, std::move(bytes));
    if (cache_.size() > cached_blocks) cache_.pop_back();
    return &cache_.front().second;
  }

  util::Fd fd_;
  std::uint64_t size_;
  std::list<std::pair<std::uint64_t, std::string>> cache_;
  std::string scratch_;
};

}  // namespace

bool racy(const FileStamp& stamp, std::int64_t now_ns) {
  constexpr std::int64_t second = 1'000'000'000;
  const bool whole_seconds = stamp.mtime_ns % second == 0 && stamp.ctime_ns % second == 0;
  const std::int64_t window = whole_seconds ? racy_whole_seconds_ns : racy_ns;
  return stamp.mtime_ns >= now_ns - window || stamp.ctime_ns >= now_ns - window;
}

FileStamp FileStamp::of(const struct stat& st) {
  return FileStamp{static_cast<std::uint64_t>(st.st_dev),
                   static_cast<std::uint64_t>(st.st_ino),
                   static_cast<std::uint64_t>(st.st_size),
                   static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                   static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec};
}

std::unique_ptr<IndexBytes> index_in_memory(std::string text) {
  return std::make_unique<MemoryBytes>(std::move(text));
}

std::unique_ptr<IndexBytes> index_in_file(util::Fd fd, std::uint64_t size) {
  return std::make_unique<FileBytes>(std::move(fd), size);
}

std::string encode_index_field(std::string_view field) {
  static constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(field.size());
  for (const char c : field) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == '%' || byte >= 0x7f) {
      out += '%';
      out += hex[byte >> 4U];
      out += hex[byte & 0xfU];
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> decode_index_field(std::string_view field) {
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    const auto byte = static_cast<unsigned char>(field[i]);
    if (byte <= 0x20 || byte >= 0x7f) return std::nullopt;
    if (field[i] != '%') {
      out += field[i];
      continue;
    }
    if (i + 2 >= field.size()) return std::nullopt;
    const int high = digit(field[i + 1]);
    const int low = digit(field[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

std::string index_text(const IndexHeader& header, const std::vector<IndexedFile>& files) {
  std::vector<std::string> lines;
  lines.reserve(files.size() * 3);
  for (const auto& file : files) {
    const std::string name = encode_index_field(file.name);
    lines.push_back(joined_line({"f", name, stamp_text(file.stamp), file.valid ? "valid" : "broken",
                                 file.racy ? "1" : "0"}));
    std::set<std::string> users(file.users.begin(), file.users.end());
    std::set<std::string> docroots(file.docroots.begin(), file.docroots.end());
    for (const auto& user : users) lines.push_back(joined_line({"u", encode_index_field(user), name}));
    for (const auto& docroot : docroots) lines.push_back(joined_line({"d", encode_index_field(docroot), name}));
    if (!file.valid && users.empty()) lines.push_back(joined_line({"x", "users", name}));
    if (!file.valid && docroots.empty()) lines.push_back(joined_line({"x", "docroots", name}));
  }
  std::sort(lines.begin(), lines.end());
  std::string text = joined_line({magic, version, encode_index_field(header.accounts_dir), stamp_text(header.dir),
                                  std::to_string(header.built_ns), header.racy ? "1" : "0"});
  text += '\n';
  for (const auto& line : lines) {
    text += line;
    text += '\n';
  }
  text += joined_line({trailer_key, std::to_string(lines.size())});
  text += '\n';
  return text;
}

// ---------------------------------------------------------------------------------------
// Reading.

struct IndexReader::Impl {
  std::unique_ptr<IndexBytes> bytes;
  std::string line_copy;  // the last line read (a view into the cache may not outlive a read)

  struct Line {
    std::string_view text;
    std::uint64_t end = 0;  // the offset after its '\n'
  };

  // The line starting at `offset`: read in a small piece first, since lines are short.
  std::optional<Line> line_at(std::uint64_t offset) {
    for (const std::size_t length : {std::size_t{512}, max_line + 1}) {
      const auto chunk = bytes->read(offset, length);
      if (!chunk) return std::nullopt;
      const std::size_t newline = chunk->find('\n');
      if (newline != std::string_view::npos) {
        line_copy.assign(chunk->substr(0, newline));
        return Line{line_copy, offset + newline + 1};
      }
      if (chunk->size() < length) return std::nullopt;  // cut off
    }
    return std::nullopt;  // too long
  }

  // The first line start at or after `offset`.
  std::optional<std::uint64_t> line_start_from(std::uint64_t offset) {
    if (offset == 0) return 0;
    for (const std::size_t length : {std::size_t{512}, max_line + 1}) {
      const auto chunk = bytes->read(offset - 1, length);
      if (!chunk) return std::nullopt;
      const std::size_t newline = chunk->find('\n');
      if (newline != std::string_view::npos) return offset + newline;
      if (chunk->size() < length) return bytes->size();  // the last line, unended
    }
    return std::nullopt;
  }

  // The offset of the first line >= key. Invariants: every line starting before `lo` is below
  // the key; the answer starts no later than the first line start at or after `hi`.
  std::optional<std::uint64_t> lower_bound(std::string_view key) {
    std::uint64_t lo = 0;
    std::uint64_t hi = bytes->size();
    while (lo < hi && hi - lo > linear_window) {
      const std::uint64_t mid = lo + (hi - lo) / 2;
      const auto start = line_start_from(mid);
      if (!start) return std::nullopt;
      if (*start >= hi) {
        hi = mid;
        continue;
      }
      const auto line = line_at(*start);
      if (!line) return std::nullopt;
      if (line->text < key)
        lo = line->end;
      else
        hi = mid;
    }
    std::uint64_t at = lo;
    while (at < bytes->size()) {
      const auto line = line_at(at);
      if (!line) return std::nullopt;
      if (line->text >= key) return at;
      at = line->end;
    }
    return at;
  }

  // Every line starting with `prefix`, split into fields after the prefix.
  std::optional<std::vector<std::vector<std::string>>> lines_with(std::string_view prefix) {
    auto at = lower_bound(prefix);
    if (!at) return std::nullopt;
    std::vector<std::vector<std::string>> out;
    while (*at < bytes->size()) {
      const auto line = line_at(*at);
      if (!line) return std::nullopt;
      if (!line->text.starts_with(prefix)) break;
      std::vector<std::string> fields;
      for (const auto field : split_fields(line->text.substr(prefix.size()))) {
        auto decoded = decode_index_field(field);
        if (!decoded) return std::nullopt;
        fields.push_back(std::move(*decoded));
      }
      out.push_back(std::move(fields));
      *at = line->end;
    }
    return out;
  }

  // The names in lines "<prefix><name>".
  std::optional<std::vector<std::string>> names_with(std::string_view prefix) {
    auto lines = lines_with(prefix);
    if (!lines) return std::nullopt;
    std::vector<std::string> names;
    for (auto& fields : *lines) {
      if (fields.size() != 1 || fields[0].empty()) return std::nullopt;
      names.push_back(std::move(fields[0]));
    }
    return names;
  }
};

IndexReader::IndexReader(std::unique_ptr<IndexBytes> bytes) : impl_(std::make_unique<Impl>()) {
  impl_->bytes = std::move(bytes);
}
IndexReader::~IndexReader() = default;
IndexReader::IndexReader(IndexReader&&) noexcept = default;
IndexReader& IndexReader::operator=(IndexReader&&) noexcept = default;

std::optional<IndexHeader> IndexReader::header() {
  const auto first = impl_->line_at(0);
  if (!first) return std::nullopt;
  const auto fields = split_fields(first->text);
  if (fields.size() != 6 || fields[0] != magic || fields[1] != version) return std::nullopt;
  IndexHeader header;
  auto dir = decode_index_field(fields[2]);
  auto stamp = stamp_from(fields[3]);
  auto built = number<std::int64_t>(fields[4]);
  if (!dir || !stamp || !built || (fields[5] != "0" && fields[5] != "1")) return std::nullopt;
  header.accounts_dir = std::move(*dir);
  header.dir = *stamp;
  header.built_ns = *built;
  header.racy = fields[5] == "1";

  // The trailer ends the file: an index cut short is not one.
  const std::uint64_t size = impl_->bytes->size();
  const std::uint64_t tail = std::min<std::uint64_t>(size, 64);
  const auto end = impl_->bytes->read(size - tail, static_cast<std::size_t>(tail));
  if (!end || end->empty() || end->back() != '\n') return std::nullopt;
  const std::string_view body = end->substr(0, end->size() - 1);
  const std::size_t newline = body.rfind('\n');
  if (newline == std::string_view::npos) return std::nullopt;
  const auto last = split_fields(body.substr(newline + 1));
  if (last.size() != 2 || last[0] != trailer_key || !number<std::uint64_t>(last[1])) return std::nullopt;
  return header;
}

std::optional<std::vector<std::string>> IndexReader::files_naming(std::string_view user) {
  return impl_->names_with("u\t" + encode_index_field(user) + "\t");
}

std::optional<std::vector<std::string>> IndexReader::files_holding(std::string_view docroot) {
  return impl_->names_with("d\t" + encode_index_field(docroot) + "\t");
}

std::optional<std::vector<std::string>> IndexReader::files_of_unknown_scope(bool users) {
  return impl_->names_with(users ? "x\tusers\t" : "x\tdocroots\t");
}

std::optional<std::vector<std::pair<std::string, std::string>>> IndexReader::docroots_below(
    std::string_view docroot) {
  const std::string below = docroot == "/" ? std::string("/") : std::string(docroot) + "/";
  auto lines = impl_->lines_with("d\t" + encode_index_field(below));
  if (!lines) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& fields : *lines) {
    // The prefix cut the docroot's first part off; the field holds the rest of it.
    if (fields.size() != 2 || fields[1].empty()) return std::nullopt;
    out.emplace_back(below + fields[0], std::move(fields[1]));
  }
  return out;
}

util::Expected<std::vector<IndexedFile>, std::string> IndexReader::files() {
  const auto bad = [](std::string why) { return util::unexpected(std::move(why)); };
  // Every line is read: the whole index at once.
  const auto whole = impl_->bytes->read(0, static_cast<std::size_t>(impl_->bytes->size()));
  if (!whole || whole->size() != impl_->bytes->size()) return bad("the index cannot be read");
  const std::string text_all(*whole);
  std::map<std::string, IndexedFile> by_name;
  std::size_t at = 0;
  std::uint64_t lines = 0;
  bool ended = false;
  std::string_view previous;
  while (at < text_all.size()) {
    const std::size_t newline = text_all.find('\n', at);
    if (newline == std::string::npos) return bad("a line cannot be read");
    const std::string_view text = std::string_view(text_all).substr(at, newline - at);
    at = newline + 1;
    if (lines++ == 0) continue;  // the header
    if (ended) return bad("a line follows the trailer");
    if (lines > 2 && text < previous) return bad("the lines are not sorted");
    previous = text;
    const auto fields = split_fields(text);
    if (fields[0] == trailer_key) {
      ended = true;
      continue;
    }
    // Names, users and docroots are encoded; a stamp and flags are plain.
    const auto field = [&](std::size_t i) { return decode_index_field(fields[i]); };
    if (fields[0] == "f" && fields.size() == 5) {
      auto name = field(1);
      auto stamp = stamp_from(fields[2]);
      if (!name || !stamp || (fields[3] != "valid" && fields[3] != "broken") || (fields[4] != "0" && fields[4] != "1"))
        return bad("a file line is not well-formed");
      IndexedFile& file = by_name[*name];
      file.name = *name;
      file.stamp = *stamp;
      file.valid = fields[3] == "valid";
      file.racy = fields[4] == "1";
    } else if ((fields[0] == "u" || fields[0] == "d") && fields.size() == 3) {
      auto key = field(1);
      auto name = field(2);
      if (!key || !name) return bad("a field is not well-formed");
      IndexedFile& file = by_name[*name];
      (fields[0] == "u" ? file.users : file.docroots).push_back(std::move(*key));
    } else if (fields[0] == "x" && fields.size() == 3 && (fields[1] == "users" || fields[1] == "docroots")) {
      auto name = field(2);
      if (!name) return bad("a field is not well-formed");
      (void)by_name[*name];
    } else {
      return bad("an unknown line");
    }
  }
  if (!ended) return bad("the trailer is missing");
  std::vector<IndexedFile> files;
  files.reserve(by_name.size());
  for (auto& [name, file] : by_name) {
    if (file.name.empty()) return bad("a key names a file without a file line");
    files.push_back(std::move(file));
  }
  return files;
}

}  // namespace suwrap::policy
