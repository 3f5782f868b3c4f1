#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Starts `suwrap --pool` the way suwrap-cgid does, for the suites.

  pool_launch.py [--fd0 listen|devnull|pair] SOCK AS_USER -- SUWRAP [ARG...]

Creates a listening unix socket at SOCK (mode 0600, root's; the test connects as root),
runs SUWRAP as AS_USER (setpriv) with the environment this script was given, fd 0 that
socket (or /dev/null, or one end of a socketpair), fd 1 a pipe (the start channel), fd 2
inherited. Reads the start channel to its end and prints one line:
  READY pid=PID              zero bytes before EOF: the gate is serving
  REFUSED pid=PID rc=RC      bytes came (the refusal, printed after the line); suwrap exited
Then it exits; a READY pool keeps running (the suite signals PID when it is done).
"""
import os
import socket
import subprocess
import sys


def main():
    args = sys.argv[1:]
    fd0 = "listen"
    if args[0] == "--fd0":
        fd0, args = args[1], args[2:]
    sock_path, user = args[0], args[1]
    command = args[3:] if args[2] == "--" else args[2:]

    keep = []
    if fd0 == "listen":
        if os.path.exists(sock_path):
            os.unlink(sock_path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(sock_path)
        os.chmod(sock_path, 0o600)
        listener.listen(64)
        stdin = listener.fileno()
        keep.append(listener)
    elif fd0 == "pair":
        a, b = socket.socketpair()
        stdin = a.fileno()
        keep += [a, b]
    else:
        stdin = os.open("/dev/null", os.O_RDONLY)

    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        ["/usr/bin/setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups"] + command,
        stdin=stdin, stdout=write_end, close_fds=True, start_new_session=True)
    os.close(write_end)
    for k in keep:
        k.close()  # the pool holds the socket now; the suite connects by its path
    got = b""
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        got += chunk
    if not got:
        print("READY pid=%d" % process.pid, flush=True)
        return 0
    rc = process.wait(timeout=30)
    print("REFUSED pid=%d rc=%d" % (process.pid, rc), flush=True)
    sys.stdout.write(got.decode("utf-8", "replace"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
