#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attack (issue 13, item 5): an HTTP client writes lines into suwrap-cgid's log. A request
# path with %0a reaches SCRIPT_FILENAME (nginx's fastcgi_split_path_info does not match
# across a newline), and suwrap-cgid printed it raw in its queue-timeout, --timeout, pool
# and debug messages: the rest of the name became a line of its own, a forged log line.
# Every message of the daemon's log is now one line, its control characters escaped as
# \xNN. Attacked through nginx (a path with %0a, with the daemon at --log-level debug) and
# straight (a SCRIPT_FILENAME with a newline that waits past --queue-timeout).
source "$(dirname "$0")/../lib/common.sh" cgid soak
if [ -z "${SUWRAP_CGID_BIN:-}" ] || ! command -v nginx >/dev/null; then
  echo "SKIP $T_NAME: needs suwrap-cgid and nginx"
  exit 77
fi
t_setup ALICE
t_config
t_file "$ALICE" 0644 "$ALICE_DOCROOT/slow.php" '<?php sleep(3); echo "slow done";'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/index.php" '<?php echo "index";'
FORGED="suwrap-cgid[1] error: FORGED-LINE"

# forged_lines: lines of the daemon's log that begin with the forged text (a line of its own).
forged_lines() { awk -v f="$FORGED" 'index($0, f) == 1' "$T_CGID_LOG" | wc -l; }

t_start_cgid --log-level debug --max-children 1 --queue-timeout 1
T_PORT=$(t_free_port)
t_nginx_site_with_cgi "$T_ROOT/nginx-site.conf"
t_start_nginx "$T_ROOT/nginx-site.conf"

t_case "through nginx: a request path with %0a and a forged line after it"
path="/$ALICE/public_html/index.php/%0a$(printf '%s' "$FORGED" | sed 's/ /%20/g; s/\[/%5B/g; s/\]/%5D/g')"
code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$T_PORT$path" 2>&1 || true)
sleep 0.3
t_expect "the request was answered ($code)" test -n "$code"
t_expect "the daemon logged the request (debug)" grep -q 'FORGED-LINE' "$T_CGID_LOG"
t_expect "no line of the log begins with the forged text ($(forged_lines))" test "$(forged_lines)" = 0
t_expect "the newline is shown escaped" grep -qF 'index.php/\x0asuwrap-cgid' "$T_CGID_LOG"

t_case "straight: a SCRIPT_FILENAME with a newline waits past --queue-timeout"
t_fcgi SCRIPT_FILENAME="$ALICE_DOCROOT/slow.php" >/dev/null &
slow=$!
t_wait_children 1 || true
t_fcgi SCRIPT_FILENAME="$ALICE_DOCROOT/index.php"$'\n'"$FORGED"
wait "$slow" || true
t_expect "it got 503 (got $T_STATUS)" test "$T_STATUS" = 503
t_expect "the queue-timeout warning was logged" grep -q 'waited 1s for a free child' "$T_CGID_LOG"
t_expect "no line of the log begins with the forged text ($(forged_lines))" test "$(forged_lines)" = 0

t_stop_web nginx
t_stop_cgid
t_done
