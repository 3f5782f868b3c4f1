// SPDX-License-Identifier: Apache-2.0
// decide(): checks 1-12 of suwrap(8), CHECKS, against facts and accounts held in memory. For
// each check a request that fails it — the check named, the verdict, the HTTP status, the
// exit code, and every later check skipped — and one that passes it; owner and account mode
// where they differ. The walk and the user database are a fake FactSource, so every case
// runs without root and without a file on disk.
#include "suwrap/policy/checks.hpp"

#include <sys/stat.h>
#include <sys/types.h>

#include <cerrno>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "suwrap/config/accounts.hpp"
#include "suwrap/config/config.hpp"
#include "suwrap/config/names.hpp"
#include "suwrap/config/paths.hpp"
#include "suwrap/policy/facts.hpp"
#include "suwrap/policy/walk.hpp"

namespace {

using suwrap::policy::Account;
using suwrap::policy::AccountAnswer;
using suwrap::policy::AccountList;
using suwrap::policy::AccountSource;
using suwrap::policy::Check;
using suwrap::policy::check_name;
using suwrap::policy::Config;
using suwrap::policy::ConfigError;
using suwrap::policy::Decision;
using suwrap::util::Expected;
using suwrap::policy::FactSource;
using suwrap::policy::FileFacts;
using suwrap::policy::GroupInfo;
using suwrap::policy::Handler;
using suwrap::policy::HandlerKind;
using suwrap::policy::LoadedConfig;
using suwrap::policy::Mode;
using suwrap::policy::Outcome;
using suwrap::policy::outcome_name;
using suwrap::policy::Request;
using suwrap::policy::SymlinkFact;
using suwrap::policy::SymlinkPolicy;
using suwrap::policy::UserInfo;
using suwrap::policy::Verdict;
using suwrap::policy::verdict_name;
using suwrap::policy::Walk;
using suwrap::policy::WalkError;
using suwrap::policy::WalkErrorKind;
using suwrap::policy::WalkNode;

constexpr uid_t root_uid = 0;
constexpr uid_t www_data_uid = 33;
constexpr uid_t alice_uid = 1001;
constexpr uid_t bob_uid = 1002;

bool Contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// ---- the fake --------------------------------------------------------------------------

// A file system and a user database in memory, answering as SystemFacts would. Objects are
// named by their physical paths; a directory's entries are the paths below it. The walk
// follows walk_path: each component looked up in the directory before it, "." and ".."
// taken as the kernel takes them, a link's target walked in its place and recorded.
class FakeFacts final : public FactSource {
 public:
  FakeFacts() { dir("/", root_uid); }

  void dir(const std::string& path, uid_t uid, mode_t mode = 0755) { put(path, S_IFDIR | mode, uid, 2); }
  void file(const std::string& path, uid_t uid, mode_t mode = 0644, nlink_t links = 1) {
    put(path, S_IFREG | mode, uid, links);
  }
  void symlink(const std::string& path, uid_t uid, std::string target) {
    put(path, S_IFLNK | 0777, uid, 1);
    nodes_[path].target = std::move(target);
  }
  // Changes what an object's mode says (its type stays).
  void chmod(const std::string& path, mode_t mode) {
    FileFacts& facts = nodes_.at(path).facts;
    facts.mode = (facts.mode & S_IFMT) | mode;
  }
  void user(const std::string& name, uid_t uid, gid_t gid) { users_.push_back({name, uid, gid, "/home/" + name}); }
  void group(const std::string& name, gid_t gid) { groups_.push_back({name, gid}); }
  void php_sapi_is(const std::string& program, std::string sapi) { sapis_[program] = std::move(sapi); }

  Expected<Walk, WalkError> walk(std::string_view absolute_path) override {
    Steps steps;
    steps.dirs.push_back({"/", nodes_.at("/").facts});
    unsigned links_left = 40;
    if (auto error = walk_from(steps, absolute_path, links_left)) return suwrap::util::unexpected(*error);
    Walk walk;
    if (steps.leaf) {
      walk.object = *steps.leaf;
    } else {  // the path names a directory: it is the object, its parents are the chain
      walk.object = steps.dirs.back();
      steps.dirs.pop_back();
    }
    walk.dirs = std::move(steps.dirs);
    walk.links = std::move(steps.links);
    return walk;
  }

  std::optional<FileFacts> stat_path(std::string_view path) override {
    auto walked = walk(path);
    if (!walked) return std::nullopt;
    return walked->object.facts;
  }

  std::optional<UserInfo> user_by_name(std::string_view name) override {
    for (const auto& u : users_)
      if (u.name == name) return u;
    return std::nullopt;
  }
  std::optional<UserInfo> user_by_uid(uid_t uid) override {
    for (const auto& u : users_)
      if (u.uid == uid) return u;
    return std::nullopt;
  }
  std::optional<GroupInfo> group_by_name(std::string_view name) override {
    for (const auto& g : groups_)
      if (g.name == name) return g;
    return std::nullopt;
  }
  std::optional<GroupInfo> group_by_gid(gid_t gid) override {
    for (const auto& g : groups_)
      if (g.gid == gid) return g;
    return std::nullopt;
  }
  std::optional<std::string> php_sapi(std::string_view path) override {
    auto found = sapis_.find(std::string(path));
    if (found == sapis_.end()) return std::nullopt;
    return found->second;
  }

 private:
  struct Node {
    FileFacts facts;
    std::string target;  // a link's content
  };
  // Where the walk stands: the physical chain of directories, and a non-directory reached.
  struct Steps {
    std::vector<WalkNode> dirs;
    std::optional<WalkNode> leaf;
    std::vector<SymlinkFact> links;
  };

  void put(const std::string& path, mode_t mode, uid_t uid, nlink_t links) {
    FileFacts facts;
    facts.dev = 8;
    facts.ino = next_inode_++;
    facts.mode = mode;
    facts.uid = uid;
    facts.gid = uid;
    facts.nlink = links;
    nodes_[path] = Node{facts, {}};
  }

