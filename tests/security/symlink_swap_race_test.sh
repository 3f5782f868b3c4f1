#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A symlink swapped between the check and the exec. Alice owns a link in her docroot and
# flips it, as fast as she can, between her own script, bob's script and a root-owned file
# (and a directory link between her directory and bob's docroot), while requests for it run.
# suwrap walks the path by descriptor, judges the link by its owner and its target's, runs
# the physical path it checked and re-checks device and inode as alice before the exec; so
# every response is alice's output or a refusal, and nothing of bob's or root's ever runs,
# as anyone. The same links, standing still, are refused with check path.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE BOB
t_config
t_markers_dir

t_dir "$ALICE" 0755 "$ALICE_DOCROOT/adir"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/alice.php" '<?php echo "ALICE-RAN uid=", posix_getuid(), " file=", $_SERVER["SCRIPT_FILENAME"];'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/adir/x.php" '<?php echo "ALICE-RAN uid=", posix_getuid(), " file=", $_SERVER["SCRIPT_FILENAME"];'
t_file "$BOB" 0644 "$BOB_DOCROOT/bob.php" "<?php @touch('$T_MARKS/bob-' . posix_getuid()); echo 'BOB-RAN';"
t_file "$BOB" 0644 "$BOB_DOCROOT/x.php" "<?php @touch('$T_MARKS/bobdir-' . posix_getuid()); echo 'BOB-RAN';"
t_dir root 0755 "$T_ROOT/rootfiles"
t_file root 0644 "$T_ROOT/rootfiles/root.php" "<?php @touch('$T_MARKS/root-' . posix_getuid()); echo 'ROOT-RAN';"

# alice_link NAME TARGET: a symlink owned by alice in her docroot.
alice_link() {
  ln -sfn "$2" "$ALICE_DOCROOT/$1"
  chown -h "$ALICE:$ALICE" "$ALICE_DOCROOT/$1"
}

t_case "standing still: alice's link to her own script runs her script, by its physical path"
alice_link race.php alice.php
t_attack_script "$ALICE_DOCROOT/race.php"
t_ran_only
t_expect "alice's output, as alice, with SCRIPT_FILENAME the physical path" \
  t_contains "$(t_body)" "ALICE-RAN uid=$ALICE_UID file=$ALICE_DOCROOT/alice.php"

t_case "standing still: alice's link to bob's script"
alice_link race.php "$BOB_DOCROOT/bob.php"
t_attack_script "$ALICE_DOCROOT/race.php"
t_refused_only 1 403 path

t_case "standing still: alice's link to a root-owned file"
alice_link race.php "$T_ROOT/rootfiles/root.php"
t_attack_script "$ALICE_DOCROOT/race.php"
t_refused_only 1 403 path

t_case "standing still: alice's directory link to bob's docroot"
alice_link racedir "$BOB_DOCROOT"
t_attack_script "$ALICE_DOCROOT/racedir/x.php"
t_refused_only 1 403 path

t_case "standing still: a root-owned link to alice's own script"
ln -sfn alice.php "$ALICE_DOCROOT/rootlink.php"
t_attack_script "$ALICE_DOCROOT/rootlink.php"
t_refused_only 1 403 path

# The race: alice flips both links with rename(2) (atomic) until told to stop or 10 s pass.
t_case "the race: links flipped while requests run"
alice_link race.php alice.php
alice_link racedir adir
rm -f "$T_MARKS"/*
setpriv --reuid="$ALICE" --regid="$ALICE_GID" --init-groups "$T_PYTHON" -I -S - "$ALICE_DOCROOT" "$T_ROOT/stop-flipping" \
  "$BOB_DOCROOT/bob.php" "$T_ROOT/rootfiles/root.php" "$BOB_DOCROOT" <<'PY' &
import os, sys, time
docroot, stop, bob_file, root_file, bob_dir = sys.argv[1:6]
files = ["alice.php", bob_file, root_file]
dirs = ["adir", bob_dir]
tmp = docroot + "/.flip"
end = time.monotonic() + 10
i = 0
while time.monotonic() < end and not os.path.exists(stop):
    os.symlink(files[i % 3], tmp); os.replace(tmp, docroot + "/race.php")
    os.symlink(dirs[i % 2], tmp); os.replace(tmp, docroot + "/racedir")
    i += 1
    if i % 50 == 0:
        time.sleep(0.001)
PY
flipper=$!
t_on_cleanup "kill $flipper"

t_log_mark
race_mark=$T_LOG_MARK
alice_runs=0 refusals=0 unexpected=0 foreign=0 requests=0
deadline=$((SECONDS + 5))
for i in $(seq 1 150); do
  [ "$SECONDS" -lt "$deadline" ] || break
  requests=$i
  if [ $((i % 2)) = 0 ]; then t_script "$ALICE_DOCROOT/race.php"; else t_script "$ALICE_DOCROOT/racedir/x.php"; fi
  if t_contains "$T_OUT" BOB-RAN || t_contains "$T_OUT" ROOT-RAN; then
    foreign=$((foreign + 1))
    echo "     foreign output: $(printf '%s' "$T_OUT" | head -c 200)"
  elif [ "$T_RC" = 0 ] && [ "$T_STATUS" = 200 ] && t_contains "$T_OUT" "ALICE-RAN uid=$ALICE_UID file=$ALICE_DOCROOT/"; then
    alice_runs=$((alice_runs + 1))
  elif [ "$T_RC" = 1 ] && { [ "$T_STATUS" = 403 ] || [ "$T_STATUS" = 404 ]; }; then
    refusals=$((refusals + 1))
  else
    unexpected=$((unexpected + 1))
    echo "     unexpected: exit $T_RC status $T_STATUS: $(printf '%s' "$T_OUT" | head -c 200)"
  fi
done
touch "$T_ROOT/stop-flipping"
wait "$flipper" || true
echo "     $requests requests: $alice_runs alice runs, $refusals refusals, $unexpected unexpected, $foreign foreign"

t_expect "no response ever held bob's or root's output" test "$foreign" = 0
t_expect "every response was alice's output or a refusal" test "$unexpected" = 0
t_expect "nothing of bob's or root's ran, as anyone (markers: $(t_markers))" test -z "$(t_markers)"
t_expect "the race was real: both alice's runs ($alice_runs) and refusals ($refusals) happened" \
  test "$alice_runs" -gt 0 -a "$refusals" -gt 0
T_LOG_MARK=$race_mark
race_log=$(t_log_new)
t_expect "every allow line of the race names alice" \
  eval '! printf "%s\n" "$race_log" | grep "^decision allow" | grep -vq "^decision allow null $ALICE "'
t_expect "the log stayed valid JSON Lines" t_log_valid

t_done
