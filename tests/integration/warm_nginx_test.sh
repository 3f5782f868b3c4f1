#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Warm mode end to end: real nginx -> suwrap-cgid -> suwrap --pool -> suwrap-gate -> php-cgi.
# Accounts whose .php handler is of kind php-fcgi (workers = 2, idle_seconds = 6): each
# request runs as its owner, an account's requests share one pool (one php parent, one
# opcache), the refusal classes still refuse with their check, concurrent first requests
# start one pool, an idle pool ends and a new one starts, a killed worker and a script past
# wall_seconds are answered 502 and 504, --max-pools bounds what 20 accounts at once can
# start, and /suwrap-status counts the pools.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/cgid_site.sh"
command -v nginx >/dev/null || { echo "SKIP $T_NAME: nginx is not installed"; exit 77; }
: "${SUWRAP_CGID_BIN:?SUWRAP_CGID_BIN must name the built suwrap-cgid}"
t_require_warm
t_setup

WORKERS=2
# Long enough that no pool idles out between two steps on a loaded machine.
IDLE=6
WALL=4
MAX_POOLS=8
POOL_DIR=$T_ROOT/run/pools
t_markers_dir

t_warm_site "$WORKERS" "$IDLE" "$WALL"

# The scripts of an account's docroot.
#   who.php?ms=N    sleeps N ms, then "uid=<uid> ppid=<php parent> hits=<opcache hits>"
#   nap.php?s=N     leaves its pid in the markers, sleeps N seconds, then "slept N"
site() {
  local user=$1 docroot=$T_ROOT/home/$1/public_html
  t_file "$user" 0644 "$docroot/who.php" \
    '<?php usleep((int)($_GET["ms"] ?? 0) * 1000); header("Content-Type: text/plain"); $s = function_exists("opcache_get_status") ? opcache_get_status(false) : false; echo "uid=", posix_getuid(), " ppid=", posix_getppid(), " hits=", $s ? $s["opcache_statistics"]["hits"] : -1;'
  t_file "$user" 0644 "$docroot/nap.php" \
    '<?php file_put_contents("'"$T_MARKS"'/nap." . posix_getuid(), getmypid()); sleep((int)($_GET["s"] ?? 1)); header("Content-Type: text/plain"); echo "slept ", (int)($_GET["s"] ?? 1);'
}
site "$ALICE"
site "$BOB"

# Whatever a failed run leaves: supervisors (root, still named by the suite's suwrap path)
# get SIGTERM from the daemon's stop; any left are killed. The users' processes go with
# the users (t_cleanup), the pool directory with $T_ROOT.
# WARM_KEEP_LOGS=DIR: the daemon's, suwrap's and nginx's logs are copied there before the
# clean-up removes them, to be read after a failure.
if [ -n "${WARM_KEEP_LOGS:-}" ]; then
  t_on_cleanup "mkdir -p '$WARM_KEEP_LOGS'; cp -r '$T_ROOT/run/cgid.log' '$T_ROOT/log' '$T_ROOT/nginx/error.log' '$WARM_KEEP_LOGS/'"
fi
t_on_cleanup "pkill -KILL -f '^$T_SUWRAP --pool\$'"

field() { printf '%s' "$T_OUT" | sed -n "s/.*$1=\([-0-9]*\).*/\1/p"; }
# allow_lines USER: how many allow lines name USER since the log mark (in warm mode only
# suwrap --pool writes allow lines: one per pool started).
allow_lines() {
  t_log_new | awk -v u="$1" '$1 == "decision" && $2 == "allow" && $4 == u' | wc -l
}
# last_check: the check of the last decision line since the mark ("none" if there is none).
last_check() {
  local c
  c=$(t_log_new | awk '$1 == "decision" { c = $3 } END { print c }')
  echo "${c:-none}"
}
procs_of() { ps -o pid= -u "$1" 2>/dev/null | wc -l; }
wait_no_procs_of() {
  local _
  for _ in $(seq 1 100); do [ "$(procs_of "$1")" = 0 ] && return 0; sleep 0.1; done
  return 1
}

