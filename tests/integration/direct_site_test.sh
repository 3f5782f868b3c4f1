#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sites: suwrap-cgid --sites-dir keeps one socket per account file, and real
# nginx names each account's socket in that account's own server block. The first request
# on an account's socket starts its direct pool (through suwrap-cgid, as socket activation
# starts a service); then the account's php-cgi workers take the socket's connections
# themselves and suwrap-cgid serves none of them; a request for another account's script
# sent there is refused and logged; the idle pool ends and the socket starts the next one;
# the sockets follow the account files. The same per-site blocks through Apache
# (mod_proxy_fcgi) and Caddy (as its own user, through a group it shares with suwrap-cgid).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/cgid_site.sh"
command -v nginx >/dev/null || { echo "SKIP $T_NAME: nginx is not installed"; exit 77; }
: "${SUWRAP_CGID_BIN:?SUWRAP_CGID_BIN must name the built suwrap-cgid}"
t_require_warm
t_setup

WORKERS=2
IDLE=6
WALL=5
POOL_DIR=$T_ROOT/run/pools
SITES=$T_ROOT/run/sites
t_markers_dir
t_warm_site "$WORKERS" "$IDLE" "$WALL" direct=true
t_config mode='"account"'
t_account_for alice "$ALICE" "$ALICE_DOCROOT"
t_account_for bob "$BOB" "$BOB_DOCROOT"
for user in "$ALICE" "$BOB"; do
  t_file "$user" 0644 "$T_ROOT/home/$user/public_html/who.php" \
    '<?php header("Content-Type: text/plain"); echo "uid=", posix_getuid(), " ppid=", posix_getppid();'
done
t_file "$BOB" 0644 "$BOB_DOCROOT/bobs.php" "<?php touch('$T_MARKS/bobs-ran');"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/forked.php" \
  "<?php file_put_contents('$T_MARKS/forked.pid', getmypid()); if (pcntl_fork() === 0) exit(0); sleep(30); echo 'survived';"
