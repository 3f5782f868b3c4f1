// SPDX-License-Identifier: Apache-2.0
#include "direct.hpp"

#include <algorithm>
#include <string>

namespace suwrap::gate {

namespace {

// A limit beyond what the clock holds is none.
constexpr std::uint64_t longest_wall_seconds = 10ULL * 365 * 86400;

}  // namespace

void RunningRequests::look(Board& board, const std::function<bool(pid_t)>& alive, Clock::time_point now) {
  known_.resize(board.slots());
  for (std::size_t i = 0; i < board.slots(); ++i) {
    Known& known = known_[i];
    Board::Seen seen = board.look(i);
    if (seen.pid != 0 && !alive(seen.pid)) {
      // That worker ended: its slot is free for the one php-cgi starts in its place.
      board.release(i, seen.pid);
      seen = Board::Seen{};
    }
    if (seen.pid == known.pid && seen.sequence == known.sequence) continue;
    last_activity_ = now;  // a request started or ended since the last look (or a worker went)
    if (!seen.steady) {  // it is changing now: the next look learns it
      known = Known{};
      continue;
    }
    known = Known{seen.pid, seen.sequence, false, std::nullopt, {}};
    if (seen.pid == 0 || (seen.sequence & 1U) == 0) continue;
    known.running = true;
    // It started after the last look (or it would have been seen then), and not after now,
    // whatever the slot says.
    auto started = Clock::time_point(std::chrono::nanoseconds(seen.started_ns));
    started = std::clamp(started, std::min(last_look_, now), now);
    if (seen.wall_seconds > 0 && seen.wall_seconds < longest_wall_seconds)
      known.deadline = started + std::chrono::seconds(static_cast<std::chrono::seconds::rep>(seen.wall_seconds));
    known.record = std::move(seen.record);
  }
  last_look_ = now;
}

std::vector<std::pair<pid_t, std::string>> RunningRequests::overdue(Clock::time_point now) {
  std::vector<std::pair<pid_t, std::string>> late;
  for (Known& known : known_) {
    if (!known.running || !known.deadline || now < *known.deadline) continue;
    late.emplace_back(known.pid, std::move(known.record));
    known.running = false;  // once: its sequence stays known until the slot changes
    known.deadline.reset();
    last_activity_ = now;  // idle from now: it was busy until now
  }
  return late;
}

std::optional<RunningRequests::Clock::time_point> RunningRequests::next_deadline() const {
  std::optional<Clock::time_point> next;
  for (const Known& known : known_)
    if (known.running && known.deadline && (!next || *known.deadline < *next)) next = known.deadline;
  return next;
}

bool RunningRequests::any() const {
  return std::any_of(known_.begin(), known_.end(), [](const Known& k) { return k.running; });
}

}  // namespace suwrap::gate
