// SPDX-License-Identifier: Apache-2.0
#include "worker_finder.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <type_traits>

#include "suwrap/config/children.hpp"
#include "suwrap/util/fd.hpp"
#include "suwrap/util/text.hpp"

namespace suwrap::gate {

namespace {

using util::errno_text;
using util::Expected;
using util::unexpected;

constexpr std::size_t align4(std::size_t n) {
  return (n + 3) & ~std::size_t{3};
}

// Reads a trivially copyable T at `offset` of `bytes`; the caller has checked the size.
template <class T>
T read_at(std::string_view bytes, std::size_t offset) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value{};
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

template <class T>
void append_bytes(std::string& out, const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

// The peer attribute among the attributes of one unix_diag_msg.
Expected<std::uint32_t, std::string> peer_attribute(std::string_view attributes, std::uint32_t inode) {
  while (attributes.size() >= sizeof(nlattr)) {
    const auto attribute = read_at<nlattr>(attributes, 0);
    if (attribute.nla_len < sizeof(nlattr) || attribute.nla_len > attributes.size())
      return unexpected(std::string("unix_diag: an attribute's length runs past its message"));
    const std::string_view payload = attributes.substr(sizeof(nlattr), attribute.nla_len - sizeof(nlattr));
    if ((attribute.nla_type & NLA_TYPE_MASK) == UNIX_DIAG_PEER) {
      if (payload.size() != sizeof(std::uint32_t))
        return unexpected(std::string("unix_diag: the peer attribute is not 4 bytes"));
      return read_at<std::uint32_t>(payload, 0);
    }
    attributes.remove_prefix(std::min(attributes.size(), align4(attribute.nla_len)));
  }
  return unexpected("socket " + std::to_string(inode) + " has no peer (not connected)");
}

}  // namespace

std::string unix_diag_request(std::uint32_t inode, std::uint32_t sequence) {
  nlmsghdr header{};
  header.nlmsg_len = static_cast<std::uint32_t>(sizeof(nlmsghdr) + sizeof(unix_diag_req));
  header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  header.nlmsg_flags = NLM_F_REQUEST;  // one socket, by inode: not a dump
  header.nlmsg_seq = sequence;
  unix_diag_req request{};
  request.sdiag_family = AF_UNIX;
  request.udiag_states = ~0U;
  request.udiag_ino = inode;
  request.udiag_show = UDIAG_SHOW_PEER;
  // "No cookie": the kernel then looks the socket up by its inode alone.
  request.udiag_cookie[0] = ~0U;
  request.udiag_cookie[1] = ~0U;
  std::string out;
  append_bytes(out, header);
  append_bytes(out, request);
  return out;
}

Expected<std::uint32_t, std::string> parse_unix_diag_peer(std::string_view reply, std::uint32_t inode,
                                                          std::uint32_t sequence) {
  while (reply.size() >= sizeof(nlmsghdr)) {
    const auto header = read_at<nlmsghdr>(reply, 0);
    if (header.nlmsg_len < sizeof(nlmsghdr) || header.nlmsg_len > reply.size())
      return unexpected(std::string("unix_diag: a message's length runs past the reply"));
    const std::string_view payload = reply.substr(sizeof(nlmsghdr), header.nlmsg_len - sizeof(nlmsghdr));
    reply.remove_prefix(std::min(reply.size(), align4(header.nlmsg_len)));
    if (header.nlmsg_seq != sequence) continue;  // not the answer to this question

    if (header.nlmsg_type == NLMSG_ERROR) {
      if (payload.size() < sizeof(int)) return unexpected(std::string("unix_diag: a short error message"));
      const int error = read_at<int>(payload, 0);
      if (error == 0) continue;  // an acknowledgement
      return unexpected("unix_diag: " + errno_text(-error));
    }
    if (header.nlmsg_type == NLMSG_DONE) break;
    if (header.nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
    if (payload.size() < sizeof(unix_diag_msg))
      return unexpected(std::string("unix_diag: a short socket message"));
    const auto message = read_at<unix_diag_msg>(payload, 0);
    if (message.udiag_family != AF_UNIX || message.udiag_ino != inode) continue;
    return peer_attribute(payload.substr(sizeof(unix_diag_msg)), inode);
  }
  return unexpected("unix_diag: no answer for socket " + std::to_string(inode));
}

std::optional<std::uint64_t> socket_inode_from_link(std::string_view link) {
  constexpr std::string_view prefix = "socket:[";
  if (link.size() <= prefix.size() + 1 || link.substr(0, prefix.size()) != prefix || link.back() != ']')
    return std::nullopt;
  const std::string_view digits = link.substr(prefix.size(), link.size() - prefix.size() - 1);
  std::uint64_t inode = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), inode);
  if (error != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return inode;
}

Expected<std::uint32_t, std::string> peer_socket_inode(int socket_fd) {
  struct stat st {};
  if (::fstat(socket_fd, &st) != 0) return unexpected("fstat: " + errno_text(errno));
  if (!S_ISSOCK(st.st_mode)) return unexpected(std::string("not a socket"));
  const auto inode = static_cast<std::uint32_t>(st.st_ino);  // socket inodes are 32-bit numbers

  util::Fd netlink(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!netlink) return unexpected("netlink socket: " + errno_text(errno));
  static std::uint32_t sequence = 0;
  ++sequence;
  const std::string request = unix_diag_request(inode, sequence);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(netlink.get(), request.data(), request.size(), 0, reinterpret_cast<const sockaddr*>(&kernel),
               sizeof(kernel)) != static_cast<ssize_t>(request.size()))
    return unexpected("unix_diag request: " + errno_text(errno));
  // The kernel answers within sendto(): the reply is queued already, so never wait for it.
  std::array<char, 8192> buffer{};
  const ssize_t got = ::recv(netlink.get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
  if (got < 0) return unexpected("unix_diag reply: " + errno_text(errno));
  return parse_unix_diag_peer(std::string_view(buffer.data(), static_cast<std::size_t>(got)), inode,
                              sequence);
}

bool holds_socket(pid_t pid, std::uint64_t inode) {
  const std::string path = "/proc/" + std::to_string(pid) + "/fd";
  const int dir_fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return false;
  DIR* dir = ::fdopendir(dir_fd);
  if (dir == nullptr) {
    ::close(dir_fd);
    return false;
  }
  bool found = false;
  std::array<char, 64> link{};
  while (!found) {
    const dirent* entry = ::readdir(dir);  // NOLINT(concurrency-mt-unsafe): one thread
    if (entry == nullptr) break;
    const ssize_t n = ::readlinkat(dir_fd, entry->d_name, link.data(), link.size());
    if (n <= 0 || static_cast<std::size_t>(n) >= link.size()) continue;
    const auto held = socket_inode_from_link(std::string_view(link.data(), static_cast<std::size_t>(n)));
    found = held && *held == inode;
  }
  ::closedir(dir);
  return found;
}

std::vector<pid_t> children_of(pid_t parent) {
  // The main thread's list: php-cgi's parent and the gate each have that one thread.
  return policy::children_of(std::to_string(parent), parent);
}

std::optional<pid_t> find_socket_holder(pid_t parent, std::uint64_t inode) {
  for (const pid_t child : children_of(parent)) {
    if (holds_socket(child, inode)) return child;
  }
  return std::nullopt;
}

std::size_t end_escaped_processes(pid_t self, pid_t keep) {
  std::size_t signalled = 0;
  // A child's pid cannot be reused before it is reaped, so kill() reaches that process.
  for (const pid_t child : children_of(self)) {
    if (child == keep) continue;
    if (::kill(child, SIGKILL) == 0) ++signalled;
    (void)::waitpid(child, nullptr, WNOHANG);
  }
  return signalled;
}

Expected<pid_t, std::string> kill_peer_worker(pid_t parent, int socket_fd) {
  auto peer = peer_socket_inode(socket_fd);
  if (!peer) return unexpected(peer.error());
  const auto worker = find_socket_holder(parent, *peer);
  if (!worker)
    return unexpected(std::string("no php worker holds the connection (none has accepted it yet)"));
  util::Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, *worker, 0)));
  if (!pidfd) return unexpected("pidfd_open " + std::to_string(*worker) + ": " + errno_text(errno));
  // Checked again through the pid now pinned by the pidfd: the process found may have
  // ended, and its pid been reused, between the scan and pidfd_open.
  if (!holds_socket(*worker, *peer))
    return unexpected("php worker " + std::to_string(*worker) + " let go of the connection");
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) != 0)
    return unexpected("pidfd_send_signal " + std::to_string(*worker) + ": " + errno_text(errno));
  return *worker;
}

}  // namespace suwrap::gate
