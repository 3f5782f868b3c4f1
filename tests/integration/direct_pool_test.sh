#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Direct pools end to end: real nginx -> suwrap-cgid -> the account's php-cgi workers (a handler
# with `direct = true`), started by suwrap --pool -> suwrap-gate --direct (which supervises, and is not in
# the request's path). Every request is checked in the worker by the PHP guard with the policy
# code: it runs as its owner in one pool per account; a refusal is answered with its status,
# logged with its check for the account's user, and never runs; a script past wall_seconds
# is ended and logged; what a request leaves running (attached or escaped) is ended; an idle
# pool ends and the next request starts another; a changed php.ini ends the pool.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/cgid_site.sh"
command -v nginx >/dev/null || { echo "SKIP $T_NAME: nginx is not installed"; exit 77; }
: "${SUWRAP_CGID_BIN:?SUWRAP_CGID_BIN must name the built suwrap-cgid}"
t_require_warm
t_setup

WORKERS=2
IDLE=4
WALL=8
POOL_DIR=$T_ROOT/run/pools
t_markers_dir
t_warm_site "$WORKERS" "$IDLE" "$WALL" direct=true

for user in "$ALICE" "$BOB"; do
  docroot=$T_ROOT/home/$user/public_html
  t_file "$user" 0644 "$docroot/who.php" \
    '<?php header("Content-Type: text/plain"); $s = opcache_get_status(false); echo "uid=", posix_getuid(), " ppid=", posix_getppid(), " hits=", $s ? $s["opcache_statistics"]["hits"] : -1, " id=", getenv("SUWRAP_SCRIPT_ID") === false ? "none" : "set", " pool=", isset($_SERVER["SUWRAP_POOL_HANDLER"]) ? "seen" : "hidden";'
done
t_file "$ALICE" 0644 "$ALICE_DOCROOT/nap.php" \
  "<?php file_put_contents('$T_MARKS/nap.pid', getmypid()); sleep((int)(\$_GET['s'] ?? 1)); echo 'slept';"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/program.php" \
  '<?php header("Content-Type: text/plain"); echo "fd0=", trim((string)shell_exec("readlink /proc/self/fd/0 2>/dev/null || echo none")), "\n", "board=", implode(",", array_filter(array_map(fn($f) => (string)@readlink("/proc/self/fd/$f"), scandir("/proc/self/fd")), fn($l) => str_contains($l, "suwrap-pool-board"))), "\n", "proc=", trim((string)shell_exec("ls /proc/" . getmypid() . "/fd/ 2>&1")), "\n", shell_exec("env");'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/leave.php" \
  "<?php file_put_contents('$T_MARKS/leave.pid', getmypid()); posix_setsid(); sleep(30); echo 'survived';"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/disarm.php" \
  "<?php file_put_contents('$T_MARKS/disarm.pid', getmypid()); if (function_exists('pcntl_alarm')) pcntl_alarm(0); pcntl_signal(SIGALRM, SIG_IGN); sleep(30); echo 'survived';"
t_file "$ALICE" 0664 "$ALICE_DOCROOT/group_writable.php" "<?php touch('$T_MARKS/group_writable-ran');"
t_file "$BOB" 0644 "$ALICE_DOCROOT/bobs_in_alice.php" "<?php touch('$T_MARKS/bobs_in_alice-ran');"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/escape.php" '<?php exec("sh -c \"sleep 307\" >/dev/null 2>&1 &"); echo "started";'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/attached.php" \
  '<?php $p = proc_open(["sleep", "308"], [], $pipes); echo "started ", proc_get_status($p)["pid"];'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/stopped.php" \
  '<?php $p = proc_open(["sh", "-c", "kill -STOP $$; exec sleep 309"], [], $pipes); echo "started ", proc_get_status($p)["pid"];'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/zombie.php" \
  '<?php $pid = pcntl_fork(); if ($pid === 0) posix_kill(getmypid(), SIGKILL); usleep(200000); echo "zombie ", $pid, " ", getmypid();'
