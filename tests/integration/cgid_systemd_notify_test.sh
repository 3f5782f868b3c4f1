#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# suwrap-cgid under a service manager, without one running: the test listens on the
# NOTIFY_SOCKET it gives the daemon, as systemd does for Type=notify. READY=1 comes once
# the socket listens; STATUS= follows the children; a SIGHUP is framed by RELOADING=1 and
# READY=1, and one whose configuration does not load keeps the old one, serving, and says
# so in the status until a good reload. On the journal's stream the lines carry priorities.
source "$(dirname "$0")/../lib/common.sh" cgid
: "${SUWRAP_CGID_BIN:?}"
t_setup ALICE
t_config
t_file "$ALICE" 0644 "$ALICE_DOCROOT/who.php" '<?php echo "uid=", posix_getuid();'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/slow.php" '<?php sleep(3); echo "slow";'

# The daemon's own copy of the configuration (--config), so that breaking it leaves
# suwrap's alone: requests must still be served after a bad reload.
conf=$T_ROOT/cgid-conf/suwrap.toml
mkdir -p "$T_ROOT/cgid-conf" "$T_ROOT/run"
cp "$SUWRAP_CONFIG_PATH" "$conf"
chown -R root:root "$T_ROOT/cgid-conf"
chmod 0644 "$conf"
chown "$T_CALLER" "$T_ROOT/run"
T_CGID_SOCK=$T_ROOT/run/cgid.sock

# The service manager's end: every datagram on the socket, one line each ('|' for '\n').
notify=$T_ROOT/notify.sock
messages=$T_ROOT/notify.log
: >"$messages"
"$T_PYTHON" - "$notify" "$messages" <<'PY' &
import os, socket, sys
path, log = sys.argv[1:3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)  # the daemon runs as www-data
with open(log, "a", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode().replace("\n", "|") + "\n")
PY
listener=$!
t_on_cleanup "kill $listener"
for _ in $(seq 1 50); do [ -S "$notify" ] && break; sleep 0.1; done

# wait_message REGEX [SECONDS]: true once a message after line $seen matches.
seen=0
wait_message() {
  local i
  for ((i = 0; i < ${2:-10} * 10; i++)); do
    tail -n +"$((seen + 1))" "$messages" | grep -Eq -- "$1" && return 0
    sleep 0.1
  done
  return 1
}
mark() { seen=$(wc -l <"$messages"); }

t_case "READY=1 once the socket listens"
env -i PATH=/usr/bin:/bin NOTIFY_SOCKET="$notify" \
  /usr/bin/setpriv --reuid="$T_CALLER" --regid="$(id -g "$T_CALLER")" --init-groups \
  "$SUWRAP_CGID_BIN" --listen "$T_CGID_SOCK" --wrapper "$T_SUWRAP" --config "$conf" \
  </dev/null 2>"$T_ROOT/cgid.stderr" &
T_CGID_PID=$!
t_on_cleanup "t_kill_pid $T_CGID_PID"
t_expect "READY=1 arrives" wait_message '(^|\|)READY=1(\||$)'
t_expect "the socket exists by then" test -S "$T_CGID_SOCK"
t_expect "the status names children, queue and pools" \
  grep -Eq 'STATUS=children 0/64, queued 0, pools 0/64' "$messages"
T_STDIN=/dev/null
t_fcgi SCRIPT_FILENAME="$ALICE_DOCROOT/who.php"
t_expect "a request is served (status $T_STATUS)" test "$T_STATUS" = 200

t_case "STATUS= follows the children"
mark
t_fcgi SCRIPT_FILENAME="$ALICE_DOCROOT/slow.php" >/dev/null &
slow=$!
t_expect "a status with one child while the slow request runs" wait_message 'STATUS=children 1/64' 5
wait "$slow" || true
t_expect "and with none after it" wait_message 'STATUS=children 0/64' 5

t_case "SIGHUP with a good configuration"
mark
kill -HUP "$T_CGID_PID"
t_expect "RELOADING=1, then READY=1" wait_message 'RELOADING=1'
t_expect "READY=1 after it" wait_message 'READY=1\|STATUS=children [0-9]+/64, queued 0, pools 0/64$'
t_expect "the status has no failure" sh -c "! tail -n +$((seen + 1)) '$messages' | grep -q 'reload failed'"

t_case "SIGHUP with a configuration that does not load"
printf '[global\n' >"$conf"
mark
kill -HUP "$T_CGID_PID"
t_expect "RELOADING=1" wait_message 'RELOADING=1'
t_expect "READY=1, with the failure in the status" \
  wait_message 'READY=1\|STATUS=.*reload failed, the previous configuration stays in use: .*suwrap.toml'
t_expect "the journal (stderr) says why, at level error" grep -q 'error: SIGHUP: .* did not load, the routing in use stays' "$T_ROOT/cgid.stderr"
t_expect "the daemon is still running" t_alive "$T_CGID_PID"
t_fcgi SCRIPT_FILENAME="$ALICE_DOCROOT/who.php"
t_expect "requests are still served (status $T_STATUS)" test "$T_STATUS" = 200
t_expect "the failure stays in the status while the daemon works" \
  wait_message 'STATUS=children 0/64.*reload failed' 3

t_case "SIGHUP after the configuration is fixed"
cp "$SUWRAP_CONFIG_PATH" "$conf"
mark
kill -HUP "$T_CGID_PID"
t_expect "READY=1 with a status that has no failure" wait_message 'READY=1\|STATUS=children [0-9]+/64, queued 0, pools 0/64$'

t_case "SIGTERM"
mark
kill -TERM "$T_CGID_PID"
t_expect "STOPPING=1" wait_message 'STOPPING=1'
t_wait_exit "$T_CGID_PID" 15
t_expect "exit status 0 (got $T_EXIT)" test "$T_EXIT" = 0

t_case "on the journal's stream, lines carry the journal's priority and no time of their own"
: >"$T_ROOT/journal"
stream=$(stat -c '%d:%i' "$T_ROOT/journal")
env -i PATH=/usr/bin:/bin JOURNAL_STREAM="$stream" \
  /usr/bin/setpriv --reuid="$T_CALLER" --regid="$(id -g "$T_CALLER")" --init-groups \
  "$SUWRAP_CGID_BIN" --listen "$T_CGID_SOCK" --wrapper "$T_SUWRAP" --config "$conf" \
  </dev/null 2>>"$T_ROOT/journal" &
T_CGID_PID=$!
t_on_cleanup "t_kill_pid $T_CGID_PID"
for _ in $(seq 1 50); do grep -q 'listening on' "$T_ROOT/journal" && break; sleep 0.1; done
t_expect "'<6>listening on ...'" grep -q '^<6>listening on ' "$T_ROOT/journal"
kill -TERM "$T_CGID_PID"
t_wait_exit "$T_CGID_PID" 15
t_expect "elsewhere, stderr lines start with the time" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T.* suwrap-cgid\[[0-9]+\] info: listening on' "$T_ROOT/cgid.stderr"

t_done
