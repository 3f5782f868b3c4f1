# SPDX-License-Identifier: Apache-2.0
# The site every cgid_*_test.sh suite serves (sourced after common.sh, not run): two
# accounts, ALICE and BOB, with the same PHP scripts in their docroots, and a PHP ini of
# the tests' own so that a 10 MB body is within post_max_size.
#
# Scripts (in each docroot):
#   whoami.php?ms=N   sleeps N ms, then prints "uid=<uid>"
#   echo.php          the request body, byte for byte
#   sha.php           "<sha256 of the body> <bytes read>"
#   stream.php?mb=N   N MiB of 'x' in 64 KiB chunks, flushed one by one
#   drip.php?s=N      a dot every 100 ms for N seconds, flushed, then "done"
#   nap.php?s=N       sleeps N seconds with no output, then "slept N"
#   late-sha.cgi      sleeps 2 s before it reads its body, then "<sha256 of the body>"
#   stubborn.cgi      ignores SIGTERM, SIGHUP and SIGINT, starts its answer, sleeps 30 s

# The daemon and the web servers it stands behind.
source "$(dirname "${BASH_SOURCE[0]}")/cgid.sh"

# t_site_ini CONTENT: the tests' own PHP ini, $T_ROOT/etc/php/php.ini (root's, 0644).
t_site_ini() {
  mkdir -p "$T_ROOT/etc/php"
  chmod 0755 "$T_ROOT/etc" "$T_ROOT/etc/php"
  t_file root 0644 "$T_ROOT/etc/php/php.ini" "$1"
}

# t_warm_site WORKERS IDLE WALL [KEY=VALUE...]: ALICE and BOB, the tests' own PHP ini with
# opcache on, and a configuration whose .php handler "php-warm" is of kind php-fcgi (WORKERS
# workers, 500 requests each, idle_seconds IDLE, and these keys), .cgi per request, and
# wall_seconds WALL.
t_warm_site() {
  t_user ALICE
  t_user BOB
  t_site_ini 'output_buffering = 0
display_errors = stderr
opcache.enable = 1
opcache.validate_timestamps = 1
opcache.file_update_protection = 0
'
  T_CONFIG_TABLES="$(t_php_handler php-warm php-fcgi "ini_dir=\"$T_ROOT/etc/php\"" "workers=$1" max_requests=500 \
    "idle_seconds=$2" "${@:4}")

[handlers.cgi]
kind = \"cgi\"
extensions = [\".cgi\"]

[limits]
wall_seconds = $3"
  t_config
}

# For the warm suites: t_field NAME, NAME=VALUE's value in T_OUT (letters, digits, '-');
# t_allow_lines USER, the allow lines for USER since the log mark (one per pool started);
# t_procs_of USER, how many processes USER has; t_wait_no_procs_of USER, until none (15 s).
t_field() { printf '%s' "$T_OUT" | sed -n "s/.*$1=\([-a-z0-9]*\).*/\1/p"; }
t_allow_lines() { t_log_new | awk -v u="$1" '$1 == "decision" && $2 == "allow" && $4 == u' | wc -l; }
t_procs_of() { ps -o pid= -u "$1" 2>/dev/null | wc -l; }
t_wait_no_procs_of() {
  local _
  for _ in $(seq 1 150); do [ "$(t_procs_of "$1")" = 0 ] && return 0; sleep 0.1; done
  return 1
}

# t_web_site: the set-up of a suite that puts a web server in front of the daemon: the
# scratch tree (t_setup), the site (t_cgid_site), the daemon with its defaults, and a free
# port for the web server (T_PORT).
t_web_site() {
  t_setup
  t_cgid_site
  t_start_cgid
  T_PORT=$(t_free_port)
}

t_cgid_site() {
  t_user ALICE
  t_user BOB
  # Output buffering off: flush() reaches the daemon at once, so a streamed response
  # is really streamed.
  t_site_ini 'post_max_size = 64M
upload_max_filesize = 64M
memory_limit = 128M
output_buffering = 0
display_errors = stderr
'
  T_CONFIG_TABLES="$(t_php_handler php php "ini_dir=\"$T_ROOT/etc/php\"")

