#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# suwrap measured against its peers, on the same machine, in one run. Not a test: timings
# never decide a test; this prints a markdown report (docs/BENCHMARKS.md shows one).
#
# Stacks, each serving the same two payloads owned by one test user (hello.php and a tiny
# compiled C CGI that prints its uid), driven by wrk on 127.0.0.1:
#   ours      nginx -> suwrap-cgid -> suwrap (set-uid) -> handler
#   fcgiwrap  nginx -> fcgiwrap, run as the payload owner (it switches no uid)
#   apache    Apache 2.4 mpm_event + mod_cgid + suEXEC (apache2-suexec-custom)
#   fpm       nginx -> php-fpm, a private master whose pool runs as the payload owner (PHP only)
#   warm      nginx -> suwrap-cgid -> the account's pool: suwrap --pool -> suwrap-gate ->
#             php-cgi FastCGI workers (warm mode, kind "php-fcgi"; PHP only)
# and two parts of a stack, not stacks to deploy: what a design without relays could reach
#   cgi       nginx -> php-cgi FastCGI workers run as the owner, no check at all (PHP only)
#   guarded   the same with suwrap's PHP guard loaded, as warm mode loads it (PHP only)
#   checked   the same with the guard making the per-request check itself, as a direct pool
#             runs it: the policy's checks 1-12 and the pool's rule in the worker (PHP only)
# and warm mode's direct pools (PHP only):
#   direct    nginx -> suwrap-cgid -> the owner's php-cgi workers of a handler with `direct = true`, which check
#             each request themselves (suwrap --pool -> suwrap-gate --direct supervises)
#   site      nginx -> the owner's site socket (suwrap-cgid --sites-dir) -> the same workers:
#             the web server straight to the account's pool, as a panel's per-site block does
# and the floor: one bare fork+exec of the handler, and the same through suwrap alone
# (hyperfine), so that "suwrap adds X ms" is measured rather than guessed; the idle
# memory of 20 configured accounts in warm mode and under php-fpm (static, dynamic, ondemand);
# and the first request to an idle account: warm mode's pool start beside php-fpm ondemand's.
# On request (--payloads wp), a third payload: WordPress's front page, the same owner's site on
# a private MariaDB.
#
# Everything it starts lives under /run/suwrap-bench and is stopped and removed when it
# exits (the users, the set-uid copy of suwrap, the gate, /etc/suwrap-bench, the daemons); the one
# system file it changes, suEXEC's /etc/apache2/suexec/www-data, is restored; and
# apache2-suexec-custom (a set-uid suexec) is purged again if this run installed it.
set -euo pipefail

BENCH_TAG=bench
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SUEXEC_CONF=/etc/apache2/suexec/www-data
SUEXEC_SAVED=/etc/apache2/suexec/.www-data.saved-by-suwrap-bench
SUEXEC_LOG=/var/log/apache2/suexec.log   # compiled into Debian's suexec (suexec -V)
PHP_CGI=/usr/bin/php-cgi
# Where suwrap --pool runs the gate from: compiled into build/bench (SUWRAP_GATE_PATH). suwrap
# runs only a gate whose file and every directory above it are root's and writable by no one
# else; /run and $RUN_BASE are. The built gate is installed there while the run lasts.
GATE_PATH=$RUN_BASE/suwrap-gate
# The PHP guard's directory (SUWRAP_PHP_GUARD_DIR), root's like the gate: suwrap runs no PHP
# handler or pool without it.
GUARD_DIR=$RUN_BASE/php-guard
PACKAGES=(wrk hyperfine fcgiwrap apache2 apache2-suexec-custom php-fpm nginx php-cgi gcc curl python3)

duration=10
concurrencies="1 8 32"
# Every stack, in the order of the report (bench/report.py's STACKS), and those that serve
# hello.php alone. A new stack is named here, started in main, and given an nginx server
# block (start_nginx) or a server of its own (as apache).
ALL_STACKS="ours fcgiwrap apache fpm warm direct site cgi guarded checked"
PHP_ONLY_STACKS="fpm warm direct site cgi guarded checked"
stacks=$ALL_STACKS
payloads="php cgi"
warmup=2
repeat=1
floor_runs=300
fpm_children=5
fcgiwrap_children=$(nproc)
output=""
do_install=1
do_build=1
use_cgroup=1
only=""
do_idle_memory=1
idle_accounts=20
idle_seconds=30
warm_max_requests=1000000
do_first_request=1
first_requests=30
# The idle_seconds of the first-request part's handler and php-fpm's pm.process_idle_timeout
# there: the least each takes, so that a pool is gone soon after its request.
FIRST_IDLE_SECONDS=1

has() { [[ " $1 " == *" $2 "* ]]; }

usage() {
  cat <<EOF
Usage: sudo bench/run.sh [OPTIONS]

Measures suwrap against fcgiwrap, Apache+suEXEC and php-fpm on this machine (Debian 12, as
root) and prints a markdown report on standard output (progress goes to standard error).

  -d, --duration SECONDS   wrk duration of each cell (default $duration)
  -c, --concurrency LIST   wrk connections, space- or comma-separated (default "$concurrencies")
      --stacks LIST        any of: $ALL_STACKS (default all)
      --payloads LIST      any of: php cgi wp (default "php cgi"); wp is WordPress's front
                           page (see below), on the stacks that serve PHP but guarded
      --warmup SECONDS     load on each stack before the cells of each payload (default $warmup)
      --repeat N           measure every cell N times (medians are reported; default $repeat)
      --floor-runs N       hyperfine runs of each floor command (default $floor_runs)
      --fpm-children N     php-fpm pool size, pm = static (default $fpm_children, Debian's
                           pm.max_children), and the warm pool's workers (the same, for fairness)
      --fcgiwrap-children N  fcgiwrap -c (default: nproc = $fcgiwrap_children)
      --only PART          measure only idle-memory or first-request (see below)
      --no-idle-memory     skip the idle memory of configured accounts
      --idle-accounts N    accounts of that part (default $idle_accounts)
      --idle-seconds N     idle_seconds of their warm handler (default $idle_seconds)
      --no-first-request   skip the first request to an idle account
      --first-requests N   first requests of that part, each to an account with no pool
                           running (default $first_requests)
  -o, --output FILE        also write the report to FILE
      --no-install         do not apt-get install the packages it needs
      --no-build           use the existing $BUILD_DIR as it is
      --no-cgroup          leave the benchmark's processes in the root cpu cgroup (see below)
  -h, --help               this text

What it does: installs (apt-get) the missing ones of ${PACKAGES[*]}
(apache2-suexec-custom, which ships a set-uid suexec, is purged again at the end when this
run installed it; the others stay); builds suwrap, suwrap-cgid and suwrap-gate in
$BUILD_DIR (Release, -DSUWRAP_CONFIG=$BENCH_CONF,
-DSUWRAP_GATE_PATH=$GATE_PATH); makes one test user owning the payloads, a set-uid copy
of suwrap, the gate at $GATE_PATH (root's, 0711), $BENCH_CONF and
private nginx, Apache, php-fpm, fcgiwrap and suwrap-cgid instances under $RUN_BASE (own
configuration, pid files, ports on 127.0.0.1); points suEXEC's docroot ($SUEXEC_CONF) at
the payloads and restores it afterwards. Each cell first checks with curl that the response
shows the owner's uid (else the cell is FAILED), then runs wrk -t min(2,c) -c c -d duration
--latency; a response whose body is not exactly the expected one counts as an error.
Everything it made is removed at the end, also on Ctrl-C.

The stacks: ours (nginx -> suwrap-cgid -> one set-uid suwrap per request -> php-cgi or the
CGI), fcgiwrap (run as the owner, no uid switch), apache (mod_cgid + suEXEC), fpm (a php-fpm
pool running as the owner, PHP only) and warm (nginx -> a second suwrap-cgid, given
--config $BENCH_CONF -> the owner's pool: suwrap --pool, then suwrap-gate as the owner
and its php-cgi FastCGI workers; PHP only). In the configuration, .php goes to the handler
"php-warm" (kind php-fcgi, workers = --fpm-children, max_requests = $warm_max_requests so
that no worker is recycled during a run, as php-fpm's pm.max_requests = 0); ours asks for
the per-request handler "php" with the FastCGI param SUWRAP_HANDLER. The warm stack needs
a source tree with suwrap-gate (gate/) and suwrap-cgid's warm routing (--pool-dir); without
them it is left out and the report says so.

Two parts, not stacks to deploy, show what a design without relays could reach: cgi (nginx
-> php-cgi -b as the owner, PHP_FCGI_CHILDREN = --fpm-children, PHP_FCGI_MAX_REQUESTS as
warm's max_requests, PHPRC and environment as the gate gives its workers; nothing checks
the request) and guarded (the same with PHP_INI_SCAN_DIR=:$GUARD_DIR, the built PHP guard
as warm mode loads it, and nginx's fastcgi_param SUWRAP_SCRIPT_ID set to hello.php's
"dev:ino:ctime_sec:ctime_nsec" as the gate sets it after its check). checked: the guard
makes the per-request check itself (SUWRAP_POOL_HANDLER=php-warm, SUWRAP_POOL_LIMITS in
php-cgi's environment), nginx passing the request straight to php-cgi, no identity given.
guarded and checked need a build with the guard (php/), checked the warm handler too;
without them they are left out and the report says so.

Idle memory: $idle_accounts more real users, each with hello.php and an account file whose
php_handler is "php-idle" (kind php-fcgi, the same workers, idle_seconds = --idle-seconds).
It counts the processes and sums the PSS (/proc/PID/smaps_rollup) of everything a fresh
suwrap-cgid runs for them: configured but unused, after one request to each account, and
after idle_seconds; then of a private php-fpm master with one pool per account, as the
owner: pm = static (pm.max_children = --fpm-children), pm = dynamic (Debian's defaults:
start 2, min spare 1, max spare 3) and pm = ondemand, each a few seconds after its start
and again after one request to each account (through nginx, to the account's own pool).
The report also gives the memory per active account: after one request to each account,
the processes and PSS below the daemon in front divided by the accounts, by program.

First request to an idle account: one more real user with hello.php, whose account file's
php_handler is "php-cold" (kind php-fcgi, the same workers, idle_seconds = $FIRST_IDLE_SECONDS). A fresh
suwrap-cgid serves it; --first-requests times, once no process runs below that suwrap-cgid
(its pool has ended: idle_seconds without a request), curl times one request through nginx
(time_total: connection, the pool's start and the response), then one more to the pool it
started; then the same with a second fresh suwrap-cgid for a direct pool (handler
"php-cold-direct", the same with direct = true, asked for with the param SUWRAP_HANDLER). Beside it, the same for a private php-fpm pool of that user, pm = ondemand
(pm.max_children = --fpm-children, pm.process_idle_timeout = ${FIRST_IDLE_SECONDS}s): each request once
the master has no worker left, so that the master forks one for it. The report gives the
median and the 99th percentile (nearest rank: with 30 requests, the slowest) of both.

Scheduling: suwrap starts every handler in a new session (setsid), and with the kernel's
autogroup on (kernel.sched_autogroup_enabled, Debian's default) every session in the root
cpu cgroup gets as much CPU as any other session. On a machine busy with other work that
hands each of suwrap's concurrent requests a full share while the peers' children share
one. So the benchmark starts the servers in a cpu cgroup of their own (cgroup v1 or v2,
removed at the end), where autogroup does not apply and all stacks are scheduled alike,
and reads from it each cell's CPU time per request: all the servers' processes, the
handlers included, wrk not. That figure suffers far less from other work on the machine
than req/s does. --no-cgroup measures as the host schedules, without that column.

WordPress (--payloads wp): Debian's WordPress (the wordpress package, with mariadb-server and
php-mysql; not installed by the benchmark) copied into the payload owner's docroot as wp/, on
a private MariaDB (its datadir and socket under $RUN_BASE, no network, stopped and removed with
the rest), installed by a POST to wp-admin/install.php (php-cgi run as the owner, no server in
between) with 5 posts (wp_insert_post, PHP run as the owner); WP-Cron off (DISABLE_WP_CRON) and
no canonical redirect, so that every stack on its own port gets the same page. The measured URL
is wp/index.php, the front page. Each cell first checks that two requests answer the same front
page with the 5 posts (else FAILED); wrk then counts a response whose body is not that page as
an error, as for the other payloads. The floor is not measured for it. MariaDB runs outside the
servers' cgroup: its CPU time is in no cell's CPU per request.
EOF
}

while [ $# -gt 0 ]; do
  case $1 in
    -d | --duration) duration=$2; shift 2 ;;
    -c | --concurrency) concurrencies=${2//,/ }; shift 2 ;;
    --stacks) stacks=${2//,/ }; shift 2 ;;
    --payloads) payloads=${2//,/ }; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --floor-runs) floor_runs=$2; shift 2 ;;
    --fpm-children) fpm_children=$2; shift 2 ;;
    --fcgiwrap-children) fcgiwrap_children=$2; shift 2 ;;
    -o | --output) output=$2; shift 2 ;;
    --no-install) do_install=0; shift ;;
    --no-build) do_build=0; shift ;;
    --no-cgroup) use_cgroup=0; shift ;;
    --only) only=$2; shift 2 ;;
    --no-idle-memory) do_idle_memory=0; shift ;;
    --idle-accounts) idle_accounts=$2; shift 2 ;;
    --idle-seconds) idle_seconds=$2; shift 2 ;;
    --no-first-request) do_first_request=0; shift ;;
    --first-requests) first_requests=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$duration" "$warmup" "$repeat" "$floor_runs" "$fpm_children" "$fcgiwrap_children" "$idle_accounts" \
  "$idle_seconds" "$first_requests" $concurrencies; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "bench/run.sh: not a whole number: $n" >&2; exit 2; }
