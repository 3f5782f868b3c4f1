#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# suwrap-cgid's limits, straight on its socket: a client that does not read and a program
# that does not read hold the daemon's memory down (backpressure, never buffering), the
# queue in front of --max-children, and --timeout once the answer has started, including
# for a program that ignores SIGTERM.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/cgid_site.sh"
t_setup
t_cgid_site
t_start_cgid --max-children 2 --queue-timeout 10
t_site_env "$ALICE" whoami.php
t_fcgi "${T_ENV[@]}"
[ "$(t_body)" = "uid=$ALICE_UID" ] || { echo "FAIL $T_NAME: warm-up request failed: $T_OUT $T_ERR" >&2; exit 1; }
t_cgid_baseline
hwm_start=$(t_cgid_hwm_kb)
# Growth of the daemon's peak RSS allowed while 50 MB pass through it: a few of its
# 64 KiB buffers, never the data.
growth_limit_kb=$((8 * 1024))

t_case "a client that does not read: the script is held back, the daemon buffers nothing"
t_site_env "$ALICE" stream.php mb=50
(t_fcgi_client slowread 3 "${T_ENV[@]}" REQUEST_METHOD=GET; echo "$T_OUT $T_ERR" >"$T_ROOT/slowread.out") &
reader=$!
sleep 1.5
t_expect "the script is still running, held back by the full pipe" \
  eval 'ps -o args= -u "$ALICE" | grep -q php-cgi'
wait "$reader" || true
t_expect "then the whole answer arrives (got: $(cat "$T_ROOT/slowread.out"))" \
  t_contains "$(cat "$T_ROOT/slowread.out")" "body_bytes=$((50 * 1024 * 1024)) app_status=0"
hwm=$(t_cgid_hwm_kb)
t_expect "the daemon's peak RSS grew by $((hwm - hwm_start)) kB, less than $growth_limit_kb kB" \
  test $((hwm - hwm_start)) -lt "$growth_limit_kb"

t_case "a program that reads its body late: the body waits, the daemon buffers nothing"
head -c $((50 * 1024 * 1024)) /dev/urandom >"$T_ROOT/body50m"
T_STDIN="$T_ROOT/body50m"
t_site_env "$BOB" late-sha.cgi
t_fcgi "${T_ENV[@]}" REQUEST_METHOD=POST CONTENT_LENGTH=$((50 * 1024 * 1024)) CONTENT_TYPE=application/octet-stream
T_STDIN=/dev/null
t_expect "the program's sha256 of the body matches" test "$(t_body)" = "$(sha256sum <"$T_ROOT/body50m" | cut -d' ' -f1)"
hwm=$(t_cgid_hwm_kb)
t_expect "the daemon's peak RSS grew by $((hwm - hwm_start)) kB, less than $growth_limit_kb kB" \
  test $((hwm - hwm_start)) -lt "$growth_limit_kb"
rm -f "$T_ROOT/body50m"
t_nothing_left "$ALICE" "$BOB"

t_case "--max-children 2: six requests queue and are all served, never more than two at once"
started=$SECONDS
clients=()
for i in 1 2 3 4 5 6; do
  if ((i % 2)); then user=$ALICE; else user=$BOB; fi
  t_site_env "$user" whoami.php ms=600
  env -i REQUEST_METHOD=GET "${T_ENV[@]}" /usr/bin/cgi-fcgi -bind -connect "$T_CGID_SOCK" >"$T_ROOT/queue.$i" 2>&1 &
  clients+=($!)
done
most=0
for _ in $(seq 1 200); do
  n=$({ ps -o pid= --ppid "$T_CGID_PID" || true; } | wc -l)
  ((n > most)) && most=$n
  running=0
  for pid in "${clients[@]}"; do t_alive "$pid" && running=1; done
  [ "$running" = 0 ] && break
  sleep 0.05
