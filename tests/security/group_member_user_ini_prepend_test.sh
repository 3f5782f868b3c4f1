#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attack (issue 13, item 1): carol shares a group with alice. With allow_dir_group_writable
# = true, alice's shared directory (alice:devs, mode 2775) is carol's to write too. Without
# any race, carol puts her own .x.php there and a .user.ini saying
# auto_prepend_file=.../.x.php: php-cgi reads that .user.ini for alice's page.php and runs
# carol's file as alice, before alice's page — logged as an ordinary allow for alice. The
# same through a warm pool. suwrap's PHP guard reads no .user.ini that someone other than
# alice or root could have written, and runs no auto_prepend_file or auto_append_file that
# someone else could have written: alice's page runs, carol's code never runs as alice.
# Controls: a .user.ini and a prepend file that only alice can write are honoured; alice's
# own .user.ini naming a prepend in the shared directory refuses the request (403), and
# nothing of it runs.
source "$(dirname "$0")/../lib/common.sh" security cgid
t_setup
t_require_warm
t_shared_with_carol
t_markers_dir

# alice's tree: shared/ (t_shared_with_carol) is group-writable for devs; own/ and lib/ are alice's alone.
t_file "$ALICE" 0644 "$SHARED/page.php" '<?php echo "ALICE-PAGE uid=", posix_getuid(), "\n";'
t_dir "$ALICE" 0755 "$ALICE_DOCROOT/own"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/own/page.php" '<?php echo "ALICE-PAGE uid=", posix_getuid(), "\n";'
t_dir "$ALICE" 0755 "$ALICE_HOME/lib"
t_file "$ALICE" 0644 "$ALICE_HOME/lib/prepend.php" '<?php echo "ALICE-PREPEND\n";'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/own/.user.ini" "auto_prepend_file=$ALICE_HOME/lib/prepend.php"
t_dir "$ALICE" 0755 "$ALICE_DOCROOT/own2"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/own2/page.php" "<?php touch('$T_MARKS/own2-page-ran'); echo 'ALICE-PAGE';"
t_file "$ALICE" 0644 "$SHARED/lib.php" '<?php echo "SHARED-LIB\n";'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/own2/.user.ini" "auto_prepend_file=$SHARED/lib.php"

# As carol, no race needed (the issue's commands).
setpriv --reuid="$CAROL" --regid="$CAROL_GID" --init-groups sh -c "
  printf '<?php @touch(\"$T_MARKS/carol-ran-as-\" . posix_getuid()); echo \"CAROL-RAN uid=\", posix_getuid(), \"\\\\n\";\\n' >'$SHARED/.x.php'
  printf 'auto_prepend_file=$SHARED/.x.php\\n' >'$SHARED/.user.ini'"
[ "$(stat -c %U "$SHARED/.user.ini")" = "$CAROL" ] || { echo "FAIL $T_NAME: carol could not write into the shared directory" >&2; exit 1; }

# ask WHERE PAGE: one request for PAGE, per request (suwrap as www-data) or warm (through
# suwrap-cgid), with DOCUMENT_ROOT set as web servers set it (php-cgi reads .user.ini files
# from there down to the script's directory).
ask() {
  local params=(SCRIPT_FILENAME="$2" DOCUMENT_ROOT="$ALICE_DOCROOT" SCRIPT_NAME="/${2#"$ALICE_DOCROOT"/}")
  if [ "$1" = warm ]; then t_log_mark; t_fcgi "${params[@]}"; else t_attack "${params[@]}"; fi
}

for mode in request warm; do
  if [ "$mode" = request ]; then
    T_CONFIG_TABLES=$(t_php_tables php)
    t_config allow_dir_group_writable=true
  else
    T_CONFIG_TABLES=$(t_php_tables php-fcgi)
    t_config allow_dir_group_writable=true
    t_start_cgid --config "$SUWRAP_CONFIG_PATH" --pool-dir "$T_ROOT/run/pools"
  fi

  t_case "$mode: carol's .user.ini prepends her file to alice's page in the shared directory"
  rm -f "$T_MARKS"/*
  ask "$mode" "$SHARED/page.php"
  t_expect "carol's file did not run as alice (markers: $(t_markers))" t_no_marker "carol-ran-as-$ALICE_UID"
  t_expect "carol's output is not in the answer" sh -c "! printf '%s' \"\$1\" | grep -q CAROL-RAN" _ "$T_OUT"
  t_expect "alice's page ran as alice" t_contains "$T_OUT" "ALICE-PAGE uid=$ALICE_UID"

  t_case "$mode: carol's .user.ini names her file as auto_append_file"
  setpriv --reuid="$CAROL" --regid="$CAROL_GID" --init-groups sh -c "printf 'auto_append_file=$SHARED/.x.php\\n' >'$SHARED/.user.ini'"
  rm -f "$T_MARKS"/*
  ask "$mode" "$SHARED/page.php"
  t_expect "carol's file did not run as alice (markers: $(t_markers))" t_no_marker "carol-ran-as-$ALICE_UID"
  t_expect "alice's page ran as alice" t_contains "$T_OUT" "ALICE-PAGE uid=$ALICE_UID"
  setpriv --reuid="$CAROL" --regid="$CAROL_GID" --init-groups sh -c "printf 'auto_prepend_file=$SHARED/.x.php\\n' >'$SHARED/.user.ini'"

  t_case "$mode: control: a .user.ini and a prepend file only alice can write are honoured"
  ask "$mode" "$ALICE_DOCROOT/own/page.php"
  t_expect "alice's prepend ran, then her page" t_contains "$T_OUT" "ALICE-PREPEND"$'\n'"ALICE-PAGE uid=$ALICE_UID"

  t_case "$mode: alice's own .user.ini naming a prepend that the group can replace"
  rm -f "$T_MARKS"/*
  ask "$mode" "$ALICE_DOCROOT/own2/page.php"
  t_expect "refused with 403 (got $T_STATUS)" test "$T_STATUS" = 403
  t_expect "neither the prepend nor the page ran" sh -c "! printf '%s' \"\$1\" | grep -q 'SHARED-LIB\|ALICE-PAGE'" _ "$T_OUT"
  t_expect "the page left no marker" t_no_marker own2-page-ran

  if [ "$mode" = warm ]; then t_stop_cgid; fi
done

t_done
