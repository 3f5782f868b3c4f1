#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fault (issue 13, item 7c): an account's gate is killed (SIGKILL, the OOM killer). The next
# request for that account got 502 ("not reachable (connect: No such file or directory):
# retiring it"), though nothing of it had reached any pool. A request that finds its pool
# dead before a byte of it was sent is served by a new pool, and so is the one after it.
# Checked right after the kill (the supervisor may not have ended yet) and after a pause
# (it has), six times over (the race it closes is lost often, not always).
source "$(dirname "$0")/../lib/common.sh" cgid
t_setup
t_require_warm
t_user ALICE
T_CONFIG_TABLES=$(t_php_handler php-warm php-fcgi workers=2 max_requests=100 idle_seconds=30)
t_config
t_file "$ALICE" 0644 "$ALICE_DOCROOT/who.php" '<?php echo "uid=", posix_getuid(), " gate=", posix_getppid();'
t_start_cgid --pool-dir "$T_ROOT/run/pools"
t_on_cleanup "pkill -KILL -f '^$T_SUWRAP --pool\$'"

gate_pid() { pgrep -u "$ALICE" -f "^$SUWRAP_GATE_PATH " | sed -n 1p; }
ask() { t_fcgi SCRIPT_FILENAME="$ALICE_DOCROOT/who.php"; }

t_case "control: the first request starts alice's pool"
ask
t_expect "200 as alice (got $T_STATUS)" t_contains "$T_OUT" "uid=$ALICE_UID"
for round in 1 2 3 4 5 6; do
  for pause in 0 1; do
    t_case "round $round: the gate is killed, the next request comes ${pause}s later"
    gate=$(gate_pid)
    t_expect "a gate runs (pid ${gate:-none})" test -n "$gate"
    [ -n "$gate" ] && kill -KILL "$gate"
    sleep "$pause"
    ask
    t_expect "served by a new pool: 200 as alice (got $T_STATUS: $(printf '%s' "$T_OUT" | tail -n 1))" \
      t_contains "$T_OUT" "uid=$ALICE_UID"
    ask
    t_expect "and the request after it too (got $T_STATUS)" t_contains "$T_OUT" "uid=$ALICE_UID"
  done
done

t_stop_cgid
t_done
