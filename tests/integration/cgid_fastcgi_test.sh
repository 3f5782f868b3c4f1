#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# suwrap-cgid on its own socket, driven by cgi-fcgi and by a small FastCGI client
# (tests/lib/fcgi_client.py): the protocol features of suwrap-cgid(8), who may connect,
# malformed streams, and the signals. The web servers in front of it are in
# cgid_nginx_test.sh, cgid_apache_test.sh and cgid_lighttpd_test.sh.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/cgid_site.sh"
t_setup
t_cgid_site
# No account series: to label one, the daemon opens the account index, which the first
# suwrap writes at a time of its own choosing (not in the racy window after a change), so
# its descriptor would appear between this suite's leak counts. cgid_prometheus_test
# tests the account series.
t_start_cgid --status-path /suwrap-status --metrics-accounts 0

t_case "cgi-fcgi: a request runs through suwrap and php-cgi as the script's owner"
t_site_env "$ALICE" whoami.php
t_fcgi "${T_ENV[@]}"
t_expect "cgi-fcgi exits 0 (got $T_RC)" test "$T_RC" = 0
t_expect "status 200" test "$T_STATUS" = 200
t_expect "body is alice's uid" test "$(t_body)" = "uid=$ALICE_UID"
t_expect "suwrap logged an allow for alice" test "$(t_log_field decision user)" = "$ALICE"
t_cgid_baseline

t_case "cgi-fcgi: bob's script runs as bob"
t_site_env "$BOB" whoami.php
t_fcgi "${T_ENV[@]}"
t_expect "body is bob's uid" test "$(t_body)" = "uid=$BOB_UID"

t_case "cgi-fcgi: a POST body reaches the script"
head -c 300000 /dev/urandom >"$T_ROOT/body"
t_site_env "$ALICE" sha.php
T_STDIN="$T_ROOT/body"
t_fcgi "${T_ENV[@]}" REQUEST_METHOD=POST CONTENT_LENGTH=300000 CONTENT_TYPE=application/octet-stream
T_STDIN=/dev/null
t_expect "sha256 and length match" test "$(t_body)" = "$(sha256sum <"$T_ROOT/body" | cut -d' ' -f1) 300000"

t_case "a refusal by suwrap comes back as its CGI response"
t_fcgi SCRIPT_FILENAME=/etc/passwd
t_expect "status 403 (got $T_STATUS)" test "$T_STATUS" = 403
t_expect "suwrap logged check docroot" test "$(t_log_field decision check)" = docroot

t_case "a missing script is suwrap's 404"
t_site_env "$ALICE" nothere.php
t_fcgi "${T_ENV[@]}"
t_expect "status 404 (got $T_STATUS)" test "$T_STATUS" = 404

t_case "FCGI_KEEP_CONN: three requests on one connection, which stays open"
t_site_env "$BOB" whoami.php
t_fcgi_client keepconn 3 "${T_ENV[@]}" REQUEST_METHOD=GET
t_expect "all three served, connection open (got: $(echo $T_OUT) $T_ERR)" \
  test "$(echo $T_OUT)" = "served 3 open=True uid=$BOB_UID uid=$BOB_UID uid=$BOB_UID"

t_case "FCGI_GET_VALUES is answered"
t_fcgi_client getvalues
t_expect "a GET_VALUES_RESULT: no multiplexing (got: $T_OUT)" \
  eval 't_contains "$T_OUT" "type=10 " && t_contains "$T_OUT" " FCGI_MPXS_CONNS=0"'

t_case "--status-path answers with Prometheus metrics, without starting suwrap"
lines=$(t_log_count)
t_status_page SCRIPT_FILENAME=/nonexistent
t_expect "status 200" test "$T_STATUS" = 200
t_expect "metrics text (got: $(t_body | head -c 200))" t_contains "$(t_body)" "# TYPE"
t_expect "suwrap was not run" test "$(t_log_count)" = "$lines"

t_case "FCGI_ABORT_REQUEST closes the script's output: its next write fails, and PHP ends it"
t_site_env "$ALICE" drip.php s=30
t_fcgi_client abort 1 "${T_ENV[@]}" REQUEST_METHOD=GET
t_expect "the request ends with END_REQUEST (got: $T_OUT $T_ERR)" t_contains "$T_OUT" "ended"
t_expect "suwrap's exit line: not signalled, not timed out (signal $(t_log_field exit signal))" \
  eval 'test "$(t_log_field exit signal)" = null && test "$(t_log_field exit timed_out)" = false'