done
for n in "$duration" "$repeat" "$floor_runs" "$fpm_children" "$fcgiwrap_children" "$idle_accounts" "$idle_seconds" \
  "$first_requests" $concurrencies; do
  [ "$n" -gt 0 ] || { echo "bench/run.sh: must be at least 1: $n" >&2; exit 2; }
done
# The configuration's limits for a php-fcgi handler (suwrap.toml(5)), and a sane number of users.
[ "$fpm_children" -le 256 ] || { echo "bench/run.sh: --fpm-children is at most 256 (a warm pool's workers)" >&2; exit 2; }
[ "$idle_seconds" -le 3600 ] || { echo "bench/run.sh: --idle-seconds is at most 3600" >&2; exit 2; }
[ "$idle_accounts" -le 200 ] || { echo "bench/run.sh: --idle-accounts is at most 200" >&2; exit 2; }
[ "$first_requests" -le 1000 ] || { echo "bench/run.sh: --first-requests is at most 1000" >&2; exit 2; }
case $only in
  "") ;;
  idle-memory) do_idle_memory=1; do_first_request=0 ;;
  first-request) do_first_request=1; do_idle_memory=0 ;;
  *) echo "bench/run.sh: --only takes idle-memory or first-request" >&2; exit 2 ;;
esac
for s in $stacks; do
  has "$ALL_STACKS" "$s" || { echo "bench/run.sh: unknown stack $s" >&2; exit 2; }
done
for p in $payloads; do case $p in php | cgi | wp) ;; *) echo "bench/run.sh: unknown payload $p" >&2; exit 2 ;; esac; done

need_root "it makes a user, a set-uid binary and starts web servers"

# ---- packages and build ---------------------------------------------------------------------

# Packages that ship a set-uid program (apache2-suexec-custom: /usr/lib/apache2/suexec, mode
# 4754). One that a run installs is purged again when the run ends, so that the benchmark
# leaves nothing privileged behind that was not on the machine before. The list of them is
# written before apt-get runs and lives outside /run: a run killed before its trap ran
# (or a reboot in between) leaves it, and the next run adopts it and purges at its own end.
PURGE_AFTER_RUN=(apache2-suexec-custom)
PURGE_LIST=/var/lib/suwrap-bench.purge-on-exit

installed() { dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# with_services_denied COMMAND...: the packages' maintainer scripts would start or reload
# their system services (php8.2-fpm, fcgiwrap.socket, apache2): the benchmark runs private
# instances and leaves the system's alone, so service starts are denied while COMMAND runs,
# unless the machine already has a policy of its own.
with_services_denied() {
  local own_policy=0 rc=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive "$@" || rc=$?
  [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  return "$rc"
}

install_packages() {
  local missing=() p q
  for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} = 0 ] && return 0
  for p in "${missing[@]}"; do
    for q in "${PURGE_AFTER_RUN[@]}"; do
      if [ "$p" = "$q" ] && ! grep -qx "$p" "$PURGE_LIST" 2>/dev/null; then echo "$p" >>"$PURGE_LIST"; fi
    done
  done
  say "installing ${missing[*]}"
  local rc=0
  apt-get update -qq >&2 || rc=$?
  [ "$rc" = 0 ] && { with_services_denied apt-get install -y -q "${missing[@]}" >&2 || rc=$?; }
  [ "$rc" = 0 ] || die "apt-get failed ($rc)"
}

# Purges what PURGE_LIST names (this run's installs, or a killed run's) and removes the list.
# dpkg --purge removes that package alone, never what depends on it or what it pulled in.
purge_installed_packages() {
  [ -f "$PURGE_LIST" ] || return 0
  local p failed=0
  while read -r p; do
    [ -n "$p" ] || continue
    installed "$p" || continue
    say "purging $p (installed by the benchmark; it ships a set-uid program)"
    # Another apt or dpkg may hold dpkg's lock for a while: wait for it, up to a minute.
    local tries=0
    until with_services_denied dpkg --purge "$p" >"$PURGE_LIST.log" 2>&1; do
      tries=$((tries + 1))
      if [ "$tries" -ge 30 ]; then
        say "could not purge $p: $(tail -n 2 "$PURGE_LIST.log" | tr '\n' ' ')(the next run tries again)"
        failed=1
        break
      fi
      sleep 2
    done
    rm -f "$PURGE_LIST.log"
  done <"$PURGE_LIST"
  [ "$failed" = 0 ] && rm -f "$PURGE_LIST"
  return 0
}

build_suwrap() {
  local targets=(suwrap suwrap-cgid)
  [ -f "$SOURCE_DIR/php/CMakeLists.txt" ] && targets+=(suwrap_php_guard)
  # A source tree without the gate (before warm mode) still builds and measures the rest.
  [ -f "$SOURCE_DIR/gate/CMakeLists.txt" ] && targets+=(suwrap-gate)
  say "building ${targets[*]} (Release) in $BUILD_DIR"
  mkdir -p "$BUILD_DIR"  # a fresh clone has no build/: the log beside it needs its parent
  cmake -S "$SOURCE_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DSUWRAP_CONFIG="$BENCH_CONF" \
    -DSUWRAP_GATE_PATH="$GATE_PATH" -DSUWRAP_PHP_GUARD_DIR="$GUARD_DIR" -DSUWRAP_BUILD_TESTS=OFF \
    >"$BUILD_DIR.cmake.log" 2>&1 ||
    { tail -n 20 "$BUILD_DIR.cmake.log" >&2; die "cmake failed"; }
  make -C "$BUILD_DIR" -j"$(nproc)" "${targets[@]}" >"$BUILD_DIR.make.log" 2>&1 ||
    { tail -n 30 "$BUILD_DIR.make.log" >&2; die "build failed"; }
}

# Warm mode can be measured when the build has the gate, compiled to run it from
# $GATE_PATH, and a suwrap-cgid that routes to pools. Sets WARM_MISSING to why not.
WARM_MISSING=""
check_warm_build() {
  if [ ! -x "$BUILD_DIR/gate/suwrap-gate" ]; then
    WARM_MISSING="this source tree has no suwrap-gate ($BUILD_DIR/gate/suwrap-gate)"
  elif ! grep -qx "SUWRAP_GATE_PATH:STRING=$GATE_PATH" "$BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
    WARM_MISSING="$BUILD_DIR is not configured with -DSUWRAP_GATE_PATH=$GATE_PATH (run without --no-build)"
  elif ! "$BUILD_DIR/cgid/suwrap-cgid" --help 2>&1 | grep -q -- '--pool-dir'; then
    WARM_MISSING="this suwrap-cgid has no warm routing (no --pool-dir)"
  fi
  return 0
}

# ---- scratch, processes and clean-up ----------------------------------------------------------

S=""          # this run's scratch directory
USER_NAME=""  # the payload owner
ACCOUNT_USERS=() # the users of the idle-memory and first-request parts
IDLE_USERS=() # the accounts of the idle-memory part
FIRST_USER="" # the account of the first-request part
GATE_INSTALLED=""
PIDS=()       # daemons started, stopped in reverse order

# Remembers a daemon started in the background, to stop it at the end.
track() { PIDS+=("$1"); }

# Once the daemon is ready (it has exec'd its program), writes its pid and executable to
# $S/pids, so that a later run can end it if this one was killed before its trap ran.
track_ready() {
  printf '%s %s\n' "$1" "$(readlink "/proc/$1/exe" 2>/dev/null || echo '?')" >>"$S/pids"
}

alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
  [ -n "$state" ] && [ "$state" != Z ]
}

# stop_pid PID: SIGTERM, up to 10 s, then SIGKILL; reaps it if it is our child.
stop_pid() {
  local pid=$1 i
  alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.1; done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

# The processes that run the program PATH (a pool's supervisor is root's suwrap --pool,
# which no user's process list shows), by pid.
kill_exe_processes() {
  local path=$1 proc
  for proc in /proc/[0-9]*; do
    [ "$(readlink "$proc/exe" 2>/dev/null)" = "$path" ] && kill -KILL "${proc#/proc/}" 2>/dev/null
  done
  return 0
}

restore_suexec_conf() {
  [ -e "$SUEXEC_SAVED" ] || return 0
  if [ -e "$SUEXEC_SAVED.absent" ]; then
    rm -f "$SUEXEC_CONF" "$SUEXEC_SAVED" "$SUEXEC_SAVED.absent"
  else
    mv -f "$SUEXEC_SAVED" "$SUEXEC_CONF"
  fi
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM HUP
  [ -n "$S" ] && say "cleaning up"
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
  [ -n "$S" ] && kill_exe_processes "$S/bin/suwrap"
  [ -n "$USER_NAME" ] && remove_users "$USER_NAME"
  [ ${#ACCOUNT_USERS[@]} -gt 0 ] && remove_users "${ACCOUNT_USERS[@]}"
  leave_cgroups
  restore_suexec_conf
  [ -n "${suexec_log_created:-}" ] && rm -f "$SUEXEC_LOG"
  purge_installed_packages
  [ -n "$S" ] && rm -rf "$S"
  [ -n "$GATE_INSTALLED" ] && rm -f "$GATE_PATH"
  rm -rf "$GUARD_DIR"
  rmdir "$RUN_BASE" 2>/dev/null
  [ -e "$BENCH_CONF_DIR/.made-by-suwrap-bench" ] && rm -rf "$BENCH_CONF_DIR"
  exit "$rc"
}

# A run that was killed (SIGKILL, a lost machine) left its scratch directory: end what it
# started (by pid, only while the pid still runs the same program), remove its user, and
# restore suEXEC's configuration before this run begins.
clean_stale_runs() {
  local dir pid exe user
  for dir in "$RUN_BASE"/run.*; do
    [ -d "$dir" ] || continue
    say "removing what an interrupted run left: $dir"
    if [ -f "$dir/pids" ]; then
      # What each daemon started goes first (nginx's workers, a suwrap-cgid's pools): once
      # their parent is gone they would belong to init and could not be told apart.
      while read -r pid exe; do
        if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ]; then
          kill -KILL $(descendants "$pid") "$pid" 2>/dev/null
        fi
      done <"$dir/pids"
    fi
    kill_exe_processes "$dir/bin/suwrap"
    if [ -f "$dir/user" ]; then
      # One user a line: the payload owner, then the idle-memory and first-request parts' accounts.
      while read -r user; do [ -n "$user" ] && remove_users "$user"; done <"$dir/user"
    fi
    if [ -f "$dir/cgroups" ]; then
      local stale_cgroups=()
      mapfile -t stale_cgroups <"$dir/cgroups"
      leave_cgroups "${stale_cgroups[@]}"
    fi
    rm -rf "$dir"
  done
  # We hold the lock: a gate there was left by a run that was killed.
  rm -f "$GATE_PATH"
  rm -rf "$GUARD_DIR"
  restore_suexec_conf
  return 0
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_port() {  # PORT PID
  local _
  for _ in $(seq 1 200); do
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' "$1" \
      2>/dev/null && return 0
    alive "$2" || return 1
    sleep 0.05
  done
  return 1
}

wait_socket() {  # PATH PID
  local _
  for _ in $(seq 1 200); do
    [ -S "$1" ] && return 0
    alive "$2" || return 1
    sleep 0.05
  done
  return 1
}

as_user() {  # USER COMMAND...: runs COMMAND as USER with its groups
  local u=$1
  shift
  /usr/bin/setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "$@"
}

# ---- a cpu cgroup of our own ----------------------------------------------------------------

CGROUP_DIRS=()     # the cgroups made (cpu for scheduling, cpuacct for accounting on v1)
CPU_USAGE_FILE=""  # cpuacct.usage (ns) or cpu.stat (usage_usec) of the servers' cgroup
SCHEDULING="root cpu cgroup"

# Makes the cgroups and moves this shell in: what it starts from now on is in them.
enter_cgroup() {
  local dir
  if [ -f /sys/fs/cgroup/cpu/cpu.shares ] && [ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ]; then
    for dir in /sys/fs/cgroup/cpu/suwrap-bench.$$ /sys/fs/cgroup/cpuacct/suwrap-bench.$$; do
      mkdir "$dir" 2>/dev/null || { say "cannot make $dir: measuring in the root cgroup"; leave_cgroups; return 0; }
      CGROUP_DIRS+=("$dir")
      echo "$dir" >>"$S/cgroups"
    done
    CPU_USAGE_FILE=/sys/fs/cgroup/cpuacct/suwrap-bench.$$/cpuacct.usage
  elif [ -f /sys/fs/cgroup/cgroup.subtree_control ] && grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control; then
    dir=/sys/fs/cgroup/suwrap-bench.$$
    mkdir "$dir" 2>/dev/null || { say "cannot make $dir: measuring in the root cgroup"; return 0; }
    CGROUP_DIRS+=("$dir")
    echo "$dir" >>"$S/cgroups"
    CPU_USAGE_FILE=$dir/cpu.stat
  else
    say "no usable cpu cgroup hierarchy: measuring in the root cgroup"
    return 0
  fi
  cgroup_in
  SCHEDULING="the servers and everything they start in one cpu cgroup of their own (${CGROUP_DIRS[0]}): autogroup does not apply"
}

cgroup_in() { local dir; for dir in "${CGROUP_DIRS[@]}"; do echo $$ >"$dir/cgroup.procs"; done; }
cgroup_out() { local dir; for dir in "${CGROUP_DIRS[@]}"; do echo $$ >"$(dirname "$dir")/cgroup.procs"; done; }

# CPU time (ns) used so far by the processes in the servers' cgroup, or empty.
cpu_usage_ns() {
  case $CPU_USAGE_FILE in
    "") ;;
    */cpu.stat) awk '/^usage_usec/ {printf "%d\n", $2 * 1000}' "$CPU_USAGE_FILE" ;;
    *) cat "$CPU_USAGE_FILE" ;;
  esac
}