  static std::string child(const std::string& dir, std::string_view name) {
    return (dir == "/" ? "" : dir) + "/" + std::string(name);
  }

  std::optional<WalkError> walk_from(Steps& steps, std::string_view path, unsigned& links_left) {
    if (!path.empty() && path.front() == '/') steps.dirs.resize(1);
    for (const auto name : suwrap::policy::split_components(path)) {
      if (steps.leaf) return WalkError{WalkErrorKind::not_directory, child(steps.leaf->path, name), ENOTDIR};
      if (name == ".") continue;
      if (name == "..") {
        if (steps.dirs.size() > 1) steps.dirs.pop_back();
        continue;
      }
      const std::string at = child(steps.dirs.back().path, name);
      const auto found = nodes_.find(at);
      if (found == nodes_.end()) return WalkError{WalkErrorKind::missing, at, ENOENT};
      const Node& node = found->second;
      if (node.facts.is_symlink()) {
        if (links_left-- == 0) return WalkError{WalkErrorKind::too_many_links, at, ELOOP};
        const size_t index = steps.links.size();
        steps.links.push_back({at, node.facts, node.target, {}, {}});
        if (auto error = walk_from(steps, node.target, links_left)) return error;
        const WalkNode& reached = steps.leaf ? *steps.leaf : steps.dirs.back();
        steps.links[index].resolved_path = reached.path;
        steps.links[index].resolved = reached.facts;
      } else if (node.facts.is_dir()) {
        steps.dirs.push_back({at, node.facts});
      } else {
        steps.leaf = WalkNode{at, node.facts};
      }
    }
    return std::nullopt;
  }

  std::map<std::string, Node> nodes_;
  std::vector<UserInfo> users_;
  std::vector<GroupInfo> groups_;
  std::map<std::string, std::string> sapis_;
  ino_t next_inode_ = 2;
};

// An account source that gives one answer to whatever it is asked, as an AccountDirectory
// does for a broken file, and may have a problem that refuses everything (an accounts_dir
// that cannot be trusted). AccountList can do neither.
class AnsweringAccounts final : public AccountSource {
 public:
  explicit AnsweringAccounts(AccountAnswer answer, std::optional<ConfigError> problem = std::nullopt)
      : answer_(std::move(answer)), problem_(std::move(problem)) {}
  std::optional<ConfigError> problem() override { return problem_; }
  AccountAnswer for_user(std::string_view user) override {
    asked_for_user = std::string(user);
    return answer_;
  }
  AccountAnswer for_script(std::string_view script) override {
    asked_for_script = std::string(script);
    return answer_;
  }

  std::optional<std::string> asked_for_user;
  std::optional<std::string> asked_for_script;

