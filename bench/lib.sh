# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# What the bench scripts (bench/run.sh, accounts.sh, startup.sh, audit.sh) share: progress
# lines, the refusal to run without root, the lock and the traps of the scripts that share
# bench/run.sh's set-up, and the removal of the users a run made. Sourced, never run.
#
# BENCH_TAG, set by the script before it sources this file, names it in progress lines.

# shellcheck disable=SC2034  # the scripts that source this file use them
SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# bench/run.sh's build, configuration and scratch base, which startup.sh shares
# (accounts.sh has a build and a configuration of its own).
BUILD_DIR=$SOURCE_DIR/build/bench
BENCH_CONF_DIR=/etc/suwrap-bench
BENCH_CONF=$BENCH_CONF_DIR/suwrap.toml
RUN_BASE=/run/suwrap-bench
# The web server's user, which calls suwrap.
CALLER=www-data

# say TEXT...: a progress line on standard error, "[TAG HH:MM:SS] TEXT".
say() { printf '[%s %(%H:%M:%S)T] %s\n' "$BENCH_TAG" -1 "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# need_root WHY: a bench makes users and set-uid binaries; without root it is skipped (77).
need_root() {
  [ "$(id -u)" = 0 ] && return 0
  echo "bench/$(basename "${BASH_SOURCE[-1]}"): needs root ($1)" >&2
  exit 77
}

# usage_from_header: the script's header comment (line 2 to `set -euo pipefail`), as help.
usage_from_header() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[-1]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

# bench_lock WHAT-ELSE-RUNS: bench/run.sh and startup.sh share /etc/suwrap-bench and
# /run/suwrap-bench, so one runs at a time; the lock is held on descriptor 9 until exit.
bench_lock() {
  exec 9>/run/suwrap-bench.lock
  flock -n 9 || die "$1 is running (/run/suwrap-bench.lock)"
}

# on_exit CLEANUP: CLEANUP runs when the script ends, also on Ctrl-C, SIGTERM and SIGHUP
# (with the shell's status for them, 130 and 143). CLEANUP removes the traps it runs from.
on_exit() {
  # shellcheck disable=SC2064  # the name of the function, given now
  trap "$1" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
}

# kill_user_processes USER: the processes left to USER (CGI children of a stopped daemon),
# by pid.
kill_user_processes() {
  local user=$1 pid _
  for _ in 1 2 3; do
    for pid in $(ps -o pid= -u "$user" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    sleep 0.1
  done
}

# remove_users USER...: ends their processes and deletes them.
remove_users() {
  local user _
  for user in "$@"; do
    id "$user" >/dev/null 2>&1 || continue
    kill_user_processes "$user"
    for _ in $(seq 1 20); do userdel "$user" >/dev/null 2>&1 && break; sleep 0.2; done
  done
}