# leave_cgroups [DIR...]: moves this shell back and removes the cgroups once empty (by
# default this run's; a stale run's are named).
leave_cgroups() {
  local dirs=("$@") dir pid _
  [ $# = 0 ] && dirs=("${CGROUP_DIRS[@]}")
  for dir in "${dirs[@]}"; do
    [ -d "$dir" ] || continue
    echo $$ >"$(dirname "$dir")/cgroup.procs" 2>/dev/null
    for _ in $(seq 1 50); do rmdir "$dir" 2>/dev/null && break; sleep 0.1; done
    [ -d "$dir" ] || continue
    # Whatever is left in it was started by this run (or by the interrupted one that made it).
    for pid in $(cat "$dir/cgroup.procs" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    sleep 0.2
    rmdir "$dir" 2>/dev/null || say "could not remove $dir"
  done
  CGROUP_DIRS=()
}

# ---- the set-up -----------------------------------------------------------------------------

setup_scratch() {
  mkdir -p "$RUN_BASE"
  chown root:root "$RUN_BASE"
  chmod 0755 "$RUN_BASE"
  clean_stale_runs
  S=$(mktemp -d "$RUN_BASE/run.XXXXXX")
  chmod 0755 "$S"
  mkdir -p "$S/bin" "$S/log" "$S/home" "$S/src" "$S/results" "$S/run"
  chmod 0755 "$S/bin" "$S/log" "$S/home" "$S/src" "$S/results" "$S/run"
  : >"$S/pids"
}

setup_user() {
  USER_NAME="swbench$(( $$ % 100000 ))"
  local home=$S/home/$USER_NAME
  useradd --user-group --no-create-home --home-dir "$home" --shell /usr/sbin/nologin "$USER_NAME" ||
    die "useradd $USER_NAME failed"
  echo "$USER_NAME" >"$S/user"
  USER_UID=$(id -u "$USER_NAME")
  DOCROOT=$home/public_html
  mkdir -p "$DOCROOT/cgi-bin"
  chown "$USER_NAME:$USER_NAME" "$home" "$DOCROOT" "$DOCROOT/cgi-bin"
  chmod 0755 "$home" "$DOCROOT" "$DOCROOT/cgi-bin"

  printf '%s' '<?php echo "hello ", posix_getuid();' >"$DOCROOT/hello.php"
  cat >"$S/src/uid.c" <<'EOF'
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("Content-Type: text/plain\r\n\r\nuid %u", (unsigned)getuid());
  return 0;
}
EOF
  gcc -O2 -o "$DOCROOT/uid.cgi" "$S/src/uid.c" || die "gcc failed"
  # The classic suEXEC way to PHP: a wrapper inside suEXEC's docroot, run through Action.
  printf '#!/bin/sh\nexec %s\n' "$PHP_CGI" >"$DOCROOT/cgi-bin/php-cgi-wrapper"
  chown "$USER_NAME:$USER_NAME" "$DOCROOT/hello.php" "$DOCROOT/uid.cgi" "$DOCROOT/cgi-bin/php-cgi-wrapper"
  chmod 0644 "$DOCROOT/hello.php"
  chmod 0755 "$DOCROOT/uid.cgi" "$DOCROOT/cgi-bin/php-cgi-wrapper"
  EXPECT_php="hello $USER_UID"
  EXPECT_cgi="uid $USER_UID"
}

# warm_handler NAME IDLE_SECONDS EXTENSIONS: a php-fcgi handler table, workers as php-fpm's.
warm_handler() {
  printf '\n[handlers.%s]\nkind = "php-fcgi"\npath = "%s"\nini_dir = "%s"\nworkers = %s\nmax_requests = %s\n' \
    "$1" "$PHP_CGI" "$PHP_INI_DIR" "$fpm_children" "$warm_max_requests"
  printf 'idle_seconds = %s\nextensions = %s\n' "$2" "$3"
}

setup_suwrap() {
  local ini_dir
  ini_dir=$(ls -d /etc/php/*/cgi 2>/dev/null | sort -V | tail -n 1)
  [ -n "$ini_dir" ] || die "no /etc/php/*/cgi (php-cgi's ini directory)"
  PHP_INI_DIR=$ini_dir
  if [ -e "$BENCH_CONF_DIR" ] && [ ! -e "$BENCH_CONF_DIR/.made-by-suwrap-bench" ]; then
    die "$BENCH_CONF_DIR exists and was not made by bench/run.sh; not touching it"
  fi
  mkdir -p "$BENCH_CONF_DIR/accounts.d"
  touch "$BENCH_CONF_DIR/.made-by-suwrap-bench"
  chown -R root:root "$BENCH_CONF_DIR"
  chmod 0755 "$BENCH_CONF_DIR" "$BENCH_CONF_DIR/accounts.d"
  # With warm mode, .php goes to the php-fcgi handler, as on a site that uses it; the
  # per-request stack (ours) asks for "php" by name (SUWRAP_HANDLER, set by nginx).
  local php_extensions='[".php"]' warm_handlers=""
  if [ -z "$WARM_MISSING" ]; then
    php_extensions='[]'
    # php-warm serves the cells (it must not end between them: fpm's pool never does);
    # php-idle is the idle-memory part's accounts' php_handler, php-cold the first-request part's
    # (php-cold-direct its direct pool, asked for by name).
    warm_handlers=$(warm_handler php-warm 3600 '[".php"]'; warm_handler php-direct 3600 '[]'
      printf 'direct = true\n'; warm_handler php-idle "$idle_seconds" '[]'
      warm_handler php-cold "$FIRST_IDLE_SECONDS" '[]'
      warm_handler php-cold-direct "$FIRST_IDLE_SECONDS" '[]'; printf 'direct = true\n')
  fi
  cat >"$BENCH_CONF" <<EOF
[global]
caller = "$CALLER"
mode = "owner"
docroots = ["$S/home/*/public_html"]
log = "$S/log/suwrap.log"
safe_path = "/usr/local/bin:/usr/bin:/bin"

[handlers.php]
kind = "php"
path = "$PHP_CGI"
ini_dir = "$PHP_INI_DIR"
extensions = $php_extensions
$warm_handlers

[handlers.cgi]
kind = "cgi"
extensions = [".cgi"]
EOF
  chmod 0644 "$BENCH_CONF"
  # The owner's account file (its user only): what gives the owner a site socket.
  if has "$stacks" site; then
    printf 'user = "%s"\ndocroots = ["%s"]\n' "$USER_NAME" "$DOCROOT" >"$BENCH_CONF_DIR/accounts.d/$USER_NAME.toml"
    chmod 0644 "$BENCH_CONF_DIR/accounts.d/$USER_NAME.toml"
  fi
  SUWRAP=$S/bin/suwrap
  cp "$BUILD_DIR/suwrap/suwrap" "$SUWRAP"
  chown root:"$CALLER" "$SUWRAP"
  chmod 4750 "$SUWRAP"
  CGID_BIN=$BUILD_DIR/cgid/suwrap-cgid
  [ -x "$CGID_BIN" ] || die "no $CGID_BIN"
  if [ -f "$BUILD_DIR/php/suwrap_guard.so" ]; then
    install -d -o root -g root -m 0755 "$GUARD_DIR"
    install -o root -g root -m 0644 "$BUILD_DIR/php/suwrap_guard.so" "$BUILD_DIR/php/suwrap-guard.ini" "$GUARD_DIR/"
  fi
  if [ -z "$WARM_MISSING" ]; then
    install -o root -g root -m 0711 "$BUILD_DIR/gate/suwrap-gate" "$GATE_PATH"
    GATE_INSTALLED=1
  fi
}

# suEXEC's docroot (and no userdir) for this run; the file is put back by the trap.
setup_suexec() {
  [ -x /usr/lib/apache2/suexec ] || die "no /usr/lib/apache2/suexec (apache2-suexec-custom)"
  if /usr/lib/apache2/suexec -V 2>&1 | grep -q SUEXEC_CONFIG_DIR; then :; else
    die "/usr/lib/apache2/suexec is not suexec-custom (its docroot is compiled in); install apache2-suexec-custom"
  fi
  if [ -e "$SUEXEC_CONF" ]; then cp -p "$SUEXEC_CONF" "$SUEXEC_SAVED"; else : >"$SUEXEC_SAVED"; : >"$SUEXEC_SAVED.absent"; fi
  printf '%s\n# userdir requests refused while bench/run.sh runs\n# (saved original: %s)\n' "$DOCROOT" "$SUEXEC_SAVED" \
    >"$SUEXEC_CONF"
  chown root:root "$SUEXEC_CONF"
  chmod 0644 "$SUEXEC_CONF"
  [ -e "$SUEXEC_LOG" ] || suexec_log_created=1
}

# The WordPress payload (--payloads wp): the owner's site in $DOCROOT/wp on a private MariaDB.
WP_POSTS=5
setup_wordpress() {
  local tool
  [ -f /usr/share/wordpress/wp-settings.php ] || die "--payloads wp needs WordPress (Debian's wordpress package)"
  for tool in mariadbd mariadb-install-db mariadb mariadb-admin php; do
    command -v "$tool" >/dev/null || die "--payloads wp needs $tool (Debian's mariadb-server and php-cli packages)"
  done
  "$PHP_CGI" -m 2>/dev/null | grep -qx mysqli || die "--payloads wp needs php-cgi with mysqli (Debian's php-mysql)"
  # shellcheck source=tests/lib/wordpress_site.sh
  . "$SOURCE_DIR/tests/lib/wordpress_site.sh"
  say "setting up WordPress for $USER_NAME on a private MariaDB"
  wps_start_mariadb "$S/mariadb" wp_db_started 2>"$S/mariadb.why" || die "$(cat "$S/mariadb.why")"
  track_ready "$WPS_DB_PID"
  local db_pass="db-$RANDOM-$RANDOM-$RANDOM" admin_pass="pw-$RANDOM-$RANDOM-$RANDOM" body out
  wps_create_user "$db_pass"
  wps_sql "CREATE DATABASE wordpress"
  WP_DOCROOT=$DOCROOT/wp
  mkdir -p "$WP_DOCROOT"
  wps_copy_tree "$WP_DOCROOT"
  wps_config "$db_pass" "// The bench measures pages, not WordPress's own requests to its site.
define('DISABLE_WP_CRON', true);" >"$WP_DOCROOT/wp-config.php"
  chmod 0600 "$WP_DOCROOT/wp-config.php"
  # Each stack listens on a port of its own: the front page is the same on all of them.
  mkdir -p "$WP_DOCROOT/wp-content/mu-plugins"
  printf '%s\n' '<?php' 'remove_action("template_redirect", "redirect_canonical");' \
    >"$WP_DOCROOT/wp-content/mu-plugins/bench-no-canonical.php"
  chown -R "$USER_NAME:$USER_NAME" "$WP_DOCROOT"
  # The installer's step 2, a POST to wp-admin/install.php: php-cgi as the owner, as a server
  # runs it (the site's address is http://127.0.0.1/wp).
  body="weblog_title=suwrap+bench&user_name=admin&admin_password=$admin_pass&admin_password2=$admin_pass"
  body+="&pw_weak=on&admin_email=admin%40example.com&blog_public=0&language="
  out=$(printf '%s' "$body" | (cd "$WP_DOCROOT/wp-admin" && as_user "$USER_NAME" env -i PATH=/usr/bin:/bin \
    PHPRC="$PHP_INI_DIR/php.ini" REDIRECT_STATUS=200 GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 \
    REQUEST_METHOD=POST CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=${#body} \
    QUERY_STRING=step=2 REQUEST_URI=/wp/wp-admin/install.php?step=2 SCRIPT_NAME=/wp/wp-admin/install.php \
    SCRIPT_FILENAME="$WP_DOCROOT/wp-admin/install.php" DOCUMENT_ROOT="$DOCROOT" HTTP_HOST=127.0.0.1 \
    SERVER_NAME=127.0.0.1 SERVER_PORT=80 REMOTE_ADDR=127.0.0.1 "$PHP_CGI") 2>&1) || true
  [[ $out == *'Success!'* ]] ||
    die "WordPress's installer failed: $(printf '%s' "$out" | sed 's/<[^>]*>//g' | grep -v '^\s*$' | tail -n 5 | tr '\n' ' ')"
  cat >"$S/wp-posts.php" <<EOF
<?php
require "$WP_DOCROOT/wp-load.php";
for (\$i = 1; \$i <= $WP_POSTS; \$i++) {
    \$id = wp_insert_post(array("post_title" => "Bench post \$i", "post_status" => "publish",
        "post_date" => sprintf("2024-01-%02d 12:00:00", \$i),
        "post_content" => "<p>Post \$i of the benchmark, a paragraph of text for the front page.</p>"));
    if (!\$id) { exit(1); }
}
echo "posted";
EOF
  chmod 0644 "$S/wp-posts.php"
  out=$(cd "$WP_DOCROOT" && as_user "$USER_NAME" env -i PATH=/usr/bin:/bin php "$S/wp-posts.php" 2>&1) || true
  [ "$out" = posted ] || die "WordPress's posts were not made: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
}
wp_db_started() { track "$1"; }

# check_wp_cell STACK URL: two requests answer the same page, WordPress's front page with
# its posts; that page is then the one wrk expects (expected_arg).
check_wp_cell() {
  local body=$S/results/wp-$1.body again=$S/results/wp-$1.again i
  curl -s --max-time 30 -o "$body" "$2" 2>/dev/null || true
  curl -s --max-time 30 -o "$again" "$2" 2>/dev/null || true
  for ((i = 1; i <= WP_POSTS; i++)); do
    grep -q "Bench post $i<" "$body" 2>/dev/null || {
      CHECK_REASON="GET $2 is not the front page with the posts (no 'Bench post $i'): $(sed 's/<[^>]*>//g' "$body" 2>/dev/null |
        tr -s ' \r\n\t' ' ' | head -c 160)"
      return 1
    }
  done
  cmp -s "$body" "$again" || { CHECK_REASON="GET $2: the front page differs from one request to the next"; return 1; }
}

# expected_arg STACK PAYLOAD: what check.lua compares each body with.
expected_arg() {
  local expect_var=EXPECT_$2
  if [ "$2" = wp ]; then echo "@$S/results/wp-$1.body"; else echo "${!expect_var}"; fi
}

# ---- the servers ----------------------------------------------------------------------------

# run_cgid DIR: a suwrap-cgid as the caller, its socket DIR/cgid.sock, its pools' sockets
# in DIR/pools; sets CGID_STARTED to its pid. Every instance reads the bench configuration
# to route (.php to a warm pool unless the request names another handler).
run_cgid() {
  local dir=$1 pool_args=()
  shift
  mkdir -p "$dir"
  chown "$CALLER:$CALLER" "$dir"
  [ -z "$WARM_MISSING" ] && pool_args=(--config "$BENCH_CONF" --pool-dir "$dir/pools" "$@")
  env -i PATH=/usr/bin:/bin /usr/bin/setpriv --reuid="$CALLER" --regid="$(id -g "$CALLER")" --init-groups \
    "$CGID_BIN" --listen "$dir/cgid.sock" --wrapper "$SUWRAP" --log-file "$dir/cgid.log" "${pool_args[@]}" \
    </dev/null >>"$dir/stderr" 2>&1 9>&- &
  CGID_STARTED=$!
  track "$CGID_STARTED"
  wait_socket "$dir/cgid.sock" "$CGID_STARTED" || die "suwrap-cgid did not start: $(tail -n 5 "$dir/"*)"
  track_ready "$CGID_STARTED"
}

start_cgid() {
  say "starting suwrap-cgid (per request)"
  run_cgid "$S/cgid"
  CGID_PID=$CGID_STARTED
  CGID_SOCK=$S/cgid/cgid.sock
}

# Warm mode: a suwrap-cgid of its own, so that its memory and its pools are its own.
start_warm_cgid() {
  say "starting suwrap-cgid (warm: the owner's pool of $fpm_children php-cgi workers)"
  run_cgid "$S/warm"
  WARM_PID=$CGID_STARTED
  WARM_SOCK=$S/warm/cgid.sock
}

# Direct pools (handler php-direct, asked for by nginx's SUWRAP_HANDLER): a suwrap-cgid of its
# own, with sites (the owner's
# account file names its user, so the owner has a site socket).
start_direct_cgid() {
  say "starting suwrap-cgid (direct pools and sites: the owner's pool of $fpm_children php-cgi workers)"
  run_cgid "$S/direct" --sites-dir "$S/direct/sites"
  DIRECT_PID=$CGID_STARTED
  DIRECT_SOCK=$S/direct/cgid.sock
  SITE_SOCK=$S/direct/sites/$USER_NAME.sock
  local _
  for _ in $(seq 1 50); do [ -S "$SITE_SOCK" ] && break; sleep 0.1; done
  [ -S "$SITE_SOCK" ] || die "suwrap-cgid made no site socket $SITE_SOCK: $(tail -n 5 "$S/direct/cgid.log")"
}

start_fcgiwrap() {
  say "starting fcgiwrap -c $fcgiwrap_children as $USER_NAME"
  mkdir -p "$S/fcgiwrap"
  chown "$USER_NAME:$USER_NAME" "$S/fcgiwrap"
  FCGIWRAP_SOCK=$S/fcgiwrap/fcgiwrap.sock
  (cd "$S/fcgiwrap" && exec env -i PATH=/usr/local/bin:/usr/bin:/bin /usr/bin/setpriv --reuid="$USER_NAME" \
    --regid="$(id -g "$USER_NAME")" --init-groups /usr/sbin/fcgiwrap -c "$fcgiwrap_children" -s "unix:$FCGIWRAP_SOCK" \
    </dev/null >>"$S/fcgiwrap/stderr" 2>&1) 9>&- &
  FCGIWRAP_PID=$!
  track "$FCGIWRAP_PID"
  wait_socket "$FCGIWRAP_SOCK" "$FCGIWRAP_PID" || die "fcgiwrap did not start: $(tail -n 5 "$S/fcgiwrap/stderr")"
  track_ready "$FCGIWRAP_PID"
  # nginx's workers (www-data) connect; nobody else may.
  chgrp "$CALLER" "$FCGIWRAP_SOCK"
  chmod 0660 "$FCGIWRAP_SOCK"
}

start_fpm() {
  local fpm
  fpm=$(php_fpm_binary)
  [ -x "$fpm" ] || die "no php-fpm binary in /usr/sbin"
  say "starting a private $(basename "$fpm") master, pool of $fpm_children as $USER_NAME"
  mkdir -p "$S/fpm"
  FPM_SOCK=$S/fpm/fpm.sock
  cat >"$S/fpm/php-fpm.conf" <<EOF
[global]
pid = $S/fpm/php-fpm.pid
error_log = $S/fpm/error.log
daemonize = no

[bench]
user = $USER_NAME
group = $USER_NAME
listen = $FPM_SOCK
listen.owner = $CALLER
listen.group = $CALLER
listen.mode = 0660
pm = static
pm.max_children = $fpm_children
clear_env = yes
EOF
  "$fpm" -t -y "$S/fpm/php-fpm.conf" >"$S/fpm/check.log" 2>&1 || die "php-fpm rejects its configuration: $(cat "$S/fpm/check.log")"
  "$fpm" -F -y "$S/fpm/php-fpm.conf" </dev/null >>"$S/fpm/stderr" 2>&1 9>&- &
  FPM_PID=$!
  track "$FPM_PID"
  wait_socket "$FPM_SOCK" "$FPM_PID" || die "php-fpm did not start: $(tail -n 5 "$S/fpm/error.log" "$S/fpm/stderr")"
  track_ready "$FPM_PID"
}

# start_php_cgi STACK: php-cgi's own FastCGI server as the owner, its workers started as the
# gate starts warm mode's (the same environment, workers and max_requests) but with nothing in
# front of them: STACK cgi checks nothing; guarded loads suwrap's PHP guard from $GUARD_DIR,
# as warm mode does, and nginx hands it the checked script's identity. Sets PHP_CGI_PID_STACK.
start_php_cgi() {
  local stack=$1 dir=$S/$1 pid scan=()
  say "starting php-cgi -b as $USER_NAME, $fpm_children workers ($stack)"
  mkdir -p "$dir"
  chown "$USER_NAME:$USER_NAME" "$dir"
  [ "$stack" = guarded ] && scan=(PHP_INI_SCAN_DIR=":$GUARD_DIR")
  # The pool as a direct pool's starter describes it: the warm handler, the default limits.
  [ "$stack" = checked ] && scan=(PHP_INI_SCAN_DIR=":$GUARD_DIR" SUWRAP_POOL_HANDLER=php-warm
    SUWRAP_POOL_LIMITS=30,512,64,256,256)
  (cd / && exec env -i PHPRC="$PHP_INI_DIR/php.ini" PATH=/usr/local/bin:/usr/bin:/bin \
    PHP_FCGI_CHILDREN="$fpm_children" PHP_FCGI_MAX_REQUESTS="$warm_max_requests" HOME="$S/home/$USER_NAME" \
    USER="$USER_NAME" LOGNAME="$USER_NAME" "${scan[@]}" /usr/bin/setpriv --reuid="$USER_NAME" \
    --regid="$(id -g "$USER_NAME")" --init-groups "$PHP_CGI" -b "$dir/php-cgi.sock" \
    </dev/null >>"$dir/stderr" 2>&1) 9>&- &
  pid=$!
  track "$pid"
  wait_socket "$dir/php-cgi.sock" "$pid" || die "php-cgi ($stack) did not start: $(tail -n 5 "$dir/stderr")"
  track_ready "$pid"
  printf -v "PHP_CGI_PID_$stack" '%s' "$pid"
  # A right answer does not show that the guard runs: php-cgi must have mapped it.
  if [ "$stack" = guarded ] || [ "$stack" = checked ]; then
    local _
    for _ in $(seq 1 40); do grep -q '/suwrap_guard\.so$' "/proc/$pid/maps" 2>/dev/null && break; sleep 0.05; done
    grep -q '/suwrap_guard\.so$' "/proc/$pid/maps" 2>/dev/null ||
      die "php-cgi ($stack) did not load $GUARD_DIR/suwrap_guard.so: $(tail -n 5 "$dir/stderr")"
  fi
  # nginx's workers (www-data) connect; nobody else may.
  chgrp "$CALLER" "$dir/php-cgi.sock"
  chmod 0660 "$dir/php-cgi.sock"
}

# script_identity FILE: "dev:ino:ctime_sec:ctime_nsec", what the gate passes to the guard as
# SUWRAP_SCRIPT_ID for the script it checked (FileFacts::identity in policy/).
script_identity() {
  python3 -c 'import os, sys; s = os.stat(sys.argv[1])
print("%d:%d:%d:%d" % (s.st_dev, s.st_ino, s.st_ctime_ns // 10**9, s.st_ctime_ns % 10**9))' "$1"
}

# php_server COMMENT PORT ROOT SOCKET [DIRECTIVE]: an nginx server block that passes .php to
# SOCKET, with DIRECTIVE (one more fastcgi_param) if given.
php_server() {
  cat <<EOF
    server {   # $1
        listen 127.0.0.1:$2;
        root $3;
        location ~ \.php\$ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;${5:+
            $5}
            fastcgi_pass unix:$4;
        }
    }
EOF
}

# The stacks of this run that nginx serves.
nginx_stacks() {
  local st
  for st in $stacks; do [ "$st" = apache ] || echo "$st"; done
}

# One private nginx with a server block per FastCGI back end that runs in this run.
start_nginx() {
  local dir=$S/nginx
  mkdir -p "$dir/tmp"
  chown "$CALLER" "$dir/tmp"
  local s
  for s in $(nginx_stacks) idle idle_fpm first first_direct first_fpm; do printf -v "PORT_$s" '%s' "$(free_port)"; done
  {
    echo "user $CALLER $(id -gn "$CALLER");"
    echo "worker_processes auto;"
    echo "daemon off;"
    echo "pid $dir/nginx.pid;"
    echo "error_log $dir/error.log warn;"
    echo "events { worker_connections 1024; }"
    echo "http {"
    echo "    access_log off;"
    echo "    keepalive_requests 1000;"
    echo "    client_body_temp_path $dir/tmp/client_body;"
    echo "    fastcgi_temp_path $dir/tmp/fastcgi;"
    echo "    proxy_temp_path $dir/tmp/proxy;"
    echo "    scgi_temp_path $dir/tmp/scgi;"
    echo "    uwsgi_temp_path $dir/tmp/uwsgi;"
    echo "    default_type text/plain;"
    if has "$stacks" ours; then
      cat <<EOF
    server {   # ours: both payloads to suwrap-cgid, which runs suwrap, which picks the handler
               # (for PHP the per-request one by name: by extension .php goes to warm mode)
        listen 127.0.0.1:$PORT_ours;
        root $DOCROOT;
        location ~ \.php\$ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_param SUWRAP_HANDLER php;
            fastcgi_pass unix:$CGID_SOCK;
        }
        location ~ \.cgi\$ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_pass unix:$CGID_SOCK;
        }
    }
EOF
    fi
    if has "$stacks" fcgiwrap; then
      cat <<EOF
    server {   # fcgiwrap: runs the CGI itself; PHP the fastest way fcgiwrap can, php-cgi with
               # PATH_TRANSLATED (as Apache's Action does), no wrapper script in between
        listen 127.0.0.1:$PORT_fcgiwrap;
        root $DOCROOT;
        location ~ \.cgi\$ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_pass unix:$FCGIWRAP_SOCK;
        }
        location ~ \.php\$ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $PHP_CGI;
            fastcgi_param PATH_TRANSLATED \$document_root\$fastcgi_script_name;
            fastcgi_param REDIRECT_URL \$uri;
            fastcgi_pass unix:$FCGIWRAP_SOCK;
        }
    }
EOF
    fi
    if has "$stacks" fpm; then
      php_server "php-fpm: a warm pool running as the owner" "$PORT_fpm" "$DOCROOT" "$FPM_SOCK"
    fi
    if has "$stacks" warm; then
      php_server "warm: to the second suwrap-cgid, which routes .php to the owner's pool" "$PORT_warm" "$DOCROOT" \
        "$WARM_SOCK"
    fi
    if has "$stacks" direct; then
      php_server "direct: to the suwrap-cgid of direct pools, which routes .php to the owner's pool" \
        "$PORT_direct" "$DOCROOT" "$DIRECT_SOCK" "fastcgi_param SUWRAP_HANDLER php-direct;"
    fi
    if has "$stacks" site; then
      php_server "site: straight to the owner's site socket, the account's own block" "$PORT_site" "$DOCROOT" \
        "$SITE_SOCK" "fastcgi_param SUWRAP_HANDLER php-direct;"
    fi
    if has "$stacks" cgi; then
      php_server "part: php-cgi's workers as the owner, nothing checks the request" "$PORT_cgi" "$DOCROOT" \
        "$S/cgi/php-cgi.sock"
    fi
    if has "$stacks" guarded; then
      php_server "part: the same with the guard, given hello.php's identity as the gate gives it" "$PORT_guarded" \
        "$DOCROOT" "$S/guarded/php-cgi.sock" "fastcgi_param SUWRAP_SCRIPT_ID $(script_identity "$DOCROOT/hello.php");"
    fi
    if has "$stacks" checked; then
      php_server "part: the same with the guard making the per-request check (a direct pool's worker)" \
        "$PORT_checked" "$DOCROOT" "$S/checked/php-cgi.sock"
    fi
    # The idle-memory part: /USER/public_html/hello.php of every account, to the suwrap-cgid
    # that part starts (and stops) itself.
    if [ "$do_idle_memory" = 1 ] && [ -z "$WARM_MISSING" ]; then
      php_server "idle memory: every account's hello.php" "$PORT_idle" "$S/home" "$IDLE_SOCK"
    fi
    # ... and to the account's own pool of the php-fpm master that part runs at the moment
    # ($S/idle-fpm links to its directory; the pool's socket is named after the account).
    if [ "$do_idle_memory" = 1 ]; then
      cat <<EOF
    server {   # idle memory under php-fpm: every account's hello.php to its own pool
        listen 127.0.0.1:$PORT_idle_fpm;
        root $S/home;
        location ~ ^/([^/]+)/public_html/[^/]+\.php\$ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_pass unix:$S/idle-fpm/\$1.sock;
        }
    }
EOF
    fi
    # The first-request part: the account's hello.php to the suwrap-cgid, and to the php-fpm
    # master, that part starts (and stops) itself.
    if [ "$do_first_request" = 1 ]; then
      [ -z "$WARM_MISSING" ] && php_server "first request, warm" "$PORT_first" "$S/home" "$S/first/cgid.sock"
      [ -z "$WARM_MISSING" ] && php_server "first request, a direct pool" "$PORT_first_direct" "$S/home" \
        "$S/first-direct/cgid.sock" "fastcgi_param SUWRAP_HANDLER php-cold-direct;"
      php_server "first request, php-fpm ondemand" "$PORT_first_fpm" "$S/home" "$S/first-fpm/fpm.sock"
    fi
    echo "}"
  } >"$dir/nginx.conf"
  nginx -t -q -c "$dir/nginx.conf" -e "$dir/error.log" -p "$dir/" >"$dir/check.log" 2>&1 ||
    die "nginx rejects its configuration: $(cat "$dir/check.log")"
  say "starting a private nginx"
  nginx -c "$dir/nginx.conf" -e "$dir/error.log" -p "$dir/" </dev/null >>"$dir/stderr" 2>&1 9>&- &
  NGINX_PID=$!
  track "$NGINX_PID"
  for s in $(nginx_stacks); do
    local port_var=PORT_$s
    wait_port "${!port_var}" "$NGINX_PID" || die "nginx did not start: $(tail -n 5 "$dir/error.log" "$dir/stderr")"
  done
  if [ "$do_idle_memory" = 1 ] && [ -z "$WARM_MISSING" ]; then
    wait_port "$PORT_idle" "$NGINX_PID" || die "nginx did not start: $(tail -n 5 "$dir/error.log" "$dir/stderr")"
  fi
  if [ "$do_idle_memory" = 1 ]; then
    wait_port "$PORT_idle_fpm" "$NGINX_PID" || die "nginx did not start: $(tail -n 5 "$dir/error.log" "$dir/stderr")"
  fi
  if [ "$do_first_request" = 1 ]; then
    wait_port "$PORT_first_fpm" "$NGINX_PID" || die "nginx did not start: $(tail -n 5 "$dir/error.log" "$dir/stderr")"
  fi
  track_ready "$NGINX_PID"
}

