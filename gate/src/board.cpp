// SPDX-License-Identifier: Apache-2.0
#include "board.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace suwrap::gate {

namespace {

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

constexpr std::size_t most_slots = 4096;

}  // namespace

util::Expected<Board, std::string> Board::create(std::size_t slots) {
  if (slots == 0 || slots > most_slots) return util::unexpected(std::string("a board of that many slots"));
  util::Fd fd(::memfd_create("suwrap-pool-board", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return util::unexpected(errno_text("memfd_create"));
  const auto size = static_cast<off_t>(slots * slot_bytes);
  if (::ftruncate(fd.get(), size) != 0) return util::unexpected(errno_text("ftruncate"));
  // Its size is fixed for good: a process of the account holding it cannot make the gate's
  // mapping shorter (a read past the end would be SIGBUS in the gate).
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return util::unexpected(errno_text("F_ADD_SEALS"));
  void* map = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (map == MAP_FAILED) return util::unexpected(errno_text("mmap"));
  return Board(std::move(fd), static_cast<Slot*>(map), slots);
}

util::Expected<Board, std::string> Board::attach(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return util::unexpected(errno_text("fstat"));
  if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size % static_cast<off_t>(slot_bytes) != 0 ||
      static_cast<std::size_t>(st.st_size) / slot_bytes > most_slots)
    return util::unexpected(std::string("not a board of whole slots"));
  const auto size = static_cast<std::size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return util::unexpected(errno_text("mmap"));
  return Board(util::Fd(), static_cast<Slot*>(map), size / slot_bytes);
}

Board::Board(Board&& other) noexcept
    : fd_(std::move(other.fd_)), map_(std::exchange(other.map_, nullptr)), slots_(std::exchange(other.slots_, 0)) {}

Board& Board::operator=(Board&& other) noexcept {
  if (this != &other) {
    if (map_ != nullptr) ::munmap(map_, slots_ * slot_bytes);
    fd_ = std::move(other.fd_);
    map_ = std::exchange(other.map_, nullptr);
    slots_ = std::exchange(other.slots_, 0);
  }
  return *this;
}

Board::~Board() {
  if (map_ != nullptr) ::munmap(map_, slots_ * slot_bytes);
}

std::optional<std::size_t> Board::claim(pid_t pid, std::optional<std::size_t> hint) {
  if (hint && *hint < slots_ && map_[*hint].pid.load(std::memory_order_acquire) == pid) return hint;
  for (std::size_t i = 0; i < slots_; ++i) {
    if (map_[i].pid.load(std::memory_order_acquire) != pid) continue;
    // Left by an earlier process with this pid, not yet freed: not this one's request.
    end(i, pid);
    return i;
  }
  for (std::size_t i = 0; i < slots_; ++i) {
    std::int32_t free = 0;
    // A free slot is out of any request (release() ends it first).
    if (map_[i].pid.compare_exchange_strong(free, pid, std::memory_order_acq_rel)) return i;
  }
  return std::nullopt;
}

bool Board::start(std::size_t slot, pid_t pid, std::int64_t now_ns, std::uint64_t wall_seconds,
                  std::string_view record) {
  Slot& s = map_[slot];
  if (s.pid.load(std::memory_order_acquire) != pid) return false;
  std::uint32_t sequence = s.sequence.load(std::memory_order_relaxed);
  if ((sequence & 1U) != 0) s.sequence.store(++sequence, std::memory_order_release);  // one that never ended
  // The request's fields after the mark that the last one ended, and before the mark that
  // this one started: a look sees either the last request's mark or this one's fields.
  std::atomic_thread_fence(std::memory_order_release);
  const std::size_t length = std::min(record.size(), record_capacity);
  std::memcpy(s.record, record.data(), length);
  s.record_length.store(static_cast<std::uint32_t>(length), std::memory_order_relaxed);
  s.wall_seconds.store(wall_seconds, std::memory_order_relaxed);
  s.started_ns.store(now_ns, std::memory_order_relaxed);
  s.sequence.store(sequence + 1, std::memory_order_release);
  return true;
}

void Board::end(std::size_t slot, pid_t pid) {
  Slot& s = map_[slot];
  if (s.pid.load(std::memory_order_acquire) != pid) return;
  const std::uint32_t sequence = s.sequence.load(std::memory_order_relaxed);
  if ((sequence & 1U) != 0) s.sequence.store(sequence + 1, std::memory_order_release);
}

void Board::release(std::size_t slot, pid_t pid) {
  end(slot, pid);
  std::int32_t held = pid;
  map_[slot].pid.compare_exchange_strong(held, 0, std::memory_order_acq_rel);
}

Board::Seen Board::look(std::size_t i) const {
  const Slot& s = map_[i];
  Seen seen;
  seen.pid = s.pid.load(std::memory_order_acquire);
  seen.sequence = s.sequence.load(std::memory_order_acquire);
  if ((seen.sequence & 1U) == 0) return seen;
  seen.started_ns = s.started_ns.load(std::memory_order_relaxed);
  seen.wall_seconds = s.wall_seconds.load(std::memory_order_relaxed);
  const std::size_t length = std::min<std::size_t>(s.record_length.load(std::memory_order_relaxed), record_capacity);
  seen.record.resize(length);
  // Byte by byte through atomic reads: the account's process may write them meanwhile.
  for (std::size_t k = 0; k < length; ++k)
    seen.record[k] = std::atomic_ref<char>(const_cast<char&>(s.record[k])).load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  seen.steady = s.sequence.load(std::memory_order_relaxed) == seen.sequence &&
                s.pid.load(std::memory_order_relaxed) == seen.pid;
  return seen;
}

}  // namespace suwrap::gate
