#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The PHP guard's own per-request check (php/guard_check.cpp), as a direct pool runs it: the
# account's php-cgi takes FastCGI requests itself, started as the account with the pool in its
# environment (SUWRAP_POOL_HANDLER, SUWRAP_POOL_LIMITS, PHPRC), and every request is checked
# in the worker, with suwrap's policy code, before any of it runs. Allowed: the script runs
# as the account and sees only the allowed environment (not the client's other params, not
# PHP_VALUE). Refused: each class with its status, the reason in PHP's error log, the script
# never run. A pool its environment does not describe refuses everything.
source "$(dirname "$0")/../lib/common.sh"
if [ -z "${SUWRAP_PHP_GUARD_SO:-}" ]; then
  echo "SKIP $T_NAME: the test build's PHP guard is not installed (SUWRAP_PHP_GUARD_SO)"
  exit 77
fi
t_setup ALICE BOB
if [ -z "$T_PHP_GUARD_DIR" ]; then
  echo "SKIP $T_NAME: the test build's PHP guard directory is not under /run/suwrap-tests"
  exit 77
fi
t_markers_dir

LIMITS="30,512,64,256,256"
T_CONFIG_TABLES="$(t_php_handler php-warm php-fcgi workers=2 max_requests=100 idle_seconds=60)

$(t_php_handler php-other php-fcgi workers=2 max_requests=100 idle_seconds=60 'extensions=[".php5"]')

