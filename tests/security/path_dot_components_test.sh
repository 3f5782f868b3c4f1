#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A script path that is not in its one canonical form: '..', '.', '//', a trailing '/.' or
# '/', anywhere in SCRIPT_FILENAME or in PATH_TRANSLATED (action-handler mode). The kernel
# would resolve each of them to a real script, some to another user's; suwrap refuses them
# all before looking at the file system (check request) and runs nothing.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE BOB
t_config
t_markers_dir

t_dir "$ALICE" 0755 "$ALICE_DOCROOT/sub"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/ok.php" "<?php touch('$T_MARKS/alice'); echo 'ALICE-RAN';"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/sub/ok.php" "<?php touch('$T_MARKS/alice-sub'); echo 'ALICE-RAN';"
t_file "$BOB" 0644 "$BOB_DOCROOT/bob.php" "<?php touch('$T_MARKS/bob'); echo 'BOB-RAN';"

t_case "control: the canonical paths run"
t_attack_script "$ALICE_DOCROOT/ok.php"
t_ran_only
t_attack_script "$ALICE_DOCROOT/sub/ok.php"
t_ran_only
rm -f "$T_MARKS"/*

bad_paths=(
  "$ALICE_DOCROOT/sub/../ok.php"
  "$ALICE_DOCROOT/../public_html/ok.php"
  "$ALICE_DOCROOT/../../$BOB/public_html/bob.php"
  "$ALICE_DOCROOT/sub/../../../$BOB/public_html/bob.php"
  "$ALICE_DOCROOT/.."
  "$ALICE_DOCROOT//ok.php"
  "/$ALICE_DOCROOT/ok.php"
  "$ALICE_DOCROOT/sub//ok.php"
  "$ALICE_DOCROOT/./ok.php"
  "$ALICE_DOCROOT/sub/./ok.php"
  "/.$ALICE_DOCROOT/ok.php"
  "$ALICE_DOCROOT/ok.php/."
  "$ALICE_DOCROOT/sub/."
  "$ALICE_DOCROOT/ok.php/"
  "$ALICE_DOCROOT/ok.php/.."
  "$ALICE_DOCROOT/ok.php/./"
)
for p in "${bad_paths[@]}"; do
  t_case "SCRIPT_FILENAME=$p"
  t_attack_script "$p"
  t_refused_only 1 403 request
  t_expect "nothing ran" eval '! t_contains "$T_OUT" RAN'
done

for p in "$ALICE_DOCROOT/sub/../ok.php" "$ALICE_DOCROOT/../../$BOB/public_html/bob.php" \
  "$ALICE_DOCROOT//ok.php" "$ALICE_DOCROOT/./ok.php" "$ALICE_DOCROOT/ok.php/."; do
  t_case "action-handler mode: PATH_TRANSLATED=$p"
  t_attack_script "$T_SUWRAP" PATH_TRANSLATED="$p" PATH_INFO=/ok.php
  t_refused_only 1 403 request
done

t_case "nothing ran, of alice's or of bob's"
t_expect "no marker (got: $(t_markers))" test -z "$(t_markers)"

t_done
