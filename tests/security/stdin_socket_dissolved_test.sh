#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attack (issue 13, item 3): standard input that changes after the check. The caller passes
# suwrap a connected TCP socket as fd 0, keeps a copy, and dissolves the connection
# (connect(fd, AF_UNSPEC)) a few milliseconds after suwrap starts: suwrap's getpeername()
# passed and an allow was logged, then php-cgi, as the account, saw ENOTCONN and took fd 0
# for a FastCGI listener (where a kernel lets it listen, it would serve any file its peer
# names, unchecked and unlogged). suwrap now takes on fd 0 only what cannot change its kind:
# a pipe, a regular file, a character device (/dev/null) or a connected unix stream socket
# (Apache mod_cgid's). Any other socket refuses the request (check request) and nothing
# runs. Controls: a pipe, a file, /dev/null and a unix socketpair are request bodies.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
t_markers_dir
t_config
t_file "$ALICE" 0644 "$ALICE_DOCROOT/index.php" \
  "<?php touch('$T_MARKS/ran-' . getmypid()); echo 'uid=', posix_getuid(), ' body=', file_get_contents('php://input');"

# launch KIND: suwrap for index.php with fd 0 of that kind, run as the caller; the launcher
# keeps its own copy of fd 0 and, for "tcp-dissolved", dissolves the connection as soon as
# suwrap has logged its decision (an allow, where fd 0 passed the check), or after 3 s.
# Sets T_OUT (the response), T_RC and T_STATUS.
launch() {
  t_log_mark
  set +e
  T_OUT=$(env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST CONTENT_LENGTH=4 SERVER_PROTOCOL=HTTP/1.1 \
    SERVER_NAME=localhost SCRIPT_FILENAME="$ALICE_DOCROOT/index.php" \
    "$T_PYTHON" -I -S - "$1" "$T_CALLER" "$T_SUWRAP" "$T_ROOT" "$T_LOG" <<'PY'
import ctypes, os, socket, subprocess, sys, time
kind, caller, suwrap, root, log = sys.argv[1:6]
def log_size():
    try:
        return os.path.getsize(log)
    except OSError:
        return 0
logged_before = log_size()
keep = []
if kind.startswith("tcp"):
    server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
    client = socket.create_connection(server.getsockname()); peer, _ = server.accept()
    peer.sendall(b"body"); peer.shutdown(socket.SHUT_WR)
    stdin = client.fileno(); keep = [server, client, peer]
elif kind == "unix-pair":
    a, b = socket.socketpair(); b.sendall(b"body"); b.shutdown(socket.SHUT_WR)
    stdin = a.fileno(); keep = [a, b]
elif kind == "pipe":
    r, w = os.pipe(); os.write(w, b"body"); os.close(w); stdin = r
elif kind == "file":
    path = os.path.join(root, "body"); open(path, "wb").write(b"body"); stdin = os.open(path, os.O_RDONLY)
else:
    stdin = os.open("/dev/null", os.O_RDONLY)
proc = subprocess.Popen(["/usr/bin/setpriv", "--reuid=" + caller, "--regid=" + caller, "--init-groups", suwrap],
                        stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
if kind == "tcp-dissolved":
    deadline = time.monotonic() + 3
    while proc.poll() is None and log_size() == logged_before and time.monotonic() < deadline:
        time.sleep(0.0005)
    # struct sockaddr { sa_family_t sa_family = AF_UNSPEC; char sa_data[14]; }
    unspec = ctypes.create_string_buffer(16)
    ctypes.CDLL(None, use_errno=True).connect(keep[1].fileno(), unspec, 16)
try:
    out, _ = proc.communicate(timeout=20)
except subprocess.TimeoutExpired:
    proc.kill(); out, _ = proc.communicate()
sys.stdout.write(out.decode(errors="replace") + "~%d" % proc.returncode)
PY
)
  set -e
  T_RC=${T_OUT##*~}
  T_OUT=${T_OUT%~*}
  T_STATUS=$(printf '%s' "$T_OUT" | sed -n '1,/^\r\{0,1\}$/p' | { grep -i '^Status:' || true; } | sed -n 1p | awk '{print $2}')
  T_STATUS=${T_STATUS:-200}
}

t_case "a connected TCP socket as stdin, dissolved with connect(AF_UNSPEC) after the start"
rm -f "$T_MARKS"/*
launch tcp-dissolved
t_refused_only 1 403 request
t_expect "the script did not run (markers: $(t_markers))" t_no_marker 'ran-*'
t_expect "no php-cgi of the account is left" sh -c "! pgrep -u $ALICE >/dev/null"

t_case "a connected TCP socket as stdin, left as it is"
rm -f "$T_MARKS"/*
launch tcp
t_refused_only 1 403 request
t_expect "the script did not run" t_no_marker 'ran-*'

for kind in pipe file devnull unix-pair; do
  t_case "control: $kind as stdin is the request body"
  launch "$kind"
  t_ran_only
  t_expect "it ran as the account" t_contains "$T_OUT" "uid=$ALICE_UID"
  [ "$kind" = devnull ] || t_expect "and read the body" t_contains "$T_OUT" "body=body"
done

t_done