# A private Apache 2.4: event MPM with Debian's stock mpm_event settings, mod_cgid, suEXEC.
start_apache() {
  local dir=$S/apache m
  mkdir -p "$dir/run"
  PORT_apache=$(free_port)
  {
    echo "ServerRoot $dir"
    echo "DefaultRuntimeDir $dir/run"
    echo "PidFile $dir/apache.pid"
    echo "Mutex file:$dir/run default"
    echo "ErrorLog $dir/error.log"
    echo "LogLevel warn"
    echo "Listen 127.0.0.1:$PORT_apache"
    echo "ServerName 127.0.0.1"
    echo "User $CALLER"
    echo "Group $(id -gn "$CALLER")"
    for m in mpm_event authz_core mime dir alias actions cgid suexec; do
      echo "LoadModule ${m}_module /usr/lib/apache2/modules/mod_$m.so"
    done
    cat <<EOF
StartServers 2
MinSpareThreads 25
MaxSpareThreads 75
ThreadLimit 64
ThreadsPerChild 25
MaxRequestWorkers 150
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 1000
ScriptSock $dir/run/cgid.sock
TypesConfig /etc/mime.types
<Directory />
    AllowOverride None
    Require all denied
</Directory>
DocumentRoot $DOCROOT
SuexecUserGroup $USER_NAME $USER_NAME
<Directory $DOCROOT>
    Options +ExecCGI
    Require all granted
    AddHandler cgi-script .cgi
    AddHandler php-script .php
    Action php-script /cgi-bin/php-cgi-wrapper
</Directory>
<Directory $DOCROOT/cgi-bin>
    SetHandler cgi-script
</Directory>
EOF
  } >"$dir/apache2.conf"
  apache2 -t -f "$dir/apache2.conf" >"$dir/check.log" 2>&1 || die "Apache rejects its configuration: $(cat "$dir/check.log")"
  say "starting a private Apache (event, mod_cgid, suEXEC)"
  apache2 -f "$dir/apache2.conf" -DFOREGROUND </dev/null >>"$dir/stderr" 2>&1 9>&- &
  APACHE_PID=$!
  track "$APACHE_PID"
  wait_port "$PORT_apache" "$APACHE_PID" || die "Apache did not start: $(tail -n 5 "$dir/error.log" "$dir/stderr")"
  track_ready "$APACHE_PID"
  grep -q 'suEXEC mechanism enabled' "$dir/error.log" || die "Apache did not enable suEXEC: $(tail -n 5 "$dir/error.log")"
}

