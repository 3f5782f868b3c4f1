// SPDX-License-Identifier: Apache-2.0
// suwrap-policy audit: every script under the given trees that suwrap would refuse, with the
// check and the reason (suwrap-policy(8)), and with --fix the chmod/chown commands that would
// make each one pass, printed for a person to read, never run.
//
// The verdict for each script is decide()'s, the very code `check` and suwrap run. What makes
// a large tree fast is the gathering: the tree is read once, directory by directory, through
// descriptors (openat + fdopendir, never following a link), and the facts decide() asks for
// come from a CachingFacts, which remembers users, groups and root's files and walks each
// script from its directory's cached walk instead of from "/".
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "suwrap/build_config.hpp"
#include "suwrap/policy/caching_facts.hpp"
#include "suwrap/config/accounts.hpp"
#include "suwrap/config/routing.hpp"
#include "suwrap/policy/checks.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/policy/facts.hpp"
#include "suwrap/util/fd.hpp"
#include "suwrap/policy/log_record.hpp"
#include "suwrap/config/paths.hpp"
#include "suwrap/util/text.hpp"

namespace suwrap::cli {

using util::child_path;
using util::errno_text;
using util::Fd;

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// Text for a terminal or a comment line: control characters (a newline in a file name) shown
// escaped, so a hostile name can neither rewrite the screen nor end a "# ..." line in --fix
// output and start a command of its own.
std::string printable(std::string_view text) {
  static constexpr std::string_view hex = "0123456789abcdef";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += hex[byte >> 4U];
      out += hex[byte & 0xfU];
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

using namespace suwrap::policy;
using Clock = std::chrono::steady_clock;

// A tree deeper than this is not a web site; the limit keeps the open descriptors bounded.
constexpr size_t max_tree_depth = 256;

struct AuditOptions {
  std::string config = suwrap::build::config_path;
  bool json = false;
  bool fix = false;
  std::vector<std::string> dirs;
};

struct Refused {
  std::string path;
  Check check = Check::path;
  Verdict verdict = Verdict::deny;
  std::string reason;
  std::vector<std::string> fix;  // commands, or "# ..." when none would do
};

struct TreeError {
  std::string path;
  std::string error;
};

class Auditor {
 public:
  Auditor(const LoadedConfig& loaded, uid_t caller_uid, bool want_fix)
      : loaded_(loaded),
        config_(*loaded),
        caller_uid_(caller_uid),
        want_fix_(want_fix),
        facts_(system_facts_),
        accounts_(config_, audit_accounts()) {
    for (const auto& [name, handler] : config_.handlers) {
      for (const auto& extension : handler.extensions) extensions_.emplace(extension, &handler);
    }
    progress_ = ::isatty(STDERR_FILENO) == 1;
  }

  void audit(const std::string& root) {
    Fd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return tree_error(root, errno_text(errno));
    walk_directory(std::move(dir), root, 0);
  }

  void finish_progress() const {
    if (progress_) std::fputs("\r\033[K", stderr);
  }

  [[nodiscard]] size_t scanned() const { return scanned_; }
  [[nodiscard]] const std::vector<Refused>& refused() const { return refused_; }
  [[nodiscard]] const std::map<std::string, size_t>& by_check() const { return by_check_; }
  [[nodiscard]] const std::vector<TreeError>& errors() const { return errors_; }
  [[nodiscard]] bool any_error_verdict() const { return error_verdicts_ > 0; }

 private:
  struct Entry {
    std::string name;
    unsigned char type;
  };

  void tree_error(const std::string& path, std::string error) { errors_.push_back({path, std::move(error)}); }

  // Reads a directory whole, judges its files, then goes into its subdirectories, so that the
  // scripts of one directory are judged one after another (the walk cache holds one directory).
  void walk_directory(Fd dir, const std::string& path, size_t depth) {
    if (depth > max_tree_depth)
      return tree_error(path, "deeper than " + std::to_string(max_tree_depth) + " levels");
    std::vector<Entry> entries;
    {
      // fdopendir takes its own descriptor, so the one kept for openat stays ours.
      Fd listing(::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!listing) return tree_error(path, errno_text(errno));
      const std::unique_ptr<DIR, int (*)(DIR*)> stream(::fdopendir(listing.get()), ::closedir);
      if (!stream) return tree_error(path, errno_text(errno));
      listing.release();
      while (true) {
        errno = 0;
        const dirent* entry = ::readdir(stream.get());  // NOLINT(concurrency-mt-unsafe): a private stream
        if (entry == nullptr) {
          if (errno != 0) tree_error(path, errno_text(errno));
          break;
        }
        const std::string_view name = entry->d_name;
        if (name == "." || name == "..") continue;
        entries.push_back({std::string(name), entry->d_type});
      }
    }
    // Sorted, so that the report is the same from one run to the next.
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });

    std::vector<const Entry*> subdirectories;
    for (Entry& entry : entries) {
      if (entry.type == DT_UNKNOWN) {
        struct stat st {};
        if (::fstatat(dir.get(), entry.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
          continue;  // gone meanwhile
        entry.type = IFTODT(st.st_mode);
      }
      if (entry.type == DT_DIR)
        subdirectories.push_back(&entry);
      else
        consider(path, entry);
    }
    for (const Entry* entry : subdirectories) {
      const std::string child = child_path(path, entry->name);
      Fd sub(::openat(dir.get(), entry->name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) {
        if (errno != ENOENT) tree_error(child, errno_text(errno));
        continue;
      }
      walk_directory(std::move(sub), child, depth + 1);
    }
  }

  // A candidate script: any name (a file, a link, or anything else) whose extension a handler
  // claims. A request picks its handler by that extension alone (SUWRAP_HANDLER only chooses
  // within the family), so no other file can ever run: an executable .jpg is not a script.
  // A link is judged by its own name, through the link, as a request for it would be.
  void consider(const std::string& dir_path, const Entry& entry) {
    if (extensions_.count(extension_of(entry.name)) == 0) return;
    judge(child_path(dir_path, entry.name));
  }

  Decision decide_for(const std::string& path, const std::optional<std::string>& handler,
                      const std::optional<std::string>& server_name) {
    Request request;
    request.real_uid = caller_uid_;
    request.script = path;
    request.handler = handler;
    request.server_name = server_name;
    return decide(request, loaded_, accounts_, facts_);
  }

  // The accounts as root sees them: every file's stamp read, the index written back.
  static AccountOptions audit_accounts() {
    AccountOptions options;
    options.write_index = ::geteuid() == 0;
    options.distrust_before_ns = std::numeric_limits<std::int64_t>::max();
    return options;
  }

  static std::shared_ptr<const Account> only(const AccountAnswer& answer) {
    return answer.kind == AccountAnswer::Kind::account ? answer.account : nullptr;
  }

  // The account a script belongs to, as the `target` check finds it: in owner mode the one
  // naming the script's owner, in account mode the one whose docroot holds it.
  std::shared_ptr<const Account> account_for(const std::string& path, uid_t owner_uid) {
    std::optional<std::string> owner;
    if (auto user = facts_.user_by_uid(owner_uid)) owner = user->name;
    return only(governing_account(config_, accounts_, path, owner));
  }

  // One request's worth of decision. With check_vhost on, the request is taken to come for the
  // account's first domain (as `check --server-name` would be asked): a file is not refused for
  // the lack of a request.
  Decision judge_one(const std::string& path, const std::optional<std::string>& handler) {
    Decision decision = decide_for(path, handler, std::nullopt);
    if (decision.failed == Check::vhost && config_.check_vhost) {
      const auto account = account_for(path, decision.script_facts.uid);
      if (account && !account->domains.empty())
        decision = decide_for(path, handler, account->domains.front());
    }
    return decision;
  }

  void judge(const std::string& path) {
    ++scanned_;
    show_progress(path);
    const Decision decision = judge_one(path, std::nullopt);
    if (decision.verdict == Verdict::allow || !decision.failed) return;
    if (decision.verdict == Verdict::error) ++error_verdicts_;
    ++by_check_[std::string(check_name(*decision.failed))];
    Refused refused{path, *decision.failed, decision.verdict, decision.reason, {}};
    if (want_fix_) refused.fix = fixes(path, decision);
    refused_.push_back(std::move(refused));
  }

  // ---- --fix ---------------------------------------------------------------------------

  // The concrete docroot holding `path` ("/home/*/public_html" -> "/home/alice/public_html").
  std::optional<std::string> site_root(const std::string& path) const {
    const auto pattern = matching_docroot(path, config_.docroots);
    if (!pattern) return std::nullopt;
    const size_t depth = split_components(*pattern).size();
    std::string out;
    size_t taken = 0;
    for (const auto component : split_components(path)) {
      if (taken++ == depth) break;
      out += '/';
      out += component;
    }
    return out;
  }

  // Who the script should belong to: the user of the account whose docroot holds it (in both
  // modes, that is whose site it is); in owner mode without such an account, the owner of the
  // innermost directory of the site that is not root's, else the script's owner as it is.
  std::optional<UserInfo> intended_user(const std::string& path, const Walk& walk,
                                        const std::optional<std::string>& site) {
    const auto account = account_for(path, walk.object.facts.uid);
    if (config_.mode == Mode::account || (account && account_holds(*account, path)))
      return account ? facts_.user_by_name(account->user) : std::nullopt;
    if (const auto other = only(accounts_.for_script(path))) return facts_.user_by_name(other->user);
    if (site) {
      for (auto dir = walk.dirs.rbegin(); dir != walk.dirs.rend(); ++dir) {
        if (!path_inside(dir->path, *site)) break;
        if (dir->facts.uid != 0) return facts_.user_by_uid(dir->facts.uid);
      }
    }
    return facts_.user_by_uid(walk.object.facts.uid);
  }

  static bool account_holds(const Account& account, const std::string& path) {
    return std::any_of(account.docroots.begin(), account.docroots.end(),
                       [&](const std::string& docroot) { return path_inside(path, docroot); });
  }

  bool is_cgi_script(const std::string& path) const {
    const auto found = extensions_.find(extension_of(path));
    return found != extensions_.end() && found->second->kind == HandlerKind::cgi;
  }

  // The commands after which the script passes the permission checks: its owner, every
  // directory on its way (owner mode: `target`/`user` too, as the owner picks the user),
  // its mode, and for a cgi script the execute bit. Directories above the site become
  // root's, never the user's. Refusals that no chmod or chown can lift get a comment.
  std::vector<std::string> fixes(const std::string& path, const Decision& decision) {
    const Check failed = *decision.failed;
    const auto no_fix = [&] {
      return std::vector<std::string>{"# no chmod or chown makes this pass (check " +
                                      std::string(check_name(failed)) + ")"};
    };
    const bool owner_decides =
        config_.mode == Mode::owner && (failed == Check::target || failed == Check::user);
    const bool permission_check = failed == Check::owner || failed == Check::dir_perms ||
                                  failed == Check::file_perms || failed == Check::handler;
    const bool link_owners = failed == Check::path && config_.symlinks == SymlinkPolicy::owner_match;
    if (!permission_check && !owner_decides && !link_owners) return no_fix();
    auto walked = facts_.walk(path);
    if (!walked) return no_fix();
    const Walk& walk = *walked;
    const auto site = site_root(path);
    const auto user = intended_user(path, walk, site);
    if (!user || user->uid == 0 || user->uid < config_.min_uid) return no_fix();
    const FileFacts& file = walk.object.facts;
    // A `target` or `user` refusal is lifted only by giving the script to another user.
    if (owner_decides && file.uid == user->uid) return no_fix();

    const auto account = only(accounts_.for_user(user->name));
    const std::string owner_spec = user->name + ":" + (account ? account->group.value_or("") : "");
    const std::string& physical = walk.physical_path();
    std::vector<std::string> commands;
    // chown -h: a link is changed itself, never what it points to. --from: only an object
    // still owned as audited is changed, so a path redirected since (a directory of the
    // user's swapped for a link to someone else's) cannot hand that someone's file over.
    const auto chown = [&](const std::string& to, const FileFacts& was, const std::string& what) {
      commands.push_back("chown -h --from=" + std::to_string(was.uid) + ":" + std::to_string(was.gid) + " " +
                         to + " " + shell_quote(what));
    };
    if (link_owners) {
      // Links and what they lead to may change hands only where all of it lies in the site:
      // a link out of it (to /etc/passwd, say) is refused for that, and no chown is offered.
      const auto in_site = [&](const std::string& p) { return site && path_inside(p, *site); };
      if (!in_site(physical)) return no_fix();
      for (const auto& link : walk.links) {
        if (!in_site(link.path) || !in_site(link.resolved_path)) return no_fix();
        if (link.link.uid != user->uid) chown(owner_spec, link.link, link.path);
        if (link.resolved.uid != user->uid && link.resolved_path != physical)
          chown(owner_spec, link.resolved, link.resolved_path);
      }
      if (commands.empty()) return no_fix();
    }
    if (file.uid != user->uid) chown(owner_spec, file, physical);
    for (const auto& dir : walk.dirs) {
      const bool in_site = site && path_inside(dir.path, *site);
      if (dir.facts.uid != 0 && dir.facts.uid != user->uid)
        chown(in_site ? owner_spec : std::string("root:"), dir.facts, dir.path);
      std::string who;
      if ((dir.facts.mode & S_IWGRP) != 0 && !config_.allow_dir_group_writable) who += 'g';
      if ((dir.facts.mode & S_IWOTH) != 0) who += 'o';
      if (!who.empty()) commands.push_back("chmod " + who + "-w " + shell_quote(dir.path));
    }
    if (!file.is_regular()) return no_fix();
    std::vector<std::string> changes;
    std::string who;
    if ((file.mode & S_IWGRP) != 0 && !config_.allow_file_group_writable) who += 'g';
    if ((file.mode & S_IWOTH) != 0) who += 'o';
    if (!who.empty()) changes.push_back(who + "-w");
    if ((file.mode & (S_ISUID | S_ISGID)) != 0) changes.push_back("ug-s");
    if (is_cgi_script(path) && (file.mode & S_IXUSR) == 0) changes.push_back("u+x");
    if (!changes.empty()) {
      std::string spec;
      for (const auto& change : changes) spec += (spec.empty() ? "" : ",") + change;
      commands.push_back("chmod " + spec + " " + shell_quote(physical));
    }
    if (file.nlink != 1)
      commands.push_back("# " + std::to_string(file.nlink) +
                         " hard links: no chmod or chown removes them; replace the file with a copy");
    if (commands.empty()) return no_fix();
    return commands;
  }

  void show_progress(const std::string& path) {
    if (!progress_ || scanned_ % 256 != 0) return;
    const auto now = Clock::now();
    if (now - last_progress_ < std::chrono::milliseconds(100)) return;
    last_progress_ = now;
    std::string shown = printable(path);
    if (shown.size() > 60) shown = "..." + shown.substr(shown.size() - 57);
    std::fprintf(stderr, "\r\033[Kaudit: %zu scripts, %zu refused: %s", scanned_, refused_.size(),
                 shown.c_str());
  }

  const LoadedConfig& loaded_;
  const Config& config_;
  uid_t caller_uid_;
  bool want_fix_;
  SystemFacts system_facts_;
  CachingFacts facts_;
  AccountDirectory accounts_;
  std::map<std::string, const Handler*, std::less<>> extensions_;  // extension -> the handler claiming it
  bool progress_ = false;
  Clock::time_point last_progress_{};

  size_t scanned_ = 0;
  size_t error_verdicts_ = 0;
  std::vector<Refused> refused_;
  std::map<std::string, size_t> by_check_;
  std::vector<TreeError> errors_;
};

// An absolute path, lexically tidied ("//" and "." dropped), as scripts will be named by it.
std::optional<std::string> tree_root(const std::string& given, std::string& why) {
  std::string path = given;
  if (path.empty()) {
    why = "an empty path";
    return std::nullopt;
  }
  if (path.front() != '/') {
    std::string cwd(4096, '\0');
    if (::getcwd(cwd.data(), cwd.size()) == nullptr) {
      why = "cannot find the working directory: " + errno_text(errno);
      return std::nullopt;
    }
    cwd.resize(cwd.find('\0'));
    path = cwd + "/" + path;
  }
  std::string tidy;
  for (const std::string_view component : split_components(path)) {
    if (component == ".") continue;
    if (component == "..") {
      why = "a '..' component; give the directory without it";
      return std::nullopt;
    }
    tidy += '/';
    tidy += component;
  }
  return tidy.empty() ? "/" : tidy;
}

std::string by_check_text(const std::map<std::string, size_t>& by_check) {
  std::string out;
  for (const auto& [name, count] : by_check)
    out += (out.empty() ? "" : ", ") + name + " " + std::to_string(count);
  return out;
}

void print_json(const Auditor& auditor, bool fix, double seconds) {
  std::string out = json_object_start() + "\"scanned\":" + std::to_string(auditor.scanned());
  out += ",\"refused\":" + std::to_string(auditor.refused().size());
  out += ",\"by_check\":{";
  bool first = true;
  for (const auto& [name, count] : auditor.by_check()) {
    out += (first ? "" : ",") + json_string(name) + ":" + std::to_string(count);
    first = false;
  }
  out += "},\"files\":[";
  first = true;
  for (const Refused& r : auditor.refused()) {
    out += first ? "\n" : ",\n";
    first = false;
    out += "{\"path\":" + json_string(r.path) + ",\"check\":" + json_string(check_name(r.check)) +
           ",\"decision\":" + json_string(verdict_name(r.verdict)) + ",\"reason\":" + json_string(r.reason);
    if (fix) {
      out += ",\"fix\":[";
      for (size_t i = 0; i < r.fix.size(); ++i) out += (i == 0 ? "" : ",") + json_string(r.fix[i]);
      out += "]";
    }
    out += "}";
  }
  out += "],\"errors\":[";
  first = true;
  for (const TreeError& e : auditor.errors()) {
    out += (first ? "" : ",") + std::string("{\"path\":") + json_string(e.path) +
           ",\"error\":" + json_string(e.error) + "}";
    first = false;
  }
  std::array<char, 32> seconds_text{};
  std::snprintf(seconds_text.data(), seconds_text.size(), "%.3f", seconds);
  out += "],\"seconds\":" + std::string(seconds_text.data()) + "}\n";
  std::fputs(out.c_str(), stdout);
}

void print_text(const Auditor& auditor, bool fix, double seconds) {
  if (fix && !auditor.refused().empty()) {
    std::printf(
        "# Commands that make each refused script pass; read them before running them as root.\n"
        "# Run them while the account cannot change its files (suspended, its processes ended):\n"
        "# a directory swapped for a link since the audit would redirect a path, and only the\n"
        "# chown --from guard (the owner the audit saw) stands in the way.\n");
  }
  for (const Refused& r : auditor.refused()) {
    const std::string check(check_name(r.check));
    if (fix) {
      std::printf("# %s: %s: %s\n", printable(r.path).c_str(), check.c_str(), printable(r.reason).c_str());
      for (const auto& command : r.fix) std::printf("%s\n", command.c_str());
    } else {
      std::printf("FAIL %s %s: %s\n", check.c_str(), printable(r.path).c_str(), printable(r.reason).c_str());
    }
  }
  for (const TreeError& e : auditor.errors())
    std::fprintf(stderr, "error: %s: %s\n", printable(e.path).c_str(), e.error.c_str());
  const std::string counts = by_check_text(auditor.by_check());
  std::printf("%sscanned %zu scripts in %.2f s: %zu refused%s\n", fix ? "# " : "", auditor.scanned(), seconds,
              auditor.refused().size(), counts.empty() ? "" : (" (" + counts + ")").c_str());
}

int run_audit(const AuditOptions& opt) {
  const auto started = Clock::now();
  const LoadedConfig config = load_config(opt.config);
  if (!config) return fail(ErrorCode::invalid, config.error().to_string());
  // As `check`: root asks on the caller's behalf; anyone else must be the caller, or every
  // script would be refused for that alone (check caller).
  SystemFacts facts;
  const auto caller = facts.user_by_name(config->caller);
  if (!caller)
    return fail(ErrorCode::invalid, "the configured caller " + config->caller + " is not a user of this system");
  const uid_t uid = ::getuid();
  if (uid != 0 && uid != caller->uid)
    return fail(ErrorCode::invalid, "audit runs as root or as the caller " + config->caller + " (uid " +
                                        std::to_string(caller->uid) + "); as uid " + std::to_string(uid) +
                                        " every script would be refused (check caller)");

  Auditor auditor(config, caller->uid, opt.fix);
  bool bad_argument = false;
  for (const auto& given : opt.dirs) {
    std::string why;
    const auto root = tree_root(given, why);
    if (!root) {
      std::fprintf(stderr, "error: %s: %s\n", printable(given).c_str(), why.c_str());
      bad_argument = true;
      continue;
    }
    auditor.audit(*root);
  }
  auditor.finish_progress();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  if (opt.json)
    print_json(auditor, opt.fix, seconds);
  else
    print_text(auditor, opt.fix, seconds);
  if (bad_argument || !auditor.errors().empty() || auditor.any_error_verdict()) return exit_error;
  return auditor.refused().empty() ? exit_ok : exit_refused;
}

}  // namespace

void add_audit_command(CLI::App& app, Commands& commands) {
  auto opt = std::make_shared<AuditOptions>();
  auto* audit = app.add_subcommand(
      "audit",
      "List every script under DIR that suwrap would refuse, with the check and the reason, and the\n"
      "count per check. Scripts: files with an extension a handler claims, and (with a cgi handler)\n"
      "executable files; symbolic links too. Exit 0 none refused, 1 some, 2 error.");
  audit->add_option("dir", opt->dirs, "Directories to audit (docroots, usually)")->required();
  audit->add_flag("--json", opt->json, "Print one JSON object: scanned, refused, by_check, files");
  audit->add_flag("--fix", opt->fix,
                  "Print (never run) the chmod/chown commands that would make each refused script pass");
  audit->add_option("--config", opt->config, "Configuration file (default: the compiled-in one)");
  commands.push_back({audit, [opt] { return run_audit(*opt); }});
}

}  // namespace suwrap::cli