touch -d '1 hour ago' "$ALICE_DOCROOT"/*.php "$BOB_DOCROOT"/*.php

t_on_cleanup "pkill -KILL -f '^$T_SUWRAP --pool\$'"
# logged CHECK [TEXT]: a decision line for alice with CHECK (and TEXT in its reason) since the
# mark, written by the supervisor from the worker's record a moment after the answer.
logged() {
  local _
  for _ in $(seq 1 40); do
    t_log_new | awk -v u="$ALICE" -v c="$1" '$1 == "decision" && $3 == c && $4 == u' | grep -q -- "${2-}" && return 0
    sleep 0.05
  done
  return 1
}

t_start_cgid --config "$SUWRAP_CONFIG_PATH" --pool-dir "$POOL_DIR"
T_PORT=$(t_free_port)
t_fill_template "$T_WEBSERVERS_DIR/nginx-suwrap.conf" "$T_ROOT/nginx-site.conf" \
  LISTEN="127.0.0.1:$T_PORT" SERVER_NAME=localhost DOCROOT="$T_ROOT/home" SOCKET="$T_CGID_SOCK"
t_start_nginx "$T_ROOT/nginx-site.conf"

t_case "direct: each request runs as its script's owner, checked in the worker"
t_log_mark
t_curl "$(t_url "$ALICE" who.php)"
t_expect "200 (got $T_STATUS $T_OUT)" test "$T_STATUS" = 200
t_expect "alice's uid (got: $T_OUT)" test "$(t_field uid)" = "$ALICE_UID"
t_expect "no identity was handed to the worker: it checked itself" test "$(t_field id)" = none
t_expect "the pool's own variables are not the script's" test "$(t_field pool)" = hidden
alice_parent=$(t_field ppid)
t_curl "$(t_url "$BOB" who.php)"
t_expect "bob's script: bob's uid (got: $T_OUT)" test "$(t_field uid)" = "$BOB_UID"

t_case "direct: the pool is reused, and the gate holds no request"
for _ in 1 2 3; do t_curl "$(t_url "$ALICE" who.php)"; done
t_expect "the same php parent ($alice_parent, got $(t_field ppid))" test -n "$alice_parent" -a "$(t_field ppid)" = "$alice_parent"
t_expect "one suwrap --pool allow line for alice (got $(t_allow_lines "$ALICE"))" test "$(t_allow_lines "$ALICE")" = 1
t_expect "gate + php parent + $WORKERS workers run as alice (got $(t_procs_of "$ALICE"))" \
  test "$(t_procs_of "$ALICE")" = $((WORKERS + 2))
gate=$(pgrep -u "$ALICE" -f -- "--direct" | sed -n 1p)
t_expect "the gate runs --direct" test -n "$gate"
t_expect "the gate holds no connection: only php-cgi accepts on the pool's socket" \
  sh -c "! ss -xHpn 2>/dev/null | grep -q 'pid=$gate,'"

t_case "direct: refusals are answered, logged with their check for alice, and never run"
t_log_mark
t_curl "$(t_url "$ALICE" group_writable.php)"
t_expect "a group-writable script: 403 (got $T_STATUS)" test "$T_STATUS" = 403
t_expect "logged with check file_perms" logged file_perms
t_log_mark
t_curl "$(t_url "$ALICE" bobs_in_alice.php)"
t_expect "another user's file in alice's docroot: 403 (got $T_STATUS)" test "$T_STATUS" = 403
t_expect "neither ran" t_no_marker group_writable-ran bobs_in_alice-ran
t_curl "$(t_url "$ALICE" who.php)"
t_expect "the pool serves on (got $T_OUT)" test "$(t_field ppid)" = "$alice_parent"

t_case "direct: a request past wall_seconds is ended, and logged"
t_log_mark
t_curl "$(t_url "$ALICE" nap.php)?s=30" --max-time 20
nap_pid=$(cat "$T_MARKS/nap.pid" 2>/dev/null || echo none)
t_expect "not answered as a success (got $T_STATUS)" test "$T_STATUS" != 200
t_expect "its worker is gone" sh -c "! kill -0 $nap_pid 2>/dev/null"
t_expect "logged with check exec, naming wall_seconds" logged exec wall_seconds
t_curl "$(t_url "$ALICE" who.php)"
t_expect "the pool serves on with a new worker (got $T_OUT)" test "$(t_field ppid)" = "$alice_parent"

t_case "direct: the programs PHP starts get neither the pool's socket nor its variables"
t_curl "$(t_url "$ALICE" program.php)"
t_expect "200 (got $T_STATUS)" test "$T_STATUS" = 200
t_expect "their fd 0 is not the pool's socket (got: $(printf '%s' "$T_OUT" | head -n 1))" \
  sh -c "! printf '%s' \"\$1\" | head -n 1 | grep -q socket" _ "$T_OUT"
t_expect "no SUWRAP_POOL_ variable in their environment" sh -c "! printf '%s' \"\$1\" | grep -q SUWRAP_POOL_" _ "$T_OUT"
t_expect "PATH is there (the environment is the pool's otherwise)" t_contains "$T_OUT" "PATH="
t_expect "the worker holds no descriptor of the gate's board (got: $(printf '%s' "$T_OUT" | grep '^board='))" \
  sh -c "printf '%s' \"\$1\" | grep -qx 'board='" _ "$T_OUT"
t_expect "they cannot look into the worker through /proc (got: $(printf '%s' "$T_OUT" | grep '^proc='))" \
  sh -c "printf '%s' \"\$1\" | grep '^proc=' | grep -q 'Permission denied'" _ "$T_OUT"

# killed_at_wall SCRIPT: SCRIPT (which writes its pid to $T_MARKS/SCRIPT.pid, then sleeps
# 30 s) does not run to its end: its worker is killed at wall_seconds, and that is logged.
killed_at_wall() {
  t_log_mark
  t_curl "$(t_url "$ALICE" "$1.php")" --max-time 25
  local pid
  pid=$(cat "$T_MARKS/$1.pid" 2>/dev/null || echo none)
  t_expect "not survived (got $T_STATUS $T_OUT)" sh -c "! printf '%s' \"\$1\" | grep -q survived" _ "$T_OUT"
  t_expect "its worker is gone" sh -c "! kill -0 $pid 2>/dev/null"
  t_expect "logged with check exec, naming wall_seconds" logged exec wall_seconds
}

t_case "direct: the script cannot disarm its wall limit: the gate enforces it from outside"
killed_at_wall disarm

t_case "direct: a worker that leaves php-cgi's session and group is still held to wall_seconds"
killed_at_wall leave

t_case "direct: a request longer than idle_seconds is not cut by the idle end"
t_curl "$(t_url "$ALICE" nap.php)?s=$((IDLE + 2))" --max-time 20
t_expect "it finished (got $T_STATUS $T_OUT)" test "$T_STATUS $T_OUT" = "200 slept"

t_case "direct: what a request leaves running is ended"
t_curl "$(t_url "$ALICE" attached.php)"
t_expect "started (got $T_OUT)" t_contains "$T_OUT" started
t_curl "$(t_url "$ALICE" escape.php)"
t_expect "started (got $T_OUT)" t_contains "$T_OUT" started
gone() { local _; for _ in $(seq 1 50); do pgrep -u "$ALICE" -f "sleep $1" >/dev/null || return 0; sleep 0.1; done; return 1; }
t_expect "a child left attached to the worker is ended" gone 308
t_expect "a process that left the request is ended" gone 307
t_curl "$(t_url "$ALICE" stopped.php)"
t_expect "started (got $T_OUT)" t_contains "$T_OUT" started
t_expect "a stopped child left attached to the worker is ended" gone 309
t_curl "$(t_url "$ALICE" zombie.php)"
read -r _ ZOMBIE WORKER <<<"$T_OUT"
t_expect "forked (got $T_OUT)" test "${ZOMBIE:-0}" -gt 0
reaped() { local _; for _ in $(seq 1 50); do test -e "/proc/$1" || return 0; sleep 0.1; done; return 1; }
t_expect "a child that ended unreaped is reaped" reaped "$ZOMBIE"
t_expect "by its worker, which lives on" test -e "/proc/${WORKER:-0}"

t_case "direct: an idle pool ends, and the next request starts another"
t_expect "no process of alice after idle_seconds" t_wait_no_procs_of "$ALICE"
t_log_mark
t_curl "$(t_url "$ALICE" who.php)"
t_expect "alice again (got $T_OUT)" test "$(t_field uid)" = "$ALICE_UID"
t_expect "a new pool (one allow line)" test "$(t_allow_lines "$ALICE")" = 1

t_case "direct: a configuration the pool no longer fits: refused once, then a fresh pool"
parent=$(t_field ppid)
t_expect "a php parent to compare with" test -n "$parent"
T_CONFIG_TABLES="${T_CONFIG_TABLES}
cpu_seconds = 29"
t_config
t_log_mark
t_curl "$(t_url "$ALICE" who.php)"
t_expect "refused 500 (got $T_STATUS)" test "$T_STATUS" = 500
t_expect "logged with check user: the limits changed" logged user
for _ in $(seq 1 20); do
  t_curl "$(t_url "$ALICE" who.php)"
  [ "$T_STATUS" = 200 ] && break
  sleep 0.25
done
t_expect "then served (got $T_STATUS $T_OUT)" test "$T_STATUS" = 200
t_expect "by another php parent ($parent, then $(t_field ppid))" test "$(t_field ppid)" != "$parent"

t_stop_web nginx
t_stop_cgid
t_done
