#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The shipped suwrap-cgid.service keeps the capabilities the set-uid suwrap may gain to
# CapabilityBoundingSet=. Under exactly that set (read from the unit) suwrap must still
# serve: walk a home that others cannot search, drop to the user, end a handler at its
# wall-clock limit, raise its own limits above a low hard limit. Each capability that the
# unit names is shown to be needed by a request that fails without it.
source "$(dirname "$0")/../lib/common.sh" security
: "${SUWRAP_SOURCE_DIR:?}"
t_setup ALICE
T_CONFIG_TABLES=$(t_php_tables php $'[limits]\nwall_seconds = 1')
t_config
chmod 0750 "$ALICE_HOME"  # only alice and root (with CAP_DAC_READ_SEARCH) get through
t_file "$ALICE" 0644 "$ALICE_DOCROOT/who.php" '<?php echo "RAN uid=", posix_getuid();'
t_file "$ALICE" 0755 "$ALICE_DOCROOT/slow.cgi" $'#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\nstarted\\n"\nexec sleep 30\n'

unit=$SUWRAP_SOURCE_DIR/install/systemd/suwrap-cgid.service
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
t_case "the unit has a bounding set"
t_expect "CapabilityBoundingSet= is set ($caps)" test -n "$caps"
# setpriv's spelling: -all,+setuid,+setgid,...
set_of() { local s="-all" c; for c in "$@"; do c=${c#CAP_}; s+=",+${c,,}"; done; echo "$s"; }
# shellcheck disable=SC2086
bounding=$(set_of $caps)
without() {  # the unit's set less one capability
  local drop=$1 c keep=()
  for c in $caps; do [ "$c" = "$drop" ] || keep+=("$c"); done
  set_of "${keep[@]}"
}
# A low hard CPU limit, as a caller may have: suwrap raises its own to unlimited, which
# CAP_SYS_RESOURCE allows. Where root itself cannot raise a hard limit (a container
# without that capability) there is nothing to show.
if prlimit --cpu=100:100 sh -c 'ulimit -Ht 200' 2>/dev/null; then
  low_limits=(prlimit --cpu=100:100)
else
  low_limits=()
  echo "note: root cannot raise a hard limit here (no CAP_SYS_RESOURCE): CAP_SYS_RESOURCE is not tested"
fi

# bounded SET [WRAPPER...] -- [NAME=VALUE]...: a request run as the caller with the bounding
# set SET, given in the same setpriv that becomes the caller (a process without
# CAP_SETUID in its bounding set can still change its uid while it holds it).
bounded() {
  local set=$1 wrap=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do wrap+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  t_log_mark
  set +e
  T_OUT=$(env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=localhost "$@" \
    "${wrap[@]}" /usr/bin/setpriv --bounding-set="$set" --reuid="$T_CALLER" --regid="$(id -g "$T_CALLER")" \
    --init-groups "$T_SUWRAP" </dev/null 2>"$T_ROOT/stderr"; echo "~$?")
  set -e
  T_RC=${T_OUT##*~}
  T_OUT=${T_OUT%~*}
  T_ERR=$(cat "$T_ROOT/stderr")
  T_STATUS=$(printf '%s' "$T_OUT" | sed -n 's/^Status: \([0-9]*\).*/\1/p' | sed -n 1p)
  T_STATUS=${T_STATUS:-200}
}

t_case "under the unit's bounding set a PHP request runs as alice"
bounded "$bounding" "${low_limits[@]}" -- SCRIPT_FILENAME="$ALICE_DOCROOT/who.php"
t_ran_only
t_expect "as alice" t_contains "$(t_body)" "RAN uid=$ALICE_UID"

t_case "under the unit's bounding set a handler is ended at wall_seconds"
start=${EPOCHREALTIME/./}
bounded "$bounding" -- SCRIPT_FILENAME="$ALICE_DOCROOT/slow.cgi"
elapsed_ms=$(((${EPOCHREALTIME/./} - start) / 1000))
t_expect "the run is logged as timed out" test "$(t_log_field exit timed_out)" = true
t_expect "within a few seconds, not 30 (${elapsed_ms} ms)" test "$elapsed_ms" -lt 8000
t_expect "no process of alice is left" sh -c "! pgrep -u '$ALICE' >/dev/null"

needed_caps=(CAP_SETUID CAP_SETGID CAP_DAC_READ_SEARCH)
[ "${#low_limits[@]}" = 0 ] || needed_caps+=(CAP_SYS_RESOURCE)
for needed in "${needed_caps[@]}"; do
  t_case "without $needed the request is refused and nothing runs"
  case " $caps " in *" $needed "*) ;; *) t_fail "the unit does not name $needed"; continue ;; esac
  bounded "$(without "$needed")" "${low_limits[@]}" -- SCRIPT_FILENAME="$ALICE_DOCROOT/who.php"
  t_expect "a refusal (exit $T_RC, status $T_STATUS)" test "$T_RC" != 0
  t_expect "the script never ran" sh -c "! printf '%s' \"\$0\" | grep -q RAN" "$T_OUT"
done

t_case "without CAP_KILL a handler outlives its wall-clock limit"
bounded "$(without CAP_KILL)" timeout 4 -- SCRIPT_FILENAME="$ALICE_DOCROOT/slow.cgi"
t_expect "suwrap did not end it by itself (it was still running after 4 s)" test "$T_RC" = 124
pkill -KILL -u "$ALICE" || true

t_done
