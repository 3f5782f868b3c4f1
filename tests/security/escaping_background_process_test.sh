#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A script leaves processes behind to outlive its request: a background child, one that
# calls setsid to leave the process group, a double fork out of the session, one that
# ignores SIGTERM, while the script itself sleeps past wall_seconds (2 s here). suwrap's
# supervisor kills the process group at the limit, and, as a child subreaper, every
# descendant that escaped the group; after suwrap returns no process of the user is left,
# and the exit line says timed_out. The same holds when the script exits at once.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
T_CONFIG_TABLES=$(t_php_tables php '[limits]
wall_seconds = 2')
t_config

# Every leftover has its stdio on /dev/null, so a survivor cannot hold the response pipe open
# (the test would hang instead of failing).
t_file "$ALICE" 0755 "$ALICE_DOCROOT/linger.cgi" '#!/bin/sh
printf "Content-Type: text/plain\r\n\r\nstarted\n"
sleep 300 </dev/null >/dev/null 2>&1 &
setsid sleep 301 </dev/null >/dev/null 2>&1 &
( setsid sh -c "sleep 302" </dev/null >/dev/null 2>&1 & ) &
sh -c "trap \"\" TERM HUP INT; sleep 303" </dev/null >/dev/null 2>&1 &
setsid sh -c "trap \"\" TERM HUP INT; sleep 304" </dev/null >/dev/null 2>&1 &
sleep 1
trap "" TERM
sleep 30'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/linger.php" '<?php
echo "started\n";
exec("setsid sleep 305 </dev/null >/dev/null 2>&1 &");
exec("sleep 306 </dev/null >/dev/null 2>&1 &");
sleep(30);'

survivors() { pgrep -u "$ALICE" -a 2>/dev/null | tr '\n' ';' || true; }

t_case "control: a process left by alice outside suwrap is seen by pgrep"
(setpriv --reuid="$ALICE" --regid="$ALICE_GID" --init-groups setsid sleep 299 </dev/null >/dev/null 2>&1 &)
sleep 0.3
t_expect "pgrep -u alice finds it ($(survivors))" eval 'pgrep -u "$ALICE" >/dev/null'
pkill -KILL -u "$ALICE" || true
sleep 0.2

t_case "past wall_seconds: the script, its group and every escaped descendant end"
start=$SECONDS
t_request_via timeout 60 -- SCRIPT_FILENAME="$ALICE_DOCROOT/linger.cgi"
took=$((SECONDS - start))
left=$(survivors)
t_expect "no process of alice survives (got: ${left:-none})" test -z "$left"
t_expect "suwrap returned within the limit and the grace (took ${took}s)" test "$took" -lt 10
t_expect "the response began" t_contains "$T_OUT" started
new=$(t_log_new)
t_expect "an allow line, then an exit line with timed_out true (got: $(printf "%s" "$new" | tr "\n" ";"))" \
  eval '[[ "$new" =~ ^decision\ allow\ .*$'"'"'\n'"'"'exit\ [^\ ]+\ [^\ ]+\ true\  ]]'
wall=$(printf '%s\n' "$new" | awk '$1 == "exit" { print $5 }')
t_expect "wall_ms is at least the 2 s limit (got $wall)" test "${wall:-0}" -ge 2000

t_case "the script exits at once: its escaped descendants end with it"
sed 's/^sleep 30$/exit 0/' "$ALICE_DOCROOT/linger.cgi" >"$ALICE_DOCROOT/quick.cgi"
chown "$ALICE:$ALICE" "$ALICE_DOCROOT/quick.cgi"
chmod 0755 "$ALICE_DOCROOT/quick.cgi"
t_expect "the copy exits instead of sleeping" eval 'grep -qx "exit 0" "$ALICE_DOCROOT/quick.cgi"'
t_request_via timeout 60 -- SCRIPT_FILENAME="$ALICE_DOCROOT/quick.cgi"
left=$(survivors)
t_expect "no process of alice survives (got: ${left:-none})" test -z "$left"
new=$(t_log_new)
t_expect "the exit line has status 0 and timed_out false (got: $(printf "%s" "$new" | tr "\n" ";"))" \
  eval 'printf "%s\n" "$new" | grep -q "^exit 0 null false "'

t_case "PHP starting background commands, past wall_seconds"
t_request_via timeout 60 -- SCRIPT_FILENAME="$ALICE_DOCROOT/linger.php"
left=$(survivors)
t_expect "no process of alice survives (got: ${left:-none})" test -z "$left"
t_expect "timed_out true" eval 't_log_new | grep -q "^exit [^ ]* [^ ]* true "'

t_done
