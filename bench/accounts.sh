#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What the number of account files costs: one suwrap request, `config check`, the account
# commands, suwrap-cgid's reload and memory, and warm mode's processes and memory, at 1, 100,
# 1,000 and 10,000 account files, in owner mode and in account mode. Not a test: it prints a
# markdown table (docs/BENCHMARKS.md shows one) and removes everything it made.
#
#   sudo bench/accounts.sh [--runs N] [--counts "1 100 1000 10000"] [--active N] [--no-warm] [-o FILE]
#
# One request is the set-uid suwrap run as the caller (www-data) for a tiny compiled CGI of
# a real user, so that what is measured is suwrap, not php-cgi's start: the median wall time
# of N runs, alternating between the counts so that a busy moment of a shared machine falls
# on all of them alike, and the ratio to one account file. The account files beside the
# real user's are generated for users that do not exist, one docroot each, as a panel writes
# them. Warm mode: ACTIVE real users with a PHP page each behind suwrap-cgid, a pool each.
#
# It builds its own Release build in build/bench-accounts, with its own compiled-in
# configuration path (/etc/suwrap-bench-accounts/suwrap.toml), which it removes afterwards.
set -euo pipefail

BENCH_TAG=accounts
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD_DIR=$SOURCE_DIR/build/bench-accounts
CONF_DIR=/etc/suwrap-bench-accounts
CONF=$CONF_DIR/suwrap.toml
PYTHON=/usr/bin/python3

runs=300
counts="1 100 1000 10000"
active=50
do_warm=1
output=""

usage() {
  usage_from_header
  cat <<EOF
Options:
  --runs N        suwrap runs per count and mode (default $runs)
  --counts LIST   the numbers of account files (default "$counts")
  --active N      warm mode: accounts with a running pool (default $active)
  --no-warm       leave warm mode out
  -o, --output F  also write the tables to F
  -h, --help      this text
EOF
}

while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --counts) counts=$2; shift 2 ;;
    --active) active=$2; shift 2 ;;
    --no-warm) do_warm=0; shift ;;
    -o | --output) output=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/accounts.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[0-9]+$ ]] && [ "$runs" -gt 0 ] || { echo "bench/accounts.sh: --runs wants a whole number" >&2; exit 2; }
need_root "it makes users, a set-uid binary and /etc/suwrap-bench-accounts"
if [ -e "$CONF_DIR" ] && [ ! -e "$CONF_DIR/.made-by-bench" ]; then
  echo "bench/accounts.sh: $CONF_DIR exists and was not made by this bench; not touching it" >&2
  exit 1
fi

S=$(mktemp -d /run/suwrap-bench-accounts.XXXXXX)
chmod 0755 "$S"
USERS=()
CGID_PID=""
cleanup() {
  set +e
  [ -n "$CGID_PID" ] && kill "$CGID_PID" 2>/dev/null && sleep 0.5
  for u in "${USERS[@]}"; do pkill -KILL -u "$u" 2>/dev/null; done
  sleep 0.2
  for u in "${USERS[@]}"; do userdel "$u" >/dev/null 2>&1; done
  rm -rf "$S" "$CONF_DIR"
}
trap cleanup EXIT

# ---- the build --------------------------------------------------------------------------
mkdir -p "$BUILD_DIR"
say "building suwrap, suwrap-policy, suwrap-cgid and suwrap-gate (Release) in $BUILD_DIR"
cmake -S "$SOURCE_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DSUWRAP_BUILD_TESTS=OFF \
  -DSUWRAP_CONFIG="$CONF" -DSUWRAP_GATE_PATH="$S/bin/suwrap-gate" -DSUWRAP_PHP_GUARD_DIR="$S/php" \
  >"$BUILD_DIR/configure.log" 2>&1 ||
  { cat "$BUILD_DIR/configure.log" >&2; exit 1; }
cmake --build "$BUILD_DIR" -j "$(nproc)" --target suwrap suwrap-policy suwrap-cgid suwrap-gate suwrap_php_guard >"$BUILD_DIR/build.log" 2>&1 ||
  { tail -n 30 "$BUILD_DIR/build.log" >&2; exit 1; }
POLICY=$BUILD_DIR/policy/suwrap-policy