 private:
  AccountAnswer answer_;
  std::optional<ConfigError> problem_;
};

ConfigError broken_file_error() {
  return ConfigError{"/etc/suwrap/accounts.d/alice.toml", 3, "docroots", "expected an array of absolute paths"};
}

// ---- what a decision must look like ------------------------------------------------------

std::string reports_of(const Decision& decision) {
  std::string out;
  for (const auto& report : decision.checks) {
    out += "  " + std::string(check_name(report.check)) + " " + std::string(outcome_name(report.outcome));
    if (!report.detail.empty()) out += ": " + report.detail;
    out += "\n";
  }
  return out;
}

::testing::AssertionResult fails_with(const Decision& decision, const std::string& why) {
  return ::testing::AssertionFailure() << why << "\n  got " << verdict_name(decision.verdict) << ", status "
                                       << decision.http_status << ", exit " << decision.exit_code()
                                       << ", reason: " << decision.reason << "\n"
                                       << reports_of(decision);
}

// Reports for checks 1..12, in order, with these outcomes: `pass` before `at`, `at_outcome`
// at it, `after` for the rest.
::testing::AssertionResult reports_are(const Decision& decision, Check at, Outcome at_outcome, Outcome after) {
  if (decision.checks.size() != static_cast<std::size_t>(suwrap::policy::last_policy_check))
    return fails_with(decision, "expected one report for each of checks 1-12");
  for (std::size_t i = 0; i < decision.checks.size(); ++i) {
    const auto& report = decision.checks[i];
    const auto check = static_cast<Check>(i + 1);
    if (report.check != check) return fails_with(decision, "the reports are not in the order of the checks");
    const Outcome expected = check < at ? Outcome::pass : check == at ? at_outcome : after;
    if (report.outcome != expected)
      return fails_with(decision, "check " + std::string(check_name(check)) + " is " +
                                      std::string(outcome_name(report.outcome)) + ", expected " +
                                      std::string(outcome_name(expected)));
  }
  return ::testing::AssertionSuccess();
}

// The request was refused by `check`: every check before it passed, it failed with the
// decision's reason, every later one was skipped; verdict, HTTP status and exit code as given.
::testing::AssertionResult RefusedBy(const Decision& decision, Check check, Verdict verdict, int http_status,
                                     int exit_code) {
  if (auto in_order = reports_are(decision, check, Outcome::fail, Outcome::skip); !in_order) return in_order;
  if (decision.failed != check)
    return fails_with(decision, "expected the decision to name check " + std::string(check_name(check)));
  if (decision.verdict != verdict)
    return fails_with(decision, "expected verdict " + std::string(verdict_name(verdict)));
  if (decision.http_status != http_status)
    return fails_with(decision, "expected HTTP status " + std::to_string(http_status));
  if (decision.exit_code() != exit_code) return fails_with(decision, "expected exit code " + std::to_string(exit_code));
  const auto& failed = decision.checks[static_cast<std::size_t>(check) - 1];
  if (decision.reason.empty() || failed.detail != decision.reason)
    return fails_with(decision, "expected the failed check to carry the decision's reason");
  return ::testing::AssertionSuccess();
}

// Every check passed: allow, 200, exit 0, and the target and handler known.
::testing::AssertionResult Allowed(const Decision& decision) {
  if (auto all_passed = reports_are(decision, Check::vhost, Outcome::pass, Outcome::pass); !all_passed)
    return all_passed;
  if (decision.verdict != Verdict::allow || decision.failed || decision.http_status != 200 ||
      decision.exit_code() != 0)
    return fails_with(decision, "expected allow, no failed check, status 200, exit 0");
  if (!decision.target || decision.handler == nullptr)
    return fails_with(decision, "an allowed decision names its target and handler");
  return ::testing::AssertionSuccess();
}

const std::string& detail_of(const Decision& decision, Check check) {
  return decision.checks.at(static_cast<std::size_t>(check) - 1).detail;
}

// ---- the world the requests are made in ---------------------------------------------------
//
//   users      root 0, www-data 33 (the caller), daemon 2, sys 999, carol 1000,
//              alice 1001, bob 1002; each with a group of the same name and id
//   tree       /home/{alice,bob,carol}/public_html, each user's, 0755
//              /home/alice/public_html/index.php 0644, run.cgi 0755, alice's
//              /home/bob/public_html/index.php 0644, bob's
//   handlers   php  (php-cgi, .php), php81 (php-cgi8.1, no extension), cgi (.cgi)
//   config     owner mode, caller www-data, docroots /home/*/public_html, min 1000

const std::string alice_docroot = "/home/alice/public_html";
const std::string alice_script = alice_docroot + "/index.php";

class Decide : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& [name, id] : std::vector<std::pair<std::string, uid_t>>{
             {"root", 0}, {"daemon", 2}, {"www-data", 33}, {"sys", 999}, {"carol", 1000}, {"alice", 1001}, {"bob", 1002}}) {
      facts.user(name, id, id);
      facts.group(name, id);
    }
    facts.dir("/home", root_uid);
    for (const auto& [name, id] : std::vector<std::pair<std::string, uid_t>>{
             {"alice", alice_uid}, {"bob", bob_uid}, {"carol", 1000}}) {
      facts.dir("/home/" + name, id);
      facts.dir("/home/" + name + "/public_html", id);
    }
    facts.file(alice_script, alice_uid);
    facts.file(alice_docroot + "/run.cgi", alice_uid, 0755);
    facts.file("/home/bob/public_html/index.php", bob_uid);

    facts.dir("/usr", root_uid);
    facts.dir("/usr/bin", root_uid);
    facts.dir("/etc", root_uid);
    facts.dir("/etc/php", root_uid);
    for (const std::string version : {"8.1", "8.2"}) {
      facts.file("/usr/bin/php-cgi" + version, root_uid, 0755);
      facts.php_sapi_is("/usr/bin/php-cgi" + version, "cgi-fcgi");
      facts.dir("/etc/php/" + version, root_uid);
      facts.dir("/etc/php/" + version + "/cgi", root_uid);
      facts.file("/etc/php/" + version + "/cgi/php.ini", root_uid);
    }
    facts.symlink("/usr/bin/php-cgi", root_uid, "php-cgi8.2");
    facts.php_sapi_is("/usr/bin/php-cgi", "cgi-fcgi");

    config.file = "/etc/suwrap/suwrap.toml";
    config.accounts_dir = "/etc/suwrap/accounts.d";
    config.caller = "www-data";
    config.mode = Mode::owner;
    config.docroots = {"/home/*/public_html"};
    add_handler("php", HandlerKind::php, "/usr/bin/php-cgi", "/etc/php/8.2/cgi", {".php"});
    add_handler("php81", HandlerKind::php, "/usr/bin/php-cgi8.1", "/etc/php/8.1/cgi", {});
    add_handler("cgi", HandlerKind::cgi, "", "", {".cgi"});

    request.real_uid = www_data_uid;
    request.environment = {"GATEWAY_INTERFACE=CGI/1.1", "REQUEST_METHOD=GET", "SERVER_NAME=alice.example"};
  }

  void add_handler(const std::string& name, HandlerKind kind, const std::string& path, const std::string& ini_dir,
                   std::vector<std::string> extensions) {
    Handler handler;
    handler.name = name;
    handler.kind = kind;
    handler.path = path;
    handler.ini_dir = ini_dir;
    handler.extensions = std::move(extensions);
    config.handlers[name] = handler;
  }

  // An account file as AccountList holds it.
  Account& add_account(const std::string& name, const std::string& user, std::vector<std::string> docroots) {
    Account account;
    account.name = name;
    account.file = config.accounts_dir + "/" + name + ".toml";
    account.user = user;
    account.docroots = std::move(docroots);
    account.domains = {name + ".example"};
    accounts.push_back(std::move(account));
    return accounts.back();
  }

  Decision decide(const std::string& script) {
    request.script = script;
    AccountList list(accounts);
    return decide_with(list);
  }

  // Alice's script, run by a php handler whose program php_sapi() reads as `sapi`.
  Decision decide_with_php_program(const std::string& program, const std::string& sapi) {
    facts.file(program, root_uid, 0755);
    facts.php_sapi_is(program, sapi);
    config.handlers["php"].path = program;
    return decide(alice_script);
  }

  Decision decide_with(AccountSource& source) {
    // Kept: an allowed decision points at its handler in the configuration.
    loaded = std::make_unique<LoadedConfig>(config);
    return suwrap::policy::decide(request, *loaded, source, facts);
  }

  FakeFacts facts;
  Config config;
  std::vector<Account> accounts;
  Request request;
  std::unique_ptr<LoadedConfig> loaded;
};

// ---- the world as set up ------------------------------------------------------------------

