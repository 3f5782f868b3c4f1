#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Real Apache 2.4 in two deployments of docs/deploy-apache.md, driven by curl on
# 127.0.0.1: mod_proxy_fcgi in front of suwrap-cgid (install/webservers/
# apache-suwrap-fcgi.conf), and suwrap itself as the Action handler of PHP files under
# mod_cgid, suPHP-style (install/webservers/apache-suwrap-action.conf).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/cgid_site.sh"
command -v apache2 >/dev/null || { echo "SKIP $T_NAME: apache2 is not installed"; exit 77; }
t_web_site
t_fill_template "$T_WEBSERVERS_DIR/apache-suwrap-fcgi.conf" "$T_ROOT/apache-fcgi.conf" \
  PORT="$T_PORT" SERVER_NAME=localhost DOCROOT="$T_ROOT/home" SOCKET="$T_CGID_SOCK"
t_start_apache "$T_ROOT/apache-fcgi.conf" proxy proxy_fcgi

t_web_cases "Apache mod_proxy_fcgi"
t_stop_web "Apache mod_proxy_fcgi"

# ---- suwrap as the Action handler under mod_cgid: no daemon -------------------------------
T_PORT=$(t_free_port)
t_fill_template "$T_WEBSERVERS_DIR/apache-suwrap-action.conf" "$T_ROOT/apache-action.conf" \
  PORT="$T_PORT" SERVER_NAME=localhost DOCROOT="$T_ROOT/home" WRAPPER="$T_SUWRAP"
t_start_apache "$T_ROOT/apache-action.conf" cgid actions alias

t_case "Apache Action + mod_cgid: PHP runs as the script's owner"
lines=$(t_log_count)
t_curl "$(t_url "$ALICE" whoami.php)"
t_expect "200 (got $T_STATUS)" test "$T_STATUS" = 200
t_expect "alice's uid (got: $T_OUT)" test "$T_OUT" = "uid=$ALICE_UID"
t_expect "suwrap logged the script itself, not its own path" \
  test "$(t_log_field decision script)" = "$ALICE_DOCROOT/whoami.php"
t_curl "$(t_url "$BOB" whoami.php)"
t_expect "bob's script: bob's uid (got: $T_OUT)" test "$T_OUT" = "uid=$BOB_UID"

t_case "Apache Action + mod_cgid: a 10 MB POST reaches the script whole"
sha=$(sha256sum <"$T_ROOT/body10m" | cut -d' ' -f1)
t_curl "$(t_url "$BOB" sha.php)" --data-binary @"$T_ROOT/body10m" -H 'Content-Type: application/octet-stream'
t_expect "the script's sha256 and length match (got: $T_OUT)" test "$T_OUT" = "$sha $((10 * 1024 * 1024))"

t_case "Apache Action + mod_cgid: 20 concurrent requests, two owners alternating"
args=()
for i in $(seq 1 20); do
  if ((i % 2)); then user=$ALICE; else user=$BOB; fi
  args+=(-o "$T_ROOT/act.$i" "$(t_url "$user" whoami.php?ms=300)")
done
curl -sS --parallel --parallel-immediate --parallel-max 20 "${args[@]}" 2>"$T_ROOT/stderr" || true
wrong=0
for i in $(seq 1 20); do
  if ((i % 2)); then user=$ALICE_UID; else user=$BOB_UID; fi
  [ "$(cat "$T_ROOT/act.$i" 2>/dev/null)" = "uid=$user" ] || wrong=$((wrong + 1))
done
t_expect "all answered by the right uid ($wrong wrong)" test "$wrong" = 0

t_case "Apache Action + mod_cgid: path info after the script is refused (suwrap(8), CHECKS)"
t_curl "$(t_url "$ALICE" whoami.php/extra)"
t_expect "404 (got $T_STATUS)" test "$T_STATUS" = 404
t_expect "and nothing ran" eval '! t_contains "$T_OUT" uid='

t_case "Apache Action + mod_cgid: a file that is not a script is never run"
t_curl "$(t_url "$ALICE" photo.jpg)"
t_expect "served as a file, not run (got: $T_OUT)" test "$T_OUT" = '<?php echo "ran";'

t_case "Apache Action + mod_cgid: the wrapper cannot be requested straight from outside"
lines=$(t_log_count)
t_curl "http://127.0.0.1:$T_PORT/suwrap-action/$ALICE/public_html/whoami.php"
t_expect "403 (got $T_STATUS)" test "$T_STATUS" = 403
t_expect "suwrap did not run" test "$(t_log_count)" = "$lines"

t_case "Apache Action + mod_cgid: a client that disconnects ends its script"
t_curl "$(t_url "$ALICE" drip.php?s=30)" --max-time 1
t_expect "curl gave up after 1 s (curl exit $T_RC)" test "$T_RC" = 28
procs=""
for _ in $(seq 1 100); do
  procs=$(ps -o pid=,args= -u "$ALICE" || true)
  [ -z "$procs" ] && break
  sleep 0.1
done
t_expect "no process of alice's left${procs:+ (left: $procs)}" test -z "$procs"
t_stop_web "Apache Action + mod_cgid"

t_done