mkdir -p "$S/bin" "$S/home" "$S/sites" "$CONF_DIR/accounts.d"
chmod 0755 "$S/bin" "$S/home" "$S/sites" "$CONF_DIR" "$CONF_DIR/accounts.d"
touch "$CONF_DIR/.made-by-bench"
install -o root -g "$CALLER" -m 4750 "$BUILD_DIR/suwrap/suwrap" "$S/bin/suwrap"
install -o root -g root -m 0711 "$BUILD_DIR/gate/suwrap-gate" "$S/bin/suwrap-gate"
# The PHP guard, where this build's suwrap names it: without it no PHP handler runs.
install -d -o root -g root -m 0755 "$S/php"
install -o root -g root -m 0644 "$BUILD_DIR/php/suwrap_guard.so" "$BUILD_DIR/php/suwrap-guard.ini" "$S/php/"

make_user() {  # make_user NAME: a real user with a docroot under $S/home
  useradd --user-group --no-create-home --home-dir "$S/home/$1" --shell /usr/sbin/nologin "$1"
  USERS+=("$1")
  mkdir -p "$S/home/$1/public_html"
  chown "$1:$1" "$S/home/$1" "$S/home/$1/public_html"
  chmod 0755 "$S/home/$1" "$S/home/$1/public_html"
}
USER_NAME="swbacc$$"
make_user "$USER_NAME"
DOCROOT=$S/home/$USER_NAME/public_html
printf '#include <unistd.h>\nint main(void) { static const char r[] = "Content-Type: text/plain\\r\\n\\r\\nok\\n"; return write(1, r, sizeof r - 1) < 0; }\n' >"$S/hello.c"
gcc -O2 -o "$DOCROOT/hello.cgi" "$S/hello.c"
chown "$USER_NAME:$USER_NAME" "$DOCROOT/hello.cgi"
chmod 0755 "$DOCROOT/hello.cgi"

PHP_INI_DIR=$(ls -d /etc/php/*/cgi 2>/dev/null | sort -V | tail -n 1)
write_config() {  # write_config MODE [EXTRA TABLES]
  cat >"$CONF" <<EOF
[global]
caller = "$CALLER"
mode = "$1"
docroots = ["$S/home/*/public_html", "$S/sites"]
log = "$S/suwrap.log"

[handlers.cgi]
kind = "cgi"
extensions = [".cgi"]
${2:-}
EOF
  chmod 0644 "$CONF"
}

# generate N: N-1 generated account files, and the real user's (N in all).
generate() {
  find "$CONF_DIR/accounts.d" -mindepth 1 -delete
  "$PYTHON" - "$CONF_DIR/accounts.d" "$1" "$S/sites" "$USER_NAME" "$DOCROOT" <<'PY'
import os, sys
accounts, count, sites, user, docroot = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
for i in range(count - 1):
    with open(os.path.join(accounts, "gen%05d.toml" % i), "w") as f:
        f.write('user = "swgen%05d"\ndocroots = ["%s/gen%05d"]\ndomains = ["gen%05d.example"]\n' % (i, sites, i, i))
with open(os.path.join(accounts, "site.toml"), "w") as f:
    f.write('user = "%s"\ndocroots = ["%s"]\n' % (user, docroot))
PY
}