# gate_connections UID: the inodes of the connections the gate of UID's pool has accepted
# and still holds (ss names an accepted unix socket by its listener's path).
# The gate's process name is its file's name (install/test.sh can give the test build
# another gate path), cut to the kernel's 15 characters.
gate_comm=$(basename "${SUWRAP_GATE_PATH:-suwrap-gate}" | cut -c1-15)
gate_connections() {
  ss -xHpn 2>/dev/null | awk -v p="$POOL_DIR/$1-php-warm.sock" -v comm="\"$gate_comm\"" \
    '$2 == "ESTAB" && $5 == p && index($0, comm) { print $6 }' | sort | tr '\n' ' '
}

start_daemon() {
  t_start_cgid --config "$SUWRAP_CONFIG_PATH" --pool-dir "$POOL_DIR" --status-path /suwrap-status "$@"
  t_expect "the daemon routes php-fcgi to pools" grep -q 'warm routing: php-fcgi handlers go to per-account pools' "$T_CGID_LOG"
}

start_daemon
T_PORT=$(t_free_port)
t_fill_template "$T_WEBSERVERS_DIR/nginx-suwrap.conf" "$T_ROOT/nginx-site.conf" \
  LISTEN="127.0.0.1:$T_PORT" SERVER_NAME=localhost DOCROOT="$T_ROOT/home" SOCKET="$T_CGID_SOCK"
t_start_nginx "$T_ROOT/nginx-site.conf"

# ---- each account runs as itself, in one pool ------------------------------------------
t_case "warm: each request runs as its script's owner"
t_log_mark
t_curl "$(t_url "$ALICE" who.php)"
t_expect "200 (got $T_STATUS)" test "$T_STATUS" = 200
t_expect "alice's uid (got: $T_OUT)" test "$(field uid)" = "$ALICE_UID"
alice_parent=$(field ppid)
alice_hits=$(field hits)
t_curl "$(t_url "$BOB" who.php)"
t_expect "bob's script: bob's uid (got: $T_OUT)" test "$(field uid)" = "$BOB_UID"
t_expect "the pool directory is the daemon's, mode 0700" \
  test "$(stat -c '%U %a' "$POOL_DIR")" = "$T_CALLER 700"
t_expect "alice's pool socket is in it" test -S "$POOL_DIR/$ALICE_UID-php-warm.sock"

t_case "warm: an account's next requests reuse its pool"
for _ in 1 2 3; do t_curl "$(t_url "$ALICE" who.php)"; done
t_expect "uid still alice's" test "$(field uid)" = "$ALICE_UID"
t_expect "the same php parent ($alice_parent, got $(field ppid))" test "$(field ppid)" = "$alice_parent"
t_expect "one suwrap --pool allow line for alice (got $(allow_lines "$ALICE"))" test "$(allow_lines "$ALICE")" = 1
t_expect "opcache hits rise ($alice_hits, then $(field hits))" test "$(field hits)" -gt "$alice_hits"
t_expect "the gate and the workers run as alice: gate + parent + $WORKERS workers" \
  test "$(procs_of "$ALICE")" = $((WORKERS + 2))

t_case "warm: the daemon keeps its connection to a pool for the next requests"
t_curl "$(t_url "$ALICE" who.php)"
kept=$(gate_connections "$ALICE_UID")
for _ in 1 2 3; do t_curl "$(t_url "$ALICE" who.php)"; done
t_expect "200 by alice (got $T_STATUS $T_OUT)" test "$(field uid)" = "$ALICE_UID"
t_expect "one connection, and the same after three more requests ('$kept', then '$(gate_connections "$ALICE_UID")')" \
  test "$(echo "$kept" | wc -w)" = 1 -a "$(gate_connections "$ALICE_UID")" = "$kept"
