// SPDX-License-Identifier: Apache-2.0
// The user and group database, remembered for a few seconds at most.
//
// Every request the gate judges asks for the configured caller, the script's owner, the
// account's user and its group: four NSS look-ups, each of which (with Debian's
// `files systemd`) opens and parses /etc/passwd or /etc/group. A pool serves one account,
// so the answers repeat. They are remembered until the first of: `keep` has passed since
// they were first asked (sources inotify cannot see — LDAP, sssd — are at most that late),
// or anything in `etc_dir` (/etc: passwd, group, nsswitch.conf) or that directory itself
// changed. Where inotify cannot be had, nothing is remembered.
//
// The walk is passed through, never remembered: the files of a docroot are the account's, and
// change under the gate at any time. stat() is remembered for one Question at most (below),
// never across two. A handler's SAPI is remembered by the program's identity.
//
// The look-ups of one question (a request's check) look for a change once, at the first of
// them, rather than once each: a change made while they run is seen by the next question,
// as one made just after them is.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "suwrap/config/watch.hpp"
#include "suwrap/policy/facts.hpp"

namespace suwrap::gate {

class NameCache final : public policy::FactSource {
 public:
  using Clock = std::chrono::steady_clock;

  explicit NameCache(policy::FactSource& source, std::string etc_dir = "/etc",
                     Clock::duration keep = std::chrono::seconds(5));

  // While one lives, the cache's look-ups are one question: whether anything changed is
  // looked at by the first of them, and a path stat()ed twice (the handler's program, for
  // its checks and then for its SAPI) is asked once. Outside a question, every look-up
  // looks, and nothing stat()ed is remembered.
  class Question {
   public:
    explicit Question(NameCache& cache);
    ~Question();
    Question(const Question&) = delete;
    Question& operator=(const Question&) = delete;

   private:
    NameCache& cache_;
  };

  util::Expected<policy::Walk, policy::WalkError> walk(std::string_view absolute_path) override;
  std::optional<policy::FileFacts> stat_path(std::string_view path) override;
  std::optional<policy::UserInfo> user_by_name(std::string_view name) override;
  std::optional<policy::UserInfo> user_by_uid(uid_t uid) override;
  std::optional<policy::GroupInfo> group_by_name(std::string_view name) override;
  std::optional<policy::GroupInfo> group_by_gid(gid_t gid) override;
  // Remembered by the program's identity (device, inode, size, times): reading its SAPI
  // costs more than the rest of a request's check, and only root replaces php-cgi — by a
  // rename on an upgrade, which changes that identity.
  std::optional<std::string> php_sapi(std::string_view path) override;
  // The groups `user` has now with `gid` as its group (getgrouplist), sorted: what
  // initgroups() would give it. Remembered as users and groups are.
  std::optional<std::vector<gid_t>> groups_of(const std::string& user, gid_t gid);

  // For a process that polls all its watches at once (a php-cgi worker, once per request):
  // the descriptor of the /etc watch (-1 when there is none to poll: the next look-up looks
  // for itself), and what that poll found. While set_quiet(true) holds, it had no event to
  // read, and a look-up reads it no more (the time limit still holds); set_quiet(false)
  // reads again.
  [[nodiscard]] int descriptor() const { return watching_ ? watch_.descriptor() : -1; }
  void set_quiet(bool quiet) { quiet_ = quiet; }

  // How many look-ups went to the source (for the tests).
  [[nodiscard]] std::size_t source_lookups() const { return source_lookups_; }

 private:
  // Forgets everything when it is due; false when nothing may be remembered now. In a
  // question, only its first call looks; the others answer as it did.
  bool fresh();
  bool look_for_changes();

  policy::FactSource& source_;
  std::string etc_dir_;
  Clock::duration keep_;
  policy::ConfigWatch watch_;
  bool watching_ = false;
  bool quiet_ = false;  // the caller's poll found nothing to read on watch_
  Clock::time_point since_{};
  std::size_t source_lookups_ = 0;
  unsigned questions_ = 0;           // Questions alive (nested ones are part of the outer)
  std::optional<bool> looked_;       // the question's answer of fresh(), once it looked
  std::map<std::string, std::optional<policy::FileFacts>, std::less<>> question_stats_;

  std::map<std::string, std::optional<policy::UserInfo>, std::less<>> users_by_name_;
  std::map<uid_t, std::optional<policy::UserInfo>> users_by_uid_;
  std::map<std::string, std::optional<policy::GroupInfo>, std::less<>> groups_by_name_;
  std::map<gid_t, std::optional<policy::GroupInfo>> groups_by_gid_;
  std::map<std::string, std::optional<std::string>, std::less<>> sapis_;
  std::map<std::pair<std::string, gid_t>, std::optional<std::vector<gid_t>>> group_lists_;  // "path\tstamp" -> SAPI
};

}  // namespace suwrap::gate
