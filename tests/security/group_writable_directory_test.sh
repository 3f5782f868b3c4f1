#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A directory on the script's way that its group may write: any member of the group could
# replace the script between requests, or plant one, and have it run as the owner. suwrap
# refuses it (dir_perms) wherever it is on the way (the script's directory, the docroot, the
# home above it), also with the sticky bit, and runs nothing; with allow_dir_group_writable
# the same tree runs (the control), so the refusal is the mode's.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
t_config
t_markers_dir

t_dir "$ALICE" 0775 "$ALICE_DOCROOT/uploads"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/uploads/x.php" "$(t_marker_php uploads)"
t_dir "$ALICE" 1775 "$ALICE_DOCROOT/sticky"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/sticky/x.php" "$(t_marker_php sticky)"
t_dir "$ALICE" 1777 "$ALICE_DOCROOT/tmp"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/tmp/x.php" "$(t_marker_php tmp)"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/top.php" "$(t_marker_php top)"

t_case "the script's own directory is group-writable"
t_attack_script "$ALICE_DOCROOT/uploads/x.php"
t_refused_only 1 403 dir_perms

t_case "a group-writable directory with the sticky bit"
t_attack_script "$ALICE_DOCROOT/sticky/x.php"
t_refused_only 1 403 dir_perms

t_case "a world-writable sticky directory (1777)"
t_attack_script "$ALICE_DOCROOT/tmp/x.php"
t_refused_only 1 403 dir_perms

t_case "the docroot itself is group-writable"
chmod 0775 "$ALICE_DOCROOT"
t_attack_script "$ALICE_DOCROOT/top.php"
t_refused_only 1 403 dir_perms
chmod 0755 "$ALICE_DOCROOT"

t_case "the home above the docroot is group-writable"
chmod 0775 "$ALICE_HOME"
t_attack_script "$ALICE_DOCROOT/top.php"
t_refused_only 1 403 dir_perms
chmod 0755 "$ALICE_HOME"

t_case "action-handler mode: PATH_TRANSLATED in the group-writable directory"
t_attack_script "$T_SUWRAP" PATH_TRANSLATED="$ALICE_DOCROOT/uploads/x.php" PATH_INFO=/uploads/x.php
t_refused_only 1 403 dir_perms

t_case "nothing ran"
t_expect "no marker (got: $(t_markers))" test -z "$(t_markers)"

t_case "control: allow_dir_group_writable = true runs the same tree"
t_config 'allow_dir_group_writable=true'
t_attack_script "$ALICE_DOCROOT/uploads/x.php"
t_ran_only
t_expect "its marker" test -e "$T_MARKS/uploads"
t_case "allow_dir_group_writable never allows a world-writable directory"
t_attack_script "$ALICE_DOCROOT/tmp/x.php"
t_refused_only 1 403 dir_perms
t_expect "no marker of it" t_no_marker tmp
t_config

t_done
