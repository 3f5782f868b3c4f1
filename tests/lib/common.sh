# SPDX-License-Identifier: Apache-2.0
# Common set-up for the end-to-end suites (sourced, not run): real users made with
# useradd, a real set-uid copy of suwrap, real php-cgi. Each suite gets its own scratch
# directory under /run/suwrap-tests and removes everything it made when it exits.
#
# Environment (set by CTest): SUWRAP_BIN, SUWRAP_POLICY_BIN, SUWRAP_CGID_BIN (optional),
# SUWRAP_CONFIG_PATH (the path compiled into SUWRAP_BIN).
#
# This file is the core every suite sources. The helpers of one family of suites are in
# files of their own, which a suite names after this file in its source line, e.g.
# `source "$(dirname "$0")/../lib/common.sh" security cgid`:
#   security  attacks judged by their log lines (t_attack, t_refused_only, t_ran_only)
#   cgid      suwrap-cgid and private web servers (cgid_site.sh sources it too)
#   soak      the soak and fault suites' checks (with cgid)
#   panel     suwrap-policy as a hosting panel runs it
set -euo pipefail

: "${SUWRAP_BIN:?SUWRAP_BIN must name the built suwrap}"
: "${SUWRAP_CONFIG_PATH:?SUWRAP_CONFIG_PATH must be the configuration path compiled into suwrap}"