t_nothing_left "$ALICE" "$BOB"

t_case "a param value holding a NUL is refused whole, suwrap never starts"
lines=$(t_log_count)
t_site_env "$ALICE" whoami.php
t_fcgi_client nul "${T_ENV[@]}" REQUEST_METHOD=GET
t_expect "400 or closed (got: $T_OUT $T_ERR)" eval 't_contains "$T_OUT" "Status: 400" || test "$T_OUT" = closed'
t_expect "suwrap was not run" test "$(t_log_count)" = "$lines"

t_case "a malformed record stream closes that connection; the daemon serves on"
t_fcgi_client garbage
t_expect "connection closed without an answer (got: $T_OUT $T_ERR)" test "$T_OUT" = closed
t_expect "logged as malformed" grep -q 'malformed FastCGI stream' "$T_CGID_LOG"
t_site_env "$ALICE" whoami.php
t_fcgi "${T_ENV[@]}"
t_expect "the next request is served" test "$(t_body)" = "uid=$ALICE_UID"
t_nothing_left "$ALICE" "$BOB"

t_case "SIGHUP reopens --log-file"
mv "$T_CGID_LOG" "$T_CGID_LOG.1"
kill -HUP "$T_CGID_PID"
for _ in $(seq 1 50); do [ -s "$T_CGID_LOG" ] && break; sleep 0.1; done
t_expect "a new log file, written by the daemon" grep -q 'SIGHUP: log reopened' "$T_CGID_LOG"
t_expect "the new file is the daemon's own" test "$(stat -c %U "$T_CGID_LOG")" = "$T_CALLER"
t_site_env "$ALICE" whoami.php
t_fcgi "${T_ENV[@]}"
t_expect "still serving" test "$(t_body)" = "uid=$ALICE_UID"
t_expect "the old file got nothing more" eval '! grep -q "SIGHUP" "$T_CGID_LOG.1"'

t_case "SIGTERM with a request in flight: the request completes, then the daemon exits 0"
t_site_env "$BOB" nap.php s=2
env -i REQUEST_METHOD=GET "${T_ENV[@]}" /usr/bin/cgi-fcgi -bind -connect "$T_CGID_SOCK" >"$T_ROOT/inflight.out" 2>&1 &
inflight=$!
t_expect "the request is running" t_wait_children 1
kill -TERM "$T_CGID_PID"
sleep 0.3
t_fcgi_client probe REQUEST_METHOD=GET
t_expect "no new connection is served meanwhile (got: $T_OUT)" test "$T_OUT" != served
t_wait_exit "$inflight" 10
t_expect "the request got its whole answer" t_contains "$(cat "$T_ROOT/inflight.out")" "slept 2"
t_wait_exit "$T_CGID_PID" 10
t_expect "the daemon exited 0 (got $T_EXIT)" test "$T_EXIT" = 0
t_expect "and removed its socket" test ! -e "$T_CGID_SOCK"
t_expect "no process of the test users left" eval 'test -z "$(ps -o pid= -u "$ALICE" -u "$BOB")"'

# ---- who may connect --------------------------------------------------------------------
t_user CAROL
t_start_cgid --socket-mode 0666 --allow-uid "$CAROL_UID"

t_case "a peer with an --allow-uid is served"
t_site_env "$ALICE" whoami.php
t_fcgi_client --as "$CAROL" request "${T_ENV[@]}" REQUEST_METHOD=GET
t_expect "served as alice (got: $T_OUT $T_ERR)" t_contains "$T_OUT" "uid=$ALICE_UID"

t_case "a local user who is not allowed is closed before anything is read, and logged"
t_user MALLORY
lines=$(t_log_count)
t_site_env "$ALICE" whoami.php
t_fcgi_client --as "$MALLORY" probe "${T_ENV[@]}" REQUEST_METHOD=GET
t_expect "connection closed, nothing answered (got: $T_OUT $T_ERR)" test "$T_OUT" = closed
t_expect "the daemon logged the refused uid" grep -q "closed a connection from uid $MALLORY_UID" "$T_CGID_LOG"
t_expect "nothing was spawned: suwrap's log has no new line" test "$(t_log_count)" = "$lines"
t_nothing_left "$ALICE" "$BOB" "$CAROL" "$MALLORY"
t_stop_cgid

t_done
