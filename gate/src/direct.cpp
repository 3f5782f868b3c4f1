// SPDX-License-Identifier: Apache-2.0
#include "direct.hpp"

#include <algorithm>
#include <charconv>
#include <string>

namespace suwrap::gate {

namespace {

template <typename Number>
std::optional<Number> number(std::string_view text) {
  Number value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// The next space-separated field of `line`, taken off it.
std::string_view field(std::string_view& line) {
  const std::size_t space = line.find(' ');
  const std::string_view word = line.substr(0, space);
  line.remove_prefix(space == std::string_view::npos ? line.size() : space + 1);
  return word;
}

}  // namespace

std::optional<WorkerEvent> parse_worker_event(std::string_view line) {
  WorkerEvent event;
  const std::string_view kind = field(line);
  const auto pid = number<pid_t>(field(line));
  if (!pid || *pid <= 1) return std::nullopt;
  event.pid = *pid;
  if (kind == "E") return line.empty() ? std::optional<WorkerEvent>(event) : std::nullopt;
  if (kind != "S") return std::nullopt;
  event.started = true;
  const auto wall = number<std::uint64_t>(field(line));
  if (!wall || line.empty()) return std::nullopt;
  event.wall_seconds = *wall;
  if (line != "-") event.record = std::string(line);
  return event;
}

void RunningRequests::apply(const WorkerEvent& event, Clock::time_point now) {
  last_event_ = now;
  if (!event.started) {
    running_.erase(event.pid);
    return;
  }
  Running running;
  // A limit beyond what the clock holds is none.
  if (event.wall_seconds > 0 && event.wall_seconds < 10ULL * 365 * 86400)
    running.deadline = now + std::chrono::seconds(static_cast<std::chrono::seconds::rep>(event.wall_seconds));
  running.record = event.record;
  running_[event.pid] = std::move(running);
}

std::vector<std::pair<pid_t, std::string>> RunningRequests::overdue(Clock::time_point now) {
  std::vector<std::pair<pid_t, std::string>> late;
  for (auto it = running_.begin(); it != running_.end();) {
    if (it->second.deadline && now >= *it->second.deadline) {
      late.emplace_back(it->first, std::move(it->second.record));
      it = running_.erase(it);
      last_event_ = now;  // idle from now: it was busy until now
    } else {
      ++it;
    }
  }
  return late;
}

void RunningRequests::keep_only(const std::vector<pid_t>& workers, Clock::time_point now) {
  for (auto it = running_.begin(); it != running_.end();) {
    if (std::find(workers.begin(), workers.end(), it->first) != workers.end()) {
      ++it;
      continue;
    }
    it = running_.erase(it);
    last_event_ = now;  // idle from now: it was busy until now
  }
}

}  // namespace suwrap::gate
