// SPDX-License-Identifier: Apache-2.0
// The account files, found by what a request asks for, without reading them all.
//
// A request needs the one account that governs it: in owner mode the one naming the script's
// owner, in account mode the one whose docroot holds the script. With 10,000 account files,
// reading and parsing them all for every request costs more than the request itself, so the
// files are found through an index (account_index.hpp): for each file, the user it names and
// the docroots it holds. The index only says where to look. The files it points at are read,
// judged (root's, not writable by group or others) and parsed again for every lookup, so a
// decision always comes from the files as they are on disk now:
//
//  - a file added, removed or renamed changes the directory, and an index that does not
//    match the directory is not used: it is refreshed first (every file stat'ed, those that
//    changed read again) and, where the caller is root, written back;
//  - the file that governs the request is read for every lookup, so an edit to it, in place
//    or not, is seen at once; one that no longer says what the index says refreshes it;
//  - an edit made in place to *another* file, so that it now claims the user or docroot,
//    changes nothing the index can see. The daemons watch the directory (inotify) and see it;
//    suwrap-cgid tells suwrap (AccountOptions::distrust_before_ns); suwrap run without the daemon
//    sees it once the directory changes or the file that governed before is read. Replacing
//    a file (write, then rename, as editors and configuration tools do) is always seen.
//
// A file that cannot be parsed or trusted is broken. It refuses, with check `config`, every
// request it could govern: the users it names and docroots it holds, as far as they can be
// read from it now or were read from it before; if none can be, every request. Requests it
// provably cannot govern are served as if it were not there.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "suwrap/config/account_index.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/util/expected.hpp"
#include "suwrap/util/fd.hpp"

namespace suwrap::policy {

// Which account governs a request.
struct AccountAnswer {
  enum class Kind {
    none,       // no account file applies (owner mode: the owner runs with the defaults)
    account,    // exactly one, valid
    broken,     // a file that could govern it is broken: refused, check `config`
    ambiguous,  // two files claim it (one user named twice; two accounts' docroots hold it)
  };
  Kind kind = Kind::none;
  std::shared_ptr<const Account> account;  // Kind::account
  ConfigError problem;                     // Kind::broken: the file and what is wrong with it
  std::vector<std::string> files;          // Kind::ambiguous: the account names that claim it
};

// Where decide() and the router find accounts. Tests give it accounts of their own.
class AccountSource {
 public:
  virtual ~AccountSource() = default;
  // What refuses every request whatever it asks for: accounts_dir itself cannot be trusted
  // or read, or a broken file names nothing that can be read, so it could govern anything.
  virtual std::optional<ConfigError> problem() = 0;
  // Owner mode: the account naming `user`.
  virtual AccountAnswer for_user(std::string_view user) = 0;
  // Account mode: the account whose docroot holds `script` (a path that check `request`
  // passed). Two accounts holding it is ambiguous, whichever is deeper.
  virtual AccountAnswer for_script(std::string_view script) = 0;
};

// Accounts given as they are, for tests and for tools that hold them all already.
class AccountList final : public AccountSource {
 public:
  explicit AccountList(std::vector<Account> accounts);
  std::optional<ConfigError> problem() override { return std::nullopt; }
  AccountAnswer for_user(std::string_view user) override;
  AccountAnswer for_script(std::string_view script) override;

 private:
  std::vector<std::shared_ptr<const Account>> accounts_;
};

struct AccountOptions {
  // Keep <accounts_dir>/.suwrap/index current: write it when it was refreshed. Only root's
  // index is ever trusted, so only root (suwrap, suwrap-policy as root) asks for this.
  bool write_index = false;
  // Refresh an index built at or before this time (CLOCK_REALTIME, ns; 0: none) instead of
  // believing it: files were seen to change then, perhaps in place, which an index cannot
  // tell (the daemons' inotify saw it; suwrap-cgid tells suwrap). It can only make a
  // lookup more exact.
  std::int64_t distrust_before_ns = 0;
  // Trust (check `config`): the directory and the files must be root's and not writable by
  // group or others. Off only for `suwrap-policy --config` on a copy being prepared.
  bool require_trusted = true;
};

// One account file read now: parsed and judged, or why it is broken and what it may govern.
struct AccountRead {
  bool missing = false;  // no such file (any more)
  FileStamp stamp;
  std::shared_ptr<const Account> account;  // valid: trusted and parsed
  std::optional<ConfigError> problem;      // broken
  std::vector<std::string> users;          // what it names: its user, or every one it may name
  std::vector<std::string> docroots;       // what it holds, or every docroot it may hold
};

// The accounts of `config.accounts_dir` on disk, through the index.
class AccountDirectory final : public AccountSource {
 public:
  // `config` must outlive this object: the daemons make a new one when it is read again.
  explicit AccountDirectory(const Config& config, AccountOptions options = {});
  ~AccountDirectory() override;
  AccountDirectory(const AccountDirectory&) = delete;
  AccountDirectory& operator=(const AccountDirectory&) = delete;

  std::optional<ConfigError> problem() override;
  AccountAnswer for_user(std::string_view user) override;
  AccountAnswer for_script(std::string_view script) override;

  // Every account file, as the index knows it (refreshed first if it is stale): for
  // `config check` and tools. Each entry's accounts are not read again.
  util::Expected<std::vector<IndexedFile>, ConfigError> files();

  // For the tools (suwrap-policy account, config check), which ask for an exact index
  // (distrust_before_ns in the future):
  // one file read now by its file name ("alice.toml"), judged against the configuration;
  AccountRead read_file(const std::string& name);
  // the files the index says name `user`;
  util::Expected<std::vector<std::string>, ConfigError> files_naming(std::string_view user);
  // the docroots the index holds that are equal to, above or below `docroot`, with the
  // account (file name without ".toml") claiming each.
  util::Expected<std::vector<DocrootClaim>, ConfigError> claims_overlapping(std::string_view docroot);

  // Forget what was read: the next lookup opens the directory and the index again, and
  // refreshes an index built at or before `distrust_before_ns`. The daemons call this when
  // the directory, a file in it or the index changed.
  void reopen(std::int64_t distrust_before_ns);

  // When the index in use was built (0 before the first lookup or without one), and whether
  // it is one this process refreshed in memory rather than the one on disk.
  [[nodiscard]] std::int64_t index_built_ns() const;
  [[nodiscard]] bool index_in_memory() const;
  // How many times this object refreshed the index (tests and benchmarks read it).
  [[nodiscard]] unsigned refreshes() const;

 private:
  friend class AccountDirectoryOps;
  struct State;
  const Config& config_;
  AccountOptions options_;
  std::unique_ptr<State> state_;
};

// Reads `name` in the directory `dir` (`accounts_dir`'s descriptor) without following a link.
// A file that parses is judged against `config` too: its handlers must exist.
AccountRead read_account_file(int dir, const std::string& accounts_dir, const std::string& name,
                              const Config* config, bool require_trusted);

// The users and docroots a file that does not parse may still be read to name: `user = ...`
// lines, and the strings of a `docroots = [...]` array, where they are well-formed.
void scope_of_unparsed(std::string_view text, std::vector<std::string>& users, std::vector<std::string>& docroots);

// Whether `name` is an account file's name: "*.toml", not hidden (editors' ".x.toml.swp").
bool is_account_file_name(std::string_view name);

}  // namespace suwrap::policy