# ---- measuring ------------------------------------------------------------------------------

# wrk's script: every response's body must be exactly the expected one; the summary is one
# machine-readable line.
write_wrk_script() {
  cat >"$S/check.lua" <<'EOF'
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  expected = args[1]
  -- "@FILE": the expected body is FILE's content (WordPress's page is too long for an argument).
  if expected:sub(1, 1) == "@" then
    local f = assert(io.open(expected:sub(2), "rb"))
    expected = f:read("*a")
    f:close()
  end
  bad = 0
end

function response(status, headers, body)
  if body ~= expected then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local bad_bodies = 0
  for _, thread in ipairs(threads) do
    bad_bodies = bad_bodies + thread:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d connect=%d read=%d write=%d status=%d timeout=%d bad=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout, bad_bodies))
end
EOF
}

url_of() {  # STACK PAYLOAD
  local port_var=PORT_$1 file
  case $2 in php) file=hello.php ;; cgi) file=uid.cgi ;; wp) file=wp/index.php ;; esac
  echo "http://127.0.0.1:${!port_var}/$file"
}

# descendants PID: the pids of every process below PID (children, their children, ...).
descendants() {
  ps -e -o pid=,ppid= 2>/dev/null | awk -v root="$1" '
    { parent[$1] = $2; pids[NR] = $1 }
    END {
      for (i = 1; i <= NR; i++) {
        p = pids[i]
        for (q = parent[p]; q != "" && q > 1; q = parent[q]) if (q == root) { print p; break }
      }
    }'
}

# The daemon processes whose memory is reported: suwrap-cgid itself (its children are the
# short-lived suwrap processes of the requests), fcgiwrap's parent and its workers, php-fpm's
# master and its workers (which are the PHP interpreters); in warm mode suwrap-cgid and
# everything below it: the pool's supervisor (root's suwrap --pool), the gate, php-cgi's
# parent and its workers.
rss_kb() {  # STACK
  local pids=() p total=0 kb
  case $1 in
    ours) pids=("$CGID_PID") ;;
    fcgiwrap) pids=("$FCGIWRAP_PID" $(ps -o pid= --ppid "$FCGIWRAP_PID" 2>/dev/null)) ;;
    fpm) pids=("$FPM_PID" $(ps -o pid= --ppid "$FPM_PID" 2>/dev/null)) ;;
    warm) pids=("$WARM_PID" $(descendants "$WARM_PID")) ;;
    direct | site) pids=("$DIRECT_PID" $(descendants "$DIRECT_PID")) ;;
    cgi | guarded | checked) pids=("$(front_pid "$1")" $(descendants "$(front_pid "$1")")) ;;
    *) echo 0; return ;;
  esac
  for p in "${pids[@]}"; do
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}

# Samples rss_kb STACK every 0.2 s into FILE (its maximum so far) until killed.
rss_sampler() {  # STACK FILE (which holds the maximum of earlier samples)
  local max now i
  max=$(cat "$2" 2>/dev/null || echo 0)
  # Bounded, and only while this run lives: it must not outlive a run that was killed.
  for ((i = 0; i < duration * 5 + 100; i++)); do
    kill -0 $$ 2>/dev/null || break
    now=$(rss_kb "$1")
    [ "$now" -gt "$max" ] && { max=$now; echo "$max" >"$2"; }
    sleep 0.2
  done
}

