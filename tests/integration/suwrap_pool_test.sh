#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# suwrap --pool (warm mode's privileged step, suwrap(8), CHECKS): checks 1-13 for the first
# script of an account, then the account's gate serves the socket given as fd 0. Started
# here the way suwrap-cgid starts it (tests/lib/pool_launch.py); requests go straight to
# the pool's socket. Each refusal asserts the exit code, the status, the log's check and
# that no pool runs; the allowed pool is served, logs its gate's refusals with the pool's
# identity, and leaves nothing behind when it ends.
source "$(dirname "$0")/../lib/common.sh"
t_setup ALICE BOB

T_CONFIG_TABLES="$(t_php_handler php-warm php-fcgi workers=2 max_requests=100 idle_seconds=30)

$(t_php_handler php-cold php 'extensions=[".phtml"]')

[limits]
wall_seconds = 5"
t_config

hello='<?php echo "uid=", posix_getuid(), " ppid=", posix_getppid();'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/hello.php" "$hello"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/cold.phtml" "$hello"
t_file "$BOB" 0644 "$ALICE_DOCROOT/bobs.php" "$hello"
t_file "$BOB" 0644 "$BOB_DOCROOT/bob.php" "$hello"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/escape.php" '<?php exec("sh -c \"sleep 303\" >/dev/null 2>&1 &"); echo "started";'
SOCK="$T_ROOT/pool.sock"
POOL_PID=""
t_on_cleanup '[ -n "$POOL_PID" ] && kill -KILL "$POOL_PID"'

base=(GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=localhost)

# pool [--fd0 KIND] SCRIPT: starts suwrap --pool for SCRIPT as the caller. Sets T_OUT (the
# launcher's output), T_RC (suwrap's exit code when refused), T_STATUS, POOL_PID.
pool() {
  local launch=()
  if [ "$1" = --fd0 ]; then launch=(--fd0 "$2"); shift 2; fi
  T_OUT=$(env -i "${base[@]}" SUWRAP_POOL_UID="${POOL_UID-$ALICE_UID}" SCRIPT_FILENAME="$1" "$T_PYTHON" "$T_LIB/pool_launch.py" \
    "${launch[@]}" "$SOCK" "$T_CALLER" -- "$T_SUWRAP" --pool 2>"$T_ROOT/stderr")
  T_ERR=$(cat "$T_ROOT/stderr")
  POOL_PID=$(printf '%s' "$T_OUT" | sed -n 1p | sed -n 's/.* pid=\([0-9]*\).*/\1/p')
  T_RC=$(printf '%s' "$T_OUT" | sed -n 1p | sed -n 's/.* rc=\([0-9]*\).*/\1/p')
  T_STATUS=$(printf '%s' "$T_OUT" | { grep -i '^Status:' || true; } | sed -n 1p | awk '{print $2}')
  T_STATUS=${T_STATUS:-200}
}
ready() { case "$T_OUT" in "READY "*) return 0 ;; *) return 1 ;; esac; }
no_pool_of() { ! pgrep -u "$1" >/dev/null; }
ask() { T_OUT=$("$T_PYTHON" "$T_LIB/fcgi_client.py" "$SOCK" request "${base[@]}" "$@" 2>&1); }

# ---- refusals: nothing starts -------------------------------------------------------------
t_case "a handler that is not php-fcgi has no pool"
pool "$ALICE_DOCROOT/cold.phtml"
t_refused 1 403 handler
t_expect "no process of the account runs" no_pool_of "$ALICE"

t_case "fd 0 is not a socket"
pool --fd0 devnull "$ALICE_DOCROOT/hello.php"
t_refused 3 500 request
t_expect "no process of the account runs" no_pool_of "$ALICE"

t_case "fd 0 is a connected socket, not a listening one"
pool --fd0 pair "$ALICE_DOCROOT/hello.php"
t_refused 3 500 request

t_case "the script of another owner (check owner decides before any pool)"
t_config "mode=\"account\""
t_account_for alice "$ALICE" "$ALICE_DOCROOT"
pool "$ALICE_DOCROOT/bobs.php"
t_refused 1 403 owner
rm -f "$T_CONF_DIR/accounts.d/alice.toml"
t_config

t_case "a pool for another uid than the script's user (a script swapped after routing)"
POOL_UID=$BOB_UID pool "$ALICE_DOCROOT/hello.php"
t_refused 1 403 target
t_expect "no process of either account runs" sh -c "! pgrep -u $ALICE >/dev/null && ! pgrep -u $BOB >/dev/null"

t_case "an empty SUWRAP_POOL_UID"
POOL_UID="" pool "$ALICE_DOCROOT/hello.php"
t_refused 1 403 target

t_case "--pool as a web server's query word, with the request's stdin: refused, not run"
T_OUT=$(env -i "${base[@]}" SCRIPT_FILENAME="$ALICE_DOCROOT/hello.php" QUERY_STRING=--pool \
  /usr/bin/setpriv --reuid="$T_CALLER" --regid="$(id -g "$T_CALLER")" --init-groups "$T_SUWRAP" --pool </dev/null 2>/dev/null; echo "~$?")