touch -d '1 hour ago' "$ALICE_DOCROOT"/*.php "$BOB_DOCROOT"/*.php

t_on_cleanup "pkill -KILL -f '^$T_SUWRAP --pool\$'"
# Requests suwrap-cgid served itself (its debug line as each one ends).
served_by_cgid() { grep -c ' ended' "$T_CGID_LOG" || true; }
wait_for() {
  local _
  for _ in $(seq 1 100); do "$@" && return 0; sleep 0.1; done
  return 1
}

t_start_cgid --config "$SUWRAP_CONFIG_PATH" --pool-dir "$POOL_DIR" --sites-dir "$SITES" --log-level debug

t_case "sites: one socket per account file, reachable as suwrap-cgid's own is"
t_expect "alice.sock is a socket" wait_for test -S "$SITES/alice.sock"
t_expect "bob.sock is a socket" test -S "$SITES/bob.sock"
t_expect "alice.sock has suwrap-cgid's socket mode and owner (got $(stat -c '%U %a' "$SITES/alice.sock"))" \
  test "$(stat -c '%U %a' "$SITES/alice.sock")" = "$(stat -c '%U %a' "$T_CGID_SOCK")"
t_expect "the sites directory is suwrap-cgid's, writable by it alone" \
  test "$(stat -c '%U %a' "$SITES")" = "$T_CALLER 755"

# nginx: one server block per account, each naming its account's socket.
T_PORT=$(t_free_port)
BOB_PORT=$(t_free_port)
t_fill_template "$T_WEBSERVERS_DIR/nginx-suwrap.conf" "$T_ROOT/alice-site.conf" \
  LISTEN="127.0.0.1:$T_PORT" SERVER_NAME=alice.test DOCROOT="$ALICE_DOCROOT" SOCKET="$SITES/alice.sock"
t_fill_template "$T_WEBSERVERS_DIR/nginx-suwrap.conf" "$T_ROOT/bob-site.conf" \
  LISTEN="127.0.0.1:$BOB_PORT" SERVER_NAME=bob.test DOCROOT="$BOB_DOCROOT" SOCKET="$SITES/bob.sock"
cat "$T_ROOT/alice-site.conf" "$T_ROOT/bob-site.conf" >"$T_ROOT/nginx-sites.conf"
t_start_nginx "$T_ROOT/nginx-sites.conf"
alice_url() { echo "http://127.0.0.1:$T_PORT/$1"; }
bob_url() { echo "http://127.0.0.1:$BOB_PORT/$1"; }

t_case "sites: the first request on alice's socket starts her pool, through suwrap-cgid"
t_log_mark
t_curl "$(alice_url who.php)"
t_expect "200 (got $T_STATUS $T_OUT)" test "$T_STATUS" = 200
t_expect "as alice (got $T_OUT)" test "$(t_field uid)" = "$ALICE_UID"
t_expect "one pool started for alice" test "$(t_allow_lines "$ALICE")" = 1
t_expect "suwrap-cgid served that first request" test "$(served_by_cgid)" -ge 1
parent=$(t_field ppid)

t_case "sites: then alice's workers take her socket's connections, without suwrap-cgid"
before=$(served_by_cgid)
workers=$(pgrep -P "$parent" | sort | tr '\n' ' ')
for _ in 1 2 3 4 5 6; do t_curl "$(alice_url who.php)"; done
t_expect "the same workers serve them, none replaced ('$workers', then '$(pgrep -P "$parent" | sort | tr '\n' ' ')')" \
  test -n "$workers" -a "$(pgrep -P "$parent" | sort | tr '\n' ' ')" = "$workers"
t_expect "200 as alice (got $T_STATUS $T_OUT)" test "$(t_field uid)" = "$ALICE_UID"
t_expect "the same pool ($parent, got $(t_field ppid))" test -n "$parent" -a "$(t_field ppid)" = "$parent"
t_expect "suwrap-cgid served none of them ($before before, $(served_by_cgid) after)" test "$(served_by_cgid)" = "$before"

t_case "sites: bob's socket is bob's"
t_curl "$(bob_url who.php)"
t_expect "as bob (got $T_STATUS $T_OUT)" test "$(t_field uid)" = "$BOB_UID"

t_case "sites: a process forked from a worker cannot end the worker's request for the gate"
# The child's exit ends its copy of the request (and answers the client); the worker sleeps
# on, still in its request: the gate kills it at wall_seconds, and logs it, not at the idle end.
t_log_mark
t_curl "$(alice_url forked.php)" --max-time 20
forked_pid=$(cat "$T_MARKS/forked.pid" 2>/dev/null || echo none)
t_expect "the worker did not run to its end (got $T_STATUS $T_OUT)" sh -c "! printf '%s' \"\$1\" | grep -q survived" _ "$T_OUT"
t_expect "the worker ($forked_pid) is killed" \
  wait_for sh -c "for _ in \$(seq 1 $((WALL + 3))); do kill -0 $forked_pid 2>/dev/null || exit 0; sleep 1; done; exit 1"
t_expect "at its wall_seconds, logged as such" \
  wait_for sh -c "$(declare -f t_log_new); T_LOG='$T_LOG' T_LOG_MARK=$T_LOG_MARK T_PYTHON='$T_PYTHON' t_log_new | grep '^decision error exec $ALICE ' | grep -q wall_seconds"

t_case "sites: another account's script sent to alice's socket is refused there, and logged"
t_log_mark
# bob's block with alice's socket: what a wrong panel entry would do.
t_fill_template "$T_WEBSERVERS_DIR/nginx-suwrap.conf" "$T_ROOT/wrong.conf" \
  LISTEN="127.0.0.1:$BOB_PORT" SERVER_NAME=bob.test DOCROOT="$BOB_DOCROOT" SOCKET="$SITES/alice.sock"
cat "$T_ROOT/alice-site.conf" "$T_ROOT/wrong.conf" >"$T_ROOT/nginx-sites.conf"
kill -HUP "$T_WEB_PID"
for _ in $(seq 1 50); do
  t_curl "$(bob_url bobs.php)"
  [ "$T_STATUS" = 403 ] && break
  sleep 0.1
done
# Until nginx has reloaded, bob's block still names bob's socket (and bobs.php runs there).
rm -f "$T_MARKS/bobs-ran"
t_curl "$(bob_url bobs.php)"
t_expect "403 (got $T_STATUS)" test "$T_STATUS" = 403
t_expect "bob's script did not run" t_no_marker bobs-ran
t_expect "logged for alice's pool with check owner" \
  wait_for sh -c "$(declare -f t_log_new); T_LOG='$T_LOG' T_LOG_MARK=$T_LOG_MARK T_PYTHON='$T_PYTHON' t_log_new | grep -q '^decision deny owner $ALICE '"

t_case "sites: an idle pool ends; the socket starts the next one"
bound() { grep -c "sites: listening on $SITES/alice.sock " "$T_CGID_LOG" || true; }
bound_before=$(bound)
t_expect "no process of alice after idle_seconds" t_wait_no_procs_of "$ALICE"
# (An inode number proves nothing here: tmpfs gives a new socket the number just freed.)
t_expect "the socket her pool had is not taken back: a fresh one is bound at its path" \
  wait_for sh -c "[ \"\$(grep -c 'sites: listening on $SITES/alice.sock ' '$T_CGID_LOG')\" -gt $bound_before ] && [ -S '$SITES/alice.sock' ]"
# With no pool of alice's, suwrap-cgid serves her socket, and refuses what her pool would.
rm -f "$T_MARKS/bobs-ran"
t_curl "$(bob_url bobs.php)"
t_expect "bob's script on alice's socket, no pool running: 403 too (got $T_STATUS)" test "$T_STATUS" = 403
t_expect "it did not run" t_no_marker bobs-ran
t_expect "suwrap-cgid says why" grep -q "on the site socket of account alice: not that account's direct pool" "$T_CGID_LOG"
t_expect "alice.sock is still there" test -S "$SITES/alice.sock"
t_log_mark
t_curl "$(alice_url who.php)"
t_expect "200 as alice (got $T_STATUS $T_OUT)" test "$(t_field uid)" = "$ALICE_UID"
t_expect "a new pool" test "$(t_allow_lines "$ALICE")" = 1

t_case "sites: the sockets follow the account files"
t_account_for carol "$BOB" "$T_ROOT/home/carol"
t_expect "carol.sock appears" wait_for test -S "$SITES/carol.sock"
rm -f "$T_CONF_DIR/accounts.d/carol.toml"
t_expect "and goes with her account file" wait_for test ! -e "$SITES/carol.sock"

t_stop_web nginx

# alice_through_her_socket: her who.php through the web server in front, four times: as
# alice, one pool, and suwrap-cgid serves none of the last three.
alice_through_her_socket() {
  local parent before
  t_curl "$(alice_url who.php)"
  t_expect "200 as alice (got $T_STATUS $T_OUT)" test "$T_STATUS $(t_field uid)" = "200 $ALICE_UID"
  parent=$(t_field ppid)
  before=$(served_by_cgid)
  for _ in 1 2 3; do t_curl "$(alice_url who.php)"; done
  t_expect "the same pool, without suwrap-cgid ($before, then $(served_by_cgid))" \
    test -n "$parent" -a "$(t_field ppid)" = "$parent" -a "$(served_by_cgid)" = "$before"
}

# ---- Apache (mod_proxy_fcgi), the same per-site block as deploy-apache.md shows ---------------
if command -v apache2 >/dev/null; then
  T_PORT=$(t_free_port)
  t_fill_template "$T_WEBSERVERS_DIR/apache-suwrap-fcgi.conf" "$T_ROOT/apache-alice.conf" \
    PORT="$T_PORT" SERVER_NAME=alice.test DOCROOT="$ALICE_DOCROOT" SOCKET="$SITES/alice.sock"
  t_start_apache "$T_ROOT/apache-alice.conf" proxy proxy_fcgi
  t_case "sites, Apache: alice's block reaches her pool through her socket"
  alice_through_her_socket
  t_stop_web "Apache mod_proxy_fcgi"
else
  echo "note: apache2 is not installed; the Apache cases did not run"
fi

# ---- Caddy, as its own user: the sites' sockets given to a group it shares with suwrap-cgid,
# and its uid allowed (suwrap-cgid serves a site's first connection itself) ----------------
if command -v caddy >/dev/null && id caddy >/dev/null 2>&1; then
  t_stop_cgid
  T_CGID_GROUPS="$(id -g "$T_CALLER"),$(id -g caddy)"
  t_start_cgid --config "$SUWRAP_CONFIG_PATH" --pool-dir "$POOL_DIR" --sites-dir "$SITES" --log-level debug \
    --socket-group "$(id -gn caddy)" --allow-uid "$(id -u caddy)"
  t_expect "alice.sock is made again, for group $(id -gn caddy)" wait_for test -S "$SITES/alice.sock"
  t_expect "its group is caddy's, mode 0660 (got $(stat -c '%G %a' "$SITES/alice.sock"))" \
    test "$(stat -c '%G %a' "$SITES/alice.sock")" = "$(id -gn caddy) 660"
  T_PORT=$(t_free_port)
  t_fill_template "$T_WEBSERVERS_DIR/caddy-suwrap.Caddyfile" "$T_ROOT/caddy-alice.Caddyfile" \
    SITE="http://127.0.0.1:$T_PORT" DOCROOT="$ALICE_DOCROOT" SOCKET="$SITES/alice.sock"
  t_start_caddy "$T_ROOT/caddy-alice.Caddyfile"
  t_case "sites, Caddy: alice's block reaches her pool through her socket"
  alice_through_her_socket
  t_stop_web Caddy
else
  echo "note: Debian's caddy package is not installed; the Caddy cases did not run"
fi

t_stop_cgid
t_expect "the sites' sockets are removed" test ! -e "$SITES/alice.sock" -a ! -e "$SITES/bob.sock"
t_done
