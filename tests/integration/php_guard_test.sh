#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# suwrap's PHP guard (php/suwrap_guard.c) on its own, with the real php-cgi: loaded from its
# root-owned directory through PHP_INI_SCAN_DIR, after Debian's own ini directory (so after
# opcache), it compiles the primary script only when it is the file SUWRAP_SCRIPT_ID names
# (device, inode, change time; owned by the process's user), and nothing of the request runs
# otherwise (403). In FastCGI mode (as warm workers run) a script already in opcache's cache
# is refused too when the identity does not match: the guard wraps opcache's compile hook.
source "$(dirname "$0")/../lib/common.sh"
t_setup
if [ -z "$T_PHP_GUARD_DIR" ]; then
  echo "SKIP $T_NAME: the test build's PHP guard is not installed (SUWRAP_PHP_GUARD_SO)"
  exit 77
fi
t_user ALICE
t_markers_dir
t_file "$ALICE" 0644 "$ALICE_DOCROOT/page.php" "<?php touch('$T_MARKS/page-ran'); echo 'PAGE uid=', posix_getuid();"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/other.php" "<?php touch('$T_MARKS/other-ran'); echo 'OTHER';"
# opcache leaves alone a file changed in the last 2 s (opcache.file_update_protection): the
# FastCGI cases below need page.php cached, whenever they run.
touch -d '1 hour ago' "$ALICE_DOCROOT/page.php" "$ALICE_DOCROOT/other.php"

identity() { "$T_PYTHON" -c 'import os, sys; s = os.stat(sys.argv[1]); print("%d:%d:%d:%d" % (s.st_dev, s.st_ino, s.st_ctime_ns // 10**9, s.st_ctime_ns % 10**9))' "$1"; }