t_expect "the daemon's soft descriptor limit is raised to its hard one" \
  test "$(awk '/^Max open files/ { print ($4 == $5) }' "/proc/$T_CGID_PID/limits")" = 1

t_case "warm: at most 8 connections are kept to a pool, and those unused for 2 s are closed"
burst=()
for _ in $(seq 1 12); do
  curl -sS -o /dev/null "$(t_url "$ALICE" who.php?ms=200)" &
  burst+=($!)
done
for p in "${burst[@]}"; do t_wait_exit "$p" 30; done
kept=$(gate_connections "$ALICE_UID" | wc -w)
t_expect "after 12 requests at once: between 1 and 8 kept (got $kept)" test "$kept" -ge 1 -a "$kept" -le 8
# Kept connections are closed 2-3 s after their last use. One request a second keeps the
# pool from being retired as idle (which would close them all) and reuses one of them.
for _ in 1 2 3 4; do
  sleep 1
  t_curl "$(t_url "$ALICE" who.php)"
done
t_expect "the requests of the next 4 s served by alice (got $T_STATUS $T_OUT)" test "$(field uid)" = "$ALICE_UID"
t_expect "4 s later, one request a second: one connection is kept, the others are closed (got '$(gate_connections "$ALICE_UID")')" \
  test "$(gate_connections "$ALICE_UID" | wc -w)" = 1
alice_parent=$(field ppid)

t_case "warm: a kept connection its gate has closed is not used"
# The supervisor stopped, the daemon cannot learn that the pool ends; the gate, told to
# stop, closes the kept connection and its socket, and exits.
gate=$(pgrep -u "$ALICE" -x "$gate_comm" | sed -n 1p || true)
supervisor=$(ps -o ppid= -p "${gate:-0}" 2>/dev/null | tr -d ' ' || true)
t_expect "alice's gate ($gate) and its supervisor ($supervisor), suwrap as root" \
  test -n "$gate" -a "$(ps -o euid= -p "${supervisor:-0}" | tr -d ' ')" = 0 \
  -a "$(ps -o args= -p "${supervisor:-0}")" = "$T_SUWRAP --pool"
if [ -n "$supervisor" ] && [ -n "$gate" ]; then
  kill -STOP "$supervisor"
  kill -TERM "$gate"
  for _ in $(seq 1 50); do kill -0 "$gate" 2>/dev/null && [ -n "$(gate_connections "$ALICE_UID")" ] || break; sleep 0.1; done
  t_curl "$(t_url "$ALICE" who.php)"
  kill -CONT "$supervisor"
  t_expect "200 by alice from a fresh pool (got $T_STATUS $T_OUT)" test "$T_STATUS" = 200 -a "$(field uid)" = "$ALICE_UID"
  t_expect "its php parent is new ($alice_parent before, $(field ppid) now)" test "$(field ppid)" != "$alice_parent"
fi
alice_parent=$(field ppid)
alice_hits=$(field hits)

# ---- what is refused stays refused -------------------------------------------------------
t_case "warm: a group-writable script is refused by the gate (check file_perms)"
t_file "$ALICE" 0664 "$ALICE_DOCROOT/gw.php" '<?php echo "ran";'
t_log_mark
t_curl "$(t_url "$ALICE" gw.php)"
t_expect "403 (got $T_STATUS)" test "$T_STATUS" = 403
t_expect "and did not run" eval '! t_contains "$T_OUT" ran'
sleep 0.3  # the supervisor writes the gate's refusal line
t_expect "logged with check file_perms (got $(last_check))" test "$(last_check)" = file_perms