[handlers.cgi]
kind = \"cgi\"
extensions = [\".cgi\"]"
  t_config
  local user docroot
  for user in "$ALICE" "$BOB"; do
    docroot=$T_ROOT/home/$user/public_html
    t_file "$user" 0644 "$docroot/whoami.php" \
      '<?php usleep((int)($_GET["ms"] ?? 0) * 1000); header("Content-Type: text/plain"); echo "uid=", posix_getuid();'
    t_file "$user" 0644 "$docroot/echo.php" \
      '<?php header("Content-Type: application/octet-stream"); stream_copy_to_stream(fopen("php://input", "rb"), fopen("php://output", "wb"));'
    t_file "$user" 0644 "$docroot/sha.php" \
      '<?php $h = hash_init("sha256"); $n = hash_update_stream($h, fopen("php://input", "rb")); header("Content-Type: text/plain"); echo hash_final($h), " ", $n;'
    t_file "$user" 0644 "$docroot/stream.php" \
      '<?php header("Content-Type: application/octet-stream"); $chunk = str_repeat("x", 65536); $n = 16 * (int)($_GET["mb"] ?? 1); for ($i = 0; $i < $n; $i++) { echo $chunk; flush(); }'
    t_file "$user" 0644 "$docroot/drip.php" \
      '<?php header("Content-Type: text/plain"); $n = 10 * (int)($_GET["s"] ?? 1); for ($i = 0; $i < $n; $i++) { echo "."; flush(); usleep(100000); } echo "done";'
    t_file "$user" 0644 "$docroot/nap.php" \
      '<?php sleep((int)($_GET["s"] ?? 1)); header("Content-Type: text/plain"); echo "slept ", (int)($_GET["s"] ?? 1);'
    # php-cgi reads a POST body whole before the script starts; a CGI program reads it
    # when it wants to.
    t_file "$user" 0755 "$docroot/late-sha.cgi" '#!/bin/sh
sleep 2
printf "Content-Type: text/plain\r\n\r\n"
sha256sum | cut -d" " -f1
'
    t_file "$user" 0755 "$docroot/stubborn.cgi" '#!/bin/sh
trap "" TERM HUP INT
printf "Content-Type: text/plain\r\n\r\nstarted\n"
sleep 30
echo finished
'
  done
}

# t_site_env USER SCRIPT [QUERY]: the FastCGI params a web server would send for
# /<user>/public_html/SCRIPT?QUERY, as NAME=VALUE words in T_ENV.
t_site_env() {
  local user=$1 script=$2 query=${3-}
  T_ENV=(SCRIPT_FILENAME="$T_ROOT/home/$user/public_html/$script" SCRIPT_NAME="/$user/public_html/$script"
    DOCUMENT_ROOT="$T_ROOT/home" REQUEST_URI="/$user/public_html/$script${query:+?$query}" QUERY_STRING="$query")
}

# ---- the same cases through any web server ------------------------------------------------
# A web server serving $T_ROOT/home as its document root on 127.0.0.1:$T_PORT, with the
# daemon (t_start_cgid) behind it on $T_CGID_SOCK. Each URL is /<user>/public_html/X.

T_HWM_LIMIT_KB=$((64 * 1024))  # the daemon's peak RSS after a 10 MB body and a 50 MB answer

t_url() { echo "http://127.0.0.1:$T_PORT/$1/public_html/$2"; }

# t_curl URL [CURL ARGS...]: the body in T_OUT, the HTTP status in T_STATUS.
t_curl() {
  local url=$1
  shift
  T_RC=0
  T_OUT=$(curl -sS -o "$T_ROOT/curl.body" -w '%{http_code}' "$@" "$url" 2>"$T_ROOT/stderr") || T_RC=$?
  T_STATUS=$T_OUT
  T_OUT=$(tr -d '\000' <"$T_ROOT/curl.body" 2>/dev/null || true)
  T_ERR=$(cat "$T_ROOT/stderr")
}