# ---- one suwrap request -----------------------------------------------------------------
# A driver that runs the set-uid suwrap as the caller R times and prints each run's wall
# and CPU microseconds: no shell or Python start in what is timed.
cat >"$S/drive.c" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char** argv) {
  const struct passwd* caller = getpwnam(argv[1]);
  int runs = atoi(argv[3]);
  if (!caller || initgroups(caller->pw_name, caller->pw_gid) || setgid(caller->pw_gid) || setuid(caller->pw_uid)) return 2;
  char script[4200];
  snprintf(script, sizeof script, "SCRIPT_FILENAME=%s", argv[4]);
  char* envp[] = {"GATEWAY_INTERFACE=CGI/1.1", "REQUEST_METHOD=GET", "SERVER_PROTOCOL=HTTP/1.1",
                  "SERVER_NAME=localhost", script, NULL};
  for (int i = 0; i < runs; ++i) {
    struct timespec a, b;
    struct rusage before, after;
    getrusage(RUSAGE_CHILDREN, &before);
    clock_gettime(CLOCK_MONOTONIC, &a);
    pid_t pid = fork();
    if (pid == 0) {
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0); dup2(null, 1);
      execve(argv[2], (char*[]){argv[2], NULL}, envp);
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    getrusage(RUSAGE_CHILDREN, &after);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { fprintf(stderr, "suwrap exited %d\n", status); return 1; }
    long cpu = (after.ru_utime.tv_sec - before.ru_utime.tv_sec + after.ru_stime.tv_sec - before.ru_stime.tv_sec) * 1000000L
               + (after.ru_utime.tv_usec - before.ru_utime.tv_usec) + (after.ru_stime.tv_usec - before.ru_stime.tv_usec);
    printf("%ld %ld\n", (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000, cpu);
  }
  return 0;
}
C
gcc -O2 -o "$S/drive" "$S/drive.c"

median() { sort -n | awk '{v[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

declare -A wall cpu check_ms
rounds=10
per_round=$(( (runs + rounds - 1) / rounds ))
for mode in owner account; do
  write_config "$mode"
  for n in $counts; do : >"$S/times.$mode.$n"; done
  say "$mode mode: $runs suwrap runs at each of $counts account files, in $rounds alternating rounds"
  for round in $(seq 1 "$rounds"); do
    for n in $counts; do
      generate "$n"
      "$POLICY" config check --config "$CONF" >/dev/null 2>&1 || true  # writes the index, as a panel's tool would
      sleep 1.1  # a directory changed within the last second makes a racy index: wait it out, as a server's would be
      "$S/drive" "$CALLER" "$S/bin/suwrap" 3 "$DOCROOT/hello.cgi" >/dev/null  # the index, once, outside what is timed
      "$S/drive" "$CALLER" "$S/bin/suwrap" "$per_round" "$DOCROOT/hello.cgi" >>"$S/times.$mode.$n"
    done
  done
  for n in $counts; do
    wall[$mode.$n]=$(awk '{print $1}' "$S/times.$mode.$n" | median)
    cpu[$mode.$n]=$(awk '{print $2}' "$S/times.$mode.$n" | median)
    generate "$n"
    start=$(date +%s%N)
    "$POLICY" config check --config "$CONF" >/dev/null 2>&1 || true
    check_ms[$mode.$n]=$(( ($(date +%s%N) - start) / 1000000 ))
  done
done

# ---- the account commands at the largest count -------------------------------------------
largest=${counts##* }
write_config account
generate "$largest"
"$POLICY" config check --config "$CONF" >/dev/null 2>&1 || true
mkdir -p "$S/sites/new"
timed() {  # timed COMMAND...: milliseconds
  local start
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || say "failed: $*"
  echo $(( ($(date +%s%N) - start) / 1000000 ))
}
add_ms=$(timed "$POLICY" account add newsite --user "$USER_NAME" --docroot "$S/sites/new" --domain new.example --config "$CONF")
set_ms=$(timed "$POLICY" account set newsite --disabled true --config "$CONF")
remove_ms=$(timed "$POLICY" account remove newsite --config "$CONF")

# ---- suwrap-cgid: its reload and memory with the largest count --------------------------
write_config owner
generate "$largest"
mkdir -p "$S/run"
chown "$CALLER" "$S/run"
setpriv --reuid="$CALLER" --regid="$(id -g "$CALLER")" --init-groups "$BUILD_DIR/cgid/suwrap-cgid" \
  --listen "$S/run/cgid.sock" --wrapper "$S/bin/suwrap" --log-file "$S/run/cgid.log" --config "$CONF" \
  </dev/null >>"$S/run/cgid.stderr" 2>&1 &
CGID_PID=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$S/run/cgid.log" 2>/dev/null && break; sleep 0.05; done
env -i REQUEST_METHOD=GET GATEWAY_INTERFACE=CGI/1.1 SCRIPT_FILENAME="$DOCROOT/hello.cgi" \
  cgi-fcgi -bind -connect "$S/run/cgid.sock" >/dev/null 2>&1 || true
lines=$(wc -l <"$S/run/cgid.log")
start=$(date +%s%N)
kill -HUP "$CGID_PID"
for _ in $(seq 1 400); do
  [ "$(tail -n +"$((lines + 1))" "$S/run/cgid.log" | grep -c 'SIGHUP')" -gt 0 ] && break
  sleep 0.005
done
reload_ms=$(( ($(date +%s%N) - start) / 1000000 ))
cgid_rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$CGID_PID/status")
cgid_pss=$(awk '/^Pss:/ {print $2}' "/proc/$CGID_PID/smaps_rollup")

# ---- warm mode: idle accounts cost nothing, active ones a pool each -----------------------
warm_table=""
if [ "$do_warm" = 1 ] && [ -n "$PHP_INI_DIR" ]; then
  kill "$CGID_PID"; wait "$CGID_PID" 2>/dev/null || true; CGID_PID=""
  write_config owner "[handlers.php-warm]
kind = \"php-fcgi\"
path = \"/usr/bin/php-cgi\"
ini_dir = \"$PHP_INI_DIR\"
workers = 2
idle_seconds = 300
extensions = [\".php\"]"
  say "warm mode: $active real users, 1,000 account files"
  generate 1000
  for i in $(seq 1 "$active"); do
    u="swbw$$x$i"
    make_user "$u"
    printf '<?php echo "ok\\n";\n' >"$S/home/$u/public_html/index.php"
    chown "$u:$u" "$S/home/$u/public_html/index.php"
    printf 'user = "%s"\ndocroots = ["%s"]\n' "$u" "$S/home/$u/public_html" >"$CONF_DIR/accounts.d/w$i.toml"
  done
  "$POLICY" config check --config "$CONF" >/dev/null 2>&1 || true
  setpriv --reuid="$CALLER" --regid="$(id -g "$CALLER")" --init-groups "$BUILD_DIR/cgid/suwrap-cgid" \
    --listen "$S/run/cgid.sock" --wrapper "$S/bin/suwrap" --log-file "$S/run/cgid.log" --config "$CONF" \
    --pool-dir "$S/run/pools" </dev/null >>"$S/run/cgid.stderr" 2>&1 &
  CGID_PID=$!
  sleep 1
  processes() { ps -e -o uid= -o pid= | awk -v min="$(id -u "swbw$$x1")" '$1 >= min {n++} END {print n+0}'; }
  pss_kb() {  # the summed PSS of every process of the warm users
    local total=0 pid kb
    for pid in $(ps -e -o uid= -o pid= | awk -v min="$(id -u "swbw$$x1")" '$1 >= min {print $2}'); do
      kb=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
      total=$((total + ${kb:-0}))
    done
    echo "$total"
  }
  idle_processes=$(processes)
  for i in $(seq 1 "$active"); do
    env -i REQUEST_METHOD=GET GATEWAY_INTERFACE=CGI/1.1 SCRIPT_FILENAME="$S/home/swbw$$x$i/public_html/index.php" \
      cgi-fcgi -bind -connect "$S/run/cgid.sock" >/dev/null 2>&1 &
  done
  wait $(jobs -p | grep -v "^$CGID_PID$") 2>/dev/null || true
  sleep 1
  busy_processes=$(processes)
  busy_pss=$(pss_kb)
  gates=$( (pgrep -f "^$S/bin/suwrap-gate " || true) | wc -l)
  warm_table=$(cat <<EOF

Warm mode, 1,000 account files and $active accounts with a PHP page, behind suwrap-cgid:

| | processes of the account users | their PSS |
|---|--:|--:|
| before any request | $idle_processes | — |
| after one request each ($gates pools) | $busy_processes | $((busy_pss / 1024)) MiB ($((busy_pss / active)) KiB per account) |
EOF
)
fi

# ---- the tables -------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
first=${counts%% *}
{
  echo "One suwrap request (a compiled CGI, run as the caller; median of $runs runs) and \`config check\`, by the number of account files:"
  echo
  echo "| account files | owner mode: wall | CPU | × 1 file | account mode: wall | CPU | × 1 file | config check (owner / account) |"
  echo "|--:|--:|--:|--:|--:|--:|--:|--:|"
  for n in $counts; do
    printf '| %s | %.2f ms | %.2f ms | %s | %.2f ms | %.2f ms | %s | %s / %s ms |\n' "$n" \
      "$(awk -v v="${wall[owner.$n]}" 'BEGIN{print v/1000}')" "$(awk -v v="${cpu[owner.$n]}" 'BEGIN{print v/1000}')" \
      "$(ratio "${wall[owner.$n]}" "${wall[owner.$first]}")" \
      "$(awk -v v="${wall[account.$n]}" 'BEGIN{print v/1000}')" "$(awk -v v="${cpu[account.$n]}" 'BEGIN{print v/1000}')" \
      "$(ratio "${wall[account.$n]}" "${wall[account.$first]}")" "${check_ms[owner.$n]}" "${check_ms[account.$n]}"
  done
  echo
  echo "With $largest account files: \`account add\` $add_ms ms, \`account set\` $set_ms ms, \`account remove\` $remove_ms ms;"
  echo "suwrap-cgid's reload (SIGHUP to its log line) $reload_ms ms, its memory with them configured ${cgid_rss} KiB RSS, ${cgid_pss} KiB PSS."
  echo "$warm_table"
} | tee "$S/table.md"
[ -n "$output" ] && cp "$S/table.md" "$output"
exit 0