done
for pid in "${clients[@]}"; do wait "$pid" || true; done
elapsed=$((SECONDS - started))
served=0
for i in 1 2 3 4 5 6; do
  if ((i % 2)); then user=$ALICE_UID; else user=$BOB_UID; fi
  t_contains "$(cat "$T_ROOT/queue.$i")" "uid=$user" && served=$((served + 1))
done
t_expect "all six served by the right uid ($served)" test "$served" = 6
t_expect "at most two suwrap at once (saw $most)" test "$most" -le 2
t_expect "in three rounds of 0.6 s, not one ($elapsed s)" test "$elapsed" -ge 1
t_nothing_left "$ALICE" "$BOB"
t_stop_cgid

t_start_cgid --timeout 2
t_site_env "$ALICE" whoami.php
t_fcgi "${T_ENV[@]}"
t_cgid_baseline

t_case "--timeout after the answer started: the answer is cut short, no 504 inside it"
t_site_env "$ALICE" drip.php s=20
started=$SECONDS
t_fcgi "${T_ENV[@]}"
t_expect "the request ended at the timeout ($((SECONDS - started)) s)" test $((SECONDS - started)) -le 5
t_expect "the body has the script's dots and no ending (got: $(t_body | head -c 80))" \
  eval 't_contains "$(t_body)" "..." && ! t_contains "$(t_body)" done && ! t_contains "$T_OUT" 504'
t_expect "suwrap's exit line shows the script was signalled" test "$(t_log_field exit signal)" != null
t_nothing_left "$ALICE" "$BOB"

t_case "--timeout and a program that ignores SIGTERM: its group is ended by suwrap, nothing outlives it"
# The daemon's SIGTERM is relayed to the group and ignored; suwrap then kills the group
# after its 2 s grace. The daemon must never kill suwrap itself: the group would run on
# without a supervisor. (wall_seconds, 14 s for bob here, is longer than the daemon's own
# 10 s wait after its SIGTERM, so that a daemon that kills suwrap then fails.)
t_account bob "user = \"$BOB\"
docroots = [\"$BOB_DOCROOT\"]
[limits]
wall_seconds = 14"
t_site_env "$BOB" stubborn.cgi
env -i REQUEST_METHOD=GET "${T_ENV[@]}" /usr/bin/cgi-fcgi -bind -connect "$T_CGID_SOCK" >"$T_ROOT/stubborn.out" 2>&1 &
client=$!
started=$SECONDS
t_wait_children 1 || true
supervisor="" left=""
for _ in $(seq 1 250); do  # 25 s
  # suwrap counts as gone once it is a zombie: it has exited.
  supervisor=$(ps -o pid=,stat= --ppid "$T_CGID_PID" | awk '$2 !~ /^Z/' || true)
  # Read after suwrap is seen gone: suwrap ends the whole group before it exits.
  [ -z "$supervisor" ] && { left=$(ps -o pid=,ppid=,args= -u "$BOB" || true); break; }
  sleep 0.1
done
t_expect "suwrap ended ($((SECONDS - started)) s after the start; the daemon's --timeout and suwrap's 2 s grace)" \
  eval 'test -z "$supervisor" && test $((SECONDS - started)) -le 20'
t_expect "no process of bob's outlived it${left:+ (left running: $left)}" test -z "$left"
t_wait_exit "$client" 40
t_expect "the answer had started, and never finished (got: $(tail -n 2 "$T_ROOT/stubborn.out" | tr '\n' ' '))" \
  eval 't_contains "$(cat "$T_ROOT/stubborn.out")" started && ! t_contains "$(cat "$T_ROOT/stubborn.out")" finished'
# suwrap ends a group that ignores the relayed SIGTERM after its 2 s grace, well before
# wall_seconds: killed, not timed out.
t_expect "suwrap logged the handler as killed (signal $(t_log_field exit signal))" test "$(t_log_field exit signal)" = 9
t_expect "before wall_seconds: not timed out" test "$(t_log_field exit timed_out)" = false
rm -f "$T_CONF_DIR/accounts.d/bob.toml"
t_nothing_left "$ALICE" "$BOB"
t_stop_cgid
t_done