t_case "warm: a script of another owner in alice's docroot is refused"
t_file "$BOB" 0644 "$ALICE_DOCROOT/bobs.php" '<?php echo "ran";'
t_log_mark
t_curl "$(t_url "$ALICE" bobs.php)"
t_expect "403 (got $T_STATUS)" test "$T_STATUS" = 403
t_expect "and did not run" eval '! t_contains "$T_OUT" ran'
# Routed by its owner to bob's pool: bob's gate (or, were it not running, suwrap --pool)
# finds a directory of alice's on the way (check dir_perms) and refuses.
t_expect "logged with check dir_perms (got $(last_check))" test "$(last_check)" = dir_perms
t_expect "no pool was started for it" test "$(allow_lines "$BOB")" = 0

t_case "warm: a symlink out of the docroot is refused by the gate (check path)"
t_file "$ALICE" 0644 "$ALICE_HOME/outside.php" '<?php echo "ran";'
ln -s "$ALICE_HOME/outside.php" "$ALICE_DOCROOT/out.php"
chown -h "$ALICE:$ALICE" "$ALICE_DOCROOT/out.php"
t_curl "$(t_url "$ALICE" who.php)"  # alice's pool runs: the gate is the one to refuse
alice_parent=$(field ppid)
t_log_mark
t_curl "$(t_url "$ALICE" out.php)"
t_expect "403 or 404 (got $T_STATUS)" eval 'test "$T_STATUS" = 403 || test "$T_STATUS" = 404'
t_expect "and did not run" eval '! t_contains "$T_OUT" ran'
sleep 0.3
t_expect "logged with check path (got $(last_check))" test "$(last_check)" = path

t_case "warm: a .jpg never runs"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/photo.jpg" '<?php echo "ran";'
t_curl "$(t_url "$ALICE" who.php)"
alice_parent=$(field ppid)
t_log_mark
t_curl "$(t_url "$ALICE" photo.jpg/x.php)"
t_expect "403 or 404 (got $T_STATUS)" eval 'test "$T_STATUS" = 403 || test "$T_STATUS" = 404'
t_expect "and did not run" eval '! t_contains "$T_OUT" ran'
t_expect "logged with check path or handler (got $(last_check))" \
  eval 'test "$(last_check)" = path || test "$(last_check)" = handler'
t_curl "$(t_url "$ALICE" who.php)"
t_expect "alice's pool still serves, the same parent" test "$(field ppid)" = "$alice_parent"

# ---- concurrent first requests -----------------------------------------------------------
t_case "warm: 8 concurrent first requests of an account start one pool"
t_user CAROL
site "$CAROL"
t_log_mark
pids=()
for i in $(seq 1 8); do
  curl -sS -o "$T_ROOT/carol.$i" -w '%{http_code}' "$(t_url "$CAROL" who.php?ms=200)" >"$T_ROOT/carol.$i.status" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do t_wait_exit "$p" 30; done
ok=0
for i in $(seq 1 8); do
  [ "$(cat "$T_ROOT/carol.$i.status")" = 200 ] && t_contains "$(cat "$T_ROOT/carol.$i")" "uid=$CAROL_UID " && ok=$((ok + 1))
done
t_expect "all 8 answered 200 by carol ($ok of 8)" test "$ok" = 8
t_expect "one suwrap --pool allow line for carol (got $(allow_lines "$CAROL"))" test "$(allow_lines "$CAROL")" = 1
parents=$(for i in $(seq 1 8); do sed -n 's/.*ppid=\([0-9]*\).*/\1/p' "$T_ROOT/carol.$i"; done | sort -u | wc -l)
t_expect "one php parent served them all (got $parents)" test "$parents" = 1

# ---- idle exit and a fresh pool ----------------------------------------------------------
t_case "warm: an idle pool ends, and the next request starts a fresh one"
t_curl "$(t_url "$ALICE" who.php)"
alice_parent=$(field ppid)
sleep $((IDLE + 2))
t_expect "no process of alice is left after ${IDLE}s idle" wait_no_procs_of "$ALICE"
t_expect "alice's socket is removed" test ! -e "$POOL_DIR/$ALICE_UID-php-warm.sock"
t_log_mark
t_curl "$(t_url "$ALICE" who.php)"
t_expect "200 by alice (got $T_STATUS $T_OUT)" test "$(field uid)" = "$ALICE_UID"
t_expect "a new php parent ($alice_parent before, $(field ppid) now)" test "$(field ppid)" != "$alice_parent"
t_expect "one new allow line" test "$(allow_lines "$ALICE")" = 1