TEST_F(Decide, AllowsAliceScriptAndSaysWhatTheChildNeeds) {
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(decision.script, alice_script);
  EXPECT_EQ(decision.physical_path, alice_script);
  EXPECT_EQ(decision.script_dir, alice_docroot);
  EXPECT_EQ(decision.script_facts.uid, alice_uid);
  EXPECT_EQ(decision.target->user.name, "alice");
  EXPECT_EQ(decision.target->group.gid, alice_uid);
  EXPECT_EQ(decision.target->account, nullptr);
  EXPECT_EQ(decision.handler_name, "php");
  EXPECT_EQ(decision.phprc, "/etc/php/8.2/cgi/php.ini");
  EXPECT_EQ(decision.reason, "all checks passed");
}

// ---- 1. caller ------------------------------------------------------------------------------

TEST_F(Decide, CallerPassesForTheConfiguredCaller) {
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_TRUE(Contains(detail_of(decision, Check::caller), "www-data"));
}

TEST_F(Decide, CallerDeniesAnyOtherRealUid) {
  request.real_uid = bob_uid;
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::caller, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "uid 1002 (bob) is not the configured caller www-data"));
}

TEST_F(Decide, CallerDeniesRootToo) {
  request.real_uid = root_uid;
  EXPECT_TRUE(RefusedBy(decide(alice_script), Check::caller, Verdict::deny, 403, 1));
}

TEST_F(Decide, CallerThatIsNoUserOfTheSystemIsAnError) {
  config.caller = "nginx";
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::caller, Verdict::error, 500, 3));
  EXPECT_TRUE(Contains(decision.reason, "not a user of this system"));
}

// ---- 2. config ------------------------------------------------------------------------------

TEST_F(Decide, ConfigPassesForAValidConfigurationAndNamesTheAccountFileItJudged) {
  add_account("alice", "alice", {alice_docroot});
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_TRUE(Contains(detail_of(decision, Check::config), "/etc/suwrap/suwrap.toml"));
  EXPECT_TRUE(Contains(detail_of(decision, Check::config), "account file /etc/suwrap/accounts.d/alice.toml"));
}

// The caller's name lives in the main file: without a valid one `caller` cannot be judged.
TEST_F(Decide, ConfigThatCannotBeLoadedIsAnErrorAndLeavesCallerUnjudged) {
  request.script = alice_script;
  const LoadedConfig broken(suwrap::util::unexpected(
      ConfigError{"/etc/suwrap/suwrap.toml", 0, "", "owned by uid 1001; expected root"}));
  AccountList none({});
  const Decision decision = suwrap::policy::decide(request, broken, none, facts);
  ASSERT_EQ(decision.checks.size(), 12U);
  EXPECT_EQ(decision.checks[0].outcome, Outcome::skip) << reports_of(decision);
  EXPECT_EQ(decision.checks[1].outcome, Outcome::fail) << reports_of(decision);
  for (std::size_t i = 2; i < decision.checks.size(); ++i)
    EXPECT_EQ(decision.checks[i].outcome, Outcome::skip) << reports_of(decision);
  EXPECT_EQ(decision.failed, Check::config);
  EXPECT_EQ(decision.verdict, Verdict::error);
  EXPECT_EQ(decision.http_status, 500);
  EXPECT_EQ(decision.exit_code(), 2);
  EXPECT_TRUE(Contains(decision.reason, "owned by uid 1001; expected root"));
}

// An accounts_dir that cannot be trusted refuses whatever is asked.
TEST_F(Decide, ConfigIsAnErrorWhenTheAccountsDirectoryCannotBeTrusted) {
  request.script = alice_script;
  AnsweringAccounts untrusted(AccountAnswer{},
                              ConfigError{config.accounts_dir, 0, "", "writable by group; expected root's, 0755"});
  const Decision decision = decide_with(untrusted);
  EXPECT_FALSE(untrusted.asked_for_user.has_value()) << "no account is looked up in a directory not trusted";
  EXPECT_TRUE(RefusedBy(decision, Check::config, Verdict::error, 500, 2));
  EXPECT_TRUE(Contains(decision.reason, "writable by group"));
}

// A broken account file is found where the account is looked up, at `target`; the report
// is put back at `config`, and what had passed after it is skipped, as if it never ran.
TEST_F(Decide, BrokenAccountFileFailsConfigAndSkipsEverythingAfterIt) {
  request.script = alice_script;
  AccountAnswer broken;
  broken.kind = AccountAnswer::Kind::broken;
  broken.problem = broken_file_error();
  AnsweringAccounts source(broken);
  const Decision decision = decide_with(source);
  EXPECT_TRUE(RefusedBy(decision, Check::config, Verdict::error, 500, 2));
  EXPECT_TRUE(Contains(decision.reason, "/etc/suwrap/accounts.d/alice.toml"));
  EXPECT_TRUE(Contains(decision.reason, "expected an array of absolute paths"));
  EXPECT_FALSE(decision.target.has_value()) << "nobody is named as the target of a configuration error";
  EXPECT_EQ(source.asked_for_user, "alice") << "owner mode asks for the account naming the script's owner";
}

TEST_F(Decide, BrokenAccountFileFailsConfigInAccountModeToo) {
  config.mode = Mode::account;
  request.script = alice_script;
  AccountAnswer broken;
  broken.kind = AccountAnswer::Kind::broken;
  broken.problem = broken_file_error();
  AnsweringAccounts source(broken);
  EXPECT_TRUE(RefusedBy(decide_with(source), Check::config, Verdict::error, 500, 2));
  EXPECT_EQ(source.asked_for_script, alice_script) << "account mode asks for the account holding the script";
}

// ---- 3. request -----------------------------------------------------------------------------

TEST_F(Decide, RequestPassesForAnAbsolutePathAndAWellFormedEnvironment) {
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(detail_of(decision, Check::request), "the script path and the environment are well-formed");
}

TEST_F(Decide, RequestDeniesAMissingScriptPath) {
  request.script.reset();
  AccountList none({});
  const Decision decision = decide_with(none);
  EXPECT_TRUE(RefusedBy(decision, Check::request, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "SCRIPT_FILENAME is missing"));
}