[handlers.cgi]
kind = \"cgi\"
extensions = [\".cgi\"]

[limits]
cpu_seconds = 30
memory_mb = 512
nproc = 64
nofile = 256
fsize_mb = 256"
t_config

ran() { printf "<?php touch('%s/ran-%s'); echo 'RAN';" "$T_MARKS" "$1"; }
t_file "$ALICE" 0644 "$ALICE_DOCROOT/hello.php" \
  '<?php echo "uid=", posix_getuid(), "\n"; foreach (["SCRIPT_FILENAME", "FOO", "PHP_VALUE", "SUWRAP_SCRIPT_ID", "HTTP_HOST", "PATH", "HOME", "SUWRAP_POOL_HANDLER"] as $n) { echo $n, " server=", var_export($_SERVER[$n] ?? null, true), " getenv=", var_export(getenv($n), true), "\n"; } echo "prepend=", ini_get("auto_prepend_file"), "\n";'
t_file "$ALICE" 0664 "$ALICE_DOCROOT/group_writable.php" "$(ran group_writable)"
t_file "$BOB" 0644 "$ALICE_DOCROOT/bob_in_alice.php" "$(ran bob_in_alice)"
t_file "$BOB" 0644 "$BOB_DOCROOT/bobs.php" "$(ran bobs)"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/picture.jpg" "$(ran picture)"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/old.php5" "$(ran old)"
t_dir "$ALICE" 0755 "$ALICE_HOME/private"
t_file "$ALICE" 0644 "$ALICE_HOME/private/outside.php" "$(ran outside)"
t_dir "$ALICE" 0755 "$ALICE_DOCROOT/sub"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/sub/real.php" '<?php echo "file=", __FILE__, "\n";'
ln -s sub/real.php "$ALICE_DOCROOT/linked.php"
chown -h "$ALICE:$ALICE" "$ALICE_DOCROOT/linked.php"
t_file root 0644 "$T_ROOT/prepend.php" "<?php touch('$T_MARKS/ran-prepend');"

# start_php [NAME=VALUE]...: alice's php-cgi FastCGI server with the guard, in a private
# directory, as a direct pool starts it (these variables added to its environment).
PHP_PID=""
t_on_cleanup '[ -n "$PHP_PID" ] && kill -KILL -- -"$PHP_PID" 2>/dev/null'
SOCK_DIR="$T_ROOT/php"
install -d -o "$ALICE" -m 0700 "$SOCK_DIR"
SOCK="$SOCK_DIR/php.sock"
start_php() {
  [ -z "$PHP_PID" ] || { kill -TERM -- -"$PHP_PID" 2>/dev/null; wait "$PHP_PID" 2>/dev/null; }
  rm -f "$SOCK"
  setsid env -i PATH=/usr/bin:/bin PHPRC="$T_PHP_INI_DIR/php.ini" PHP_INI_SCAN_DIR=":$T_PHP_GUARD_DIR" \
    PHP_FCGI_CHILDREN=2 PHP_FCGI_MAX_REQUESTS=100 HOME="$ALICE_HOME" "$@" \
    /usr/bin/setpriv --reuid="$ALICE" --regid="$ALICE_GID" --init-groups \
    "$T_PHP_CGI" -b "$SOCK" </dev/null >/dev/null 2>"$T_ROOT/php.err" &
  PHP_PID=$!
  local _
  for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
}
ask() {
  rm -f "$T_MARKS"/*
  : >"$T_ROOT/php.err"
  # cgi-fcgi writes FCGI_STDERR (PHP's error log here) to its own stderr.
  T_OUT=$(env -i REQUEST_METHOD=GET GATEWAY_INTERFACE=CGI/1.1 SERVER_NAME=localhost SERVER_PROTOCOL=HTTP/1.1 "$@" \
    timeout 30 /usr/bin/cgi-fcgi -bind -connect "$SOCK" 2>"$T_ROOT/fcgi.err") || true
  T_STATUS=$(printf '%s' "$T_OUT" | sed -n '1,/^\r\{0,1\}$/p' | { grep -i '^Status:' || true; } | sed -n 1p | awk '{print $2}')
  T_STATUS=${T_STATUS:-200}
  T_ERR=$(cat "$T_ROOT/fcgi.err" "$T_ROOT/php.err")
}
refused() {  # refused STATUS CHECK MARKER
  t_expect "$1 (got $T_STATUS)" test "$T_STATUS" = "$1"
  t_expect "the script did not run" t_no_marker "ran-$3"
  t_expect "PHP's error log names check $2" t_contains "$T_ERR" "(check $2)"
}

start_php SUWRAP_POOL_HANDLER=php-warm SUWRAP_POOL_LIMITS="$LIMITS"

t_case "an allowed request runs as the account"
ask SCRIPT_FILENAME="$ALICE_DOCROOT/hello.php" HTTP_HOST=example.test FOO=client PHP_VALUE="auto_prepend_file=$T_ROOT/prepend.php" \
  SUWRAP_SCRIPT_ID=1:2:3:4
t_expect "200 (got $T_STATUS)" test "$T_STATUS" = 200
t_expect "as alice" t_contains "$T_OUT" "uid=$ALICE_UID"
t_expect "SCRIPT_FILENAME is the checked path" t_contains "$T_OUT" "SCRIPT_FILENAME server='$ALICE_DOCROOT/hello.php' getenv='$ALICE_DOCROOT/hello.php'"
t_expect "an allowed param is passed" t_contains "$T_OUT" "HTTP_HOST server='example.test' getenv='example.test'"
t_expect "a param off the allowlist is not" t_contains "$T_OUT" "FOO server=NULL getenv=false"
t_expect "PHP_VALUE is not passed" t_contains "$T_OUT" "PHP_VALUE server=NULL getenv=false"
t_expect "nor is the client's SUWRAP_SCRIPT_ID" t_contains "$T_OUT" "SUWRAP_SCRIPT_ID server=NULL getenv=false"
t_expect "PHP_VALUE changed no setting" sh -c "! printf '%s' \"\$1\" | grep -q 'prepend=.'" _ "$T_OUT"
t_expect "nor ran anything" t_no_marker ran-prepend
t_expect "PATH is the configured safe path" t_contains "$T_OUT" "PATH server='/usr/local/bin:/usr/bin:/bin'"
t_expect "HOME is the account's" t_contains "$T_OUT" "HOME server='$ALICE_HOME'"
t_expect "nor the pool's own variables, in either" t_contains "$T_OUT" "SUWRAP_POOL_HANDLER server=NULL getenv=false"

t_case "a path php-cgi would cut back to a file (PATH_INFO) is refused, as suwrap refuses it"
ask SCRIPT_FILENAME="$ALICE_DOCROOT/hello.php/extra.jpg"
t_expect "404 (got $T_STATUS)" test "$T_STATUS" = 404
t_expect "hello.php did not run" sh -c "! printf '%s' \"\$1\" | grep -q uid=" _ "$T_OUT"

t_case "a refused request reads no .user.ini on its way: nothing it asks for starts"
# A session started by a .user.ini writes its file at request start-up, before any script.
t_dir "$ALICE" 0755 "$ALICE_DOCROOT/sess"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/sess/.user.ini" "session.auto_start=1
session.save_path=\"$T_MARKS\""
t_file "$ALICE" 0644 "$ALICE_DOCROOT/sess/ok.php" "<?php echo 'OK';"
t_file "$ALICE" 0664 "$ALICE_DOCROOT/sess/gw.php" "$(ran sess_gw)"
ask SCRIPT_FILENAME="$ALICE_DOCROOT/sess/gw.php" DOCUMENT_ROOT="$ALICE_DOCROOT"
t_expect "refused 403 (got $T_STATUS)" test "$T_STATUS" = 403
t_expect "no session was started for it" sh -c "! ls '$T_MARKS' | grep -q '^sess_'"
ask SCRIPT_FILENAME="$ALICE_DOCROOT/sess/ok.php" DOCUMENT_ROOT="$ALICE_DOCROOT"
t_expect "control: an allowed script there starts one (its .user.ini is read)" sh -c "ls '$T_MARKS' | grep -q '^sess_'"

t_case "a link to a file beside it: PHP runs the checked physical path"
ask SCRIPT_FILENAME="$ALICE_DOCROOT/linked.php"
t_expect "200 (got $T_STATUS)" test "$T_STATUS" = 200
t_expect "__FILE__ is the physical path" t_contains "$T_OUT" "file=$ALICE_DOCROOT/sub/real.php"

t_case "a group-writable script is refused"
ask SCRIPT_FILENAME="$ALICE_DOCROOT/group_writable.php"
refused 403 file_perms group_writable
t_case "another user's file in alice's docroot is refused"
ask SCRIPT_FILENAME="$ALICE_DOCROOT/bob_in_alice.php"
refused 403 dir_perms bob_in_alice
t_case "another account's script is not run by alice's pool"
ask SCRIPT_FILENAME="$BOB_DOCROOT/bobs.php"
refused 403 owner bobs
t_case "a file no handler takes is refused"
ask SCRIPT_FILENAME="$ALICE_DOCROOT/picture.jpg"
refused 403 handler picture
t_case "another handler's script is not run by this pool"
ask SCRIPT_FILENAME="$ALICE_DOCROOT/old.php5"
refused 403 handler old
t_case "a script outside the docroots is refused"
ask SCRIPT_FILENAME="$ALICE_HOME/private/outside.php"
refused 403 docroot outside
t_case "a script that does not exist: 404"
ask SCRIPT_FILENAME="$ALICE_DOCROOT/missing.php"
t_expect "404 (got $T_STATUS)" test "$T_STATUS" = 404

t_case "the pool's environment names a handler that is not a pool's: everything is refused"
start_php SUWRAP_POOL_HANDLER=cgi SUWRAP_POOL_LIMITS="$LIMITS"
ask SCRIPT_FILENAME="$ALICE_DOCROOT/hello.php"
t_expect "500 (got $T_STATUS)" test "$T_STATUS" = 500
t_expect "nothing ran" sh -c "! printf '%s' \"\$1\" | grep -q uid=" _ "$T_OUT"
t_expect "the reason is logged" t_contains "$T_ERR" "not a php-fcgi handler"

t_case "limits other than the pool's: refused"
start_php SUWRAP_POOL_HANDLER=php-warm SUWRAP_POOL_LIMITS="30,512,64,256,255"
ask SCRIPT_FILENAME="$ALICE_DOCROOT/hello.php"
t_expect "500 (got $T_STATUS)" test "$T_STATUS" = 500
t_expect "nothing ran" sh -c "! printf '%s' \"\$1\" | grep -q uid=" _ "$T_OUT"

t_done