# ---- a worker that dies, a script past wall_seconds ----------------------------------------
t_case "warm: a worker killed mid-request gives 502, and the next request is fine"
rm -f "$T_MARKS/nap.$ALICE_UID"
curl -sS -o "$T_ROOT/killed.body" -w '%{http_code}' "$(t_url "$ALICE" nap.php?s=3)" >"$T_ROOT/killed.status" 2>&1 &
napper=$!
for _ in $(seq 1 50); do [ -s "$T_MARKS/nap.$ALICE_UID" ] && break; sleep 0.1; done
worker=$(cat "$T_MARKS/nap.$ALICE_UID" 2>/dev/null || true)
t_expect "the script told its worker's pid ($worker)" test -n "$worker"
[ -n "$worker" ] && kill -KILL "$worker"
t_wait_exit "$napper" 15
t_expect "502 for it (got $(cat "$T_ROOT/killed.status"))" test "$(cat "$T_ROOT/killed.status")" = 502
t_curl "$(t_url "$ALICE" who.php)"
t_expect "the next request: 200 by alice (got $T_STATUS $T_OUT)" test "$(field uid)" = "$ALICE_UID"

t_case "warm: a request past wall_seconds gets 504"
started=$SECONDS
t_curl "$(t_url "$ALICE" nap.php?s=20)" --max-time 15
t_expect "504 (got $T_STATUS)" test "$T_STATUS" = 504
t_expect "after about ${WALL}s ($((SECONDS - started))s)" test $((SECONDS - started)) -le $((WALL + 3))
t_curl "$(t_url "$ALICE" who.php)"
t_expect "the next request: 200 by alice" test "$(field uid)" = "$ALICE_UID"

# ---- SIGHUP ------------------------------------------------------------------------------
t_case "warm: SIGHUP with a configuration that does not load keeps the routing in use"
t_curl "$(t_url "$ALICE" who.php)"
alice_parent=$(field ppid)
chmod 0666 "$SUWRAP_CONFIG_PATH"
kill -HUP "$T_CGID_PID"
for _ in $(seq 1 50); do grep -q 'did not load, the routing in use stays' "$T_CGID_LOG" && break; sleep 0.1; done
t_expect "the daemon says why it kept the routing" grep -q 'SIGHUP: .* did not load, the routing in use stays: .*writable' "$T_CGID_LOG"
chmod 0644 "$SUWRAP_CONFIG_PATH"
t_curl "$(t_url "$ALICE" who.php)"
t_expect "alice's requests still go to her pool ($alice_parent, got $(field ppid))" test "$(field ppid)" = "$alice_parent"
kill -HUP "$T_CGID_PID"
for _ in $(seq 1 50); do grep -q 'configuration reloaded for warm routing' "$T_CGID_LOG" && break; sleep 0.1; done
t_expect "a configuration that loads is taken" grep -q 'SIGHUP: configuration reloaded for warm routing$' "$T_CGID_LOG"

# ---- /suwrap-status ----------------------------------------------------------------------
t_case "warm: /suwrap-status counts pools, requests by account and the gate's refusals"
t_status_page SCRIPT_FILENAME="$T_ROOT/home/suwrap-status"
t_expect "suwrap_cgid_pools_running" t_contains "$T_OUT" "suwrap_cgid_pools_running "
t_expect "suwrap_cgid_pool_starts_total" t_contains "$T_OUT" "suwrap_cgid_pool_starts_total "
t_expect "alice's requests by her name, not her uid" t_contains "$T_OUT" "suwrap_cgid_account_requests_total{account=\"$ALICE\"}"
t_expect "the gate's file_perms refusal" t_contains "$T_OUT" 'suwrap_cgid_refusals_total{mode="warm",check="file_perms"} 1'
t_expect "the gate's path refusal" t_contains "$T_OUT" 'suwrap_cgid_refusals_total{mode="warm",check="path"} 1'
running=$(printf '%s\n' "$T_OUT" | awk '$1 == "suwrap_cgid_pools_running" {print $2}')
t_expect "pools running: alice's, and maybe bob's and carol's ($running)" eval 'test "$running" -ge 1 && test "$running" -le 3'

