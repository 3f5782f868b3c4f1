# SPDX-License-Identifier: Apache-2.0
# Common set-up for the end-to-end suites (sourced, not run): real users made with
# useradd, a real set-uid copy of suwrap, real php-cgi. Each suite gets its own scratch
# directory under /run/suwrap-tests and removes everything it made when it exits.
#
# Environment (set by CTest): SUWRAP_BIN, SUWRAP_POLICY_BIN, SUWRAP_CGID_BIN (optional),
# SUWRAP_CONFIG_PATH (the path compiled into SUWRAP_BIN).
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

# ---- set-up and clean-up -----------------------------------------------------------------

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

# t_user VAR: a real user (uid >= 1000) with a home and docroot under the scratch tree.
# Sets VAR (name), VAR_UID, VAR_GID, VAR_HOME, VAR_DOCROOT.
t_user() {
  local var=$1 name
  name="sw${var,,}$(( $$ % 10000 ))$RANDOM"
  name=${name:0:31}
  local home="$T_ROOT/home/$name"
  for _ in $(seq 1 50); do
    useradd --user-group --no-create-home --home-dir "$home" --shell /usr/sbin/nologin "$name" \
      >/dev/null 2>&1 && break
    sleep 0.1
  done
  id "$name" >/dev/null 2>&1 || { echo "FAIL: useradd $name" >&2; exit 1; }
  T_USERS+=("$name")
  mkdir -p "$home/public_html"
  chown "$name:$name" "$home" "$home/public_html"
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
      cat <<EOF
[handlers.php]
kind = "php"
path = "$T_PHP_CGI"
ini_dir = "$T_PHP_INI_DIR"
extensions = [".php"]

[handlers.cgi]
kind = "cgi"
extensions = [".cgi"]
EOF
    fi
  } >"$SUWRAP_CONFIG_PATH"
  chown root:root "$SUWRAP_CONFIG_PATH"
  chmod 0644 "$SUWRAP_CONFIG_PATH"
}

