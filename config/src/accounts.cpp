// SPDX-License-Identifier: Apache-2.0
// The account files, found through the index and read again for every lookup (accounts.hpp).
#include "suwrap/config/accounts.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <ctime>
#include <set>
#include <utility>

#include "suwrap/config/paths.hpp"
#include "suwrap/config/trusted.hpp"
#include "suwrap/util/text.hpp"

namespace suwrap::policy {

using util::child_path;
using util::errno_text;
using util::Expected;
using util::Fd;
using util::unexpected;

namespace {

constexpr std::string_view index_dir_name = ".suwrap";
constexpr std::string_view index_file_name = "index";
constexpr std::string_view temporary_prefix = ".index.";
constexpr std::size_t max_cached_answers = 4096;

std::int64_t now_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

ConfigError file_error(std::string path, std::string message) {
  return ConfigError{std::move(path), 0, "", std::move(message)};
}

void add_unique(std::vector<std::string>& to, std::string value) {
  if (std::find(to.begin(), to.end(), value) == to.end()) to.push_back(std::move(value));
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

// "key = rest": the rest, when `line` sets `key`.
std::optional<std::string_view> value_of(std::string_view line, std::string_view key) {
  line = trimmed(line);
  if (!line.starts_with(key)) return std::nullopt;
  line = trimmed(line.substr(key.size()));
  if (line.empty() || line.front() != '=') return std::nullopt;
  return trimmed(line.substr(1));
}

// The directories that could be a docroot holding `script`, and the script itself:
// "/a/b/c.php" -> "/a", "/a/b", "/a/b/c.php".
std::vector<std::string> holders_of(std::string_view script) {
  std::vector<std::string> out;
  std::string at;
  for (const auto component : split_components(script)) {
    at += '/';
    at += component;
    out.push_back(at);
  }
  return out;
}

bool holds(const Account& account, std::string_view script) {
  return std::any_of(account.docroots.begin(), account.docroots.end(),
                     [&](const std::string& docroot) { return path_inside(script, docroot); });
}

AccountAnswer answer_from(std::vector<std::shared_ptr<const Account>> matches, std::optional<ConfigError> broken) {
  AccountAnswer answer;
  if (broken) {
    answer.kind = AccountAnswer::Kind::broken;
    answer.problem = std::move(*broken);
    return answer;
  }
  if (matches.size() > 1) {
    answer.kind = AccountAnswer::Kind::ambiguous;
    for (const auto& account : matches) answer.files.push_back(account->name);
    std::sort(answer.files.begin(), answer.files.end());
    return answer;
  }
  if (matches.size() == 1) {
    answer.kind = AccountAnswer::Kind::account;
    answer.account = std::move(matches.front());
  }
  return answer;
}

}  // namespace

bool is_account_file_name(std::string_view name) {
  static constexpr std::string_view suffix = ".toml";
  return name.size() > suffix.size() && name.front() != '.' && name.ends_with(suffix);
}

void scope_of_unparsed(std::string_view text, std::vector<std::string>& users, std::vector<std::string>& docroots) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);

    if (auto value = value_of(line, "user")) {
      std::string_view name = *value;
      if (!name.empty() && (name.front() == '"' || name.front() == '\'')) {
        const char quote = name.front();
        name.remove_prefix(1);
        name = name.substr(0, name.find(quote));
      } else {
        name = name.substr(0, name.find_first_of(" \t#"));
      }
      if (!user_name_problem(name)) add_unique(users, std::string(name));
    }

    if (value_of(line, "docroots")) {
      // The strings from here to the array's end, wherever its lines break.
      std::size_t at = start + line.find('=') + 1;
      while (at < text.size() && text[at] != ']') {
        const char c = text[at];
        if (c != '"' && c != '\'') {
          ++at;
          continue;
        }
        const std::size_t close = text.find(c, at + 1);
        if (close == std::string_view::npos) break;
        const std::string_view docroot = text.substr(at + 1, close - at - 1);
        if (docroot.find('\\') == std::string_view::npos && !account_docroot_problem(docroot))
          add_unique(docroots, std::string(docroot));
        at = close + 1;
      }
    }
    start = end + 1;
  }
}

