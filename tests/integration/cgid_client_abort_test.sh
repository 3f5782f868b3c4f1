#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A client that goes away does not end its script, as under php-fpm: the script's output
# side closes, its next write fails, and PHP decides — a script that called
# ignore_user_abort(true) runs to its end (WordPress starts WP-Cron so), one that did not is
# ended by PHP's own abort handling; wall_seconds still ends either, and nothing outlives
# it. Through real nginx, with curl giving up early; per request (alice, kind php) and warm
# (bob, whose account's PHP is the php-fcgi handler).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/cgid_site.sh"
command -v nginx >/dev/null || { echo "SKIP $T_NAME: nginx is not installed"; exit 77; }
t_require_warm
t_setup

WALL=3
t_markers_dir
t_user ALICE
t_user BOB
t_site_ini 'output_buffering = 0
display_errors = stderr
'
T_CONFIG_TABLES="$(t_php_handler php php "ini_dir=\"$T_ROOT/etc/php\"")

$(t_php_handler php-warm php-fcgi "ini_dir=\"$T_ROOT/etc/php\"" workers=2 max_requests=500 idle_seconds=60 'extensions=[]')

[limits]
wall_seconds = $WALL"
t_config
t_account bob "user = \"$BOB\"
docroots = [\"$BOB_DOCROOT\"]
php_handler = \"php-warm\""

# The scripts, in both docroots; each leaves markers named after its uid.
#   linger.php   ignore_user_abort(true), a line out, 1 s asleep, a line out, then the
#                marker linger.<uid>: "aborted=<connection_aborted()> pid=<pid>"
#   control.php  no ignore_user_abort: a dot every 100 ms for 30 s, then control-done.<uid>;
#                its shutdown function leaves control.<uid>: "aborted=<connection_aborted()>"
#   past.php     ignore_user_abort(true), leaves past.<uid> with its pid, sleeps 30 s (past
#                wall_seconds), then past-done.<uid>
for user in "$ALICE" "$BOB"; do
  docroot=$T_ROOT/home/$user/public_html
  t_file "$user" 0644 "$docroot/linger.php" '<?php ignore_user_abort(true); header("Content-Type: text/plain");
echo "started\n"; flush(); sleep(1); echo "after\n"; flush();
file_put_contents("'"$T_MARKS"'/linger." . posix_getuid(), "aborted=" . connection_aborted() . " pid=" . getmypid());'
  t_file "$user" 0644 "$docroot/control.php" '<?php header("Content-Type: text/plain");
register_shutdown_function(function () { file_put_contents("'"$T_MARKS"'/control." . posix_getuid(), "aborted=" . connection_aborted()); });
for ($i = 0; $i < 300; $i++) { echo "."; flush(); usleep(100000); }
file_put_contents("'"$T_MARKS"'/control-done." . posix_getuid(), "");'
  t_file "$user" 0644 "$docroot/hold.php" '<?php file_put_contents("'"$T_MARKS"'/hold." . posix_getuid(), getmypid()); sleep(2); echo "held\n";'
  t_file "$user" 0644 "$docroot/past.php" '<?php ignore_user_abort(true); header("Content-Type: text/plain");
file_put_contents("'"$T_MARKS"'/past." . posix_getuid(), getmypid()); echo "started\n"; flush(); sleep(30);
file_put_contents("'"$T_MARKS"'/past-done." . posix_getuid(), "");'
done

# wait_for_marker NAME SECONDS: true once $T_MARKS/NAME exists (and is written).
wait_for_marker() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [ -s "$T_MARKS/$1" ] && return 0
    sleep 0.1
  done
  return 1
}
# wait_gone PID SECONDS: true once no process has PID.
wait_gone() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [ -e "/proc/$1" ] || return 0
    sleep 0.1
  done
  return 1
}
# go_away USER SCRIPT: curl asks for it through nginx and gives up early.
go_away() {
  t_curl "$(t_url "$1" "$2")" --max-time 0.2
  t_expect "curl gave up early (curl exit $T_RC, status $T_STATUS)" test "$T_RC" = 28
}
metric() { t_status_page SCRIPT_FILENAME=/nonexistent; t_body | awk -v m="$1" '$1 == m { print $2 }'; }

t_start_cgid --config "$SUWRAP_CONFIG_PATH" --pool-dir "$T_ROOT/run/pools" --status-path /suwrap-status
T_PORT=$(t_free_port)
t_fill_template "$T_WEBSERVERS_DIR/nginx-suwrap.conf" "$T_ROOT/nginx-site.conf" \
  LISTEN="127.0.0.1:$T_PORT" SERVER_NAME=localhost DOCROOT="$T_ROOT/home" SOCKET="$T_CGID_SOCK"