T_NAME=$(basename "$0" .sh)
T_ROOT=""
T_CONF_DIR=$(dirname "$SUWRAP_CONFIG_PATH")
T_USERS=()
T_PASSED=0
T_FAILED=0
T_CASE=""
T_CALLER=www-data
T_CLEANUPS=()
T_PHP_CGI=/usr/bin/php-cgi
T_PHP_INI_DIR=$(ls -d /etc/php/*/cgi 2>/dev/null | sort -V | tail -n 1)
# What other users run, copied into the scratch tree: t_copy_for_others.
source "$(dirname "${BASH_SOURCE[0]}")/scratch_copies.sh"
T_PHP_GUARD_DIR=""
# The system's python, not a shim earlier on root's PATH: it must also run as a test user,
# and a shell-script shim costs a few hundred milliseconds per call.
T_PYTHON=/usr/bin/python3
[ -x "$T_PYTHON" ] || T_PYTHON=$(command -v python3)

# ---- set-up and clean-up -----------------------------------------------------------------

# t_setup [USER-VAR...]: the scratch tree, the set-uid copy of suwrap, the configuration
# directory; then a user (t_user) for each USER-VAR, in order.
t_setup() {
  if [ "$(id -u)" != 0 ]; then
    echo "SKIP $T_NAME: needs root (creates users and a set-uid binary)"
    exit 77
  fi
  mkdir -p /run/suwrap-tests
  # Changed only when it is not root's 0755: even a chown that changes nothing is an
  # inotify event to tests watching the directories above their configuration.
  [ "$(stat -c %u:%g:%a /run/suwrap-tests)" = 0:0:755 ] || {
    chown root:root /run/suwrap-tests
    chmod 0755 /run/suwrap-tests
  }
  T_ROOT=$(mktemp -d /run/suwrap-tests/"$T_NAME".XXXXXX)
  chmod 0755 "$T_ROOT"
  trap t_cleanup EXIT
  mkdir -p "$T_ROOT/bin" "$T_ROOT/log" "$T_ROOT/home"
  chmod 0755 "$T_ROOT/bin" "$T_ROOT/log" "$T_ROOT/home"
  T_LOG="$T_ROOT/log/suwrap.log"
  T_SUWRAP="$T_ROOT/bin/suwrap"
  t_install_suwrap "$T_SUWRAP"
  t_copy_for_others
  t_install_gate
  t_install_php_guard

  # The compiled-in configuration directory belongs to the tests while they run; one
  # that the tests did not make is never touched.
  if [ -e "$T_CONF_DIR" ] && [ ! -e "$T_CONF_DIR/.made-by-suwrap-tests" ]; then
    echo "FAIL $T_NAME: $T_CONF_DIR exists and was not made by the tests; not touching it" >&2
    exit 1
  fi
  mkdir -p "$T_CONF_DIR/accounts.d"
  chown root:root "$T_CONF_DIR" "$T_CONF_DIR/accounts.d"
  chmod 0755 "$T_CONF_DIR" "$T_CONF_DIR/accounts.d"
  touch "$T_CONF_DIR/.made-by-suwrap-tests"
  local var
  for var in "$@"; do t_user "$var"; done
}

# Warm mode: suwrap --pool runs the gate from its compiled-in path. The test build puts that
# path in the scratch tree (install/test.sh: SUWRAP_GATE_PATH=/run/suwrap-tests/suwrap-gate);
# the built gate is copied there, root's and mode 0711 (as installed), while a suite runs. A compiled-in
# path outside /run/suwrap-tests is never written to.
t_install_gate() {
  if [ -z "${SUWRAP_GATE_BIN:-}" ] || [ ! -x "$SUWRAP_GATE_BIN" ]; then return 0; fi
  case "${SUWRAP_GATE_PATH:-}" in
    /run/suwrap-tests/*) ;;
    *) return 0 ;;
  esac
  install -o root -g root -m 0711 "$SUWRAP_GATE_BIN" "$SUWRAP_GATE_PATH"
  t_on_cleanup "rm -f '$SUWRAP_GATE_PATH'"
}

# The PHP guard (php/suwrap_guard.c): suwrap runs PHP only with it, from its compiled-in
# directory, which the built ini file names (zend_extension = DIR/suwrap_guard.so). The test
# build puts that directory under /run/suwrap-tests; the built library and ini are copied
# there, root's, while a suite runs. A directory outside /run/suwrap-tests is never written.
t_install_php_guard() {
  if [ -z "${SUWRAP_PHP_GUARD_SO:-}" ] || [ ! -f "$SUWRAP_PHP_GUARD_SO" ]; then return 0; fi
  local ini dir
  ini="$(dirname "$SUWRAP_PHP_GUARD_SO")/suwrap-guard.ini"
  dir=$(sed -n 's|^zend_extension = \(.*\)/suwrap_guard\.so$|\1|p' "$ini")
  case "$dir" in
    /run/suwrap-tests/*) ;;
    *) return 0 ;;
  esac
  T_PHP_GUARD_DIR=$dir
  install -d -o root -g root -m 0755 "$dir"
  install -o root -g root -m 0644 "$SUWRAP_PHP_GUARD_SO" "$ini" "$dir/"
  t_on_cleanup "rm -rf '$dir'"
}

# A set-uid root copy of suwrap, group www-data, mode 4750 (suwrap(8)).
t_install_suwrap() {
  cp "$SUWRAP_BIN" "$1"
  chown root:"$T_CALLER" "$1"
  chmod 4750 "$1"
}

t_on_cleanup() { T_CLEANUPS+=("$*"); }

t_cleanup() {
  local rc=$?
  set +e
  for ((i = ${#T_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${T_CLEANUPS[$i]}" >/dev/null 2>&1; done
  for u in "${T_USERS[@]}"; do
    pkill -KILL -u "$u" >/dev/null 2>&1
    for _ in 1 2 3 4 5 6 7 8 9 10; do userdel "$u" >/dev/null 2>&1 && break; sleep 0.2; done
  done
  [ -n "$T_ROOT" ] && rm -rf "$T_ROOT"
  if [ -e "$T_CONF_DIR/.made-by-suwrap-tests" ]; then rm -rf "$T_CONF_DIR"; fi
  exit "$rc"
}

# t_user VAR [USERADD-OPTION...]: a real user with a home and docroot under the scratch
# tree; without options a uid >= 1000 and a group of its own, with options (e.g. -r, or
# -u 999) exactly those and no user group unless they ask for one.
# Sets VAR (name), VAR_UID, VAR_GID, VAR_HOME, VAR_DOCROOT.
t_user() {
  local var=$1 name
  shift
  [ $# -gt 0 ] || set -- --user-group
  name="sw${var,,}$(( $$ % 10000 ))$RANDOM"
  name=${name:0:31}
  local home="$T_ROOT/home/$name"
  for _ in $(seq 1 50); do
    useradd --no-create-home --home-dir "$home" --shell /usr/sbin/nologin "$@" "$name" >/dev/null 2>&1 && break
    sleep 0.1
  done
  id "$name" >/dev/null 2>&1 || { echo "FAIL: useradd $* $name" >&2; exit 1; }
  T_USERS+=("$name")
  mkdir -p "$home/public_html"
  chown "$name:$(id -g "$name")" "$home" "$home/public_html"
  chmod 0755 "$home" "$home/public_html"
  printf -v "$var" '%s' "$name"
  printf -v "${var}_UID" '%s' "$(id -u "$name")"
  printf -v "${var}_GID" '%s' "$(id -g "$name")"
  printf -v "${var}_HOME" '%s' "$home"
  printf -v "${var}_DOCROOT" '%s' "$home/public_html"
}

# t_file OWNER MODE PATH [CONTENT]: a file with that owner (user name or root) and mode.
t_file() {
  local owner=$1 mode=$2 path=$3 content=${4-}
  mkdir -p "$(dirname "$path")"
  printf '%s' "$content" >"$path"
  chown "$owner:$(id -gn "$owner")" "$path"
  chmod "$mode" "$path"
}

# t_dir OWNER MODE PATH
t_dir() {
  mkdir -p "$3"
  chown "$1:$(id -gn "$1")" "$3"
  chmod "$2" "$3"
}

# t_config [KEY=VALUE]...: writes the main configuration with test defaults; each
# argument replaces or adds a [global] key (TOML value syntax). T_CONFIG_TABLES holds
# further tables (handlers, limits), replacing the default handlers when set.
T_CONFIG_TABLES=""
t_config() {
  declare -A g=(
    [caller]="\"$T_CALLER\""
    [docroots]="[\"$T_ROOT/home/*/public_html\"]"
    [log]="\"$T_LOG\""
    [accounts_dir]="\"$T_CONF_DIR/accounts.d\""
  )
  local kv
  for kv in "$@"; do g[${kv%%=*}]=${kv#*=}; done
  {
    echo "[global]"
    for k in "${!g[@]}"; do echo "$k = ${g[$k]}"; done
    echo
    if [ -n "$T_CONFIG_TABLES" ]; then
      echo "$T_CONFIG_TABLES"
    else
      t_php_tables php
    fi
  } >"$SUWRAP_CONFIG_PATH"
  chown root:root "$SUWRAP_CONFIG_PATH"
  chmod 0644 "$SUWRAP_CONFIG_PATH"
}

