#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A hard link to another user's script in alice's docroot (the kernel's protected_hardlinks
# keeps alice from making one of a file she cannot write, so root makes it here, as an old
# link or a restored backup would). The link has bob's inode: in owner mode the target is
# bob, and alice's directories on the way refuse it (dir_perms); in account mode the file is
# not alice's (owner); and bob's own script, now with two links, is refused too (file_perms).
# Nothing of bob's ever runs, as bob or as alice.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE BOB
t_config
t_markers_dir

t_file "$BOB" 0644 "$BOB_DOCROOT/bob.php" "<?php touch('$T_MARKS/bob-' . posix_getuid()); echo 'BOB-RAN';"
t_file "$BOB" 0755 "$BOB_DOCROOT/bob.cgi" "#!/bin/sh
touch $T_MARKS/bobcgi-\$(id -u)
printf 'Content-Type: text/plain\r\n\r\nBOB-RAN'"

t_case "control: bob's script runs as bob while it has one link"
t_attack_script "$BOB_DOCROOT/bob.php"
t_ran_only
t_expect "bob's marker, as bob" test -e "$T_MARKS/bob-$BOB_UID"
rm -f "$T_MARKS"/*

t_case "alice herself cannot make the link (fs.protected_hardlinks; informational)"
if setpriv --reuid="$ALICE" --regid="$ALICE_GID" --init-groups ln "$BOB_DOCROOT/bob.php" "$ALICE_DOCROOT/try.php" 2>/dev/null; then
  echo "     note: protected_hardlinks is off here; alice made the link herself"
  rm -f "$ALICE_DOCROOT/try.php"
else
  t_pass "ln as alice was refused by the kernel"
fi

ln "$BOB_DOCROOT/bob.php" "$ALICE_DOCROOT/linked.php"
ln "$BOB_DOCROOT/bob.cgi" "$ALICE_DOCROOT/linked.cgi"

t_case "owner mode: the link in alice's docroot (bob's inode under alice's directories)"
t_attack_script "$ALICE_DOCROOT/linked.php"
t_refused_only 1 403 dir_perms
t_attack_script "$ALICE_DOCROOT/linked.cgi"
t_refused_only 1 403 dir_perms

t_case "owner mode: bob's own script, now with two links"
t_attack_script "$BOB_DOCROOT/bob.php"
t_refused_only 1 403 file_perms
t_attack_script "$BOB_DOCROOT/bob.cgi"
t_refused_only 1 403 file_perms

t_case "account mode: the link in alice's docroot is not alice's file"
t_config 'mode="account"'
t_account_for alice "$ALICE" "$ALICE_DOCROOT"
t_account_for bob "$BOB" "$BOB_DOCROOT"
t_attack_script "$ALICE_DOCROOT/linked.php"
t_refused_only 1 403 owner
t_attack_script "$ALICE_DOCROOT/linked.cgi"
t_refused_only 1 403 owner

t_case "account mode: bob's own script with two links"
t_attack_script "$BOB_DOCROOT/bob.php"
t_refused_only 1 403 file_perms

t_case "action-handler mode: PATH_TRANSLATED naming the link"
t_attack_script "$T_SUWRAP" PATH_TRANSLATED="$ALICE_DOCROOT/linked.php" PATH_INFO=/linked.php
t_refused_only 1 403 owner
rm -f "$T_CONF_DIR"/accounts.d/*.toml
t_config

t_case "nothing of bob's ran, as anyone"
t_expect "no marker (got: $(t_markers))" test -z "$(t_markers)"

t_done