t_start_nginx "$T_ROOT/nginx-site.conf"
# Per request first, while the daemon has no pool: then nothing of the users, and no child
# of the daemon, may be left after each case.
for mode in "per request" warm; do
  if [ "$mode" = warm ]; then
    user=$BOB uid=$BOB_UID
    # Bob's pool is started before the warm cases, so that they time only the script.
    t_curl "$(t_url "$BOB" linger.php)"
    [ "$T_STATUS" = 200 ] || { echo "FAIL $T_NAME: bob's first request: $T_STATUS $T_OUT $T_ERR" >&2; exit 1; }
    rm -f "$T_MARKS"/*
  else
    user=$ALICE uid=$ALICE_UID
  fi

  t_case "$mode: a script that ignores the abort runs to its end after its client went away"
  go_away "$user" linger.php
  t_expect "its marker appears" wait_for_marker "linger.$uid" 10
  t_expect "and the script saw its client gone (got: $(cat "$T_MARKS/linger.$uid" 2>/dev/null))" \
    t_contains "$(cat "$T_MARKS/linger.$uid" 2>/dev/null)" "aborted=1 "
  if [ "$mode" = warm ]; then
    # The worker was not killed and replaced: it is still there, serving.
    pid=$(sed -n 's/.* pid=//p' "$T_MARKS/linger.$uid")
    t_expect "its worker ($pid) still runs, as bob" test "$(ps -o user= -p "$pid" 2>/dev/null)" = "$BOB"
    # Done with the request, the worker is free again: the gate did not wait for
    # wall_seconds and kill it.
    sleep $((WALL + 1))
    t_expect "past wall_seconds, the worker ($pid) still runs: it was let go, not killed" \
      test "$(ps -o user= -p "$pid" 2>/dev/null)" = "$BOB"
    t_expect "no worker was killed (log: $(grep -o 'php worker [0-9]* killed' "$T_LOG" | tr '\n' ' '))" \
      eval '! grep -q "php worker [0-9]* killed" "$T_LOG"'
  else
    t_expect "suwrap's exit line: the script ended by itself (status $(t_log_field exit status), signal $(t_log_field exit signal))" \
      eval 'test "$(t_log_field exit signal)" = null && test "$(t_log_field exit timed_out)" = false'
    t_nothing_left "$ALICE" "$BOB"
  fi

  t_case "$mode: a script that does not ignore the abort is ended by PHP when its client goes away"
  go_away "$user" control.php
  t_expect "its shutdown function ran" wait_for_marker "control.$uid" 10
  t_expect "after PHP saw the client gone (got: $(cat "$T_MARKS/control.$uid" 2>/dev/null))" \
    test "$(cat "$T_MARKS/control.$uid" 2>/dev/null)" = "aborted=1"
  t_expect "its loop did not run to its end" t_no_marker "control-done.$uid"
  if [ "$mode" = warm ]; then
    t_expect "bob runs only his pool: gate, php parent, 2 workers (got: $(ps -o pid=,args= -u "$BOB" | tr '\n' ';'))" \
      test "$(ps -o pid= -u "$BOB" | wc -l)" = 4
  else
    t_expect "suwrap's exit line: not signalled (got $(t_log_field exit signal))" test "$(t_log_field exit signal)" = null
    t_nothing_left "$ALICE" "$BOB"
  fi

  t_case "$mode: a script that ignores the abort is still ended at wall_seconds ($WALL s), nothing outlives it"
  go_away "$user" past.php
  t_expect "it started" wait_for_marker "past.$uid" 10
  pid=$(cat "$T_MARKS/past.$uid" 2>/dev/null)
  if [ "$mode" = "per request" ]; then
    # The abandoned request keeps its child slot until it ends: the limits still bound the host.
    t_expect "while it runs, it still holds a child of the daemon" test "$(metric suwrap_cgid_children_active)" = 1
  fi
  t_expect "its process ($pid) is ended" wait_gone "$pid" $((WALL + 10))
  t_expect "it never reached its end" t_no_marker "past-done.$uid"
  if [ "$mode" = warm ]; then
    t_expect "bob runs only his pool: gate, php parent, 2 workers" \
      eval 'for _ in $(seq 1 50); do [ "$(ps -o pid= -u "$BOB" | wc -l)" = 4 ] && break; sleep 0.1; done; [ "$(ps -o pid= -u "$BOB" | wc -l)" = 4 ]'
  else
    t_expect "suwrap's exit line says timed out (got $(t_log_field exit timed_out))" test "$(t_log_field exit timed_out)" = true
    t_nothing_left "$ALICE" "$BOB"
    t_expect "its child slot is free again" test "$(metric suwrap_cgid_children_active)" = 0
  fi
done

t_case "warm: a request whose client leaves before a worker took it still runs, and wall_seconds still ends it"
# Both of bob's workers are held by hold.php; past.php waits in php-cgi's queue when its
# client goes away. It runs once a worker is free, as under php-fpm, and is still ended at
# wall_seconds, counted from its start at the gate: a request the gate let go unwatched
# would reach its end (30 s).
rm -f "$T_MARKS/past.$BOB_UID" "$T_MARKS/past-done.$BOB_UID"
holders=()
for _ in 1 2; do curl -s -o /dev/null --max-time 20 "$(t_url "$BOB" hold.php)" & holders+=($!); done
t_expect "both workers are busy" wait_for_marker "hold.$BOB_UID" 10
go_away "$BOB" past.php
t_expect "it ran once a worker was free" wait_for_marker "past.$BOB_UID" $((WALL + 5))
pid=$(cat "$T_MARKS/past.$BOB_UID" 2>/dev/null)
t_expect "its process ($pid) is ended" wait_gone "$pid" $((WALL + 10))
t_expect "it never reached its end" t_no_marker "past-done.$BOB_UID"
wait "${holders[@]}"

t_case "warm: the pool still serves after all of it"
t_curl "$(t_url "$BOB" linger.php)"
t_expect "200 (got $T_STATUS)" test "$T_STATUS" = 200
t_expect "the whole answer (got: $T_OUT)" test "$T_OUT" = "$(printf 'started\nafter')"

t_stop_web nginx
t_stop_cgid
t_expect "no process of the test users is left" eval 'wait_gone_users() { for _ in $(seq 1 100); do [ -z "$(ps -o pid= -u "$ALICE" -u "$BOB")" ] && return 0; sleep 0.1; done; return 1; }; wait_gone_users'
t_done