# t_php_tables KIND [EXTRA-TOML]: T_CONFIG_TABLES text with .php run per request (KIND
# "php") or by a warm pool ("php-fcgi", 2 workers, 1000 requests each, 30 s idle), .cgi
# programs, then EXTRA-TOML (e.g. a [limits] table). t_config's default is `t_php_tables php`.
t_php_tables() {
  cat <<EOF2
[handlers.php]
kind = "$1"
path = "$T_PHP_CGI"
ini_dir = "$T_PHP_INI_DIR"
extensions = [".php"]
EOF2
  [ "$1" = php-fcgi ] && printf 'workers = 2\nmax_requests = 1000\nidle_seconds = 30\n'
  printf '\n[handlers.cgi]\nkind = "cgi"\nextensions = [".cgi"]\n'
  [ -z "${2-}" ] || printf '\n%s\n' "$2"
}

# t_php_handler NAME KIND [KEY=VALUE...]: the table of a PHP handler NAME of KIND ("php",
# "php-fcgi") for T_CONFIG_TABLES: the tests' php-cgi and ini directory, for .php, with
# these keys (TOML values); an ini_dir or extensions given replaces the default.
t_php_handler() {
  local ini_dir="\"$T_PHP_INI_DIR\"" extensions='[".php"]' kv
  printf '[handlers.%s]\nkind = "%s"\npath = "%s"\n' "$1" "$2" "$T_PHP_CGI"
  for kv in "${@:3}"; do
    case ${kv%%=*} in
      ini_dir) ini_dir=${kv#*=} ;;
      extensions) extensions=${kv#*=} ;;
    esac
  done
  printf 'ini_dir = %s\n' "$ini_dir"
  for kv in "${@:3}"; do
    case ${kv%%=*} in ini_dir | extensions) ;; *) printf '%s = %s\n' "${kv%%=*}" "${kv#*=}" ;; esac
  done
  printf 'extensions = %s\n' "$extensions"
}