t_case "warm: SIGTERM to the daemon retires every pool"
t_stop_cgid
for u in "$ALICE" "$BOB" "$CAROL"; do
  t_expect "no process of $u is left" wait_no_procs_of "$u"
done
t_expect "no suwrap --pool is left" sh -c "! pgrep -f '^$T_SUWRAP --pool\$' >/dev/null"

# ---- 20 accounts at once, --max-pools 8 ---------------------------------------------------
t_case "warm: 20 accounts at once with --max-pools $MAX_POOLS: 200 or 503, never more than $MAX_POOLS pools"
many=()
for i in $(seq 1 20); do
  t_user "MANY$i"
  name_var="MANY$i"
  many+=("${!name_var}")
  site "${!name_var}"
done
start_daemon --max-pools "$MAX_POOLS"
uids=$(for u in "${many[@]}"; do id -u "$u"; done | tr '\n' ' ')
# Samples the processes of those 20 users every 20 ms into the file; stops when the file
# "$T_ROOT/stop-sampling" appears.
(
  peak=0
  while [ ! -e "$T_ROOT/stop-sampling" ]; do
    n=$(ps -e -o uid= | awk -v list="$uids" 'BEGIN { split(list, a, " "); for (i in a) u[a[i]] = 1 } ($1 in u) { n++ } END { print n + 0 }')
    [ "$n" -gt "$peak" ] && peak=$n && echo "$peak" >"$T_ROOT/peak"
    sleep 0.02
  done
) &
sampler=$!
t_on_cleanup "kill $sampler"
echo 0 >"$T_ROOT/peak"
pids=()
for i in $(seq 1 20); do
  curl -sS -o "$T_ROOT/many.$i" -w '%{http_code}' "$(t_url "${many[$((i - 1))]}" who.php?ms=1500)" \
    >"$T_ROOT/many.$i.status" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do t_wait_exit "$p" 60; done
touch "$T_ROOT/stop-sampling"
t_wait_exit "$sampler" 5
statuses=$(cat "$T_ROOT"/many.*.status | sort | uniq -c | tr -s ' ' | tr '\n' ',')
bad=0 served=0
for i in $(seq 1 20); do
  case "$(cat "$T_ROOT/many.$i.status")" in
    200)
      served=$((served + 1))
      t_contains "$(cat "$T_ROOT/many.$i")" "uid=$(id -u "${many[$((i - 1))]}") " || bad=$((bad + 1))
      ;;
    503) ;;
    *) bad=$((bad + 1)) ;;
  esac
done
t_expect "every answer is 200 by its owner or 503 ($statuses)" test "$bad" = 0
t_expect "some were served ($served)" test "$served" -ge 1
peak=$(cat "$T_ROOT/peak")
t_expect "at most $MAX_POOLS x ($WORKERS + 2) = $((MAX_POOLS * (WORKERS + 2))) processes of those users at once (peak $peak)" \
  test "$peak" -le $((MAX_POOLS * (WORKERS + 2)))
t_expect "and some ran at all (peak $peak)" test "$peak" -gt 0

t_case "warm: the daemon stops cleanly after the load"
t_stop_cgid
for u in "${many[@]}"; do
  wait_no_procs_of "$u" || t_fail "a process of $u is left: $(ps -o pid=,args= -u "$u")"
done
t_pass "no process of the 20 users is left"
t_stop_web nginx
t_done