TEST_F(Decide, RequestDeniesARelativePath) {
  EXPECT_TRUE(RefusedBy(decide("home/alice/public_html/index.php"), Check::request, Verdict::deny, 403, 1));
}

// The file it leads to exists and would pass every other check.
TEST_F(Decide, RequestDeniesADotDotComponentEvenWhereItLeadsToAGoodScript) {
  EXPECT_TRUE(RefusedBy(decide(alice_docroot + "/../public_html/index.php"), Check::request, Verdict::deny, 403, 1));
}

TEST_F(Decide, RequestDeniesAnEnvironmentWithANameGivenTwice) {
  request.environment.emplace_back("REQUEST_METHOD=POST");
  EXPECT_TRUE(RefusedBy(decide(alice_script), Check::request, Verdict::deny, 403, 1));
}

TEST_F(Decide, RequestDeniesASuwrapHandlerThatIsNoHandlerName) {
  request.handler = "../php";
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::request, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "SUWRAP_HANDLER"));
}

// ---- 4. docroot -----------------------------------------------------------------------------

TEST_F(Decide, DocrootPassesInsideAPatternsDirectory) {
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(detail_of(decision, Check::docroot), "inside docroot /home/*/public_html");
}

// suEXEC's string prefix would take /home/alice/public_html2 for /home/alice/public_html.
TEST_F(Decide, DocrootDeniesASiblingWhoseNameStartsLikeTheDocroot) {
  facts.dir("/home/alice/public_html2", alice_uid);
  facts.file("/home/alice/public_html2/index.php", alice_uid);
  const Decision decision = decide("/home/alice/public_html2/index.php");
  EXPECT_TRUE(RefusedBy(decision, Check::docroot, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "is not inside any docroot"));
}

TEST_F(Decide, DocrootDeniesAScriptOutsideEveryDocroot) {
  facts.file("/home/alice/index.php", alice_uid);
  EXPECT_TRUE(RefusedBy(decide("/home/alice/index.php"), Check::docroot, Verdict::deny, 403, 1));
}

// ---- 5. path --------------------------------------------------------------------------------

TEST_F(Decide, PathDeniesAMissingScriptWith404) {
  const Decision decision = decide(alice_docroot + "/missing.php");
  EXPECT_TRUE(RefusedBy(decision, Check::path, Verdict::deny, 404, 1));
  EXPECT_TRUE(Contains(decision.reason, "does not exist"));
}

TEST_F(Decide, PathDeniesAFileUsedAsADirectoryWith404) {
  EXPECT_TRUE(RefusedBy(decide(alice_script + "/more.php"), Check::path, Verdict::deny, 404, 1));
}

TEST_F(Decide, PathPassesASymlinkWhenLinkAndTargetAreTheOwners) {
  facts.symlink(alice_docroot + "/home.php", alice_uid, "index.php");
  const Decision decision = decide(alice_docroot + "/home.php");
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(decision.physical_path, alice_script);
  EXPECT_TRUE(Contains(detail_of(decision, Check::path), "1 symbolic link(s)"));
}

TEST_F(Decide, PathDeniesEverySymlinkWhenSymlinksIsDeny) {
  config.symlinks = SymlinkPolicy::deny;
  facts.symlink(alice_docroot + "/home.php", alice_uid, "index.php");
  const Decision decision = decide(alice_docroot + "/home.php");
  EXPECT_TRUE(RefusedBy(decision, Check::path, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "symlinks = \"deny\""));
}

TEST_F(Decide, PathDeniesALinkOfAnotherOwnerToTheScript) {
  facts.symlink(alice_docroot + "/home.php", bob_uid, "index.php");
  const Decision decision = decide(alice_docroot + "/home.php");
  EXPECT_TRUE(RefusedBy(decision, Check::path, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "owner-match"));
}

TEST_F(Decide, PathDeniesAnOwnersLinkToAnotherUsersScript) {
  facts.symlink(alice_docroot + "/bobs.php", alice_uid, "/home/bob/public_html/index.php");
  EXPECT_TRUE(RefusedBy(decide(alice_docroot + "/bobs.php"), Check::path, Verdict::deny, 403, 1));
}

TEST_F(Decide, PathDeniesALinkThatLeadsOutOfTheDocroot) {
  facts.dir("/home/alice/private", alice_uid);
  facts.file("/home/alice/private/secret.php", alice_uid);
  facts.symlink(alice_docroot + "/secret.php", alice_uid, "../private/secret.php");
  const Decision decision = decide(alice_docroot + "/secret.php");
  EXPECT_TRUE(RefusedBy(decision, Check::path, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "outside the docroot /home/alice/public_html"));
}

// ---- 6. target ------------------------------------------------------------------------------

TEST_F(Decide, TargetInOwnerModeIsTheScriptsOwnerWithoutAnAccountFile) {
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(detail_of(decision, Check::target), "owner alice (no account file)");
}

TEST_F(Decide, TargetInOwnerModeTakesTheAccountNamingTheOwner) {
  add_account("alice-site", "alice", {"/srv/elsewhere"});
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(detail_of(decision, Check::target), "account alice-site (user alice)");
  ASSERT_NE(decision.target->account, nullptr);
  EXPECT_EQ(decision.target->account->name, "alice-site");
}

TEST_F(Decide, TargetInOwnerModeDeniesAScriptWhoseOwnerIsNoUser) {
  facts.file(alice_docroot + "/orphan.php", 4242);
  const Decision decision = decide(alice_docroot + "/orphan.php");
  EXPECT_TRUE(RefusedBy(decision, Check::target, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "no user has uid 4242"));
}

TEST_F(Decide, TargetDeniesADisabledAccount) {
  add_account("alice", "alice", {alice_docroot}).disabled = true;
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::target, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "account alice is disabled"));
}

// Two files naming one user: which `disabled` applies would be a matter of file names.
TEST_F(Decide, TargetInOwnerModeDeniesAUserNamedByTwoAccountFiles) {
  add_account("alice", "alice", {alice_docroot});
  add_account("alice-old", "alice", {"/srv/alice"});
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::target, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "named by two account files (alice, alice-old)"));
}

