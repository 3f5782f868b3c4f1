#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A warm pool's processes keep the groups and limits suwrap gave them when the pool started.
# Revoke a supplementary group of the account user (gpasswd -d), or lower memory_mb in its
# account file, while its pool serves: no request may be served with the old groups (a
# root:group 0640 file still read) or the old limits. The pool is retired at the next
# request (500, "the pool restarts") or sooner (the gate sees /etc change), and the request
# after that is served by a new pool with the new groups and limits. A pool also ends at
# its handler's max_lifetime_seconds, whatever its traffic.
source "$(dirname "$0")/../lib/common.sh" cgid
if [ -z "${SUWRAP_GATE_BIN:-}" ] || [[ "${SUWRAP_GATE_PATH:-}" != /run/suwrap-tests/* ]] || [ -z "${SUWRAP_CGID_BIN:-}" ]; then
  echo "SKIP $T_NAME: needs the test build's gate and suwrap-cgid"
  exit 77
fi
t_setup ALICE

GROUP="swgrp$(( $$ % 10000 ))$RANDOM"
groupadd "$GROUP"
t_on_cleanup "groupdel '$GROUP'"
gpasswd -a "$ALICE" "$GROUP" >/dev/null
mkdir -p "$T_ROOT/secret"
chmod 0755 "$T_ROOT/secret"
printf 'the secret\n' >"$T_ROOT/secret/file"
chown "root:$GROUP" "$T_ROOT/secret/file"
chmod 0640 "$T_ROOT/secret/file"

t_file "$ALICE" 0644 "$ALICE_DOCROOT/probe.php" "<?php
\$s = @file_get_contents('$T_ROOT/secret/file');
\$l = posix_getrlimit();
echo \$s === false ? 'secret:denied' : 'secret:read', ' mem:', \$l['soft totalmem'], ' pid:', getmypid(), \"\\n\";"
touch -h -d '1 hour ago' "$ALICE_DOCROOT/probe.php"

T_CONFIG_TABLES=$(t_php_handler php-warm php-fcgi workers=1 idle_seconds=60 max_lifetime_seconds=6)
t_config
# account MEMORY_MB [GROUP]: alice's account file, with that memory limit (and group key).
account() {
  t_account alice "user = \"$ALICE\"
${2:+group = \"$2\"
}docroots = [\"$ALICE_DOCROOT\"]
[limits]
memory_mb = $1"
}
account 512
t_start_cgid --pool-dir "$T_ROOT/run/pools"
probe() { t_fcgi SCRIPT_FILENAME="$ALICE_DOCROOT/probe.php"; }
# probes N TEXT: N probes; SHOWN counts the answers that held TEXT, T_OUT is the last one.
probes() {
  local _
  SHOWN=0
  for _ in $(seq 1 "$1"); do
    probe
    if t_contains "$T_OUT" "$2"; then SHOWN=$((SHOWN + 1)); fi
  done
}
gate_pid() { pgrep -u "$ALICE" -f "^$SUWRAP_GATE_PATH " | sed -n 1p; }

t_case "control: the pool runs as alice with her group and her limits"
probe
t_expect "the secret is read through the group (got: $T_OUT)" t_contains "$T_OUT" "secret:read"
t_expect "memory_mb 512" t_contains "$T_OUT" "mem:$((512 * 1024 * 1024))"

t_case "alice leaves the group while her pool serves: nothing is read with the old group"
first_gate=$(gate_pid)
gpasswd -d "$ALICE" "$GROUP" >/dev/null
probes 6 secret:read
t_expect "no request read the secret after the change ($SHOWN did)" test "$SHOWN" = 0
t_expect "and the last one was served, without the group (got: $T_OUT)" t_contains "$T_OUT" "secret:denied"
t_expect "by a new pool" test "$(gate_pid)" != "$first_gate"

t_case "the account file's group taken away while the pool serves: nothing runs with the old group"
gpasswd -a "$ALICE" "$GROUP" >/dev/null
account 512 "$GROUP"
gpasswd -d "$ALICE" "$GROUP" >/dev/null  # only the account file's group key gives it now
for _ in 1 2 3 4; do probe; done
t_expect "with the account's group, the secret is read (got: $T_OUT)" t_contains "$T_OUT" "secret:read"
account 512
probes 4 secret:read
t_expect "no request read the secret once the group key was gone ($SHOWN did)" test "$SHOWN" = 0
t_expect "the last one was served without it (got: $T_OUT)" t_contains "$T_OUT" "secret:denied"

t_case "memory_mb lowered in the account file while the pool serves: nothing runs with the old limit"
account 300
probes 4 "mem:$((512 * 1024 * 1024))"
t_expect "no request ran with memory_mb 512 after the change ($SHOWN did)" test "$SHOWN" = 0
t_expect "the last one ran with 300 (got: $T_OUT)" t_contains "$T_OUT" "mem:$((300 * 1024 * 1024))"

t_case "a pool ends at max_lifetime_seconds, busy or not"
probe
before=$(gate_pid)
for _ in $(seq 1 16); do probe; sleep 0.5; done
probe
t_expect "served (got: $T_OUT)" t_contains "$T_OUT" "secret:denied"
t_expect "by another pool than 8 s ago ($before, now $(gate_pid))" test -n "$(gate_pid)" -a "$(gate_pid)" != "$before"

t_stop_cgid
t_done
