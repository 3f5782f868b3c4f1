#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What no_new_privs (systemd's NoNewPrivileges= and every option that implies it) does
# to suwrap: the set-uid bit is ignored, suwrap runs without root, and it must refuse
# every request rather than run anything as the wrong user. This is why the shipped
# suwrap-cgid.service keeps those options off.
source "$(dirname "$0")/../lib/common.sh"
t_setup ALICE
t_config
t_file "$ALICE" 0644 "$ALICE_DOCROOT/who.php" '<?php echo "RAN uid=", posix_getuid();'

t_case "without no_new_privs the request runs as alice"
t_script "$ALICE_DOCROOT/who.php"
t_allowed

t_case "under no_new_privs suwrap refuses and nothing runs"
set +e
out=$(env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SCRIPT_FILENAME="$ALICE_DOCROOT/who.php" \
  /usr/bin/setpriv --no-new-privs --reuid="$T_CALLER" --regid="$T_CALLER" --init-groups "$T_SUWRAP" </dev/null 2>/dev/null)
rc=$?
set -e
T_OUT=$out T_RC=$rc T_STATUS=$(printf '%s' "$out" | sed -n 's/^Status: \([0-9]*\).*/\1/p' | sed -n 1p)
t_expect "exit status is a refusal (got $rc)" test "$rc" -ne 0
t_expect "the response is a 500" test "$T_STATUS" = 500
t_expect "the script never ran" bash -c "! grep -q RAN <<<\"\$0\"" "$out"

t_done