AccountRead read_account_file(int dir, const std::string& accounts_dir, const std::string& name, const Config* config,
                              bool require_trusted) {
  AccountRead read;
  const std::string path = child_path(accounts_dir, name);
  // Opened whatever its owner and mode: a file that cannot be trusted is still read for
  // what it may govern, which it then refuses.
  auto opened = open_file_in(dir, accounts_dir, name, false);
  if (!opened) {
    read.missing = opened.error().missing;
    read.problem = std::move(opened.error().error);
    return read;
  }
  read.stamp = FileStamp::of(opened->st);
  auto text = read_opened(*opened, path);
  if (!text) {
    read.problem = std::move(text.error());
    return read;
  }
  std::optional<ConfigError> distrust;
  if (require_trusted) distrust = trust_problem(path, opened->st);
  auto parsed = parse_account(*text, path, name.substr(0, name.size() - 5));
  if (!parsed) {
    scope_of_unparsed(*text, read.users, read.docroots);
    read.problem = distrust ? std::move(*distrust) : std::move(parsed.error());
    return read;
  }
  read.users = {parsed->user};
  read.docroots = parsed->docroots;
  if (distrust) {
    read.problem = std::move(*distrust);
    return read;
  }
  if (config != nullptr) {
    if (auto problem = account_handler_problem(*config, *parsed)) {
      read.problem = std::move(*problem);
      return read;
    }
  }
  read.account = std::make_shared<const Account>(std::move(*parsed));
  return read;
}

// ---------------------------------------------------------------------------------------
// AccountList

AccountList::AccountList(std::vector<Account> accounts) {
  for (auto& account : accounts) accounts_.push_back(std::make_shared<const Account>(std::move(account)));
}

AccountAnswer AccountList::for_user(std::string_view user) {
  std::vector<std::shared_ptr<const Account>> matches;
  for (const auto& account : accounts_)
    if (account->user == user) matches.push_back(account);
  return answer_from(std::move(matches), std::nullopt);
}

AccountAnswer AccountList::for_script(std::string_view script) {
  std::vector<std::shared_ptr<const Account>> matches;
  for (const auto& account : accounts_)
    if (holds(*account, script)) matches.push_back(account);
  return answer_from(std::move(matches), std::nullopt);
}

// ---------------------------------------------------------------------------------------
// AccountDirectory

struct AccountDirectory::State {
  bool opened = false;
  bool missing = false;  // accounts_dir does not exist: there are no accounts
  std::optional<ConfigError> dir_problem;
  Opened dir;
  std::optional<IndexReader> index;
  std::optional<IndexReader> previous;  // an index not current, kept for what it recorded
  IndexHeader header;
  bool in_memory = false;
  bool refreshed = false;  // in this opening
  unsigned refreshes = 0;
  std::map<std::string, AccountRead, std::less<>> reads;  // each file read once per opening
  std::map<std::string, AccountAnswer, std::less<>> answers;
};

AccountDirectory::AccountDirectory(const Config& config, AccountOptions options)
    : config_(config), options_(options), state_(std::make_unique<State>()) {}

AccountDirectory::~AccountDirectory() = default;

void AccountDirectory::reopen(std::int64_t distrust_before_ns) {
  const unsigned refreshes = state_->refreshes;
  state_ = std::make_unique<State>();
  state_->refreshes = refreshes;
  options_.distrust_before_ns = distrust_before_ns;
}

std::int64_t AccountDirectory::index_built_ns() const {
  return state_->index ? state_->header.built_ns : 0;
}

bool AccountDirectory::index_in_memory() const {
  return state_->in_memory;
}

unsigned AccountDirectory::refreshes() const {
  return state_->refreshes;
}

// The steps of a lookup, on the state of one opening.
class AccountDirectoryOps {
 public:
  AccountDirectoryOps(const Config& config, const AccountOptions& options, AccountDirectory::State& state)
      : config_(config), options_(options), s_(state) {}

  // Opens accounts_dir and an index that matches it, refreshing one if none does.
  void open() {
    if (s_.opened) return;
    s_.opened = true;
    auto dir = open_trusted_directory(config_.accounts_dir, options_.require_trusted);
    if (!dir) {
      if (dir.error().missing) {
        s_.missing = true;
      } else {
        s_.dir_problem = std::move(dir.error().error);
      }
      return;
    }
    s_.dir = std::move(*dir);
    if (options_.write_index) {
      // Made before the directory's stamp is taken, so that making it does not date the index;
      // 0755 whatever the umask (suwrap's is 077): the daemons read and watch the index.
      const std::string name(index_dir_name);
      if (::mkdirat(s_.dir.fd.get(), name.c_str(), 0755) == 0) {
        // Best effort: a directory left 0700 is still root's, only slower for the daemons.
        [[maybe_unused]] const int chmodded = ::fchmodat(s_.dir.fd.get(), name.c_str(), 0755, 0);
        (void)::fstat(s_.dir.fd.get(), &s_.dir.st);
      }
    }
    use_disk_index();
    if (!s_.index) refresh({});
  }