# t_account NAME CONTENT: an account file in accounts.d.
t_account() {
  printf '%s\n' "$2" >"$T_CONF_DIR/accounts.d/$1.toml"
  chown root:root "$T_CONF_DIR/accounts.d/$1.toml"
  chmod 0644 "$T_CONF_DIR/accounts.d/$1.toml"
}

# t_account_for NAME USER DOCROOT: the account file NAME that gives USER the one docroot DOCROOT.
t_account_for() { t_account "$1" "user = \"$2\"
docroots = [\"$3\"]"; }

# ---- running suwrap as the caller --------------------------------------------------------

# t_request [NAME=VALUE]...: runs the set-uid suwrap as www-data with exactly this CGI
# environment (plus GATEWAY_INTERFACE and REQUEST_METHOD unless given). Standard input
# is $T_STDIN (a file) or /dev/null. Sets T_RC, T_OUT, T_ERR, T_STATUS (the CGI status,
# 200 when the response has no Status header).
T_STDIN=/dev/null
T_AS=""  # run as this user instead of the caller
t_request() {
  local as=${T_AS:-$T_CALLER}
  local base=(GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=localhost)
  set +e
  T_OUT=$(env -i "${base[@]}" "$@" /usr/bin/setpriv --reuid="$as" --regid="$(id -g "$as")" --init-groups \
    "$T_SUWRAP" <"$T_STDIN" 2>"$T_ROOT/stderr"; echo "~$?")
  set -e
  t_response
}

# t_script PATH [NAME=VALUE]...: a request for the script PATH.
t_script() {
  local path=$1
  shift
  t_request SCRIPT_FILENAME="$path" "$@"
}

# The body of the last response (after the header block).
t_body() { printf '%s' "$T_OUT" | sed '1,/^\r\{0,1\}$/d'; }

# Field F of the last log line of event E ("decision" or "exit").
t_log_field() {
  local event=$1 field=$2
  python3 - "$T_LOG" "$event" "$field" <<'PY'
import json, sys
path, event, field = sys.argv[1:4]
last = None
try:
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("event") == event:
                last = rec
except FileNotFoundError:
    pass
if last is None:
    print("<no %s line>" % event)
else:
    v = last.get(field, "<missing>")
    print("null" if v is None else (str(v).lower() if isinstance(v, bool) else v))
PY
}

# t_response: splits what a request left in T_OUT (the response, then "~" and the exit
# status) and $T_ROOT/stderr into T_RC, T_OUT, T_ERR and T_STATUS (the CGI status, 200
# when the response has no Status header).
t_response() {
  T_RC=${T_OUT##*~}
  T_OUT=${T_OUT%~*}
  T_ERR=$(cat "$T_ROOT/stderr")
  T_STATUS=$(printf '%s' "$T_OUT" | sed -n '1,/^\r\{0,1\}$/p' | { grep -i '^Status:' || true; } | sed -n 1p | awk '{print $2}')
  T_STATUS=${T_STATUS:-200}
}

# ---- what a request left behind: log lines, markers --------------------------------------
# An attack is judged by what must NOT happen as much as by the refusal: a script that must
# not run leaves a marker when it does, and the log lines one request wrote are read apart
# from the earlier ones (so a stale line can never satisfy an assertion).

T_MARKS=""      # a 1777 directory where scripts that must not run leave a file when they do
T_LOG_MARK=0    # the log's line count before the last t_log_mark (t_attack, t_request_via)
# A control run (not a request) may fail before any request was made: t_fail prints these.
T_RC=${T_RC-} T_STATUS=${T_STATUS-} T_OUT=${T_OUT-} T_ERR=${T_ERR-}

# t_markers_dir: makes $T_MARKS (mode 1777, so any test user can leave a marker in it).
t_markers_dir() {
  T_MARKS="$T_ROOT/markers"
  mkdir -p "$T_MARKS"
  chmod 1777 "$T_MARKS"
}

# t_markers: the names of the markers left so far, sorted, space-separated.
t_markers() { (cd "$T_MARKS" && LC_ALL=C ls -A | tr '\n' ' ' | sed 's/ $//'); }

# t_no_marker NAME-GLOB...: true when no marker matches any of the globs.
t_no_marker() {
  local g f
  for g in "$@"; do
    for f in "$T_MARKS"/$g; do [ -e "$f" ] && return 1; done
  done
  return 0
}

# t_log_count: lines in suwrap's log so far (0 before the first).
t_log_count() { if [ -f "$T_LOG" ]; then wc -l <"$T_LOG"; else echo 0; fi; }
t_log_mark() { T_LOG_MARK=$(t_log_count); }

# t_log_new: one summary line per log record written since the mark:
#   decision <allow|deny|error> <check|null> <user|null> <caller> <reason>
#   exit <status|null> <signal|null> <timed_out> <wall_ms>
#   INVALID <what>   (a line that is not one JSON object, or a last line without '\n')
t_log_new() {
  [ -f "$T_LOG" ] || return 0
  "$T_PYTHON" -I -S - "$T_LOG" "$T_LOG_MARK" <<'PY'
import json, sys
path, mark = sys.argv[1], int(sys.argv[2])
data = open(path, "rb").read()
lines = data.split(b"\n")
if lines and lines[-1] == b"":
    lines.pop()
elif data:
    print("INVALID the log does not end with a newline")
def s(v):
    return "null" if v is None else (str(v).lower() if isinstance(v, bool) else str(v))
for raw in lines[mark:]:
    try:
        rec = json.loads(raw.decode("utf-8"))
        if not isinstance(rec, dict):
            raise ValueError("not an object")
    except Exception as e:
        print("INVALID", repr(raw[:120]), e)
        continue
    if rec.get("event") == "decision":
        print("decision", s(rec.get("decision")), s(rec.get("check")), s(rec.get("user")),
              s(rec.get("caller")), s(rec.get("reason")).replace("\n", "\\n"))
    elif rec.get("event") == "exit":
        print("exit", s(rec.get("status")), s(rec.get("signal")), s(rec.get("timed_out")), s(rec.get("wall_ms")))
    else:
        print("other", s(rec.get("event")))
PY
}

# t_log_valid: every line of the whole log is one JSON object and the log ends with '\n'.
t_log_valid() {
  local saved=$T_LOG_MARK out
  T_LOG_MARK=0
  out=$(t_log_new)
  T_LOG_MARK=$saved
  ! printf '%s\n' "$out" | grep -q '^INVALID'
}

# ---- processes the suite starts, programs it builds ----------------------------------------

# t_alive PID: the process exists and is not a zombie (a child of ours that exited is a
# zombie until waited for, and kill -0 still reaches it).
t_alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
  [ -n "$state" ] && [ "$state" != Z ]
}

# t_wait_exit PID SECONDS: waits for a child of this shell to end; sets T_EXIT to its
# exit status, or "running" if it is still there after SECONDS.
t_wait_exit() {
  local pid=$1 tenths=$(($2 * 10)) i
  for ((i = 0; i < tenths; i++)); do
    t_alive "$pid" || break
    sleep 0.1
  done
  if t_alive "$pid"; then T_EXIT=running; return 0; fi
  # Not set +e/-e: this runs in t_cleanup too, which must go on past failing commands.
  T_EXIT=0
  wait "$pid" 2>/dev/null || T_EXIT=$?
}

# Clean-up of a process this suite started: SIGTERM, then SIGKILL if it stays.
t_kill_pid() {
  if ! t_alive "$1"; then wait "$1" 2>/dev/null; return 0; fi
  kill -TERM "$1" 2>/dev/null
  t_wait_exit "$1" 5
  if [ "$T_EXIT" = running ]; then kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null; fi
  return 0
}

# t_cc OUTPUT SOURCE-TEXT [GCC-OPTION...]: compiles C source text into OUTPUT.
t_cc() {
  local out=$1 src=$2
  shift 2
  printf '%s\n' "$src" >"$T_ROOT/cc-$$.c"
  gcc -O1 -Wall -o "$out" "$T_ROOT/cc-$$.c" "$@"
  rm -f "$T_ROOT/cc-$$.c"
}

# t_require_warm: skips the suite (77) unless suwrap-cgid and the test build's gate are there.
t_require_warm() {
  # With these, t_setup installs the gate at SUWRAP_GATE_PATH (or the suite stops there).
  if [ -z "${SUWRAP_CGID_BIN:-}" ] || [ ! -x "${SUWRAP_GATE_BIN:-}" ] || [[ "${SUWRAP_GATE_PATH:-}" != /run/suwrap-tests/* ]]; then
    echo "SKIP $T_NAME: needs suwrap-cgid and the test build's gate"
    exit 77
  fi
}

# ---- assertions ---------------------------------------------------------------------------

t_case() { T_CASE=$1; }

t_pass() { T_PASSED=$((T_PASSED + 1)); echo "ok   $T_CASE${1:+: $1}"; }
t_fail() {
  T_FAILED=$((T_FAILED + 1))
  echo "FAIL $T_CASE: $1"
  echo "     exit=$T_RC status=$T_STATUS"
  echo "     stdout: $(printf '%s' "${T_OUT:-}" | head -c 600)"
  echo "     stderr: $(printf '%s' "${T_ERR:-}" | head -c 300)"
  [ -f "${T_LOG:-}" ] && echo "     log: $(tail -n 2 "$T_LOG")"
  return 0
}

t_expect() {  # t_expect DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then t_pass "$what"; else t_fail "$what"; fi
}

# t_refused RC STATUS CHECK: the last request was refused with this exit code, CGI status
# and log check name.
t_refused() {
  local rc=$1 status=$2 check=$3 logged
  logged=$(t_log_field decision check)
  if [ "$T_RC" = "$rc" ] && [ "$T_STATUS" = "$status" ] && [ "$logged" = "$check" ]; then
    t_pass "exit $rc, $status, check $check"
  else
    t_fail "expected exit $rc, status $status, check $check; got exit $T_RC, status $T_STATUS, check $logged"
  fi
}

# t_allowed: the last request ran (exit 0, allow logged).
t_allowed() {
  local decision
  decision=$(t_log_field decision decision)
  if [ "$T_RC" = 0 ] && [ "$decision" = allow ]; then t_pass "allowed"; else t_fail "expected an allowed run, got decision $decision"; fi
}

t_contains() {  # t_contains HAYSTACK NEEDLE
  case "$1" in *"$2"*) return 0 ;; esac
  return 1
}

# Ends the suite with the plain summary line CTest and CI read.
t_done() {
  echo "$T_PASSED passed, $T_FAILED failed"
  [ "$T_FAILED" = 0 ]
}

# ---- the families' helpers this suite named (tests/lib/NAME.sh) ----------------------------
for t_family in "$@"; do
  case $t_family in
    security | cgid | soak | panel) source "$(dirname "${BASH_SOURCE[0]}")/$t_family.sh" ;;
    *) echo "FAIL $T_NAME: tests/lib has no helpers named $t_family" >&2; exit 1 ;;
  esac
done
unset t_family
