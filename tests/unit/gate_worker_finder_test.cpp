// SPDX-License-Identifier: Apache-2.0
// Finding the worker behind a connection: the unix_diag bytes (built and parsed as the
// kernel lays them out, with every length checked), the /proc link format, and, for real,
// the peer of a socket pair and the child process that holds it.
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "worker_finder.hpp"

namespace {

using suwrap::gate::children_of;
using suwrap::gate::end_escaped_processes;
using suwrap::gate::find_socket_holder;
using suwrap::gate::holds_socket;
using suwrap::gate::kill_peer_worker;
using suwrap::gate::parse_unix_diag_peer;
using suwrap::gate::peer_socket_inode;
using suwrap::gate::socket_inode_from_link;
using suwrap::gate::unix_diag_request;

template <class T>
void append(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

std::string pad4(std::string s) {
  while (s.size() % 4 != 0) s += '\0';
  return s;
}

// One netlink message as the kernel writes it: header, payload, padding.
std::string message(std::uint16_t type, std::uint32_t sequence, const std::string& payload) {
  nlmsghdr header{};
  header.nlmsg_len = static_cast<std::uint32_t>(sizeof(nlmsghdr) + payload.size());
  header.nlmsg_type = type;
  header.nlmsg_seq = sequence;
  std::string out;
  append(out, header);
  out += payload;
  return pad4(out);
}

std::string attribute(std::uint16_t type, const std::string& payload) {
  nlattr header{};
  header.nla_len = static_cast<std::uint16_t>(sizeof(nlattr) + payload.size());
  header.nla_type = type;
  std::string out;
  append(out, header);
  out += payload;
  return pad4(out);
}

std::string socket_payload(std::uint32_t inode, const std::string& attributes) {
  unix_diag_msg msg{};
  msg.udiag_family = AF_UNIX;
  msg.udiag_type = SOCK_STREAM;
  msg.udiag_ino = inode;
  std::string out;
  append(out, msg);
  return out + attributes;
}

std::string u32(std::uint32_t value) {
  std::string out;
  append(out, value);
  return out;
}

std::string error_payload(int error) {
  std::string out;
  append(out, error);
  append(out, nlmsghdr{});
  return out;
}

TEST(UnixDiagRequest, AsksForOneSocketByInodeWithItsPeer) {
  const std::string request = unix_diag_request(4242, 7);
  ASSERT_EQ(request.size(), sizeof(nlmsghdr) + sizeof(unix_diag_req));
  nlmsghdr header{};
  std::memcpy(&header, request.data(), sizeof(header));
  EXPECT_EQ(header.nlmsg_len, request.size());
  EXPECT_EQ(header.nlmsg_type, SOCK_DIAG_BY_FAMILY);
  EXPECT_EQ(header.nlmsg_flags, NLM_F_REQUEST);  // not a dump of every socket
  EXPECT_EQ(header.nlmsg_seq, 7U);
  unix_diag_req body{};
  std::memcpy(&body, request.data() + sizeof(header), sizeof(body));
  EXPECT_EQ(body.sdiag_family, AF_UNIX);
  EXPECT_EQ(body.udiag_ino, 4242U);
  EXPECT_EQ(body.udiag_show, static_cast<std::uint32_t>(UDIAG_SHOW_PEER));
  EXPECT_EQ(body.udiag_cookie[0], ~0U);
  EXPECT_EQ(body.udiag_cookie[1], ~0U);
}

TEST(ParseUnixDiagPeer, FindsThePeerAttributeAmongOthers) {
  const std::string attributes =
      attribute(UNIX_DIAG_RQLEN, u32(0) + u32(0)) + attribute(UNIX_DIAG_PEER, u32(99));
  const auto peer =
      parse_unix_diag_peer(message(SOCK_DIAG_BY_FAMILY, 3, socket_payload(42, attributes)), 42, 3);
  ASSERT_TRUE(peer.has_value()) << peer.error();
  EXPECT_EQ(*peer, 99U);
}

TEST(ParseUnixDiagPeer, SkipsMessagesOfOtherSequencesAndSockets) {
  const std::string reply =
      message(SOCK_DIAG_BY_FAMILY, 2, socket_payload(42, attribute(UNIX_DIAG_PEER, u32(1)))) +
      message(SOCK_DIAG_BY_FAMILY, 3, socket_payload(41, attribute(UNIX_DIAG_PEER, u32(2)))) +
      message(SOCK_DIAG_BY_FAMILY, 3, socket_payload(42, attribute(UNIX_DIAG_PEER, u32(3))));
  const auto peer = parse_unix_diag_peer(reply, 42, 3);
  ASSERT_TRUE(peer.has_value()) << peer.error();
  EXPECT_EQ(*peer, 3U);
}

TEST(ParseUnixDiagPeer, ASocketWithoutPeerIsAnError) {
  const auto peer = parse_unix_diag_peer(message(SOCK_DIAG_BY_FAMILY, 1, socket_payload(42, "")), 42, 1);
  ASSERT_FALSE(peer.has_value());
  EXPECT_NE(peer.error().find("no peer"), std::string::npos) << peer.error();
}

TEST(ParseUnixDiagPeer, TheKernelsErrorIsReported) {
  const auto peer = parse_unix_diag_peer(message(NLMSG_ERROR, 1, error_payload(-ENOENT)), 42, 1);
  ASSERT_FALSE(peer.has_value());
  EXPECT_NE(peer.error().find(std::strerror(ENOENT)), std::string::npos) << peer.error();
}

TEST(ParseUnixDiagPeer, LengthsThatRunPastTheBytesAreRefused) {
  std::string reply = message(SOCK_DIAG_BY_FAMILY, 1, socket_payload(42, attribute(UNIX_DIAG_PEER, u32(5))));
  // Every truncation of a valid reply: never a read past the end, never a peer.
  for (std::size_t cut = 0; cut < reply.size(); ++cut)
    EXPECT_FALSE(parse_unix_diag_peer(std::string_view(reply).substr(0, cut), 42, 1).has_value()) << cut;

  // A message that claims more bytes than there are.
  std::string long_claim = reply;
  long_claim[0] = static_cast<char>(0xff);
  EXPECT_FALSE(parse_unix_diag_peer(long_claim, 42, 1).has_value());

  // An attribute that claims more bytes than its message holds.
  std::string bad_attribute = attribute(UNIX_DIAG_PEER, u32(5));
  bad_attribute[0] = 60;
  EXPECT_FALSE(parse_unix_diag_peer(message(SOCK_DIAG_BY_FAMILY, 1, socket_payload(42, bad_attribute)), 42, 1)
                   .has_value());

  // A peer attribute of the wrong size.
  EXPECT_FALSE(parse_unix_diag_peer(message(SOCK_DIAG_BY_FAMILY, 1,
                                            socket_payload(42, attribute(UNIX_DIAG_PEER, u32(5) + u32(6)))),
                                    42, 1)
                   .has_value());
}

TEST(SocketInodeFromLink, ReadsOnlySocketLinks) {
  EXPECT_EQ(socket_inode_from_link("socket:[12345]"), 12345U);
  EXPECT_FALSE(socket_inode_from_link("pipe:[12345]").has_value());
  EXPECT_FALSE(socket_inode_from_link("socket:[]").has_value());
  EXPECT_FALSE(socket_inode_from_link("socket:[12a]").has_value());
  EXPECT_FALSE(socket_inode_from_link("socket:[-1]").has_value());
  EXPECT_FALSE(socket_inode_from_link("socket:[99999999999999999999999]").has_value());
  EXPECT_FALSE(socket_inode_from_link("/tmp/socket:[1]").has_value());
}

std::uint64_t inode_of(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return st.st_ino;
}

struct SocketPair {
  std::array<int, 2> fds{-1, -1};
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()), 0); }
  ~SocketPair() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
};

