#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Socket activation as systemd does it, for the suwrap-cgid fault suite.

  socket_activate.py SOCKET USER STATE-DIR DAEMON [ARG...]

Like a .socket unit with SocketUser=/SocketGroup=USER, SocketMode=0660, and its service
with Restart=on-failure: this process binds and listens on SOCKET itself and keeps it
for its whole life. Whenever the socket has a connection waiting and no daemon runs, it
starts DAEMON as USER (through setpriv, which execs it in the same process) with the
listening socket as descriptor 3, LISTEN_FDS=1 and LISTEN_PID set to the daemon's pid.
A daemon that dies of a signal is not restarted at once: as with systemd, the next
connection starts it again, and connections made in between wait in the socket's
backlog. A daemon that exits by itself ends the launcher with its status.

STATE-DIR/daemon.pid holds the running daemon's pid (absent while none runs);
STATE-DIR/events gets one line per start ("started PID") and end ("exited PID STATUS"
or "killed PID SIGNAL"). SIGTERM or SIGINT to the launcher is passed to the daemon (or
ends the launcher if none runs). The socket file is removed on the way out.
"""
import os
import pwd
import select
import signal
import socket
import sys

LISTEN_FDS_START = 3
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def main():
    path, user, state, daemon = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    account = pwd.getpwnam(user)
    pid_file = os.path.join(state, "daemon.pid")
    events = open(os.path.join(state, "events"), "a", buffering=1)

    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    listener.bind(path)
    os.umask(old_umask)
    os.chown(path, account.pw_uid, account.pw_gid)
    os.chmod(path, 0o660)
    listener.listen(128)

    stop = {"asked": False}
    running = {"pid": None}

    def on_stop(signum, _frame):
        stop["asked"] = True
        if running["pid"] is not None:
            os.kill(running["pid"], signum)

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)

    status = 0
    try:
        while not stop["asked"]:
            # No daemon: wait for a connection to arrive (or for SIGTERM).
            try:
                readable, _, _ = select.select([listener], [], [], 0.5)
            except InterruptedError:
                continue
            if not readable:
                continue
            # SIGTERM must not fall between the fork and the moment its pid is known.
            signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
            pid = os.fork()
            if pid == 0:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
                os.dup2(listener.fileno(), LISTEN_FDS_START)
                os.set_inheritable(LISTEN_FDS_START, True)
                env = {"PATH": "/usr/bin:/bin", "LISTEN_FDS": "1", "LISTEN_PID": str(os.getpid())}
                argv = ["/usr/bin/setpriv", "--reuid=" + user, "--regid=" + str(account.pw_gid), "--init-groups"]
                os.execve(argv[0], argv + daemon, env)
            running["pid"] = pid
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            with open(pid_file + ".new", "w") as f:
                f.write("%d\n" % pid)
            os.replace(pid_file + ".new", pid_file)
            events.write("started %d\n" % pid)
            while True:
                try:
                    _, wait_status = os.waitpid(pid, 0)
                    break
                except InterruptedError:
                    continue
            running["pid"] = None
            os.unlink(pid_file)
            if os.WIFSIGNALED(wait_status):
                events.write("killed %d %d\n" % (pid, os.WTERMSIG(wait_status)))
                continue  # Restart=on-failure, at the next connection
            status = os.WEXITSTATUS(wait_status)
            events.write("exited %d %d\n" % (pid, status))
            break
    finally:
        listener.close()
        if os.path.exists(path):
            os.unlink(path)
    return status


if __name__ == "__main__":
    sys.exit(main())