# php SCRIPT [NAME=VALUE]...: php-cgi as alice in CGI mode, the way suwrap runs it.
php() {
  local script=$1
  shift
  rm -f "$T_MARKS"/*
  T_OUT=$(env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET REDIRECT_STATUS=200 PATH=/usr/bin:/bin \
    PHPRC="$T_PHP_INI_DIR/php.ini" PHP_INI_SCAN_DIR=":$T_PHP_GUARD_DIR" SCRIPT_FILENAME="$script" "$@" \
    /usr/bin/setpriv --reuid="$ALICE" --regid="$ALICE_GID" --init-groups "$T_PHP_CGI" 2>"$T_ROOT/stderr") || true
  T_ERR=$(cat "$T_ROOT/stderr")
  T_STATUS=$(printf '%s' "$T_OUT" | sed -n '1,/^\r\{0,1\}$/p' | { grep -i '^Status:' || true; } | sed -n 1p | awk '{print $2}')
  T_STATUS=${T_STATUS:-200}
}

t_case "php-cgi loads the guard after opcache"
T_OUT=$(env -i PHP_INI_SCAN_DIR=":$T_PHP_GUARD_DIR" PHPRC="$T_PHP_INI_DIR/php.ini" "$T_PHP_CGI" -v)
t_expect "php-cgi -v names suwrap_guard" t_contains "$T_OUT" "with suwrap_guard"

t_case "the checked identity: the page runs"
php "$ALICE_DOCROOT/page.php" SUWRAP_SCRIPT_ID="$(identity "$ALICE_DOCROOT/page.php")"
t_expect "it ran as alice" t_contains "$T_OUT" "PAGE uid=$ALICE_UID"

for wrong in other missing malformed changed; do
  t_case "the identity is $wrong: nothing runs"
  case $wrong in
    other) php "$ALICE_DOCROOT/page.php" SUWRAP_SCRIPT_ID="$(identity "$ALICE_DOCROOT/other.php")" ;;
    missing) php "$ALICE_DOCROOT/page.php" ;;
    malformed) php "$ALICE_DOCROOT/page.php" SUWRAP_SCRIPT_ID="$(identity "$ALICE_DOCROOT/page.php")x" ;;
    changed)
      id=$(identity "$ALICE_DOCROOT/page.php")
      chmod 0640 "$ALICE_DOCROOT/page.php"; chmod 0644 "$ALICE_DOCROOT/page.php"  # same inode, new change time
      php "$ALICE_DOCROOT/page.php" SUWRAP_SCRIPT_ID="$id" ;;
  esac
  t_expect "403 (got $T_STATUS)" test "$T_STATUS" = 403
  t_expect "the page did not run" t_no_marker page-ran other-ran
  t_expect "the reason is in PHP's error log" t_contains "$T_ERR" "suwrap_guard: refused"
done

# .user.ini files are judged from / down by name, as php-cgi reads them: a directory on the
# way that is a link (alice's own, to her own directory) is not one the guard judged, and
# none of them is read; the same page reached without the link gets its .user.ini.
t_dir "$ALICE" 0755 "$ALICE_DOCROOT/real"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/real/page.php" "<?php echo 'REAL-PAGE';"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/real/prepend.php" "<?php echo 'PREPEND-RAN ';"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/real/.user.ini" "auto_prepend_file=$ALICE_DOCROOT/real/prepend.php"
ln -s real "$ALICE_DOCROOT/link"
chown -h "$ALICE:$ALICE_GID" "$ALICE_DOCROOT/link"
t_case "control: a trusted .user.ini on the way is read"
php "$ALICE_DOCROOT/real/page.php" DOCUMENT_ROOT="$ALICE_DOCROOT" SUWRAP_SCRIPT_ID="$(identity "$ALICE_DOCROOT/real/page.php")"
t_expect "its prepend ran, then the page" t_contains "$T_OUT" "PREPEND-RAN REAL-PAGE"
t_case "a link among the directories: no .user.ini is read"
php "$ALICE_DOCROOT/link/page.php" DOCUMENT_ROOT="$ALICE_DOCROOT" SUWRAP_SCRIPT_ID="$(identity "$ALICE_DOCROOT/real/page.php")"
t_expect "the page ran" t_contains "$T_OUT" "REAL-PAGE"
t_expect "without the prepend" sh -c "! printf '%s' \"\$1\" | grep -q PREPEND-RAN" _ "$T_OUT"
t_expect "the guard says why" t_contains "$T_ERR" "files not read for $ALICE_DOCROOT/link/page.php: cannot open a directory on the way: Not a directory"

t_case "FastCGI mode with opcache: a cached script with another identity is refused"
sock="$T_ROOT/php.sock"
mkdir -p "$T_ROOT/fcgi"
chown "$ALICE" "$T_ROOT/fcgi"
sock="$T_ROOT/fcgi/php.sock"
env -i PATH=/usr/bin:/bin PHPRC="$T_PHP_INI_DIR/php.ini" PHP_INI_SCAN_DIR=":$T_PHP_GUARD_DIR" PHP_FCGI_CHILDREN=0 \
  /usr/bin/setpriv --reuid="$ALICE" --regid="$ALICE_GID" --init-groups \
  "$T_PHP_CGI" -d opcache.enable=1 -d opcache.validate_timestamps=0 -b "$sock" </dev/null >/dev/null 2>&1 &
fcgi_pid=$!
t_on_cleanup "kill $fcgi_pid"
for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
fcgi() {
  rm -f "$T_MARKS"/*
  T_OUT=$(env -i REQUEST_METHOD=GET GATEWAY_INTERFACE=CGI/1.1 SCRIPT_FILENAME="$ALICE_DOCROOT/page.php" "$@" \
    timeout 30 /usr/bin/cgi-fcgi -bind -connect "$sock" 2>&1) || true
  T_STATUS=$(printf '%s' "$T_OUT" | { grep -i '^Status:' || true; } | sed -n 1p | awk '{print $2}')
  T_STATUS=${T_STATUS:-200}
}
fcgi SUWRAP_SCRIPT_ID="$(identity "$ALICE_DOCROOT/page.php")"
t_expect "the checked identity runs (and is cached)" t_contains "$T_OUT" "PAGE uid=$ALICE_UID"
fcgi SUWRAP_SCRIPT_ID="$(identity "$ALICE_DOCROOT/other.php")"
t_expect "another identity: 403 (got $T_STATUS)" test "$T_STATUS" = 403
t_expect "the cached page did not run" t_no_marker page-ran
fcgi SUWRAP_SCRIPT_ID="$(identity "$ALICE_DOCROOT/page.php")"
t_expect "the checked identity runs again" t_contains "$T_OUT" "PAGE uid=$ALICE_UID"
# A FIFO in the cached script's place: opcache answers without opening it, so the guard's is
# the one open, and it must not wait there for a writer (cgi-fcgi gives up after 30 s).
mv "$ALICE_DOCROOT/page.php" "$ALICE_DOCROOT/page.php.real"
mkfifo "$ALICE_DOCROOT/page.php"
chown "$ALICE:$ALICE_GID" "$ALICE_DOCROOT/page.php"
fcgi SUWRAP_SCRIPT_ID="$(identity "$ALICE_DOCROOT/page.php")"
t_expect "a FIFO in the cached script's place: 403 (got $T_STATUS)" test "$T_STATUS" = 403
t_expect "the cached page did not run" t_no_marker page-ran
rm "$ALICE_DOCROOT/page.php"
mv "$ALICE_DOCROOT/page.php.real" "$ALICE_DOCROOT/page.php"
fcgi SUWRAP_SCRIPT_ID="$(identity "$ALICE_DOCROOT/page.php")"
t_expect "the worker was not held by the FIFO: the page runs next" t_contains "$T_OUT" "PAGE uid=$ALICE_UID"

t_done
