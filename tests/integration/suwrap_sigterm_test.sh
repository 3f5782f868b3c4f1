#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# SIGTERM to suwrap (what suwrap-cgid sends at --timeout; a client that goes away is not one)
# ends the whole request: relayed to the handler's group, and a group that ignores it
# is killed after the grace — nothing of it is left running as the account.
source "$(dirname "$0")/../lib/common.sh"
t_setup ALICE
t_config
t_file "$ALICE" 0755 "$ALICE_DOCROOT/stubborn.cgi" '#!/bin/sh
trap "" TERM
printf "Content-Type: text/plain\r\n\r\nstarted\n"
sleep 300 &
sleep 300
'

t_case "a handler that ignores SIGTERM is ended after suwrap gets SIGTERM"
env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SCRIPT_FILENAME="$ALICE_DOCROOT/stubborn.cgi" \
  /usr/bin/setpriv --reuid="$T_CALLER" --regid="$T_CALLER" --init-groups "$T_SUWRAP" \
  </dev/null >"$T_ROOT/out" 2>/dev/null &
suwrap_pid=$!
for _ in $(seq 1 100); do grep -q started "$T_ROOT/out" 2>/dev/null && break; sleep 0.1; done
t_expect "the handler started" grep -q started "$T_ROOT/out"
# setpriv execs suwrap in place, so $! is suwrap's pid.
kill -TERM "$suwrap_pid"
ended=no
for _ in $(seq 1 200); do
  if ! kill -0 "$suwrap_pid" 2>/dev/null; then ended=yes; break; fi
  sleep 0.1
done
t_expect "suwrap ended" test "$ended" = yes
wait "$suwrap_pid" 2>/dev/null || true
t_expect "no process of alice is left" bash -c "! pgrep -u '$ALICE' >/dev/null"
t_expect "the exit line says the handler was killed" test "$(t_log_field exit signal)" = 9

t_done
