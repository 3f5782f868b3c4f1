#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""systemd's part in the package tests, on machines where systemd is not PID 1 (CI's).

  systemd_stand_in.py serve STATE-DIR UNIT-DIR NAME
  systemd_stand_in.py systemctl STATE-DIR [OPTION...] VERB [UNIT...]

`serve` runs NAME.socket and NAME.service of UNIT-DIR (read when first started, so the
package may install them later) as systemd does, as far as the tests need it:
  - the socket (ListenStream=, SocketUser=, SocketGroup=, SocketMode=) is bound once and
    held: connections made while the service restarts wait in its backlog;
  - the service runs ExecStart= as User=/Group= with UMask=, RuntimeDirectory= made,
    the socket as descriptor 3 (LISTEN_FDS=1, LISTEN_PID), and, for Type=notify, a
    NOTIFY_SOCKET whose messages from the main process are recorded; a start returns
    once READY=1 came (Type=notify) or at once;
  - stop is SIGTERM to the main process (KillMode=mixed), SIGKILL to its group after
    TimeoutStopSec=; reload is ExecReload='s SIGHUP, and waits for READY=1 after it;
  - Restart=on-failure starts a service again that ended with a failure.
STATE-DIR/events gets a line for each start, notification, end and command;
STATE-DIR/journal gets the service's standard output and error. SIGTERM ends it all.