TEST_F(Decide, TargetInAccountModeIsTheAccountWhoseDocrootHoldsTheScript) {
  config.mode = Mode::account;
  add_account("alice-site", "alice", {alice_docroot});
  add_account("bob-site", "bob", {"/home/bob/public_html"});
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(detail_of(decision, Check::target), "account alice-site (user alice)");
}

TEST_F(Decide, TargetInAccountModeDeniesAScriptNoAccountHolds) {
  config.mode = Mode::account;
  add_account("bob-site", "bob", {"/home/bob/public_html"});
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::target, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "no account's docroot holds"));
}

// Two accounts' docroots holding one script is a configuration that cannot say whose it
// is: check `config`, not a refusal of the request alone.
TEST_F(Decide, TargetInAccountModeTurnsTwoAccountsHoldingTheScriptIntoAConfigError) {
  config.mode = Mode::account;
  add_account("alice-site", "alice", {alice_docroot});
  add_account("alice-all", "alice", {"/home/alice"});
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::config, Verdict::error, 500, 2));
  EXPECT_TRUE(Contains(decision.reason, "alice-all and alice-site both hold"));
}

TEST_F(Decide, AmbiguousAnswerDeniesAtTargetInOwnerModeAndIsAConfigErrorInAccountMode) {
  request.script = alice_script;
  AccountAnswer ambiguous;
  ambiguous.kind = AccountAnswer::Kind::ambiguous;
  ambiguous.files = {"a", "b"};
  AnsweringAccounts owner_source(ambiguous);
  EXPECT_TRUE(RefusedBy(decide_with(owner_source), Check::target, Verdict::deny, 403, 1));

  config.mode = Mode::account;
  AnsweringAccounts account_source(ambiguous);
  EXPECT_TRUE(RefusedBy(decide_with(account_source), Check::config, Verdict::error, 500, 2));
}

// ---- 7. user --------------------------------------------------------------------------------

TEST_F(Decide, UserPassesAtExactlyMinUidAndMinGid) {
  facts.file("/home/carol/public_html/index.php", 1000);
  const Decision decision = decide("/home/carol/public_html/index.php");
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(detail_of(decision, Check::user), "carol (uid 1000), group carol (gid 1000)");
}

TEST_F(Decide, UserInOwnerModeDeniesAScriptOwnedByRoot) {
  facts.file(alice_docroot + "/roots.php", root_uid);
  const Decision decision = decide(alice_docroot + "/roots.php");
  EXPECT_TRUE(RefusedBy(decision, Check::user, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "root is root"));
}

TEST_F(Decide, UserInOwnerModeDeniesAnOwnerBelowMinUid) {
  facts.file(alice_docroot + "/sys.php", 999);
  const Decision decision = decide(alice_docroot + "/sys.php");
  EXPECT_TRUE(RefusedBy(decision, Check::user, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "below min_uid 1000"));
}

TEST_F(Decide, UserDeniesAnAccountGroupBelowMinGid) {
  add_account("alice", "alice", {alice_docroot}).group = "daemon";
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::user, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "below min_gid 1000"));
}

TEST_F(Decide, UserDeniesAnAccountGroupThatDoesNotExist) {
  add_account("alice", "alice", {alice_docroot}).group = "webmasters";
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::user, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "group webmasters does not exist"));
}

TEST_F(Decide, UserInAccountModeIsTheAccountsUser) {
  config.mode = Mode::account;
  add_account("alice-site", "alice", {alice_docroot});
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(decision.target->user.uid, alice_uid);
}

// An account whose user no longer exists breaks only that account.
TEST_F(Decide, UserInAccountModeDeniesAnAccountWhoseUserDoesNotExist) {
  config.mode = Mode::account;
  add_account("alice-site", "alice-gone", {alice_docroot});
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::user, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "user alice-gone of account alice-site does not exist"));
}

TEST_F(Decide, UserInAccountModeDeniesAnAccountRunAsRoot) {
  config.mode = Mode::account;
  add_account("alice-site", "root", {alice_docroot});
  EXPECT_TRUE(RefusedBy(decide(alice_script), Check::user, Verdict::deny, 403, 1));
}

// ---- 8. owner -------------------------------------------------------------------------------

// In owner mode the target is whoever owns the script, so this check holds by construction.
TEST_F(Decide, OwnerInOwnerModePassesForWhoeverOwnsTheScript) {
  const Decision decision = decide("/home/bob/public_html/index.php");
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(detail_of(decision, Check::owner), "owned by bob");
  EXPECT_EQ(decision.target->user.name, "bob");
}

TEST_F(Decide, OwnerInAccountModePassesForAScriptOfTheAccountsUser) {
  config.mode = Mode::account;
  add_account("alice-site", "alice", {alice_docroot});
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(detail_of(decision, Check::owner), "owned by alice");
}

// Bob's file in Alice's docroot would run as Alice in account mode: refused.
TEST_F(Decide, OwnerInAccountModeDeniesAnotherUsersFileInTheAccountsDocroot) {
  config.mode = Mode::account;
  add_account("alice-site", "alice", {alice_docroot});
  facts.file(alice_docroot + "/planted.php", bob_uid);
  const Decision decision = decide(alice_docroot + "/planted.php");
  EXPECT_TRUE(RefusedBy(decision, Check::owner, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "is owned by uid 1002 (bob), not by alice"));
  ASSERT_TRUE(decision.target.has_value()) << "a refusal after `user` names whom it would have run as";
  EXPECT_EQ(decision.target->user.name, "alice");
}

// ---- 9. dir_perms ---------------------------------------------------------------------------

TEST_F(Decide, DirPermsPassesAGroupWritableDirectoryWhenAllowed) {
  config.allow_dir_group_writable = true;
  facts.chmod(alice_docroot, 0775);
  ASSERT_TRUE(Allowed(decide(alice_script)));
}

