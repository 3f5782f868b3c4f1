#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A link's name chooses no handler: `ln -s notes.txt view.php` in an account's own tree
# (link and target both the account's, so symlinks = "owner-match" lets the walk through).
# notes.txt is refused (no handler runs .txt); view.php must be refused the same way — the
# handler is chosen by the file that would run — per request and through suwrap-cgid's
# warm routing and the gate. The reverse, a link named .txt to a real .php, runs nothing
# either way but the .php: a link's name never makes a file a script.
source "$(dirname "$0")/../lib/common.sh" security cgid
t_setup ALICE
t_markers_dir

t_file "$ALICE" 0644 "$ALICE_DOCROOT/notes.txt" "<?php touch('$T_MARKS/ran-notes'); echo 'NOTES RAN';"
ln -s notes.txt "$ALICE_DOCROOT/view.php"
chown -h "$ALICE:$ALICE" "$ALICE_DOCROOT/view.php"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/real.php" "<?php touch('$T_MARKS/ran-real'); echo 'REAL RAN';"
ln -s real.php "$ALICE_DOCROOT/real-view.txt"
chown -h "$ALICE:$ALICE" "$ALICE_DOCROOT/real-view.txt"

t_case "per request: notes.txt itself is refused (control)"
t_config
t_attack_script "$ALICE_DOCROOT/notes.txt"
t_refused_only 1 403 handler

t_case "per request: view.php, a link to notes.txt, is refused the same way"
t_attack_script "$ALICE_DOCROOT/view.php"
t_refused_only 1 403 handler
t_expect "the log says no handler runs .txt" t_contains "$(t_log_field decision reason)" "no handler runs .txt files"
t_expect "notes.txt never ran (markers: $(t_markers))" test -z "$(t_markers)"

t_case "per request: a .txt link to real.php runs real.php, as a request for real.php would"
t_attack_script "$ALICE_DOCROOT/real-view.txt"
t_ran_only
t_expect "real.php ran" test -e "$T_MARKS/ran-real"
rm -f "$T_MARKS"/*

if [ -n "${SUWRAP_CGID_BIN:-}" ] && [ -n "${SUWRAP_GATE_BIN:-}" ] && [[ "${SUWRAP_GATE_PATH:-}" == /run/suwrap-tests/* ]]; then
  T_CONFIG_TABLES=$(t_php_handler php-warm php-fcgi workers=1)
  t_config
  t_start_cgid --pool-dir "$T_ROOT/run/pools"

  t_case "warm: view.php through suwrap-cgid is refused, notes.txt never runs"
  t_log_mark
  t_fcgi SCRIPT_FILENAME="$ALICE_DOCROOT/view.php"
  t_expect "403 (got $T_STATUS)" test "$T_STATUS" = 403
  t_expect "logged: check handler" test "$(t_log_field decision check)" = handler
  t_expect "notes.txt never ran (markers: $(t_markers))" test -z "$(t_markers)"

  t_case "warm: with alice's pool running, view.php straight to the gate is refused too"
  t_fcgi SCRIPT_FILENAME="$ALICE_DOCROOT/real.php"
  t_expect "real.php served warm" t_contains "$T_OUT" "REAL RAN"
  daemon=$T_CGID_SOCK
  T_CGID_SOCK="$T_ROOT/run/pools/$ALICE_UID-php-warm.sock"
  t_expect "the pool's socket is there" test -S "$T_CGID_SOCK"
  t_fcgi SCRIPT_FILENAME="$ALICE_DOCROOT/view.php"
  T_CGID_SOCK=$daemon
  t_expect "the gate answers 403 (got $T_STATUS)" test "$T_STATUS" = 403
  t_expect "notes.txt never ran (markers: $(t_markers))" test ! -e "$T_MARKS/ran-notes"
  t_stop_cgid
fi

t_done