TEST(PeerSocketInode, NamesTheOtherEndOfARealConnection) {
  SocketPair pair;
  const auto peer = peer_socket_inode(pair.fds[0]);
  ASSERT_TRUE(peer.has_value()) << peer.error();
  EXPECT_EQ(*peer, inode_of(pair.fds[1]));
}

TEST(PeerSocketInode, RefusesWhatIsNotASocket) {
  std::array<int, 2> pipe_fds{};
  ASSERT_EQ(::pipe(pipe_fds.data()), 0);
  EXPECT_FALSE(peer_socket_inode(pipe_fds[0]).has_value());
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

// A child that keeps (or drops) the second end of `pair`, then waits to be killed.
pid_t child_holding(SocketPair& pair, bool keep) {
  std::array<int, 2> ready{};
  EXPECT_EQ(::pipe(ready.data()), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pair.fds[0]);
    if (!keep) ::close(pair.fds[1]);
    (void)!::write(ready[1], "x", 1);
    for (;;) ::pause();
  }
  char byte = 0;
  EXPECT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  ::close(ready[1]);
  return pid;
}

int end_child(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

TEST(FindSocketHolder, FindsTheChildThatHoldsTheSocket) {
  SocketPair pair;
  const pid_t child = child_holding(pair, true);
  EXPECT_TRUE(holds_socket(child, inode_of(pair.fds[1])));
  EXPECT_EQ(find_socket_holder(::getpid(), inode_of(pair.fds[1])), child);
  end_child(child);
}

TEST(FindSocketHolder, NoChildHoldsASocketNobodyInheritedOrKept) {
  SocketPair pair;
  const pid_t child = child_holding(pair, false);
  EXPECT_FALSE(holds_socket(child, inode_of(pair.fds[1])));
  EXPECT_FALSE(find_socket_holder(::getpid(), inode_of(pair.fds[1])).has_value());
  end_child(child);
}

TEST(KillPeerWorker, KillsTheChildServingTheOtherEnd) {
  SocketPair pair;
  const pid_t child = child_holding(pair, true);
  // The parent keeps its copy of the second end too, but only children are candidates.
  const auto killed = kill_peer_worker(::getpid(), pair.fds[0]);
  ASSERT_TRUE(killed.has_value()) << killed.error();
  EXPECT_EQ(*killed, child);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST(KillPeerWorker, KillsNobodyWhenNoChildHoldsTheOtherEnd) {
  SocketPair pair;
  const pid_t child = child_holding(pair, false);
  const auto killed = kill_peer_worker(::getpid(), pair.fds[0]);
  EXPECT_FALSE(killed.has_value());
  // The child is alive: only our SIGKILL ends it.
  EXPECT_EQ(::waitpid(child, nullptr, WNOHANG), 0);
  const int status = end_child(child);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

pid_t pausing_child() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (;;) ::pause();
  }
  return pid;
}

bool has_child(pid_t pid) {
  const auto children = children_of(::getpid());
  return std::find(children.begin(), children.end(), pid) != children.end();
}

TEST(ChildrenOf, ListsTheChildrenOfAProcess) {
  const pid_t first = pausing_child();
  const pid_t second = pausing_child();
  EXPECT_TRUE(has_child(first));
  EXPECT_TRUE(has_child(second));
  EXPECT_TRUE(children_of(first).empty());
  end_child(first);
  end_child(second);
  EXPECT_FALSE(has_child(first));
}

TEST(EndEscapedProcesses, KillsAndReapsEveryChildButTheOneKept) {
  const pid_t kept = pausing_child();
  const pid_t escaped = pausing_child();
  EXPECT_EQ(end_escaped_processes(::getpid(), kept), 1U);
  // Reaped by this call if it died at once, else by a later one (the gate's next SIGCHLD).
  for (int round = 0; round < 200 && has_child(escaped); ++round) {
    ::usleep(10 * 1000);
    (void)end_escaped_processes(::getpid(), kept);
  }
  EXPECT_FALSE(has_child(escaped)) << "killed and reaped: no zombie left";
  EXPECT_TRUE(has_child(kept));
  EXPECT_EQ(::waitpid(kept, nullptr, WNOHANG), 0) << "the kept child still runs";
  end_child(kept);
}

}  // namespace