TEST_F(Decide, DirPermsDeniesAGroupWritableDirectoryByDefault) {
  facts.chmod(alice_docroot, 0775);
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::dir_perms, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "/home/alice/public_html is writable by group (mode 0775)"));
}

TEST_F(Decide, DirPermsDeniesADirectoryWritableByOthersEvenWhenGroupWritingIsAllowed) {
  config.allow_dir_group_writable = true;
  facts.chmod("/home", 01777);
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::dir_perms, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "/home is writable by others (mode 1777)"));
}

TEST_F(Decide, DirPermsDeniesADirectoryOfAnotherUserOnTheWay) {
  facts.dir(alice_docroot + "/shared", bob_uid);
  facts.file(alice_docroot + "/shared/index.php", alice_uid);
  const Decision decision = decide(alice_docroot + "/shared/index.php");
  EXPECT_TRUE(RefusedBy(decision, Check::dir_perms, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "owned by uid 1002 (bob), not by root or alice"));
}

// ---- 10. file_perms -------------------------------------------------------------------------

TEST_F(Decide, FilePermsPassesAGroupWritableFileWhenAllowed) {
  config.allow_file_group_writable = true;
  facts.chmod(alice_script, 0664);
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(detail_of(decision, Check::file_perms), "regular file, mode 0664, one link");
}

TEST_F(Decide, FilePermsDeniesAGroupWritableFileByDefault) {
  facts.chmod(alice_script, 0664);
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::file_perms, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "writable by group"));
}

TEST_F(Decide, FilePermsDeniesAFileWritableByOthers) {
  config.allow_file_group_writable = true;
  facts.chmod(alice_script, 0646);
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::file_perms, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "writable by others"));
}

TEST_F(Decide, FilePermsDeniesASetuidScript) {
  facts.chmod(alice_docroot + "/run.cgi", 04755);
  const Decision decision = decide(alice_docroot + "/run.cgi");
  EXPECT_TRUE(RefusedBy(decision, Check::file_perms, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "set-uid or set-gid"));
}

// A second name for the file may be Bob's hard link to it, made in his own directory.
TEST_F(Decide, FilePermsDeniesAScriptWithTwoHardLinks) {
  facts.file(alice_docroot + "/linked.php", alice_uid, 0644, 2);
  const Decision decision = decide(alice_docroot + "/linked.php");
  EXPECT_TRUE(RefusedBy(decision, Check::file_perms, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "has 2 hard links"));
}

TEST_F(Decide, FilePermsDeniesADirectoryNamedLikeAScript) {
  facts.dir(alice_docroot + "/dir.php", alice_uid);
  const Decision decision = decide(alice_docroot + "/dir.php");
  EXPECT_TRUE(RefusedBy(decision, Check::file_perms, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "is not a regular file"));
}

// ---- 11. handler ----------------------------------------------------------------------------

TEST_F(Decide, HandlerPassesAnExecutableCgiProgram) {
  const Decision decision = decide(alice_docroot + "/run.cgi");
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(decision.handler_name, "cgi");
  EXPECT_TRUE(decision.phprc.empty());
}

TEST_F(Decide, HandlerDeniesAFileNoHandlerRuns) {
  facts.file(alice_docroot + "/notes.txt", alice_uid);
  const Decision decision = decide(alice_docroot + "/notes.txt");
  EXPECT_TRUE(RefusedBy(decision, Check::handler, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "no handler runs .txt files"));
}

// The file that would run is a .txt: a link's name chooses nothing.
TEST_F(Decide, HandlerIsChosenByThePhysicalPathNotByALinksPhpName) {
  facts.file(alice_docroot + "/notes.txt", alice_uid);
  facts.symlink(alice_docroot + "/notes.php", alice_uid, "notes.txt");
  const Decision decision = decide(alice_docroot + "/notes.php");
  EXPECT_TRUE(RefusedBy(decision, Check::handler, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "no handler runs .txt files"));
  EXPECT_EQ(decision.physical_path, alice_docroot + "/notes.txt");
}

TEST_F(Decide, HandlerRunsAPhpFileReachedThroughALinkNamedTxt) {
  facts.symlink(alice_docroot + "/index.txt", alice_uid, "index.php");
  const Decision decision = decide(alice_docroot + "/index.txt");
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(decision.handler_name, "php");
}

TEST_F(Decide, HandlerDeniesACgiProgramItsOwnerCannotExecute) {
  facts.chmod(alice_docroot + "/run.cgi", 0644);
  const Decision decision = decide(alice_docroot + "/run.cgi");
  EXPECT_TRUE(RefusedBy(decision, Check::handler, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "not executable by its owner"));
}

// php-cli run as php-cgi is run executes the request body as code.
TEST_F(Decide, HandlerWhoseProgramIsThePhpCommandLineBinaryIsAnError) {
  const Decision decision = decide_with_php_program("/usr/bin/php8.2", "cli");
  EXPECT_TRUE(RefusedBy(decision, Check::handler, Verdict::error, 500, 3));
  EXPECT_TRUE(Contains(decision.reason, "is the PHP command-line binary"));
}

// php-cgi of another PHP build would not load suwrap's guard, and PHP would then compile
// whatever file it opens.
TEST_F(Decide, HandlerWhoseProgramIsPhpCgiOfAnotherBuildIsAnError) {
  const Decision decision = decide_with_php_program("/usr/bin/php-cgi7.4", "cgi-fcgi-other");
  EXPECT_TRUE(RefusedBy(decision, Check::handler, Verdict::error, 500, 3));
  EXPECT_TRUE(Contains(decision.reason, "another PHP build"));
}

TEST_F(Decide, HandlerWhoseProgramIsNoPhpAtAllIsAnError) {
  const Decision decision = decide_with_php_program("/usr/bin/python3", "");
  EXPECT_TRUE(RefusedBy(decision, Check::handler, Verdict::error, 500, 3));
  EXPECT_TRUE(Contains(decision.reason, "is not php-cgi"));
}

