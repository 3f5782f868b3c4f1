#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attack: the caller runs a plain suwrap request (no --pool) with a listening socket as
# fd 0. php-cgi takes such a stdin for a FastCGI server socket (getpeername() fails with
# ENOTCONN) and would then run, as the account, whatever file a FastCGI peer names —
# another owner's script, an upload.jpg — with no check and no log line. suwrap must
# refuse a listening or unconnected socket as stdin (check request) and run nothing; a
# connected socket (mod_cgid's stdin) is a body like any other.
source "$(dirname "$0")/../lib/common.sh"
t_setup ALICE
t_markers_dir
t_config

marker="<?php touch('$T_MARKS/ran-' . basename(__FILE__)); echo 'uid=', posix_getuid();"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/index.php" "$marker"
SOCK="$T_ROOT/attack.sock"
base=(GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=localhost)

# launch FD0_KIND: suwrap (no --pool) for index.php with that fd 0, as the caller.
launch() {
  T_OUT=$(env -i "${base[@]}" SCRIPT_FILENAME="$ALICE_DOCROOT/index.php" "$T_PYTHON" \
    "$T_LIB/pool_launch.py" --fd0 "$1" "$SOCK" "$T_CALLER" -- "$T_SUWRAP" 2>/dev/null)
  T_RC=$(printf '%s' "$T_OUT" | sed -n 1p | sed -n 's/.* rc=\([0-9]*\).*/\1/p')
  T_STATUS=$(printf '%s' "$T_OUT" | { grep -i '^Status:' || true; } | sed -n 1p | awk '{print $2}')
  T_STATUS=${T_STATUS:-200}
}

t_case "a listening socket as stdin of a plain request"
launch listen
t_refused 1 403 request
t_expect "the script did not run" t_no_marker 'ran-*'
t_expect "no php-cgi serves the socket" sh -c "! pgrep -u $ALICE >/dev/null"

t_case "a connected socket as stdin is a request body like any other"
launch pair
t_expect "the request ran (exit 0)" test "$T_RC" = 0
t_expect "it ran as the account" t_contains "$T_OUT" "uid=$ALICE_UID"
t_allowed

t_done