`systemctl` is what a stand-in /usr/bin/systemctl runs (the test binds a script that
execs it over the real one, in a mount namespace of apt's own): each call is written to
STATE-DIR/systemctl.calls; what systemctl does on the file system alone (enable, disable,
preset with --root=, is-enabled) is done by the real one (STATE-DIR/systemctl.real); verbs
on NAME's units go to the `serve` process; every other verb or unit succeeds doing nothing.
"""
import grp
import os
import pwd
import select
import shlex
import shutil
import signal
import socket
import sys
import time

LISTEN_FDS_START = 3


def parse_unit(path):
    """The keys of a unit file: {"Section": {"Key": [values...]}}."""
    unit, section, pending = {}, None, ""
    with open(path) as f:
        for raw in f:
            line = pending + raw.rstrip("\n")
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            pending = ""
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = unit.setdefault(line[1:-1], {})
            elif "=" in line and section is not None:
                key, value = line.split("=", 1)
                section.setdefault(key.strip(), []).append(value.strip())
    return unit


def last(unit, section, key, default=None):
    values = unit.get(section, {}).get(key, [])
    return values[-1] if values else default


class Manager:
    def __init__(self, state, unit_dir, name):
        self.state, self.unit_dir, self.name = state, unit_dir, name
        self.events = open(os.path.join(state, "events"), "a", buffering=1)
        self.listener = None
        self.main_pid = None
        self.stopping = False
        self.runtime_dirs, self.made_dirs = [], []
        self.notifications = []  # (pid, message)
        self.notify_path = os.path.join(state, "notify")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        os.chmod(self.notify_path, 0o666)  # the service's user sends on it
        self.notify.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        control_path = os.path.join(state, "control")
        self.control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.control.bind(control_path)
        self.control.listen(8)

    def log(self, text):
        self.events.write(f"{time.monotonic():.3f} {text}\n")

    # ---- the socket unit ----
    def start_socket(self):
        if self.listener is not None:
            return "ok"
        unit = parse_unit(os.path.join(self.unit_dir, self.name + ".socket"))
        path = last(unit, "Socket", "ListenStream")
        self.make_dirs(os.path.dirname(path))
        if os.path.exists(path):
            os.unlink(path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        user, group = last(unit, "Socket", "SocketUser"), last(unit, "Socket", "SocketGroup")
        os.chown(path, pwd.getpwnam(user).pw_uid if user else 0, grp.getgrnam(group).gr_gid if group else 0)
        os.chmod(path, int(last(unit, "Socket", "SocketMode", "0666"), 8))
        listener.listen(128)
        self.listener, self.socket_path = listener, path
        self.log(f"socket {path}")
        return "ok"

    def stop_socket(self):
        if self.listener is not None:
            self.listener.close()
            self.listener = None
            if os.path.exists(self.socket_path):
                os.unlink(self.socket_path)
            self.log("socket closed")
        return "ok"

    # ---- the service unit ----
    def service(self):
        return parse_unit(os.path.join(self.unit_dir, self.name + ".service"))

    def start_service(self):
        if self.main_pid is not None:
            return "ok"
        self.start_socket()
        unit = self.service()
        user = pwd.getpwnam(last(unit, "Service", "User", "root"))
        group = grp.getgrnam(last(unit, "Service", "Group", user.pw_name))
        mode = int(last(unit, "Service", "RuntimeDirectoryMode", "0755"), 8)
        for directory in " ".join(unit["Service"].get("RuntimeDirectory", [])).split():
            path = os.path.join("/run", directory)
            self.make_dirs(os.path.dirname(path))
            os.makedirs(path, mode=mode, exist_ok=True)
            self.runtime_dirs.append(path)
            os.chown(path, user.pw_uid, group.gr_gid)
            os.chmod(path, mode)
        argv = shlex.split(last(unit, "Service", "ExecStart"))
        umask = int(last(unit, "Service", "UMask", "0022"), 8)
        journal = os.open(os.path.join(self.state, "journal"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                null = os.open("/dev/null", os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(journal, 1)
                os.dup2(journal, 2)
                os.dup2(self.listener.fileno(), LISTEN_FDS_START)
                os.closerange(LISTEN_FDS_START + 1, 1024)
                os.initgroups(user.pw_name, group.gr_gid)
                os.setresgid(group.gr_gid, group.gr_gid, group.gr_gid)
                os.setresuid(user.pw_uid, user.pw_uid, user.pw_uid)
                os.umask(umask)
                env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                       "LISTEN_FDS": "1", "LISTEN_PID": str(os.getpid()),
                       "LISTEN_FDNAMES": self.name + ".socket"}
                if last(unit, "Service", "Type") == "notify":
                    env["NOTIFY_SOCKET"] = self.notify_path
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        os.close(journal)
        self.main_pid = pid
        self.log(f"started {pid} {argv[0]}")
        if last(unit, "Service", "Type") == "notify":
            if not self.wait_for(lambda: self.notified(pid, "READY=1"), 30):
                return f"fail: {argv[0]} did not send READY=1"
        return "ok"

    def stop_service(self):
        pid = self.main_pid
        if pid is None:
            return "ok"
        self.stopping = True
        timeout = float(last(self.service(), "Service", "TimeoutStopSec", "90"))
        self.log(f"stopping {pid}")
        os.kill(pid, signal.SIGTERM)
        if not self.wait_for(lambda: self.main_pid is None, timeout):
            os.killpg(pid, signal.SIGKILL)
            self.wait_for(lambda: self.main_pid is None, 10)
        self.stopping = False
        for path in self.runtime_dirs:  # as systemd removes RuntimeDirectory= on stop
            shutil.rmtree(path, ignore_errors=True)
        self.runtime_dirs = []
        return "ok"

    def make_dirs(self, path):
        """makedirs, remembering what it made, to remove at the end what stays empty."""
        missing = []
        while not os.path.exists(path):
            missing.append(path)
            path = os.path.dirname(path)
        for directory in reversed(missing):
            os.mkdir(directory, 0o755)
            self.made_dirs.append(directory)

    def reload_service(self):
        pid = self.main_pid
        if pid is None:
            return "fail: not running"
        before = len(self.notifications)
        os.kill(pid, signal.SIGHUP)
        self.log(f"reload {pid}")
        if not self.wait_for(lambda: any(p == pid and "READY=1" in m for p, m in self.notifications[before:]), 30):
            return "fail: no READY=1 after the reload"
        return "ok"

    def notified(self, pid, text):
        return any(p == pid and text in m.split("\n") for p, m in self.notifications)

    # ---- the loop ----
    def pump(self, timeout):
        """Reads notifications, reaps the service, answers nothing: one round."""
        ready, _, _ = select.select([self.notify], [], [], timeout)
        if ready:
            data, ancillary, _, _ = self.notify.recvmsg(4096, socket.CMSG_SPACE(12))
            sender = None
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    sender = int.from_bytes(payload[0:4], sys.byteorder)
            message = data.decode(errors="replace")
            if sender == self.main_pid:  # NotifyAccess=main
                self.notifications.append((sender, message))
            self.log(f"notify {sender} {message.replace(chr(10), ' ')}")
        while self.main_pid is not None:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid == self.main_pid:
                self.main_pid = None
                code = os.waitstatus_to_exitcode(status)
                self.log(f"exited {pid} {code}")
                restart = last(self.service(), "Service", "Restart", "no")
                if not self.stopping and code != 0 and restart in ("on-failure", "always"):
                    self.start_service()

    def wait_for(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            self.pump(0.05)
        return True

    def command(self, verb, unit):
        is_socket = unit.endswith(".socket")
        if verb == "is-active":
            active = self.listener is not None if is_socket else self.main_pid is not None
            return "ok" if active else "fail: inactive"
        if verb == "main-pid":
            return f"ok {self.main_pid or 0}"
        if is_socket:
            return {"start": self.start_socket, "restart": self.start_socket,
                    "stop": self.stop_socket}.get(verb, lambda: "ok")()
        if verb == "start":
            return self.start_service()
        if verb == "stop":
            return self.stop_service()
        if verb in ("restart", "try-restart", "reload-or-restart", "try-reload-or-restart"):
            if verb.startswith("try") and self.main_pid is None:
                return "ok"
            if "reload" in verb and self.main_pid is not None:
                return self.reload_service()
            self.stop_service()
            return self.start_service()
        if verb == "reload":
            return self.reload_service()
        return "ok"

    def serve(self):
        def end(*_):
            self.stop_service()
            self.stop_socket()
            for directory in reversed(self.made_dirs):
                try:
                    os.rmdir(directory)
                except OSError:
                    pass
            sys.exit(0)
        signal.signal(signal.SIGTERM, end)
        while True:
            ready, _, _ = select.select([self.control, self.notify], [], [], 0.2)
            if self.control in ready:
                client, _ = self.control.accept()
                with client:
                    verb, unit = client.recv(4096).decode().split()
                    self.log(f"command {verb} {unit}")
                    try:
                        answer = self.command(verb, unit)
                    except Exception as e:  # the test reads it as a failure
                        answer = f"fail: {e!r}"
                    client.sendall((answer + "\n").encode())
            self.pump(0)


def systemctl(state, args):
    with open(os.path.join(state, "systemctl.calls"), "a") as calls:
        calls.write(" ".join(args) + "\n")
    real = os.path.join(state, "systemctl.real")
    words = [a for a in args if not a.startswith("-")]
    if not words:
        return 0
    verb, units = words[0], words[1:]
    # What systemctl does on the file system alone (enable, disable, preset, is-enabled),
    # the real one does, on /.
    if any(a.startswith("--root=") for a in args):
        os.execv(real, [real] + args)
    if verb == "is-enabled":
        os.execv(real, [real, "--root=/", "is-enabled"] + [u for u in units if u != "--"])
    name = open(os.path.join(state, "name")).read().strip()
    status = 0
    for unit in units:
        if "." not in unit:
            unit += ".service"
        if unit not in (name + ".service", name + ".socket"):
            continue
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(os.path.join(state, "control"))
            s.sendall(f"{verb} {unit}".encode())
            answer = s.makefile().readline().strip()
        if verb == "main-pid":
            print(answer.split()[1])
        if not answer.startswith("ok"):
            if verb != "is-active":
                print(f"systemctl (stand-in): {verb} {unit}: {answer}", file=sys.stderr)
            status = 3 if verb == "is-active" else 1
    return status


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "serve":
        state, unit_dir, name = sys.argv[2:5]
        with open(os.path.join(state, "name"), "w") as f:
            f.write(name + "\n")
        Manager(state, unit_dir, name).serve()
    elif len(sys.argv) >= 3 and sys.argv[1] == "systemctl":
        return systemctl(sys.argv[2], sys.argv[3:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