# t_warm_cgid: one request through the web server, then the descriptor baseline.
t_warm_cgid() {
  t_curl "$(t_url "$ALICE" whoami.php)"
  [ "$T_OUT" = "uid=$ALICE_UID" ] || { echo "FAIL $T_NAME: warm-up request failed: $T_STATUS $T_OUT $T_ERR" >&2; exit 1; }
  t_cgid_baseline
}

# t_web_cases SERVER: the cases every web server in front of the daemon must pass. The
# daemon must be running with its defaults; it is restarted with other limits on the
# way and stopped at the end.
t_web_cases() {
  local server=$1 i

  t_case "$server: SCRIPT_FILENAME is the file, PATH_INFO follows it"
  t_file "$ALICE" 0644 "$ALICE_DOCROOT/route.php" '<?php echo $_SERVER["PATH_INFO"] ?? "-", " ", $_SERVER["SCRIPT_FILENAME"];'
  t_curl "$(t_url "$ALICE" route.php/some/route)"
  t_expect "200 (got $T_STATUS)" test "$T_STATUS" = 200
  t_expect "PATH_INFO and SCRIPT_FILENAME (got: $T_OUT)" test "$T_OUT" = "/some/route $ALICE_DOCROOT/route.php"

  t_warm_cgid

  t_case "$server: GET runs the script as its owner"
  t_curl "$(t_url "$ALICE" whoami.php)"
  t_expect "200 (got $T_STATUS)" test "$T_STATUS" = 200
  t_expect "alice's uid" test "$T_OUT" = "uid=$ALICE_UID"
  t_curl "$(t_url "$BOB" whoami.php)"
  t_expect "bob's script: bob's uid" test "$T_OUT" = "uid=$BOB_UID"

  t_case "$server: a file that is not a script is never run"
  t_file "$ALICE" 0644 "$ALICE_DOCROOT/photo.jpg" '<?php echo "ran";'
  t_curl "$(t_url "$ALICE" photo.jpg/x.php)"
  t_expect "photo.jpg/x.php is refused (got $T_STATUS)" eval 'test "$T_STATUS" = 404 || test "$T_STATUS" = 403'
  t_expect "and did not run" eval '! t_contains "$T_OUT" ran'

  t_case "$server: POST of 10 MB reaches the script whole"
  head -c $((10 * 1024 * 1024)) /dev/urandom >"$T_ROOT/body10m"
  local sha
  sha=$(sha256sum <"$T_ROOT/body10m" | cut -d' ' -f1)
  t_curl "$(t_url "$BOB" sha.php)" --data-binary @"$T_ROOT/body10m" -H 'Content-Type: application/octet-stream'
  t_expect "200 (got $T_STATUS)" test "$T_STATUS" = 200
  t_expect "the script's sha256 and length match (got: $T_OUT)" test "$T_OUT" = "$sha $((10 * 1024 * 1024))"
  t_curl "$(t_url "$BOB" echo.php)" --data-binary @"$T_ROOT/body10m" -H 'Content-Type: application/octet-stream'
  t_expect "echoed back byte for byte" test "$(sha256sum <"$T_ROOT/curl.body" | cut -d' ' -f1)" = "$sha"

  t_case "$server: a 50 MB streamed answer, the daemon's memory stays small"
  set +e
  T_OUT=$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' "$(t_url "$ALICE" stream.php?mb=50)" 2>"$T_ROOT/stderr")
  set -e
  t_expect "200 and 52428800 bytes (got $T_OUT)" test "$T_OUT" = "200 52428800"
  local hwm
  hwm=$(t_cgid_hwm_kb)
  t_expect "the daemon's peak RSS ${hwm} kB is below $T_HWM_LIMIT_KB kB" test "$hwm" -lt "$T_HWM_LIMIT_KB"

  t_case "$server: keep-alive: several requests on one client connection"
  set +e
  T_OUT=$(curl -sS -w ' %{http_code} %{num_connects}\n' "$(t_url "$ALICE" whoami.php)" "$(t_url "$BOB" whoami.php)" \
    "$(t_url "$ALICE" whoami.php)" 2>"$T_ROOT/stderr")
  set -e
  t_expect "three answers by the right owners over one connection (got: $(echo $T_OUT))" \
    test "$(echo $T_OUT)" = "uid=$ALICE_UID 200 1 uid=$BOB_UID 200 0 uid=$ALICE_UID 200 0"

  t_case "$server: 50 concurrent requests, two owners alternating"
  local args=() user
  for i in $(seq 1 50); do
    if ((i % 2)); then user=$ALICE; else user=$BOB; fi
    args+=(-o "$T_ROOT/par.$i" "$(t_url "$user" whoami.php?ms=500)")
  done
  local started=$SECONDS
  curl -sS --parallel --parallel-immediate --parallel-max 50 "${args[@]}" 2>"$T_ROOT/stderr" || true
  local wrong=0
  for i in $(seq 1 50); do
    if ((i % 2)); then user=$ALICE_UID; else user=$BOB_UID; fi
    [ "$(cat "$T_ROOT/par.$i" 2>/dev/null)" = "uid=$user" ] || wrong=$((wrong + 1))
  done
  t_expect "all 50 answered by the right uid ($wrong wrong)" test "$wrong" = 0
  t_expect "at once, not one after another ($((SECONDS - started)) s for 50 x 0.5 s)" test $((SECONDS - started)) -lt 10
  t_nothing_left "$ALICE" "$BOB"

  t_case "$server: a client that disconnects mid-answer: its script's next write fails, and PHP ends it"
  t_curl "$(t_url "$ALICE" drip.php?s=30)" --max-time 1
  t_expect "curl gave up after 1 s (curl exit $T_RC)" test "$T_RC" = 28
  t_nothing_left "$ALICE" "$BOB"
  # Not signalled (php-fpm does not kill it either): PHP's own abort handling ended it.
  t_expect "suwrap's exit line: not signalled, not timed out (signal $(t_log_field exit signal))" \
    eval 'test "$(t_log_field exit signal)" = null && test "$(t_log_field exit timed_out)" = false'

  t_case "$server: a malformed record stream on the socket does not disturb the daemon"
  t_fcgi_client garbage
  t_expect "that connection is closed (got: $T_OUT)" test "$T_OUT" = closed
  t_curl "$(t_url "$BOB" whoami.php)"
  t_expect "the next request is served" test "$T_OUT" = "uid=$BOB_UID"
  t_nothing_left "$ALICE" "$BOB"
  t_stop_cgid

  t_start_cgid --timeout 2
  t_warm_cgid
  t_case "$server: a script that runs past --timeout gets 504 and is ended"
  t_curl "$(t_url "$ALICE" nap.php?s=20)" --max-time 15
  t_expect "504 (got $T_STATUS)" test "$T_STATUS" = 504
  t_nothing_left "$ALICE" "$BOB"
  t_stop_cgid

  t_start_cgid --max-children 1 --queue-timeout 1
  t_warm_cgid
  t_case "$server: a full daemon answers 503 after --queue-timeout"
  curl -sS -o "$T_ROOT/first.body" -w '%{http_code}' "$(t_url "$BOB" nap.php?s=3)" >"$T_ROOT/first.status" 2>&1 &
  local first=$!
  t_expect "the first request holds the only child" t_wait_children 1
  t_curl "$(t_url "$ALICE" whoami.php)"
  t_expect "the second gets 503 (got $T_STATUS)" test "$T_STATUS" = 503
  t_wait_exit "$first" 10
  t_expect "the first completes with 200 (got $(cat "$T_ROOT/first.status"))" test "$(cat "$T_ROOT/first.status")" = 200
  t_expect "and its body" test "$(cat "$T_ROOT/first.body")" = "slept 3"
  t_nothing_left "$ALICE" "$BOB"
  t_stop_cgid
}