# front_pid STACK: the daemon nginx passes STACK's requests to (its processes are it and those
# below it), for the stacks whose CPU is reported by program; nothing for the others.
front_pid() {
  case $1 in
    ours) echo "$CGID_PID" ;;
    fpm) echo "$FPM_PID" ;;
    warm) echo "$WARM_PID" ;;
    direct | site) echo "$DIRECT_PID" ;;
    cgi) echo "$PHP_CGI_PID_cgi" ;;
    guarded) echo "$PHP_CGI_PID_guarded" ;;
    checked) echo "$PHP_CGI_PID_checked" ;;
  esac
}

# Where a request's CPU goes, program by program (the stacks front_pid names): a snapshot of
# the CPU time of every process of the stack (nginx and its workers, the daemon in front and
# everything below it) as "pid role own_ticks reaped_ticks"; own is the process's own user +
# system time, reaped what the children it has waited for used (a per-request suwrap and its
# handler, once reaped, count there). The difference of two snapshots is the cell's.
cpu_snapshot() {  # STACK
  local front pid exe role
  front=$(front_pid "$1")
  [ -n "$front" ] || return 0
  for pid in "$NGINX_PID" $(descendants "$NGINX_PID") "$front" $(descendants "$front"); do
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
    case $exe in
      */nginx) role=nginx ;;
      "$SUWRAP") role=supervisor ;;
      "$GATE_PATH") role=gate ;;
      */php-cgi* | */php-fpm*) role=php ;;
      *) role=other ;;
    esac
    [ "$pid" = "$front" ] && role=front
    awk -v pid="$pid" -v role="$role" '{ sub(/^.*\) /, ""); print pid, role, $12 + $13, $14 + $15 }' \
      "/proc/$pid/stat" 2>/dev/null || true
  done
}

CELL_SEQ=0  # numbers the cells whose CPU by program is recorded (--repeat measures a cell again)

# cpu_by_program BEFORE AFTER: "role own reaped" ticks per role (a pid absent before counts from 0).
cpu_by_program() {
  awk 'NR == FNR { own[$1] = $3; reaped[$1] = $4; next }
       { o[$2] += $3 - own[$1]; r[$2] += $4 - reaped[$1] }
       END { for (role in o) print role, o[role], r[role] }' "$1" "$2"
}

# check_cell STACK PAYLOAD: curl shows the owner's uid (for wp, WordPress's front page), or
# the reason why not.
check_cell() {
  local url expect_var=EXPECT_$2 body
  url=$(url_of "$1" "$2")
  [ "$2" = wp ] && { check_wp_cell "$1" "$url"; return; }
  body=$(curl -s --max-time 30 "$url" 2>&1 || true)
  if [ "$body" = "${!expect_var}" ]; then return 0; fi
  CHECK_REASON="GET $url answered '$(printf '%s' "$body" | tr -d '\r' | tr '\n' ' ' | head -c 160)', expected '${!expect_var}'"
  return 1
}

