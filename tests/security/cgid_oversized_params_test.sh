#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attack (issue 13, item 7a): a request whose parameters are over the daemon's bound (more
# than 512 KiB, or more than 2,000 pairs) was met with a closed connection and nothing
# else: the web server answered its client 502 with no word from suwrap-cgid why. Such a
# request now gets an error status of its own (431, then END_REQUEST) and a log line, and
# only then is the connection closed; a stream that is no FastCGI at all is closed, and that
# close is logged too. Control: a request with parameters within the bound is served.
source "$(dirname "$0")/../lib/common.sh" cgid
if [ -z "${SUWRAP_CGID_BIN:-}" ]; then echo "SKIP $T_NAME: needs suwrap-cgid"; exit 77; fi
t_setup ALICE
t_config
t_file "$ALICE" 0644 "$ALICE_DOCROOT/index.php" '<?php echo "served";'
t_start_cgid

# send KIND: one request straight to the daemon's socket; prints "answered <status line>
# end=<END_REQUEST seen>" or "closed".
send() {
  "$T_PYTHON" -I -S -B - "$T_CGID_SOCK" "$1" "$ALICE_DOCROOT/index.php" "$SUWRAP_SOURCE_DIR/tests/lib" <<'PY'
import struct, sys
sys.path.insert(0, sys.argv[4])
import fcgi_client as f
sock_path, kind, script = sys.argv[1:4]
pairs = [(b"SCRIPT_FILENAME", script.encode()), (b"REQUEST_METHOD", b"GET"), (b"GATEWAY_INTERFACE", b"CGI/1.1")]
if kind == "bytes":
    pairs.append((b"HTTP_X_BIG", b"x" * (600 * 1024)))
elif kind == "count":
    pairs += [(b"HTTP_X_%d" % i, b"1") for i in range(2100)]
s = f.connect(sock_path)
data = f.request_bytes(1, pairs) if kind != "garbage" else b"\x07\x01\x00\x01\x00\x08\x00\x00" + b"\xff" * 64
try:
    s.sendall(data)
except OSError:
    pass  # the daemon stopped reading once the bound was passed: its answer is still there
out, end = b"", False
try:
    while True:
        rtype, rid, content = f.read_record(s)
        if rtype == f.STDOUT:
            out += content
        elif rtype == f.END_REQUEST:
            end = True
            break
except Exception:
    pass
print(("answered %s end=%s" % (out.split(b"\r\n")[0].decode(errors="replace"), end)) if out else "closed")
PY
}
log_since() { tail -n +"$(($1 + 1))" "$T_CGID_LOG"; }

t_case "params over 512 KiB"
before=$(wc -l <"$T_CGID_LOG")
result=$(send bytes)
t_expect "an error status and END_REQUEST ($result)" test "$result" = "answered Status: 431 Request Header Fields Too Large end=True"
t_expect "a log line says why" sh -c "tail -n +$((before + 1)) '$T_CGID_LOG' | grep -q 'refused with 431: the params of request 1 exceed'"

t_case "more than 2,000 params"
before=$(wc -l <"$T_CGID_LOG")
result=$(send count)
t_expect "an error status and END_REQUEST ($result)" test "$result" = "answered Status: 431 Request Header Fields Too Large end=True"
t_expect "a log line says why" sh -c "tail -n +$((before + 1)) '$T_CGID_LOG' | grep -q 'refused with 431: request 1 has more than'"

t_case "a stream that is no FastCGI: closed, and the close is logged"
before=$(wc -l <"$T_CGID_LOG")
result=$(send garbage)
t_expect "closed without an answer ($result)" test "$result" = closed
t_expect "the close is logged" sh -c "tail -n +$((before + 1)) '$T_CGID_LOG' | grep -q 'closing a connection: malformed FastCGI stream'"

t_case "control: params within the bound are served"
result=$(send small)
t_expect "served ($result)" sh -c 'case "$1" in "answered Status:"*) exit 1 ;; answered*end=True) exit 0 ;; *) exit 1 ;; esac' _ "$result"
t_expect "the daemon still runs" t_alive "$T_CGID_PID"

t_stop_cgid
t_done
