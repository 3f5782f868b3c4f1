#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A set-uid or set-gid script in a docroot: a CGI program with the bit would run with its
# owner's ids wherever it is executed from, and a PHP file with it says its owner meant
# something unusual. suwrap refuses both (file_perms) and runs nothing; the same files
# without the bit run (the control), so the refusal is the bit's.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
t_config
t_markers_dir


t_case "control: the CGI program and the PHP file run without the bits"
t_file "$ALICE" 0755 "$ALICE_DOCROOT/plain.cgi" "$(t_marker_cgi plain.cgi)"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/plain.php" "$(t_marker_php plain.php)"
t_attack_script "$ALICE_DOCROOT/plain.cgi"
t_ran_only
t_attack_script "$ALICE_DOCROOT/plain.php"
t_ran_only
t_expect "both markers" test -e "$T_MARKS/plain.cgi" -a -e "$T_MARKS/plain.php"
rm -f "$T_MARKS"/*

for spec in 4755:suid.cgi 2755:sgid.cgi 6755:both.cgi 4750:suid-noother.cgi 4644:suid.php 2644:sgid.php; do
  mode=${spec%%:*} name=${spec#*:}
  case "$name" in *.cgi) content=$(t_marker_cgi "$name") ;; *) content=$(t_marker_php "$name") ;; esac
  t_file "$ALICE" "$mode" "$ALICE_DOCROOT/$name" "$content"
  t_case "$name (mode $mode)"
  t_expect "the bit is really set (mode $(stat -c %a "$ALICE_DOCROOT/$name"))" test "$(stat -c %a "$ALICE_DOCROOT/$name")" = "$mode"
  t_attack_script "$ALICE_DOCROOT/$name"
  t_refused_only 1 403 file_perms
done

t_case "action-handler mode: a set-uid file named by PATH_TRANSLATED"
t_attack_script "$T_SUWRAP" PATH_TRANSLATED="$ALICE_DOCROOT/suid.php" PATH_INFO=/suid.php
t_refused_only 1 403 file_perms

t_case "a set-uid script reached through alice's own symlink"
ln -s suid.cgi "$ALICE_DOCROOT/link.cgi"
chown -h "$ALICE:$ALICE" "$ALICE_DOCROOT/link.cgi"
t_attack_script "$ALICE_DOCROOT/link.cgi"
t_refused_only 1 403 file_perms

t_case "nothing with a set-uid or set-gid bit ran"
t_expect "no marker (got: $(t_markers))" test -z "$(t_markers)"

t_done