TEST_F(Decide, HandlerWhoseProgramCannotBeReadIsAnError) {
  facts.file("/usr/bin/php-secret", root_uid, 0711);
  config.handlers["php"].path = "/usr/bin/php-secret";
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::handler, Verdict::error, 500, 3));
  EXPECT_TRUE(Contains(decision.reason, "cannot be read"));
}

TEST_F(Decide, HandlerWhoseProgramAnotherUserCanWriteIsAnError) {
  facts.chmod("/usr/bin/php-cgi8.2", 0775);
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::handler, Verdict::error, 500, 3));
  EXPECT_TRUE(Contains(decision.reason, "writable only by root"));
}

TEST_F(Decide, HandlerDeniesAnIniDirectoryWithoutPhpIni) {
  config.handlers["php"].ini_dir = "/etc/php";
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::handler, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "/etc/php/php.ini does not exist"));
}

TEST_F(Decide, SuwrapHandlerChoosesAnotherPhpWithinThePhpFamily) {
  request.handler = "php81";
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(decision.handler_name, "php81");
  EXPECT_EQ(decision.phprc, "/etc/php/8.1/cgi/php.ini");
}

TEST_F(Decide, SuwrapHandlerCannotMakeAPhpFileRunAsACgiProgram) {
  facts.chmod(alice_script, 0755);
  request.handler = "cgi";
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::handler, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, ".php files are run by php handlers"));
}

TEST_F(Decide, SuwrapHandlerCannotMakeACgiProgramRunThroughPhp) {
  request.handler = "php";
  EXPECT_TRUE(RefusedBy(decide(alice_docroot + "/run.cgi"), Check::handler, Verdict::deny, 403, 1));
}

TEST_F(Decide, SuwrapHandlerNamingNoConfiguredHandlerIsDenied) {
  request.handler = "php74";
  EXPECT_TRUE(RefusedBy(decide(alice_script), Check::handler, Verdict::deny, 403, 1));
}

TEST_F(Decide, AccountsPhpHandlerReplacesTheOnePickedByExtension) {
  add_account("alice", "alice", {alice_docroot}).php_handler = "php81";
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(decision.handler_name, "php81");
}

TEST_F(Decide, HandlerDeniesAHandlerTheAccountMayNotUse) {
  add_account("alice", "alice", {alice_docroot}).handlers = std::vector<std::string>{"cgi"};
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::handler, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "handler php is not allowed for account alice"));
}

TEST_F(Decide, AccountsPhpHandlerThatIsNotConfiguredIsAnError) {
  add_account("alice", "alice", {alice_docroot}).php_handler = "php74";
  EXPECT_TRUE(RefusedBy(decide(alice_script), Check::handler, Verdict::error, 500, 3));
}

TEST_F(Decide, AccountsPhpIniDirIsUsedWhenTheAccountOwnsIt) {
  facts.dir("/home/alice/etc", alice_uid);
  facts.file("/home/alice/etc/php.ini", alice_uid);
  add_account("alice", "alice", {alice_docroot}).php_ini_dir = "/home/alice/etc";
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(decision.phprc, "/home/alice/etc/php.ini");
}

// Whoever can write an account's php.ini runs code as that account.
TEST_F(Decide, HandlerDeniesAnAccountsPhpIniAnotherUserOwns) {
  facts.dir("/home/alice/etc", alice_uid);
  facts.file("/home/alice/etc/php.ini", bob_uid);
  add_account("alice", "alice", {alice_docroot}).php_ini_dir = "/home/alice/etc";
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::handler, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "must be owned by root or alice"));
}

// ---- 12. vhost ------------------------------------------------------------------------------

TEST_F(Decide, VhostPassesWhenCheckVhostIsOff) {
  request.server_name = "anything.example";
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(detail_of(decision, Check::vhost), "check_vhost is off");
}

TEST_F(Decide, VhostPassesForADomainOfTheAccountInAnyCaseWithATrailingDot) {
  config.check_vhost = true;
  config.mode = Mode::account;
  add_account("alice", "alice", {alice_docroot}).domains = {"alice.example", "www.alice.example"};
  request.server_name = "WWW.Alice.Example.";
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(detail_of(decision, Check::vhost), "www.alice.example is a domain of account alice");
}

TEST_F(Decide, VhostDeniesAServerNameThatIsNotTheAccounts) {
  config.check_vhost = true;
  config.mode = Mode::account;
  add_account("alice", "alice", {alice_docroot});
  request.server_name = "bob.example";
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::vhost, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "SERVER_NAME bob.example is not a domain of account alice"));
}

TEST_F(Decide, VhostDeniesAMissingServerName) {
  config.check_vhost = true;
  add_account("alice", "alice", {alice_docroot});
  request.server_name.reset();
  EXPECT_TRUE(RefusedBy(decide(alice_script), Check::vhost, Verdict::deny, 403, 1));
}

TEST_F(Decide, VhostDeniesAnOwnerWithoutAnAccountWhenCheckVhostIsOn) {
  config.check_vhost = true;
  request.server_name = "alice.example";
  const Decision decision = decide(alice_script);
  EXPECT_TRUE(RefusedBy(decision, Check::vhost, Verdict::deny, 403, 1));
  EXPECT_TRUE(Contains(decision.reason, "no account applies to alice"));
}

// ---- what an allowed decision carries from the account -------------------------------------

TEST_F(Decide, AllowedDecisionAppliesTheAccountsLimitsOverTheDefaults) {
  config.limits.cpu_seconds = 30;
  config.limits.memory_mb = 512;
  add_account("alice", "alice", {alice_docroot}).limits.cpu_seconds = 5;
  const Decision decision = decide(alice_script);
  ASSERT_TRUE(Allowed(decision));
  EXPECT_EQ(decision.limits.cpu_seconds, 5U);
  EXPECT_EQ(decision.limits.memory_mb, 512U);
}

}  // namespace