# run_cell STACK PAYLOAD C: one wrk run; appends a line to $S/results/cells.tsv:
# stack payload c status rps p50_us p99_us errors detail
run_cell() {
  local stack=$1 payload=$2 c=$3 url threads out line sampler="" rss_file
  url=$(url_of "$stack" "$payload")
  if ! check_cell "$stack" "$payload"; then
    say "  $stack $payload c=$c: FAILED: $CHECK_REASON"
    printf '%s\t%s\t%s\tFAILED\t\t\t\t\t%s\t\n' "$stack" "$payload" "$c" "$CHECK_REASON" >>"$S/results/cells.tsv"
    return 0
  fi
  threads=$((c < 2 ? c : 2))
  rss_file=$S/results/rss-$stack-$payload-c$c
  if [ "$c" = 32 ] && [ "$stack" != apache ]; then
    [ -f "$rss_file" ] || echo 0 >"$rss_file"
    rss_sampler "$stack" "$rss_file" 9>&- &
    sampler=$!
  fi
  local cpu_before cpu_after snapshot=$S/results/snapshot
  cpu_snapshot "$stack" >"$snapshot.before"
  cpu_before=$(cpu_usage_ns)
  out=$(wrk -t"$threads" -c"$c" -d"${duration}s" --timeout 10s --latency -s "$S/check.lua" "$url" -- \
    "$(expected_arg "$stack" "$payload")" 2>&1 || true)
  cpu_after=$(cpu_usage_ns)
  cpu_snapshot "$stack" >"$snapshot.after"
  [ -n "$sampler" ] && { kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true; }
  printf '%s\n' "$out" >"$S/results/wrk-$stack-$payload-c$c.txt"
  line=$(printf '%s\n' "$out" | grep '^RESULT ' | tail -n 1 || true)
  if [ -z "$line" ]; then
    say "  $stack $payload c=$c: FAILED: wrk printed no result: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
    printf '%s\t%s\t%s\tFAILED\t\t\t\t\twrk printed no result\t\n' "$stack" "$payload" "$c" >>"$S/results/cells.tsv"
    return 0
  fi
  local requests duration_us p50 p99 errors kv
  local r_requests=0 r_duration_us=0 r_p50_us=0 r_p99_us=0 r_connect=0 r_read=0 r_write=0 r_status=0 r_timeout=0 r_bad=0
  for kv in ${line#RESULT }; do
    [[ $kv =~ ^([a-z0-9_]+)=([0-9]+)$ ]] && printf -v "r_${BASH_REMATCH[1]}" '%s' "${BASH_REMATCH[2]}"
  done
  requests=$r_requests duration_us=$r_duration_us p50=$r_p50_us p99=$r_p99_us
  errors=$((r_connect + r_read + r_write + r_status + r_timeout + r_bad))
  local rps cpu_ms=""
  rps=$(awk -v n="$requests" -v d="$duration_us" 'BEGIN { printf "%.1f", (d > 0 ? n / (d / 1e6) : 0) }')
  # The servers' CPU per request (all their processes, the handlers included). The cell
  # ends with wrk's last requests still finishing: a few more requests' worth, at most c.
  if [ -n "$cpu_before" ] && [ -n "$cpu_after" ] && [ "$requests" -gt 0 ]; then
    cpu_ms=$(awk -v a="$cpu_before" -v b="$cpu_after" -v n="$requests" 'BEGIN { printf "%.3f", (b - a) / 1e6 / n }')
  fi
  local detail="connect $r_connect, read $r_read, write $r_write, non-2xx $r_status, timeout $r_timeout, wrong body $r_bad"
  say "  $stack $payload c=$c: $rps req/s, p50 $((p50 / 1000)) ms, p99 $((p99 / 1000)) ms, errors $errors${cpu_ms:+, CPU $cpu_ms ms/request}"
  printf '%s\t%s\t%s\tok\t%s\t%s\t%s\t%s\t%s\t%s\n' "$stack" "$payload" "$c" "$rps" "$p50" "$p99" "$errors" "$detail" \
    "$cpu_ms" >>"$S/results/cells.tsv"
  if [ -s "$snapshot.after" ] && [ "$requests" -gt 0 ]; then
    CELL_SEQ=$((CELL_SEQ + 1))
    cpu_by_program "$snapshot.before" "$snapshot.after" |
      awk -v st="$stack" -v pl="$payload" -v c="$c" -v n="$requests" -v seq="$CELL_SEQ" \
        '{ printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st, pl, c, seq, n, $1, $2, $3 }' >>"$S/results/programs.tsv"
  fi
}

# The stacks that serve PAYLOAD.
stacks_for() {
  local st out=()
  for st in $ALL_STACKS; do
    has "$stacks" "$st" || continue
    [ "$1" = cgi ] && has "$PHP_ONLY_STACKS" "$st" && continue
    # guarded's nginx hands the guard hello.php's identity, which no WordPress file has.
    [ "$1" = wp ] && [ "$st" = guarded ] && continue
    out+=("$st")
  done
  echo "${out[@]}"
}

warm_up() {  # PAYLOAD
  local st url
  [ "$warmup" -gt 0 ] || return 0
  for st in $(stacks_for "$1"); do
    check_cell "$st" "$1" || continue
    url=$(url_of "$st" "$1")
    wrk -t2 -c8 -d"${warmup}s" --timeout 10s -s "$S/check.lua" "$url" -- "$(expected_arg "$st" "$1")" >/dev/null 2>&1 ||
      true
  done
}

# Every cell of one payload and concurrency is measured for all stacks back to back, the
# stacks' order reversed from one cell to the next (and from one repetition to the next):
# the load that other work puts on a shared machine drifts over minutes, and a ratio of
# two cells measured half a minute apart, in both orders, suffers least from it.
measure_all() {
  local rep payload c order=0 list st reversed
  for ((rep = 1; rep <= repeat; rep++)); do
    for payload in $payloads; do
      warm_up "$payload"
      for c in $concurrencies; do
        list=$(stacks_for "$payload")
        if ((order % 2 == 1)); then
          reversed=""
          for st in $list; do reversed="$st${reversed:+ $reversed}"; done
          list=$reversed
        fi
        order=$((order + 1))
        local round_note=""
        [ "$repeat" -gt 1 ] && round_note=" (round $rep of $repeat)"
        say "$payload c=$c$round_note: $list"
        for st in $list; do run_cell "$st" "$payload" "$c"; done
      done
    done
  done
}

# The floor: one process that fork+execs the handler, as hyperfine does for each run, with
# the CGI environment that suwrap would give it; then suwrap itself run the same way as
# the caller (www-data), which adds suwrap's checks, its fork and the supervision. The two
# alternate in $FLOOR_ROUNDS rounds, so that a busy moment of a shared machine falls on both;
# the report pools each side's samples (median wall time) and its CPU time (user + system
# of the command and the children it waited for), which a busy machine inflates less.
FLOOR_ROUNDS=20
measure_floor() {
  local payload script bare_cmd envs hf_shell=(-N) round runs
  hyperfine --help 2>&1 | grep -q -- '--shell=none' || hf_shell=()
  [ ${#hf_shell[@]} = 0 ] && say "hyperfine has no -N: measuring through a shell (hyperfine subtracts its cost)"
  runs=$(( (floor_runs + FLOOR_ROUNDS - 1) / FLOOR_ROUNDS ))
  mkdir -p "$S/floor/owner" "$S/floor/caller"
  chown "$USER_NAME:$USER_NAME" "$S/floor/owner"
  chown "$CALLER:$CALLER" "$S/floor/caller"
  for payload in $payloads; do
    [ "$payload" = wp ] && continue  # one process per request is the php payload's floor
    if [ "$payload" = php ]; then script=$DOCROOT/hello.php; bare_cmd=$PHP_CGI
    else script=$DOCROOT/uid.cgi; bare_cmd=$script; fi
    envs=(GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=localhost
      SERVER_PORT=80 REMOTE_ADDR=127.0.0.1 REMOTE_PORT=40000 QUERY_STRING= DOCUMENT_ROOT="$DOCROOT"
      SCRIPT_NAME="/$(basename "$script")" REQUEST_URI="/$(basename "$script")" SCRIPT_FILENAME="$script")
    # Bare: what suwrap's child gets, as the owner, from the script's directory.
    local bare_env=("${envs[@]}" PATH=/usr/local/bin:/usr/bin:/bin HOME="$S/home/$USER_NAME" USER="$USER_NAME"
      LOGNAME="$USER_NAME")
    [ "$payload" = php ] && bare_env+=(REDIRECT_STATUS=200 PHPRC="$PHP_INI_DIR/php.ini")
    # suwrap runs PHP per request with the handler "php" (.php itself goes to warm mode).
    local wrapped_env=("${envs[@]}")
    [ "$payload" = php ] && wrapped_env+=(SUWRAP_HANDLER=php)
    # The runs below discard the output: check once that suwrap really runs the payload.
    local body expect_var=EXPECT_$payload
    body=$(cd "$S/floor/caller" && env -i "${wrapped_env[@]}" /usr/bin/setpriv --reuid="$CALLER" --regid="$(id -g "$CALLER")" \
      --init-groups "$SUWRAP" 2>/dev/null | sed '1,/^\r\{0,1\}$/d' || true)
    if [ "$body" != "${!expect_var}" ]; then
      say "  floor $payload: FAILED: suwrap answered '$body', expected '${!expect_var}'"
      continue
    fi
    say "floor $payload: bare exec as $USER_NAME and through suwrap as $CALLER, $FLOOR_ROUNDS alternating rounds of $runs runs"
    for ((round = 1; round <= FLOOR_ROUNDS; round++)); do
      (cd "$DOCROOT" && env -i "${bare_env[@]}" /usr/bin/setpriv --reuid="$USER_NAME" --regid="$(id -g "$USER_NAME")" \
        --init-groups hyperfine "${hf_shell[@]}" --style none --warmup 3 --runs "$runs" \
        --export-json "$S/floor/owner/$payload.$round.json" "$bare_cmd" >"$S/floor/owner-$payload.log" 2>&1) ||
        { say "  bare $payload: FAILED: $(tail -n 3 "$S/floor/owner-$payload.log" | tr '\n' ' ')"; break; }
      (cd "$S/floor/caller" && env -i "${wrapped_env[@]}" /usr/bin/setpriv --reuid="$CALLER" --regid="$(id -g "$CALLER")" \
        --init-groups hyperfine "${hf_shell[@]}" --style none --warmup 3 --runs "$runs" \
        --export-json "$S/floor/caller/$payload.$round.json" "$SUWRAP" >"$S/floor/caller-$payload.log" 2>&1) ||
        { say "  suwrap $payload: FAILED: $(tail -n 3 "$S/floor/caller-$payload.log" | tr '\n' ' ')"; break; }
    done
  done
}

# ---- idle memory of configured accounts ------------------------------------------------------

# $idle_accounts more real users, each with hello.php in a docroot and (warm mode) an account
# file whose php_handler is "php-idle": configured as a hosting panel would. They are made
# before any daemon starts, so that no configuration changes under a running one.
setup_idle_accounts() {
  local i user
  say "making $idle_accounts accounts for the idle-memory part"
  for ((i = 1; i <= idle_accounts; i++)); do
    user="swidle$(( $$ % 100000 ))x$i"
    make_account "$user" php-idle
    IDLE_USERS+=("$user")
  done
}

# make_account USER PHP-HANDLER: a real user with hello.php in $S/home/USER/public_html and
# (warm mode) an account file whose php_handler is PHP-HANDLER.
make_account() {
  local user=$1 home=$S/home/$1
  useradd --user-group --no-create-home --home-dir "$home" --shell /usr/sbin/nologin "$user" ||
    die "useradd $user failed"
  ACCOUNT_USERS+=("$user")
  echo "$user" >>"$S/user"
  mkdir -p "$home/public_html"
  printf '%s' '<?php echo "hello ", posix_getuid();' >"$home/public_html/hello.php"
  chown "$user:$user" "$home" "$home/public_html" "$home/public_html/hello.php"
  chmod 0755 "$home" "$home/public_html"
  chmod 0644 "$home/public_html/hello.php"
  [ -n "$WARM_MISSING" ] && return 0
  cat >"$BENCH_CONF_DIR/accounts.d/$user.toml" <<EOF
user = "$user"
docroots = ["$home/public_html"]
php_handler = "$2"
EOF
  chmod 0644 "$BENCH_CONF_DIR/accounts.d/$user.toml"
}

# mem_table PID...: "program<TAB>PSS kB<TAB>RSS kB" for each of them that still runs, the
# supervisor (the set-up's set-uid suwrap copy) named "suwrap --pool". One pass over all of
# them, so that every figure of a sample is of the same moment: a pool that ends while it is
# read is then missing from all of them, not from some. PSS (proportional set size) counts a
# page shared by n processes as 1/n in each: summed over a set of processes it is the memory
# they take, where summed RSS counts shared pages many times.
mem_table() {
  python3 - "$SUWRAP" "$@" <<'EOF'
import os, sys
for pid in sys.argv[2:]:
    try:
        try:
            f = open("/proc/%s/smaps_rollup" % pid)
        except FileNotFoundError:
            f = open("/proc/%s/smaps" % pid)
        with f:
            lines = f.read().splitlines()
        exe = os.readlink("/proc/%s/exe" % pid)
    except OSError:
        continue
    kb = {"Pss:": 0, "Rss:": 0}
    for line in lines:
        fields = line.split()
        if fields and fields[0] in kb:
            kb[fields[0]] += int(fields[1])
    print("%s\t%d\t%d" % ("suwrap --pool" if exe == sys.argv[1] else os.path.basename(exe), kb["Pss:"], kb["Rss:"]))
EOF
}

# total_of_table: "processes PSS_kB RSS_kB" of mem_table's lines on standard input.
total_of_table() { awk -F'\t' '{ n++; pss += $2; rss += $3 } END { printf "%d %d %d\n", n, pss, rss }'; }

# mem_usage PID...: "processes PSS_kB RSS_kB" summed over those that still run.
mem_usage() { mem_table "$@" | total_of_table; }

# programs_of_table: "program<TAB>processes<TAB>PSS kB" for each program of mem_table's lines
# on standard input.
programs_of_table() {
  awk -F'\t' '{ n[$1]++; k[$1] += $2 } END { for (p in n) printf "%s\t%d\t%d\n", p, n[p], k[p] }' | sort
}

# idle_record SETUP STATE FRONT_PID NOTE: one row of the idle table: the processes below
# FRONT_PID (the accounts' share), and FRONT_PID itself (the daemon in front of them); and
# a row of idle-programs.tsv (setup, state, program, processes, PSS kB) for each program below.
idle_record() {
  local table below front programs by_program
  table=$(mem_table $(descendants "$3"))
  below=$(printf '%s' "$table" | total_of_table)
  front=$(mem_usage "$3")
  programs=$(printf '%s' "$table" | programs_of_table)
  by_program=$(printf '%s' "$programs" |
    awk -F'\t' '{ printf "%s%s: %d, %.1f MiB", (NR > 1 ? "; " : ""), $1, $2, $3 / 1024 }')
  [ -n "$programs" ] && printf '%s\n' "$programs" | sed "s/^/$1\t$2\t/" >>"$S/results/idle-programs.tsv"
  set -- "$1" "$2" "$3" "${4}${by_program:+; by program (processes, PSS): $by_program}"
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "${below// /$'\t'}" "${front// /$'\t'}" "$4" >>"$S/results/idle.tsv"
  say "  $1, $2: below it $below (processes, PSS kB, RSS kB); itself $front${4:+; $4}"
}

# request_each_account PORT: one request to every idle account's hello.php through nginx's
# PORT; sets ANSWERED to how many answered with their owner's uid.
request_each_account() {
  local user body
  ANSWERED=0
  for user in "${IDLE_USERS[@]}"; do
    body=$(curl -s --max-time 30 "http://127.0.0.1:$1/$user/public_html/hello.php" 2>&1 || true)
    if [ "$body" = "hello $(id -u "$user")" ]; then
      ANSWERED=$((ANSWERED + 1))
    else
      say "  $user answered '$(printf '%s' "$body" | tr -d '\r' | tr '\n' ' ' | head -c 160)'"
    fi
  done
}

# The processes of the idle accounts' users, wherever they run from.
idle_users_processes() {
  local user n=0
  for user in "${IDLE_USERS[@]}"; do n=$((n + $(ps -o pid= -u "$user" 2>/dev/null | wc -l))); done
  echo "$n"
}

measure_idle_warm() {
  local first_request last_request gone_after
  say "idle memory, warm: a fresh suwrap-cgid for $idle_accounts configured accounts"
  run_cgid "$S/idle"
  local idle_pid=$CGID_STARTED
  sleep 3
  idle_record warm "configured, no request yet" "$idle_pid" "processes of the accounts' users: $(idle_users_processes)"
  first_request=$SECONDS
  request_each_account "$PORT_idle"
  last_request=$(date +%s.%N)
  sleep 2
  # The first pools must not have reached idle_seconds yet: else fewer than all would run.
  local note="$ANSWERED of $idle_accounts answered with their owner's uid"
  [ $((SECONDS - first_request)) -ge "$idle_seconds" ] &&
    note+="; the requests took $((SECONDS - first_request)) s, longer than idle_seconds: raise --idle-seconds"
  idle_record warm "after one request to each account" "$idle_pid" \
    "$note; processes of the accounts' users: $(idle_users_processes)"
  # No request since: the pools end after idle_seconds (the gate's and suwrap-cgid's own
  # count). Wait for the last of their processes to go, at most 60 s past idle_seconds.
  while [ -n "$(descendants "$idle_pid")" ]; do
    gone_after=$(awk -v a="$last_request" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", b - a }')
    [ "$gone_after" -gt $((idle_seconds + 60)) ] && break
    sleep 0.2
  done
  gone_after=$(awk -v a="$last_request" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  note="sampled $gone_after s after the last request, once the pools were gone (or 60 s past idle_seconds)"
  idle_record warm "after idle_seconds ($idle_seconds s) without a request" "$idle_pid" \
    "$note; processes of the accounts' users: $(idle_users_processes)"
  stop_pid "$idle_pid"
}

# php_fpm_binary: the newest /usr/sbin/php-fpm*, or nothing.
php_fpm_binary() { ls /usr/sbin/php-fpm* 2>/dev/null | sort -V | tail -n 1; }

# fpm_global DIR: php-fpm's global section, its files in DIR, in the foreground.
fpm_global() { printf '[global]\npid = %s/php-fpm.pid\nerror_log = %s/error.log\ndaemonize = no\n' "$1" "$1"; }

# fpm_pool USER SOCKET PM: a pool named after USER running as USER, on SOCKET for the caller,
# of --fpm-children workers at most.
fpm_pool() {
  printf '\n[%s]\nuser = %s\ngroup = %s\nlisten = %s\n' "$1" "$1" "$1" "$2"
  printf 'listen.owner = %s\nlisten.group = %s\nlisten.mode = 0660\nclear_env = yes\n' "$CALLER" "$CALLER"
  printf 'pm = %s\npm.max_children = %s\n' "$3" "$fpm_children"
}

# run_fpm DIR SOCKET...: the master of DIR/php-fpm.conf, once it listens on every SOCKET;
# sets FPM_STARTED to its pid, or says why not and returns 1.
run_fpm() {
  local dir=$1 fpm sock
  shift
  fpm=$(php_fpm_binary)
  [ -x "$fpm" ] || { say "no php-fpm binary in /usr/sbin"; return 1; }
  "$fpm" -t -y "$dir/php-fpm.conf" >"$dir/check.log" 2>&1 ||
    { say "php-fpm rejects $dir/php-fpm.conf: $(tail -n 3 "$dir/check.log")"; return 1; }
  "$fpm" -F -y "$dir/php-fpm.conf" </dev/null >>"$dir/stderr" 2>&1 9>&- &
  FPM_STARTED=$!
  track "$FPM_STARTED"
  for sock in "$@"; do
    wait_socket "$sock" "$FPM_STARTED" || { say "php-fpm did not start: $(tail -n 3 "$dir/error.log")"; return 1; }
  done
  track_ready "$FPM_STARTED"
}

# measure_idle_fpm PM: a private php-fpm master with one pool per account, as the account.
measure_idle_fpm() {
  local pm=$1 dir user spare_start spare_max sockets=()
  dir=$S/idle-fpm-$pm
  mkdir -p "$dir"
  spare_start=$((fpm_children < 2 ? fpm_children : 2))
  spare_max=$((fpm_children < 3 ? fpm_children : 3))
  {
    fpm_global "$dir"
    for user in "${IDLE_USERS[@]}"; do
      fpm_pool "$user" "$dir/$user.sock" "$pm"
      sockets+=("$dir/$user.sock")
      # Debian's www.conf: start 2, min spare 1, max spare 3 (ondemand: its 10 s idle timeout).
      [ "$pm" = dynamic ] && printf 'pm.start_servers = %s\npm.min_spare_servers = 1\npm.max_spare_servers = %s\n' \
        "$spare_start" "$spare_max"
      [ "$pm" = ondemand ] && printf 'pm.process_idle_timeout = 10s\n'
    done
  } >"$dir/php-fpm.conf"
  say "idle memory, php-fpm pm = $pm: one master, $idle_accounts pools"
  run_fpm "$dir" "${sockets[@]}" || return 0
  local fpm_pid=$FPM_STARTED
  sleep 3
  local what="static, pm.max_children = $fpm_children"
  [ "$pm" = dynamic ] && what="dynamic, start $spare_start, min spare 1, max spare $spare_max, max $fpm_children"
  [ "$pm" = ondemand ] && what="ondemand, max $fpm_children"
  idle_record "php-fpm ($what)" "started, no request yet" "$fpm_pid" \
    "processes of the accounts' users: $(idle_users_processes)"
  # The same requests as warm mode's pools got, through nginx's server for this master.
  ln -sfn "$dir" "$S/idle-fpm"
  request_each_account "$PORT_idle_fpm"
  sleep 2
  idle_record "php-fpm ($what)" "after one request to each account" "$fpm_pid" \
    "$ANSWERED of $idle_accounts answered with their owner's uid; processes of the accounts' users: $(idle_users_processes)"
  stop_pid "$fpm_pid"
}

measure_idle_memory() {
  local pm
  : >"$S/results/idle.tsv"
  : >"$S/results/idle-programs.tsv"
  if [ -z "$WARM_MISSING" ]; then measure_idle_warm; else say "idle memory: no warm mode ($WARM_MISSING)"; fi
  for pm in static dynamic ondemand; do measure_idle_fpm "$pm"; done
}

# ---- the first request to an idle account ----------------------------------------------------

# One more account, whose php_handler "php-cold" has idle_seconds = $FIRST_IDLE_SECONDS: its pool
# ends soon after its last request, and the next request starts one.
setup_first_account() {
  FIRST_USER="swfirst$(( $$ % 100000 ))"
  say "making the account $FIRST_USER for the first-request part"
  make_account "$FIRST_USER" php-cold
}

# wait_nothing_below PID SECONDS: until no process runs below PID (its pools or workers have
# ended), at most SECONDS; 1 if some still run then.
wait_nothing_below() {
  local until=$((SECONDS + $2))
  while [ -n "$(descendants "$1")" ]; do
    [ "$SECONDS" -ge "$until" ] && return 1
    sleep 0.05
  done
  return 0
}

# first_requests SETUP FRONT_PID PORT: --first-requests times, once nothing runs below
# FRONT_PID, one request to the account's hello.php through nginx's PORT, then one more to
# what it started; appends "setup, n, first s, next s, status" to $S/results/first.tsv.
first_requests() {
  local setup=$1 front=$2 url expect i first next body status failed=0
  url="http://127.0.0.1:$3/$FIRST_USER/public_html/hello.php"
  expect="hello $(id -u "$FIRST_USER")"
  for ((i = 1; i <= first_requests; i++)); do
    if ! wait_nothing_below "$front" $((FIRST_IDLE_SECONDS + 30)); then
      say "  $setup: processes still run below pid $front $((FIRST_IDLE_SECONDS + 30)) s after the last request"
      printf '%s\t%s\t\t\tFAILED: the pool did not end\n' "$setup" "$i" >>"$S/results/first.tsv"
      return 0
    fi
    first=$(curl -s -o "$S/first-body" -w '%{time_total}' --max-time 30 "$url" 2>/dev/null || true)
    body=$(cat "$S/first-body" 2>/dev/null || true)
    next=$(curl -s -o "$S/first-body" -w '%{time_total}' --max-time 30 "$url" 2>/dev/null || true)
    status=ok
    if [ "$body" != "$expect" ] || [ "$(cat "$S/first-body" 2>/dev/null || true)" != "$expect" ]; then
      status="FAILED: answered '$(printf '%s' "$body" | tr -d '\r' | tr '\n\t' '  ' | head -c 160)', expected '$expect'"
      failed=$((failed + 1))
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$setup" "$i" "$first" "$next" "$status" >>"$S/results/first.tsv"
  done
  say "  $setup: $first_requests first requests, $failed with a wrong answer"
}

measure_first_warm() {
  say "first request to an idle account, warm: a fresh suwrap-cgid, $first_requests pool starts"
  run_cgid "$S/first"
  local pid=$CGID_STARTED
  first_requests warm "$pid" "$PORT_first"
  stop_pid "$pid"
}

measure_first_direct() {
  say "first request to an idle account, a direct pool: a fresh suwrap-cgid, $first_requests pool starts"
  run_cgid "$S/first-direct"
  local pid=$CGID_STARTED
  first_requests direct "$pid" "$PORT_first_direct"
  stop_pid "$pid"
}

# php-fpm's answer to idle accounts: pm = ondemand, whose master forks a worker when a request
# comes and none is left.
measure_first_fpm() {
  local dir=$S/first-fpm
  mkdir -p "$dir"
  {
    fpm_global "$dir"
    fpm_pool "$FIRST_USER" "$dir/fpm.sock" ondemand
    printf 'pm.process_idle_timeout = %ss\n' "$FIRST_IDLE_SECONDS"
  } >"$dir/php-fpm.conf"
  say "first request to an idle account, php-fpm pm = ondemand: $first_requests worker starts"
  run_fpm "$dir" "$dir/fpm.sock" || return 0
  local pid=$FPM_STARTED
  first_requests fpm-ondemand "$pid" "$PORT_first_fpm"
  stop_pid "$pid"
}

measure_first_request() {
  : >"$S/results/first.tsv"
  if [ -z "$WARM_MISSING" ]; then
    measure_first_warm
    measure_first_direct
  else
    say "first request: no warm mode ($WARM_MISSING)"
  fi
  measure_first_fpm
}

# ---- the report -----------------------------------------------------------------------------

machine_facts() {
  local p v
  echo "- nproc: $(nproc); CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo); memory: $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "- kernel: $(uname -r); Debian $(cat /etc/debian_version)"
  printf -- '- versions:'
  for p in nginx apache2 apache2-suexec-custom fcgiwrap php8.2-fpm php8.2-cgi wrk hyperfine; do
    v=$(dpkg-query -W -f '${Version}' "$p" 2>/dev/null || true)
    [ -n "$v" ] && printf ' %s %s;' "$p" "$v"
  done
  echo
  echo "- suwrap: $(git -C "$SOURCE_DIR" describe --always --dirty 2>/dev/null || echo '?') (Release build, $BUILD_DIR)"
  if [ -z "$only" ]; then
    echo "- wrk: ${duration} s per cell, -t min(2,c), keep-alive; warm-up ${warmup} s at c=8 per stack and payload;" \
      "php-fpm pm = static, $fpm_children children; fcgiwrap -c $fcgiwrap_children; suwrap-cgid defaults (--max-children 64)"
    if has "$stacks" warm; then
      echo "- warm: handler \"php-warm\" (kind php-fcgi) for .php, workers = $fpm_children (as php-fpm's pool)," \
        "max_requests = $warm_max_requests (no worker recycled during the run, as php-fpm's pm.max_requests = 0);" \
        "a suwrap-cgid of its own (--config $BENCH_CONF --pool-dir); per-request PHP (ours) by SUWRAP_HANDLER=php"
    fi
    if has "$stacks" cgi || has "$stacks" guarded || has "$stacks" checked; then
      echo "- parts (cgi, guarded, checked): php-cgi -b as the owner, PHP_FCGI_CHILDREN = $fpm_children," \
        "PHP_FCGI_MAX_REQUESTS = $warm_max_requests, PHPRC = $PHP_INI_DIR/php.ini; guarded adds" \
        "PHP_INI_SCAN_DIR=:$GUARD_DIR (the built guard) and nginx's fastcgi_param SUWRAP_SCRIPT_ID;" \
        "checked the guard with SUWRAP_POOL_HANDLER=php-warm (the per-request check in the worker)"
    fi
  fi
  if [ "$do_idle_memory" = 1 ]; then
    echo "- idle memory: $idle_accounts accounts (real users), workers = $fpm_children per account; warm handler" \
      "\"php-idle\" (php_handler of each account file), idle_seconds = $idle_seconds"
  fi
  if [ "$do_first_request" = 1 ]; then
    echo "- first request: $first_requests requests to an account with no pool running; warm handler \"php-cold\"," \
      "workers = $fpm_children, idle_seconds = $FIRST_IDLE_SECONDS; php-fpm pm = ondemand, pm.max_children = $fpm_children," \
      "pm.process_idle_timeout = ${FIRST_IDLE_SECONDS}s"
  fi
  echo "- load average before: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- scheduling: $SCHEDULING; kernel.sched_autogroup_enabled = $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo '?')"
}

# The tables of the cells, the floor, the targets and the daemons' memory (bench/report.py).
report() {
  python3 "$SOURCE_DIR/bench/report.py" cells "$S/results" "$S/floor" "$concurrencies" \
    "$(( (floor_runs + FLOOR_ROUNDS - 1) / FLOOR_ROUNDS * FLOOR_ROUNDS ))" "$(getconf CLK_TCK)"
}

# The idle-memory tables, from $S/results/idle.tsv and idle-programs.tsv (idle_record's rows).
report_idle() {
  python3 "$SOURCE_DIR/bench/report.py" idle "$S/results/idle.tsv" "$S/results/idle-programs.tsv" "$idle_accounts" \
    "$fpm_children"
}

# The first-request table, from $S/results/first.tsv (first_requests' rows).
report_first() {
  python3 "$SOURCE_DIR/bench/report.py" first "$S/results/first.tsv" "$fpm_children"
}

# ---- main -----------------------------------------------------------------------------------

bench_lock "another bench/run.sh"
on_exit cleanup

[ "$do_install" = 1 ] && install_packages
for tool in wrk hyperfine curl python3 gcc nginx; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
if [ "$do_build" = 1 ]; then build_suwrap; fi
[ -x "$BUILD_DIR/suwrap/suwrap" ] || die "no $BUILD_DIR/suwrap/suwrap (run without --no-build)"
check_warm_build
# --only idle-memory or first-request: no cells, no floor.
[ -n "$only" ] && stacks=""
# leave_out STACK WHY: STACK is not measured; the report says WHY.
STACK_NOTES=""
leave_out() {
  local st kept=""
  for st in $stacks; do [ "$st" = "$1" ] || kept+="$st "; done
  stacks=$kept
  STACK_NOTES+="The $1 stack was not measured: $2."$'\n'
  say "leaving the $1 stack out: $2"
}
has "$stacks" warm && [ -n "$WARM_MISSING" ] && leave_out warm "$WARM_MISSING"
has "$stacks" direct && [ -n "$WARM_MISSING" ] && leave_out direct "$WARM_MISSING"
has "$stacks" site && [ -n "$WARM_MISSING" ] && leave_out site "$WARM_MISSING"
has "$stacks" guarded && [ ! -f "$BUILD_DIR/php/suwrap_guard.so" ] &&
  leave_out guarded "this build has no PHP guard ($BUILD_DIR/php/suwrap_guard.so)"
has "$stacks" checked && [ ! -f "$BUILD_DIR/php/suwrap_guard.so" ] &&
  leave_out checked "this build has no PHP guard ($BUILD_DIR/php/suwrap_guard.so)"
has "$stacks" checked && [ -n "$WARM_MISSING" ] && leave_out checked "$WARM_MISSING"
if ! has "$payloads" php && ! has "$payloads" wp; then
  for st in $PHP_ONLY_STACKS; do has "$stacks" "$st" && leave_out "$st" "it serves PHP only (--payloads $payloads)"; done
fi

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
setup_scratch
IDLE_SOCK=$S/idle/cgid.sock
setup_user
setup_suwrap
[ "$do_idle_memory" = 1 ] && setup_idle_accounts
[ "$do_first_request" = 1 ] && setup_first_account
has "$payloads" wp && setup_wordpress
has "$stacks" apache && setup_suexec
write_wrk_script
[ "$use_cgroup" = 1 ] && [ -z "$only" ] && enter_cgroup

has "$stacks" ours && start_cgid
has "$stacks" fcgiwrap && start_fcgiwrap
has "$stacks" fpm && start_fpm
has "$stacks" warm && start_warm_cgid
{ has "$stacks" direct || has "$stacks" site; } && start_direct_cgid
for st in cgi guarded checked; do has "$stacks" "$st" && start_php_cgi "$st"; done
if [ -n "$(nginx_stacks)" ] || [ "$do_idle_memory" = 1 ] || [ "$do_first_request" = 1 ]; then
  start_nginx
fi
has "$stacks" apache && start_apache
# The load generator stays out of the servers' cgroup: their CPU per request is then theirs.
cgroup_out
sleep 1
for s in $(nginx_stacks); do rss_kb "$s" >"$S/results/rss-$s-idle"; done

if [ -z "$only" ]; then
  measure_all
  # The floor runs inside it, like the servers: suwrap's handler starts a session of its own.
  cgroup_in
  measure_floor
fi
[ "$do_idle_memory" = 1 ] && measure_idle_memory
[ "$do_first_request" = 1 ] && measure_first_request

{
  echo "## suwrap beside its peers — bench/run.sh, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  machine_facts
  echo
  if [ -n "$STACK_NOTES" ]; then printf '%s\n' "$STACK_NOTES"; fi
  if [ -z "$only" ]; then report; fi
  if [ "$do_idle_memory" = 1 ]; then report_idle; fi
  if [ "$do_first_request" = 1 ]; then report_first; fi
} >"$S/report.md"
cat "$S/report.md"
if [ -n "$output" ]; then cp "$S/report.md" "$output"; say "report written to $output"; fi
# The figures (SVG), drawn from this run's own cells by bench/plot.py; with --output they
# are written beside the report.
if [ -z "$only" ] && [ -s "$S/results/cells.tsv" ] && [ -n "$output" ]; then
  python3 "$SOURCE_DIR/bench/plot.py" "$S/results/cells.tsv" "$(dirname "$output")" >/dev/null &&
    say "figures written to $(dirname "$output")/bench-{php,cgi,cpu}.svg"
fi