T_RC=${T_OUT##*~}; T_OUT=${T_OUT%~*}
T_STATUS=$(printf '%s' "$T_OUT" | { grep -i '^Status:' || true; } | sed -n 1p | awk '{print $2}')
t_refused 3 500 request

if [ -n "${SUWRAP_GATE_BIN:-}" ] && [ -n "${SUWRAP_GATE_PATH:-}" ] && [ -x "$SUWRAP_GATE_PATH" ]; then
  t_case "a gate that others could replace is not run"
  chmod 0775 "$SUWRAP_GATE_PATH"
  pool "$ALICE_DOCROOT/hello.php"
  # The child refuses after the drop was prepared: the second decision line names exec.
  t_refused 3 500 exec
  t_expect "no process of the account runs" no_pool_of "$ALICE"
  chmod 0711 "$SUWRAP_GATE_PATH"

  t_case "a gate the account could read (and so ptrace while it starts) is not run"
  chmod 0755 "$SUWRAP_GATE_PATH"
  pool "$ALICE_DOCROOT/hello.php"
  t_refused 3 500 exec
  chmod 0711 "$SUWRAP_GATE_PATH"

  # ---- the allowed pool ---------------------------------------------------------------------
  t_case "an allowed pool starts and serves the account"
  pool "$ALICE_DOCROOT/hello.php"
  if ready; then t_pass "the start channel ended with no bytes"; else t_fail "the pool did not start"; fi
  t_expect "the allow line names the warm handler" test "$(t_log_field decision handler)" = php-warm
  ask SCRIPT_FILENAME="$ALICE_DOCROOT/hello.php"
  t_expect "it runs as the account" t_contains "$T_OUT" "uid=$ALICE_UID"
  first_parent=$(printf '%s' "$T_OUT" | sed -n 's/.*ppid=\([0-9]*\).*/\1/p')
  ask SCRIPT_FILENAME="$ALICE_DOCROOT/hello.php"
  t_expect "the second request is served by the same php parent" \
    test "$(printf '%s' "$T_OUT" | sed -n 's/.*ppid=\([0-9]*\).*/\1/p')" = "$first_parent"

  t_case "the gate refuses bob's script, and the supervisor logs it with the pool's identity"
  t_log_mark
  ask SCRIPT_FILENAME="$BOB_DOCROOT/bob.php"
  t_expect "403" t_contains "$T_OUT" "Status: 403"
  sleep 0.5
  line=$(tail -n 1 "$T_LOG")
  t_expect "check owner" test "$(t_log_field decision check)" = owner
  t_expect "user is the pool's ($ALICE)" test "$(t_log_field decision user)" = "$ALICE"
  t_expect "uid is the pool's" test "$(t_log_field decision uid)" = "$ALICE_UID"
  t_expect "pid is the supervisor's" test "$(t_log_field decision pid)" = "$POOL_PID"
  t_expect "the line is valid JSON" "$T_PYTHON" -c 'import json,sys; json.loads(sys.argv[1])' "$line"

  t_case "the pool serves on after a refusal"
  ask SCRIPT_FILENAME="$ALICE_DOCROOT/hello.php"
  t_expect "hello.php still runs as the account" t_contains "$T_OUT" "uid=$ALICE_UID"
  t_expect "by the same php parent" \
    test "$(printf '%s' "$T_OUT" | sed -n 's/.*ppid=\([0-9]*\).*/\1/p')" = "$first_parent"

  t_case "a process that escapes its request is ended while the pool lives"
  ask SCRIPT_FILENAME="$ALICE_DOCROOT/escape.php"
  for _ in $(seq 1 50); do pgrep -u "$ALICE" -f 'sleep 303' >/dev/null || break; sleep 0.1; done
  t_expect "no escaped sleep of the account is left" sh -c "! pgrep -u $ALICE -f 'sleep 303' >/dev/null"
  t_expect "the pool still runs" kill -0 "$POOL_PID"
  t_expect "no zombie under the supervisor" \
    sh -c "! ps -o stat= --ppid $POOL_PID | grep -q '^Z'"

  t_case "after logrotate moved the log, the supervisor writes to a new file"
  mv "$T_LOG" "$T_LOG.1"
  ask SCRIPT_FILENAME="$BOB_DOCROOT/bob.php"
  for _ in $(seq 1 20); do [ -s "$T_LOG" ] && break; sleep 0.1; done
  t_expect "the refusal is in the new log" test "$(t_log_field decision check)" = owner
  t_expect "the new log is root's and private" test "$(stat -c '%U %a' "$T_LOG")" = "root 600"

  t_case "SIGTERM ends the pool and everything of it"
  kill -TERM "$POOL_PID"
  for _ in $(seq 1 100); do kill -0 "$POOL_PID" 2>/dev/null || break; sleep 0.1; done
  t_expect "the supervisor exited" sh -c "! kill -0 $POOL_PID 2>/dev/null"
  POOL_PID=""
  t_expect "an exit line was logged" test "$(t_log_field exit pid)" != "<no exit line>"
  for _ in $(seq 1 50); do no_pool_of "$ALICE" && break; sleep 0.1; done
  t_expect "no process of the account is left" no_pool_of "$ALICE"
else
  t_case "the allowed pool"
  t_fail "SUWRAP_GATE_BIN/SUWRAP_GATE_PATH are not set or the gate is not installed: the gate is part of the build"
fi

t_done