# t_account NAME CONTENT: an account file in accounts.d.
t_account() {
  printf '%s\n' "$2" >"$T_CONF_DIR/accounts.d/$1.toml"
  chown root:root "$T_CONF_DIR/accounts.d/$1.toml"
  chmod 0644 "$T_CONF_DIR/accounts.d/$1.toml"
}

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
  T_RC=${T_OUT##*~}
  T_OUT=${T_OUT%~*}
  T_ERR=$(cat "$T_ROOT/stderr")
  T_STATUS=$(printf '%s' "$T_OUT" | sed -n '1,/^\r\{0,1\}$/p' | { grep -i '^Status:' || true; } | head -n 1 | awk '{print $2}')
  T_STATUS=${T_STATUS:-200}
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

# ==== Helpers for the security suites (tests/security/*) ====================================
# An attack is judged by what must NOT happen as much as by the refusal: these add markers
# that a script leaves when it runs, a look at the log lines one request wrote (so a stale
# line from an earlier request can never satisfy an assertion), and requests made by a
# hostile caller process (a wrapper such as prlimit or timeout, arguments to suwrap).

T_MARKS=""      # a 1777 directory where scripts that must not run leave a file when they do
T_LOG_MARK=0    # the log's line count before the last t_attack / t_request_via
T_SUWRAP_ARGS=()  # arguments given to suwrap by t_request_via (a web server may pass query words)
# The system's python, not a shim earlier on root's PATH: it must also run as a test user,
# and a shell-script shim costs a few hundred milliseconds per call.
T_PYTHON=/usr/bin/python3
[ -x "$T_PYTHON" ] || T_PYTHON=$(command -v python3)
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

# t_attack [NAME=VALUE]...: t_request, with the log marked first.
t_attack() { t_log_mark; t_request "$@"; }
t_attack_script() { local path=$1; shift; t_attack SCRIPT_FILENAME="$path" "$@"; }

# t_request_via WRAPPER... -- [NAME=VALUE]...: like t_attack, with WRAPPER (run as root with
# the request's environment, e.g. `prlimit --nofile=8:8` or `timeout 30`) before setpriv, and
# T_SUWRAP_ARGS given to suwrap as its arguments.
t_request_via() {
  local wrap=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do wrap+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  local as=${T_AS:-$T_CALLER}
  local base=(GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=localhost)
  t_log_mark
  set +e
  T_OUT=$(env -i "${base[@]}" "$@" "${wrap[@]}" /usr/bin/setpriv --reuid="$as" --regid="$(id -g "$as")" \
    --init-groups "$T_SUWRAP" "${T_SUWRAP_ARGS[@]}" <"$T_STDIN" 2>"$T_ROOT/stderr"; echo "~$?")
  set -e
  T_RC=${T_OUT##*~}
  T_OUT=${T_OUT%~*}
  T_ERR=$(cat "$T_ROOT/stderr")
  T_STATUS=$(printf '%s' "$T_OUT" | sed -n '1,/^\r\{0,1\}$/p' | { grep -i '^Status:' || true; } | head -n 1 | awk '{print $2}')
  T_STATUS=${T_STATUS:-200}
}

# t_refused_only RC STATUS CHECK: the last t_attack was refused with this exit code, CGI
# status and check, and the request wrote exactly one log line, that refusal: no allow line
# and no exit line, so nothing was run.
t_refused_only() {
  local rc=$1 status=$2 check=$3 new
  new=$(t_log_new)
  if [ "$T_RC" = "$rc" ] && [ "$T_STATUS" = "$status" ] && [ "$(printf '%s\n' "$new" | wc -l)" = 1 ] &&
    [[ "$new" =~ ^decision\ (deny|error)\ $check\  ]]; then
    t_pass "exit $rc, $status, check $check, nothing ran"
  else
    t_fail "expected exit $rc, status $status, one refusal line with check $check; got exit $T_RC, status $T_STATUS, new log lines: $new"
  fi
}

# t_ran_only: the last t_attack was allowed and ran: an allow line, then an exit line.
t_ran_only() {
  local new
  new=$(t_log_new)
  if [ "$T_RC" = 0 ] && [[ "$new" =~ ^decision\ allow\ null\ .*$'\n'exit\  ]] && [ "$(printf '%s\n' "$new" | wc -l)" = 2 ]; then
    t_pass "allowed and ran"
  else
    t_fail "expected an allow line then an exit line; got exit $T_RC, new log lines: $new"
  fi
}

# t_system_user VAR USERADD-OPTION...: like t_user, with the given useradd options (e.g.
# -r, or -u 999) and no user group unless the options ask for one.
t_system_user() {
  local var=$1 name
  shift
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

# t_php_kind_tables KIND: T_CONFIG_TABLES text with .php run per request (KIND "php") or
# by a warm pool ("php-fcgi", 2 workers, 1000 requests each, 30 s idle), and .cgi programs.
t_php_kind_tables() {
  cat <<EOF2
[handlers.php]
kind = "$1"
path = "$T_PHP_CGI"
ini_dir = "$T_PHP_INI_DIR"
extensions = [".php"]
EOF2
  [ "$1" = php-fcgi ] && printf 'workers = 2\nmax_requests = 1000\nidle_seconds = 30\n'
  printf '\n[handlers.cgi]\nkind = "cgi"\nextensions = [".cgi"]\n'
}

# t_require_warm: skips the suite (77) unless suwrap-cgid and the test build's gate are there.
t_require_warm() {
  if [ -z "${SUWRAP_CGID_BIN:-}" ] || [ -z "${SUWRAP_GATE_BIN:-}" ] || [[ "${SUWRAP_GATE_PATH:-}" != /run/suwrap-tests/* ]]; then
    echo "SKIP $T_NAME: needs suwrap-cgid and the test build's gate"
    exit 77
  fi
}

# t_shared_with_carol: the set-up of the attacks by a group member: users ALICE and CAROL,
# a group DEVS with carol in it, and SHARED, alice's directory $ALICE_DOCROOT/shared of
# group DEVS, mode 2775: carol can write into it (allow_dir_group_writable admits it).
t_shared_with_carol() {
  t_user ALICE
  t_user CAROL
  t_group DEVS "$CAROL"
  SHARED="$ALICE_DOCROOT/shared"
  t_dir "$ALICE" 2775 "$SHARED"
  chgrp "$DEVS" "$SHARED"
  chmod 2775 "$SHARED"
}

# t_group VAR MEMBER...: a real group (removed when the suite ends) with these users as
# supplementary members. Sets VAR (its name).
t_group() {
  local var=$1 name="swgrp$(( $$ % 10000 ))$RANDOM"
  shift
  groupadd "$name"
  t_on_cleanup "groupdel '$name'"
  local member
  for member in "$@"; do usermod -aG "$name" "$member"; done
  printf -v "$var" '%s' "$name"
}

# t_cc OUTPUT SOURCE-TEXT [GCC-OPTION...]: compiles C source text into OUTPUT.
t_cc() {
  local out=$1 src=$2
  shift 2
  printf '%s\n' "$src" >"$T_ROOT/cc-$$.c"
  gcc -O1 -Wall -o "$out" "$T_ROOT/cc-$$.c" "$@"
  rm -f "$T_ROOT/cc-$$.c"
}

# t_php_tables [EXTRA-TOML]: the default handler tables followed by EXTRA-TOML (e.g. a
# [limits] table), for T_CONFIG_TABLES.
t_php_tables() {
  cat <<EOF2
[handlers.php]
kind = "php"
path = "$T_PHP_CGI"
ini_dir = "$T_PHP_INI_DIR"
extensions = [".php"]

[handlers.cgi]
kind = "cgi"
extensions = [".cgi"]

${1-}
EOF2
}
# ==== end of the security suites' helpers ===================================================

# ---- suwrap-cgid and private web servers (the cgid_*_test.sh suites) ---------------------
# The daemon runs as www-data, as in production, on a socket under $T_ROOT/run. Each web
# server is a private instance with its own configuration, pid file and logs under $T_ROOT,
# listening on a free port of 127.0.0.1: the system's own services are never touched.
# Every start registers a clean-up that ends the process; the t_stop_* helpers end it
# while the suite runs and assert a clean exit.

T_PYTHON=/usr/bin/python3   # not a per-user shim: the test users run it too
T_FCGI_CLIENT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/fcgi_client.py
T_WEBSERVERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/install/webservers
T_CGID_PID=""
T_CGID_SOCK=""
T_CGID_LOG=""
T_CGID_FDS=""   # the daemon's descriptor count after warm-up (t_cgid_baseline)
T_WEB_PID=""
T_PORT=""
T_CGID_ARGS=()  # given to every t_start_cgid after its own arguments

# t_start_cgid [ARGS...]: starts suwrap-cgid as www-data on $T_ROOT/run/cgid.sock (or
# $T_CGID_SOCK if set) with the set-uid test copy of suwrap and --log-file
# $T_ROOT/run/cgid.log, plus ARGS and T_CGID_ARGS; returns once it listens. Sets
# T_CGID_PID.
t_start_cgid() {
  : "${SUWRAP_CGID_BIN:?SUWRAP_CGID_BIN must name the built suwrap-cgid}"
  mkdir -p "$T_ROOT/run"
  chown "$T_CALLER:$(id -gn "$T_CALLER")" "$T_ROOT/run"
  chmod 0755 "$T_ROOT/run"
  T_CGID_SOCK=${T_CGID_SOCK:-$T_ROOT/run/cgid.sock}
  T_CGID_LOG=$T_ROOT/run/cgid.log
  T_CGID_FDS=""
  local before=0 _
  [ -f "$T_CGID_LOG" ] && before=$(wc -l <"$T_CGID_LOG")
  env -i PATH=/usr/bin:/bin /usr/bin/setpriv --reuid="$T_CALLER" --regid="$(id -g "$T_CALLER")" --init-groups \
    "$SUWRAP_CGID_BIN" --listen "$T_CGID_SOCK" --wrapper "$T_SUWRAP" --log-file "$T_CGID_LOG" "$@" "${T_CGID_ARGS[@]}" \
    </dev/null >>"$T_ROOT/run/cgid.stderr" 2>&1 &
  T_CGID_PID=$!
  t_on_cleanup "t_kill_pid $T_CGID_PID"
  for _ in $(seq 1 100); do
    if [ -f "$T_CGID_LOG" ] && tail -n +"$((before + 1))" "$T_CGID_LOG" | grep -q 'listening on'; then return 0; fi
    t_alive "$T_CGID_PID" || break
    sleep 0.05
  done
  echo "FAIL $T_NAME: suwrap-cgid did not start: $(cat "$T_ROOT/run/cgid.stderr" "$T_CGID_LOG" 2>/dev/null | tail -n 5)" >&2
  exit 1
}

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

# t_stop_cgid: SIGTERM to the daemon; asserts that it exits 0 and removes its socket.
t_stop_cgid() {
  t_case "suwrap-cgid stops on SIGTERM"
  kill -TERM "$T_CGID_PID"
  t_wait_exit "$T_CGID_PID" 15
  t_expect "exit status 0 (got $T_EXIT)" test "$T_EXIT" = 0
  t_expect "the socket is removed" test ! -e "$T_CGID_SOCK"
  T_CGID_PID=""
}

t_cgid_fd_count() { ls "/proc/$T_CGID_PID/fd" | wc -l; }
t_cgid_hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$T_CGID_PID/status"; }

# t_cgid_baseline: remembers the daemon's descriptor count. Call it after a warm-up
# request, with no connection open.
# Taken once the daemon is idle (t_cgid_settled_baseline, below): a count taken the moment
# a client has its answer may still hold that connection's socket.
t_cgid_baseline() { t_cgid_settled_baseline; }

# t_nothing_left USER...: waits up to 10 s for the daemon to have no child (no zombie
# either), the users to have no process, and the daemon's descriptor count to be back at
# its baseline (if one was taken); then asserts each.
t_nothing_left() {
  local children="" procs="" fds="" u deadline=$((${EPOCHREALTIME//[!0-9]/} + 10000000))
  while :; do
    children=$(ps -o pid=,stat=,args= --ppid "$T_CGID_PID" 2>/dev/null || true)
    procs=""
    for u in "$@"; do procs+=$(ps -o pid=,stat=,args= -u "$u" 2>/dev/null || true); done
    fds=$(t_cgid_fd_count)
    if [ -z "$children" ] && [ -z "$procs" ] && { [ -z "$T_CGID_FDS" ] || [ "$fds" = "$T_CGID_FDS" ]; }; then break; fi
    ((${EPOCHREALTIME//[!0-9]/} < deadline)) || break
    sleep 0.1
  done
  t_expect "the daemon has no child and no zombie${children:+ (has: $children)}" test -z "$children"
  t_expect "no process of the test users${procs:+ (left: $procs)}" test -z "$procs"
  if [ -n "$T_CGID_FDS" ]; then
    t_expect "the daemon's descriptors are back to $T_CGID_FDS (now $fds)" test "$fds" = "$T_CGID_FDS"
  fi
}

# t_wait_children N: waits up to 5 s until the daemon has N children (suwrap processes).
t_wait_children() {
  local _
  for _ in $(seq 1 50); do
    [ "$(ps -o pid= --ppid "$T_CGID_PID" | wc -l)" -ge "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

# t_fcgi [NAME=VALUE]...: one request straight to the daemon's socket with cgi-fcgi (as
# root, a peer the daemon serves) with exactly this environment, plus REQUEST_METHOD=GET
# unless given; standard input is $T_STDIN. Sets T_RC, T_OUT, T_ERR, T_STATUS.
t_fcgi() {
  set +e
  T_OUT=$(env -i REQUEST_METHOD=GET GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=localhost "$@" \
    /usr/bin/cgi-fcgi -bind -connect "$T_CGID_SOCK" <"$T_STDIN" 2>"$T_ROOT/stderr"; echo "~$?")
  set -e
  T_RC=${T_OUT##*~}
  T_OUT=${T_OUT%~*}
  T_ERR=$(cat "$T_ROOT/stderr")
  T_STATUS=$(printf '%s' "$T_OUT" | sed -n '1,/^\r\{0,1\}$/p' | { grep -i '^Status:' || true; } | head -n 1 | awk '{print $2}')
  T_STATUS=${T_STATUS:-200}
}

# t_fcgi_client [--as USER] MODE ARGS...: tests/lib/fcgi_client.py against the daemon's
# socket, as root or as USER. Its output in T_OUT, exit status in T_RC.
t_fcgi_client() {
  local as=root
  if [ "$1" = --as ]; then as=$2; shift 2; fi
  T_RC=0
  T_OUT=$(env -i PATH=/usr/bin:/bin /usr/bin/setpriv --reuid="$as" --regid="$(id -g "$as")" --init-groups \
    "$T_PYTHON" "$T_FCGI_CLIENT" "$T_CGID_SOCK" "$@" 2>"$T_ROOT/stderr" </dev/null) || T_RC=$?
  T_ERR=$(cat "$T_ROOT/stderr")
  T_STATUS=""
}

# t_suwrap_log_lines: lines in suwrap's log so far (0 before the first).
t_suwrap_log_lines() { if [ -f "$T_LOG" ]; then wc -l <"$T_LOG"; else echo 0; fi; }

# t_free_port: a TCP port of 127.0.0.1 that nothing listens on right now.
t_free_port() {
  "$T_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# t_fill_template SRC DST KEY=VALUE...: copies a snippet of install/webservers with each
# @KEY@ replaced by VALUE; fails if a placeholder stays unfilled.
t_fill_template() {
  local src=$1 dst=$2
  shift 2
  "$T_PYTHON" - "$src" "$dst" "$@" <<'PY'
import re, sys
src, dst, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
text = open(src).read()
for pair in pairs:
    key, _, value = pair.partition("=")
    text = text.replace("@" + key + "@", value)
left = sorted(set(re.findall(r"@[A-Z_]+@", text)))
if left:
    sys.exit("%s: placeholders left unfilled: %s" % (src, " ".join(left)))
open(dst, "w").write(text)
PY
}

# t_wait_port PORT PID: waits until 127.0.0.1:PORT accepts connections while PID lives.
t_wait_port() {
  local _
  for _ in $(seq 1 100); do
    if "$T_PYTHON" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' \
      "$1" 2>/dev/null; then return 0; fi
    t_alive "$2" || return 1
    sleep 0.05
  done
  return 1
}

# t_start_nginx SERVER_CONF: a private nginx (master as root, workers as www-data, in
# the foreground of a background job) whose http block includes SERVER_CONF, a filled
# server block listening on 127.0.0.1:$T_PORT. Its files are under $T_ROOT/nginx.
t_start_nginx() {
  local dir=$T_ROOT/nginx
  mkdir -p "$dir/tmp"
  chown "$T_CALLER" "$dir/tmp"
  printf '%s\n' \
    "user $T_CALLER $(id -gn "$T_CALLER");" \
    "worker_processes 2;" \
    "daemon off;" \
    "pid $dir/nginx.pid;" \
    "error_log $dir/error.log info;" \
    "events { worker_connections 1024; }" \
    "http {" \
    "    access_log $dir/access.log;" \
    "    client_body_temp_path $dir/tmp/client_body;" \
    "    fastcgi_temp_path $dir/tmp/fastcgi;" \
    "    proxy_temp_path $dir/tmp/proxy;" \
    "    scgi_temp_path $dir/tmp/scgi;" \
    "    uwsgi_temp_path $dir/tmp/uwsgi;" \
    "    include /etc/nginx/mime.types;" \
    "    client_max_body_size 64m;" \
    "    include $1;" \
    "}" >"$dir/nginx.conf"
  if ! nginx -t -q -c "$dir/nginx.conf" -e "$dir/error.log" -p "$dir/" >"$dir/check.err" 2>&1; then
    echo "FAIL $T_NAME: nginx rejects its configuration: $(cat "$dir/check.err")" >&2
    exit 1
  fi
  nginx -c "$dir/nginx.conf" -e "$dir/error.log" -p "$dir/" </dev/null >>"$dir/stderr" 2>&1 &
  T_WEB_PID=$!
  t_on_cleanup "t_kill_pid $T_WEB_PID"
  if ! t_wait_port "$T_PORT" "$T_WEB_PID"; then
    echo "FAIL $T_NAME: nginx did not start: $(tail -n 5 "$dir/error.log" "$dir/stderr")" >&2
    exit 1
  fi
}

# t_start_apache SITE_CONF [MODULE...]: a private Apache 2.4 (event MPM, started as root,
# children as www-data) in the foreground of a background job, listening on
# 127.0.0.1:$T_PORT, with the modules every site needs plus MODULE... (the names of
# /usr/lib/apache2/modules/mod_NAME.so, e.g. proxy proxy_fcgi cgid actions alias),
# including SITE_CONF. Its files are under $T_ROOT/apache.
t_start_apache() {
  local dir=$T_ROOT/apache site=$1 m
  shift
  mkdir -p "$dir/run"
  {
    echo "ServerRoot $dir"
    echo "DefaultRuntimeDir $dir/run"
    echo "PidFile $dir/apache.pid"
    echo "Mutex file:$dir/run default"
    echo "ErrorLog $dir/error.log"
    echo "LogLevel warn"
    echo "Listen 127.0.0.1:$T_PORT"
    echo "ServerName 127.0.0.1"
    echo "User $T_CALLER"
    echo "Group $(id -gn "$T_CALLER")"
    for m in mpm_event authz_core mime dir "$@"; do
      echo "LoadModule ${m}_module /usr/lib/apache2/modules/mod_$m.so"
    done
    echo "TypesConfig /etc/mime.types"
    echo "LogFormat \"%h %l %u %t \\\"%r\\\" %>s %O\" common"
    echo "CustomLog $dir/access.log common"
    echo "<Directory />"
    echo "    AllowOverride None"
    echo "    Require all denied"
    echo "</Directory>"
    echo "Include $site"
  } >"$dir/apache2.conf"
  if ! apache2 -t -f "$dir/apache2.conf" >"$dir/check.err" 2>&1; then
    echo "FAIL $T_NAME: Apache rejects its configuration: $(cat "$dir/check.err")" >&2
    exit 1
  fi
  apache2 -f "$dir/apache2.conf" -DFOREGROUND </dev/null >>"$dir/stderr" 2>&1 &
  T_WEB_PID=$!
  t_on_cleanup "t_kill_pid $T_WEB_PID"
  if ! t_wait_port "$T_PORT" "$T_WEB_PID"; then
    echo "FAIL $T_NAME: Apache did not start: $(tail -n 5 "$dir/error.log" "$dir/stderr")" >&2
    exit 1
  fi
}

# t_start_lighttpd SITE_CONF DOCROOT: a private lighttpd (started as root, running as
# www-data) in the foreground of a background job on 127.0.0.1:$T_PORT, serving DOCROOT
# and including SITE_CONF. Its files are under $T_ROOT/lighttpd.
t_start_lighttpd() {
  local dir=$T_ROOT/lighttpd
  mkdir -p "$dir/tmp"
  # lighttpd opens its logs after it has become www-data.
  chown "$T_CALLER" "$dir" "$dir/tmp"
  printf '%s\n' \
    "server.document-root = \"$2\"" \
    "server.bind = \"127.0.0.1\"" \
    "server.port = $T_PORT" \
    "server.username = \"$T_CALLER\"" \
    "server.groupname = \"$(id -gn "$T_CALLER")\"" \
    "server.pid-file = \"$dir/lighttpd.pid\"" \
    "server.errorlog = \"$dir/error.log\"" \
    "server.upload-dirs = ( \"$dir/tmp\" )" \
    "server.modules = ( \"mod_access\", \"mod_accesslog\" )" \
    "accesslog.filename = \"$dir/access.log\"" \
    "include \"$1\"" >"$dir/lighttpd.conf"
  if ! lighttpd -tt -f "$dir/lighttpd.conf" >"$dir/check.err" 2>&1; then
    echo "FAIL $T_NAME: lighttpd rejects its configuration: $(cat "$dir/check.err")" >&2
    exit 1
  fi
  lighttpd -D -f "$dir/lighttpd.conf" </dev/null >>"$dir/stderr" 2>&1 &
  T_WEB_PID=$!
  t_on_cleanup "t_kill_pid $T_WEB_PID"
  if ! t_wait_port "$T_PORT" "$T_WEB_PID"; then
    echo "FAIL $T_NAME: lighttpd did not start: $(tail -n 5 "$dir/error.log" "$dir/stderr")" >&2
    exit 1
  fi
}

# t_start_caddy SITE_CONF: a private Caddy run as the caddy user (as Debian's
# caddy.service does), in the foreground of a background job, with no admin endpoint
# and no automatic HTTPS, importing SITE_CONF (whose site address is 127.0.0.1:$T_PORT).
# Its files are under $T_ROOT/caddy.
t_start_caddy() {
  local dir=$T_ROOT/caddy
  mkdir -p "$dir/data" "$dir/config"
  chown -R caddy:caddy "$dir"
  printf '%s\n' \
    "{" \
    "	admin off" \
    "	auto_https off" \
    "	storage file_system $dir/data" \
    "	log {" \
    "		output file $dir/error.log" \
    "	}" \
    "}" \
    "import $1" >"$dir/Caddyfile"
  local env=(HOME="$dir" XDG_DATA_HOME="$dir/data" XDG_CONFIG_HOME="$dir/config" PATH=/usr/bin:/bin)
  if ! env -i "${env[@]}" /usr/bin/setpriv --reuid=caddy --regid=caddy --init-groups \
    caddy validate --adapter caddyfile --config "$dir/Caddyfile" >"$dir/check.err" 2>&1; then
    echo "FAIL $T_NAME: Caddy rejects its configuration: $(tail -n 5 "$dir/check.err")" >&2
    exit 1
  fi
  env -i "${env[@]}" /usr/bin/setpriv --reuid=caddy --regid=caddy --init-groups \
    caddy run --adapter caddyfile --config "$dir/Caddyfile" </dev/null >>"$dir/stderr" 2>&1 &
  T_WEB_PID=$!
  t_on_cleanup "t_kill_pid $T_WEB_PID"
  if ! t_wait_port "$T_PORT" "$T_WEB_PID"; then
    echo "FAIL $T_NAME: Caddy did not start: $(tail -n 5 "$dir/stderr")" >&2
    exit 1
  fi
}

# t_stop_web NAME: SIGTERM to the web server started last; asserts that it ends.
t_stop_web() {
  t_case "$1 stops"
  kill -TERM "$T_WEB_PID"
  t_wait_exit "$T_WEB_PID" 15
  t_expect "it exited (status $T_EXIT)" test "$T_EXIT" != running
  T_WEB_PID=""
}

# ---- suwrap-policy, as a hosting panel runs it (the panel_*_test.sh suites) -----------------
# The panel suites run the policy tool the way docs/hosting-panels.md shows and assert its
# JSON with Python, so a field renamed or a value changed fails the suite.

# t_policy ARGS...: runs suwrap-policy (as root, or as $T_AS when set); sets T_RC, T_OUT
# (standard output) and T_ERR (standard error).
t_policy() {
  local run=("$SUWRAP_POLICY_BIN")
  [ -n "$T_AS" ] && run=(/usr/bin/setpriv --reuid="$T_AS" --regid="$(id -g "$T_AS")" --init-groups "$SUWRAP_POLICY_BIN")
  set +e
  T_OUT=$("${run[@]}" "$@" 2>"$T_ROOT/stderr")
  T_RC=$?
  set -e
  T_ERR=$(cat "$T_ROOT/stderr")
  T_STATUS=""
}

# t_json EXPRESSION: the value of a Python expression over the last T_OUT parsed as JSON
# (named j), printed; booleans print as true/false and None as null.
t_json() {
  printf '%s' "$T_OUT" | "$T_PYTHON" -I -S -c '
import json, sys
j = json.load(sys.stdin)
v = eval(sys.argv[1], {"j": j, "len": len, "sorted": sorted, "set": set, "all": all, "any": any})
print("null" if v is None else (str(v).lower() if isinstance(v, bool) else v))' "$1"
}

# t_json_is EXPRESSION VALUE: t_json EXPRESSION prints VALUE (for t_expect).
t_json_is() { [ "$(t_json "$1" 2>&1)" = "$2" ]; }

# t_schema NAME: the last T_OUT is one JSON document valid against schemas/NAME.schema.json
# (the errors, if any, in T_SCHEMA_ERR). NAME "error" is the failure object of every command.
t_schema() {
  T_SCHEMA_ERR=$(printf '%s' "$T_OUT" | "$T_PYTHON" "$SUWRAP_SOURCE_DIR/tests/lib/json_schema.py" \
    "$SUWRAP_SOURCE_DIR/schemas" "$1" 2>&1) || { echo "     schema $1: $T_SCHEMA_ERR"; return 1; }
}

# t_policy_exit RC: the last t_policy exited with RC.
t_policy_exit() {
  if [ "$T_RC" = "$1" ]; then t_pass "exit $1"; else t_fail "expected exit $1, got $T_RC"; fi
}
# ---- end of the panel suites' helpers ------------------------------------------------------

# ---- the soak and fault suites (soak_test.sh, cgid_faults_test.sh) --------------------------

# t_zombies_of_test USER...: one line "pid ppid user command" per zombie on the machine
# that is the test's: a child of this shell, of the daemon, of the web server or one of
# its workers, or of a process of USER...; or a process of USER... itself. Zombies of
# anything else on the machine are not this test's to judge.
t_zombies_of_test() {
  local parents=" $$ ${T_CGID_PID:-} ${T_WEB_PID:-} " u
  if [ -n "$T_WEB_PID" ]; then parents+="$(ps -o pid= --ppid "$T_WEB_PID" 2>/dev/null | tr '\n' ' ' || true) "; fi
  for u in "$@"; do parents+="$(ps -o pid= -u "$u" 2>/dev/null | tr '\n' ' ' || true) "; done
  ps -eo pid=,ppid=,user:32=,stat=,comm= | awk -v parents="$parents" -v users=" $* " '
    $4 ~ /^Z/ && (index(parents, " " $2 " ") || index(users, " " $3 " ")) { print $1, $2, $3, $5 }'
}

# t_nginx_site_with_cgi CONF: the documented nginx server block
# (install/webservers/nginx-suwrap.conf) filled for 127.0.0.1:$T_PORT, $T_ROOT/home and
# $T_CGID_SOCK, plus a location that hands .cgi and .txt to the daemon as well, so that
# CGI programs run and suwrap, not nginx, is the one that refuses a .txt.
t_nginx_site_with_cgi() {
  t_fill_template "$T_WEBSERVERS_DIR/nginx-suwrap.conf" "$1" \
    LISTEN="127.0.0.1:$T_PORT" SERVER_NAME=localhost DOCROOT="$T_ROOT/home" SOCKET="$T_CGID_SOCK"
  sed -i '$d' "$1"  # the server block's closing brace
  cat >>"$1" <<EOF
    location ~ \.(cgi|txt)\$ {
        include /etc/nginx/fastcgi_params;
        fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
        fastcgi_pass unix:$T_CGID_SOCK;
    }
}
EOF
}

# t_cgid_settled_baseline: t_cgid_baseline once the daemon is idle. A client has its
# answer a moment before the daemon closes that connection's socket (the close follows
# the send of FCGI_END_REQUEST), so a count taken right after a request may hold one
# descriptor too many. Waits (up to 5 s) for no child and the same count three times
# 0.1 s apart, then takes that count.
t_cgid_settled_baseline() {
  local last="" same=0 now _
  for _ in $(seq 1 50); do
    now=$(t_cgid_fd_count)
    if [ -z "$(ps -o pid= --ppid "$T_CGID_PID" 2>/dev/null || true)" ] && [ "$now" = "$last" ]; then
      same=$((same + 1))
      [ "$same" -ge 2 ] && break
    else
      same=0
    fi
    last=$now
    sleep 0.1
  done
  T_CGID_FDS=$(t_cgid_fd_count)
}
# ---- end of the soak and fault suites' helpers ----------------------------------------------