  // The index on disk, when it is root's and describes the directory as it is now.
  void use_disk_index() {
    // Only root's index is ever believed.
    auto sub = open_trusted_directory_in(s_.dir.fd.get(), config_.accounts_dir, std::string(index_dir_name));
    if (!sub) return;
    const std::string sub_path = child_path(config_.accounts_dir, index_dir_name);
    auto file = open_file_in(sub->fd.get(), sub_path, std::string(index_file_name), true);
    if (!file) return;
    const auto size = static_cast<std::uint64_t>(file->st.st_size);
    IndexReader reader(index_in_file(std::move(file->fd), size));
    const auto header = reader.header();
    const bool current = header && header->accounts_dir == config_.accounts_dir &&
                         header->dir == FileStamp::of(s_.dir.st) && !header->racy &&
                         header->built_ns > options_.distrust_before_ns;
    if (current) {
      s_.header = *header;
      s_.index = std::move(reader);
      s_.in_memory = false;
    } else if (header) {
      s_.previous = std::move(reader);
    }
  }

  // Reads every file's stamp, and again every file whose stamp moved, was racy or is in
  // `forced`; the rest is taken from the index it refreshes.
  void refresh(const std::set<std::string>& forced) {
    const std::int64_t started = now_ns();
    const Fd listing(::openat(s_.dir.fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    struct stat before {};
    if (!listing || ::fstat(listing.get(), &before) != 0) {
      s_.dir_problem = file_error(config_.accounts_dir, "cannot open: " + errno_text(errno));
      return;
    }
    auto names = list(listing.get());
    if (!names) {
      s_.dir_problem = std::move(names.error());
      return;
    }

    std::map<std::string, IndexedFile, std::less<>> previous;
    for (auto* reader : {s_.index ? &*s_.index : nullptr, s_.previous ? &*s_.previous : nullptr}) {
      if (reader == nullptr) continue;
      if (auto files = reader->files()) {
        for (auto& file : *files) previous.emplace(file.name, std::move(file));
        break;
      }
    }

    bool learnt = false;  // anything the previous index did not say
    std::vector<IndexedFile> files;
    files.reserve(names->size());
    for (const auto& name : *names) {
      struct stat st {};
      if (::fstatat(s_.dir.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) continue;
      const auto known = previous.find(name);
      if (known != previous.end() && known->second.stamp == FileStamp::of(st) && !known->second.racy &&
          !forced.contains(name)) {
        files.push_back(known->second);
        continue;
      }
      // Judged without the main file: the index must not depend on it (handlers are judged
      // again at every lookup).
      AccountRead read =
          read_account_file(s_.dir.fd.get(), config_.accounts_dir, name, nullptr, options_.require_trusted);
      if (read.missing) continue;
      IndexedFile file;
      file.name = name;
      file.stamp = read.stamp;
      file.valid = !read.problem;
      file.users = std::move(read.users);
      file.docroots = std::move(read.docroots);
      // Broken: what it named before, it may still mean.
      if (!file.valid && known != previous.end()) {
        for (const auto& user : known->second.users) add_unique(file.users, user);
        for (const auto& docroot : known->second.docroots) add_unique(file.docroots, docroot);
      }
      file.racy = racy(file.stamp, started);
      learnt = learnt || known == previous.end() || known->second.valid != file.valid ||
               known->second.users != file.users || known->second.docroots != file.docroots;
      files.push_back(std::move(file));
    }

    struct stat after {};
    IndexHeader header;
    header.accounts_dir = config_.accounts_dir;
    header.dir = FileStamp::of(before);
    header.built_ns = started;
    header.racy = ::fstat(listing.get(), &after) != 0 || !(FileStamp::of(after) == header.dir) ||
                  racy(header.dir, started);
    std::string text = index_text(header, files);
    // A racy index would only be refreshed again by the next look: it is not written, and
    // that look reuses the stamps of the one on disk as well.
    learnt = learnt || files.size() != previous.size();
    if (options_.write_index && !header.racy) write(text, header.built_ns, learnt);
    s_.header = header;
    s_.index.emplace(index_in_memory(std::move(text)));
    s_.previous.reset();
    s_.in_memory = true;
    s_.refreshed = true;
    ++s_.refreshes;
  }

  Expected<std::vector<std::string>, ConfigError> list(int listing) {
    const int fd = ::dup(listing);
    if (fd < 0) return unexpected(file_error(config_.accounts_dir, "cannot list: " + errno_text(errno)));
    const std::unique_ptr<DIR, int (*)(DIR*)> stream(::fdopendir(fd), ::closedir);
    if (!stream) {
      ::close(fd);
      return unexpected(file_error(config_.accounts_dir, "cannot list: " + errno_text(errno)));
    }
    std::vector<std::string> names;
    while (true) {
      errno = 0;
      const dirent* entry = ::readdir(stream.get());  // NOLINT(concurrency-mt-unsafe): a private stream
      if (entry == nullptr) break;
      if (is_account_file_name(entry->d_name)) names.emplace_back(entry->d_name);
    }
    if (errno != 0) return unexpected(file_error(config_.accounts_dir, "cannot list: " + errno_text(errno)));
    std::sort(names.begin(), names.end());
    return names;
  }

  // Written as a file without a name (O_TMPFILE), given one beside the index and renamed
  // into place: a reader sees the old index or the new one, and a writer killed on the way
  // leaves nothing (or, killed between the two calls, a name removed by the next writer a
  // minute later). An index older than the one already there is not written over it.
  // A failure only costs the next lookup a refresh.
  void write(const std::string& text, std::int64_t built_ns, bool learnt) {
    auto opened_sub = open_trusted_directory_in(s_.dir.fd.get(), config_.accounts_dir, std::string(index_dir_name));
    if (!opened_sub) return;
    const Fd sub = std::move(opened_sub->fd);
    remove_stale_temporaries(sub.get());
    Fd out(::openat(sub.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644));
    if (!out) return;
    bool written = ::fchmod(out.get(), 0644) == 0;
    std::size_t done = 0;
    while (written && done < text.size()) {
      const ssize_t n = ::write(out.get(), text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) written = false;
      else done += static_cast<std::size_t>(n);
    }
    if (!written || newer_on_disk(sub.get(), built_ns, learnt)) return;
    static std::atomic<unsigned> counter{0};
    const std::string temporary = std::string(temporary_prefix) + std::to_string(::getpid()) + "." +
                                  std::to_string(counter++);
    if (::linkat(out.get(), "", sub.get(), temporary.c_str(), AT_EMPTY_PATH) != 0) return;
    if (::renameat(sub.get(), temporary.c_str(), sub.get(), std::string(index_file_name).c_str()) != 0)
      (void)::unlinkat(sub.get(), temporary.c_str(), 0);
  }

  // Whether the index there now was built after this one began — a refresh held up (stopped
  // by its caller) must not put an older index back — or, when this one learnt nothing new,
  // within the last second: a caller that makes every request refresh (a hint of "now"
  // each time) costs a write a second at most, not one a request.
  bool newer_on_disk(int sub, std::int64_t built_ns, bool learnt) const {
    auto file = open_file_in(sub, child_path(config_.accounts_dir, index_dir_name), std::string(index_file_name), true);
    if (!file) return false;
    const auto size = static_cast<std::uint64_t>(file->st.st_size);
    IndexReader reader(index_in_file(std::move(file->fd), size));
    const auto header = reader.header();
    return header && header->accounts_dir == config_.accounts_dir &&
           (header->built_ns > built_ns || (!learnt && header->built_ns > now_ns() - 1'000'000'000));
  }

  // Names a writer gave but did not rename (it was killed between the two), a minute on.
  static void remove_stale_temporaries(int sub) {
    const Fd listing(::openat(sub, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!listing) return;
    const int fd = ::dup(listing.get());
    if (fd < 0) return;
    const std::unique_ptr<DIR, int (*)(DIR*)> stream(::fdopendir(fd), ::closedir);
    if (!stream) {
      ::close(fd);
      return;
    }
    const std::int64_t cutoff = now_ns() - 60'000'000'000;
    while (const dirent* entry = ::readdir(stream.get())) {  // NOLINT(concurrency-mt-unsafe): a private stream
      if (!std::string_view(entry->d_name).starts_with(temporary_prefix)) continue;
      struct stat st {};
      if (::fstatat(sub, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && FileStamp::of(st).mtime_ns < cutoff)
        (void)::unlinkat(sub, entry->d_name, 0);
    }
  }

  const AccountRead& read(const std::string& name) {
    if (const auto found = s_.reads.find(name); found != s_.reads.end()) return found->second;
    auto read = read_account_file(s_.dir.fd.get(), config_.accounts_dir, name, &config_, options_.require_trusted);
    return s_.reads.emplace(name, std::move(read)).first->second;
  }

  // A lookup: the candidates the index names, read and judged. A candidate that no longer
  // says what the index says dates the index: it is refreshed, once, and the lookup made again.
  template <class Candidates, class Claims>
  AccountAnswer lookup(std::string cache_key, Candidates candidates, Claims claims) {
    open();
    if (s_.missing) return {};
    if (s_.dir_problem) return broken(*s_.dir_problem);
    if (const auto found = s_.answers.find(cache_key); found != s_.answers.end()) return found->second;
    AccountAnswer answer = judge(candidates, claims);
    if (s_.answers.size() >= max_cached_answers) s_.answers.clear();
    s_.answers.emplace(std::move(cache_key), answer);
    return answer;
  }

  template <class Candidates, class Claims>
  AccountAnswer judge(Candidates& candidates, Claims& claims) {
    for (int attempt = 0;; ++attempt) {
      if (s_.dir_problem) return broken(*s_.dir_problem);
      std::optional<std::set<std::string>> names = candidates(*s_.index);
      if (!names) {  // an index that is not well-formed
        if (attempt > 0) return broken(file_error(config_.accounts_dir, "its index cannot be read"));
        refresh({});
        continue;
      }
      std::vector<std::shared_ptr<const Account>> matches;
      std::optional<ConfigError> problem;
      std::set<std::string> stale;
      for (const auto& name : *names) {
        const AccountRead& file = read(name);
        if (file.missing) {
          stale.insert(name);
        } else if (file.problem) {
          if (!problem) problem = file.problem;  // the index says it may govern this
        } else if (claims(*file.account)) {
          matches.push_back(file.account);
        } else {
          stale.insert(name);
        }
      }
      if (stale.empty()) return answer_from(std::move(matches), std::move(problem));
      if (attempt > 0)
        return broken(file_error(config_.accounts_dir, "account files changed while they were read; try again"));
      for (const auto& name : stale) s_.reads.erase(name);
      refresh(stale);
    }
  }

  std::optional<ConfigError> problem() {
    open();
    if (s_.missing) return std::nullopt;
    if (s_.dir_problem) return s_.dir_problem;
    const bool by_user = config_.mode == Mode::owner;
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto names = s_.index->files_of_unknown_scope(by_user);
      if (!names) {
        refresh({});
        continue;
      }
      std::set<std::string> stale;
      for (const auto& name : *names) {
        const AccountRead& file = read(name);
        if (file.problem && !file.missing)
          return ConfigError{file.problem->file, file.problem->line, file.problem->key,
                             file.problem->message + "; no " + (by_user ? "user" : "docroot") +
                                 " it governs can be read from it, so it refuses every request until it is "
                                 "fixed or removed"};
        stale.insert(name);
      }
      if (stale.empty()) return std::nullopt;
      for (const auto& name : stale) s_.reads.erase(name);
      refresh(stale);
    }
    if (s_.dir_problem) return s_.dir_problem;
    return file_error(config_.accounts_dir, "account files changed while they were read; try again");
  }

 private:
  static AccountAnswer broken(ConfigError problem) {
    AccountAnswer answer;
    answer.kind = AccountAnswer::Kind::broken;
    answer.problem = std::move(problem);
    return answer;
  }

  const Config& config_;
  const AccountOptions& options_;
  AccountDirectory::State& s_;
};

std::optional<ConfigError> AccountDirectory::problem() {
  try {
    return AccountDirectoryOps(config_, options_, *state_).problem();
  } catch (const std::exception& error) {
    return file_error(config_.accounts_dir, std::string("cannot read the account files: ") + error.what());
  }
}

namespace {

AccountAnswer failed_lookup(const Config& config, const std::exception& error) {
  AccountAnswer answer;
  answer.kind = AccountAnswer::Kind::broken;
  answer.problem = file_error(config.accounts_dir, std::string("cannot read the account files: ") + error.what());
  return answer;
}

}  // namespace

AccountAnswer AccountDirectory::for_user(std::string_view user) {
  try {
    const std::string key(user);
    auto candidates = [&](IndexReader& index) -> std::optional<std::set<std::string>> {
      auto names = index.files_naming(key);
      if (!names) return std::nullopt;
      return std::set<std::string>(names->begin(), names->end());
    };
    auto claims = [&](const Account& account) { return account.user == key; };
    return AccountDirectoryOps(config_, options_, *state_).lookup("u\t" + key, candidates, claims);
  } catch (const std::exception& error) {
    return failed_lookup(config_, error);
  }
}

AccountAnswer AccountDirectory::for_script(std::string_view script) {
  try {
    const std::string key(script);
    auto candidates = [&](IndexReader& index) -> std::optional<std::set<std::string>> {
      std::set<std::string> names;
      for (const auto& holder : holders_of(key)) {
        auto found = index.files_holding(holder);
        if (!found) return std::nullopt;
        names.insert(found->begin(), found->end());
      }
      return names;
    };
    auto claims = [&](const Account& account) { return holds(account, key); };
    return AccountDirectoryOps(config_, options_, *state_).lookup("s\t" + key, candidates, claims);
  } catch (const std::exception& error) {
    return failed_lookup(config_, error);
  }
}

Expected<std::vector<IndexedFile>, ConfigError> AccountDirectory::files() {
  try {
    AccountDirectoryOps ops(config_, options_, *state_);
    ops.open();
    if (state_->missing) return std::vector<IndexedFile>{};
    if (state_->dir_problem) return unexpected(*state_->dir_problem);
    auto files = state_->index->files();
    if (files) return std::move(*files);
    ops.refresh({});
    if (state_->dir_problem) return unexpected(*state_->dir_problem);
    files = state_->index->files();
    if (!files) return unexpected(file_error(config_.accounts_dir, "its index cannot be read: " + files.error()));
    return std::move(*files);
  } catch (const std::exception& error) {
    return unexpected(file_error(config_.accounts_dir, std::string("cannot read the account files: ") + error.what()));
  }
}

AccountRead AccountDirectory::read_file(const std::string& name) {
  try {
    AccountDirectoryOps ops(config_, options_, *state_);
    ops.open();
    AccountRead read;
    if (state_->missing) {
      read.missing = true;
      return read;
    }
    if (state_->dir_problem) {
      read.problem = state_->dir_problem;
      return read;
    }
    return read_account_file(state_->dir.fd.get(), config_.accounts_dir, name, &config_, options_.require_trusted);
  } catch (const std::exception& error) {
    AccountRead read;
    read.problem = file_error(child_path(config_.accounts_dir, name), std::string("cannot read: ") + error.what());
    return read;
  }
}

namespace {

std::string stem_of(const std::string& file_name) {
  return file_name.ends_with(".toml") ? file_name.substr(0, file_name.size() - 5) : file_name;
}

}  // namespace

Expected<std::vector<std::string>, ConfigError> AccountDirectory::files_naming(std::string_view user) {
  AccountDirectoryOps ops(config_, options_, *state_);
  ops.open();
  if (state_->missing) return std::vector<std::string>{};
  if (state_->dir_problem) return unexpected(*state_->dir_problem);
  auto names = state_->index->files_naming(user);
  if (!names) return unexpected(file_error(config_.accounts_dir, "its index cannot be read"));
  return std::move(*names);
}

Expected<std::vector<DocrootClaim>, ConfigError> AccountDirectory::claims_overlapping(std::string_view docroot) {
  AccountDirectoryOps ops(config_, options_, *state_);
  ops.open();
  if (state_->missing) return std::vector<DocrootClaim>{};
  if (state_->dir_problem) return unexpected(*state_->dir_problem);
  const auto unreadable = [&] { return unexpected(file_error(config_.accounts_dir, "its index cannot be read")); };
  std::vector<DocrootClaim> claims;
  for (const auto& holder : holders_of(docroot)) {
    auto names = state_->index->files_holding(holder);
    if (!names) return unreadable();
    for (const auto& name : *names) claims.push_back({holder, stem_of(name)});
  }
  auto below = state_->index->docroots_below(docroot);
  if (!below) return unreadable();
  for (auto& [inner, name] : *below) claims.push_back({std::move(inner), stem_of(name)});
  return claims;
}

}  // namespace suwrap::policy
