#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Uploads that are not scripts: an avatar .jpg or a .txt holding "<?php", even executable,
# even with a shebang, never run (check handler, 403). Neither do the classic tricks: a
# double extension (x.php.jpg), a trailing dot (x.php.), a dot-file named ".php", the
# nginx cgi.fix_pathinfo request "avatar.jpg/x.php", or a request header that looks like
# SUWRAP_HANDLER. Every file here leaves a marker when it runs; none may appear.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
t_config
t_markers_dir


t_file "$ALICE" 0644 "$ALICE_DOCROOT/avatar.jpg" "$(t_marker_php avatar.jpg PWNED)"
t_file "$ALICE" 0755 "$ALICE_DOCROOT/avatar-exec.jpg" "$(t_marker_php avatar-exec.jpg PWNED)"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/notes.txt" "$(t_marker_php notes.txt PWNED)"
t_file "$ALICE" 0755 "$ALICE_DOCROOT/run.txt" "$(t_marker_cgi run.txt PWNED)"
t_file "$ALICE" 0755 "$ALICE_DOCROOT/shell.jpg" "$(t_marker_cgi shell.jpg PWNED)"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/x.php.jpg" "$(t_marker_php x.php.jpg PWNED)"
t_file "$ALICE" 0755 "$ALICE_DOCROOT/x.cgi.txt" "$(t_marker_cgi x.cgi.txt PWNED)"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/x.php." "$(t_marker_php x.php. PWNED)"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/.php" "$(t_marker_php dot-php PWNED)"
t_file "$ALICE" 0755 "$ALICE_DOCROOT/noext" "$(t_marker_cgi noext PWNED)"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/control.php" "$(t_marker_php control.php PWNED)"

t_case "control: a .php file with the same payload does run (the marker works)"
t_attack_script "$ALICE_DOCROOT/control.php"
t_ran_only
t_expect "its marker is there" test -e "$T_MARKS/control.php"
rm -f "$T_MARKS/control.php"

for name in avatar.jpg avatar-exec.jpg notes.txt run.txt shell.jpg x.php.jpg x.cgi.txt x.php. .php noext; do
  t_case "$name never runs"
  t_attack_script "$ALICE_DOCROOT/$name"
  t_refused_only 1 403 handler
  t_expect "no PWNED in the response" eval '! t_contains "$T_OUT" PWNED'
done

t_case "a request header named like SUWRAP_HANDLER does not pick a handler"
t_attack_script "$ALICE_DOCROOT/avatar.jpg" HTTP_SUWRAP_HANDLER=php HTTP_X_SUWRAP_HANDLER=cgi
t_refused_only 1 403 handler

t_case "cgi.fix_pathinfo: avatar.jpg/x.php is no script (404, path)"
t_attack_script "$ALICE_DOCROOT/avatar.jpg/x.php" PATH_INFO=/x.php
t_refused_only 1 404 path
t_attack_script "$ALICE_DOCROOT/shell.jpg/x.cgi"
t_refused_only 1 404 path

t_case "action-handler mode: PATH_TRANSLATED naming a .jpg or avatar.jpg/x.php"
t_attack_script "$T_SUWRAP" PATH_TRANSLATED="$ALICE_DOCROOT/avatar.jpg" PATH_INFO=/avatar.jpg
t_refused_only 1 403 handler
t_attack_script "$T_SUWRAP" PATH_TRANSLATED="$ALICE_DOCROOT/avatar.jpg/x.php" PATH_INFO=/avatar.jpg/x.php
t_refused_only 1 404 path

t_case "nothing of it ran"
t_expect "no marker at all (got: $(t_markers))" test -z "$(t_markers)"

t_done
