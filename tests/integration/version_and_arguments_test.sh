#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# --version on the programs, and suwrap-cgid's exit status for bad arguments: 2, as
# suwrap-cgid(8) says, never an argument parser's own numbers.
source "$(dirname "$0")/../lib/common.sh"
: "${SUWRAP_CGID_BIN:?}"
t_setup ALICE
t_config

as() {  # as USER PROGRAM ARGS...: sets T_RC and T_OUT (stdout and stderr)
  local user=$1
  shift
  set +e
  T_OUT=$(env -i PATH=/usr/bin:/bin /usr/bin/setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups \
    "$@" </dev/null 2>&1)
  T_RC=$?
  set -e
}

t_case "suwrap --version"
as "$T_CALLER" "$T_SUWRAP" --version
t_expect "the caller gets the version (exit $T_RC)" test "$T_RC" = 0
t_expect "and the compiled-in configuration path" t_contains "$T_OUT" "config: $SUWRAP_CONFIG_PATH"
as "$ALICE" "$T_SUWRAP" --version
t_expect "another user is refused, exit 1 (got $T_RC)" test "$T_RC" = 1
t_expect "and learns nothing of the paths" sh -c "! printf '%s' '$T_OUT' | grep -q config:"
as "$T_CALLER" "$T_SUWRAP" --version extra
t_expect "--version with more arguments is a usage error, exit 2 (got $T_RC)" test "$T_RC" = 2

t_case "suwrap-cgid --version"
as "$T_CALLER" "$SUWRAP_CGID_BIN" --version
t_expect "exit 0 (got $T_RC)" test "$T_RC" = 0
t_expect "prints its name and version ($T_OUT)" sh -c "printf '%s' '$T_OUT' | grep -Eq '^suwrap-cgid [0-9]+\.[0-9]+\.[0-9]+'"
as "$T_CALLER" "$SUWRAP_CGID_BIN" -V
t_expect "-V too (exit $T_RC)" test "$T_RC" = 0

t_case "suwrap-policy and suwrap-gate --version"
as "$T_CALLER" "$SUWRAP_POLICY_BIN" --version
t_expect "suwrap-policy: exit 0, its name and version (got $T_RC: $T_OUT)" \
  sh -c "[ $T_RC = 0 ] && printf '%s' '$T_OUT' | grep -Eq '^suwrap-policy [0-9]+\.[0-9]+\.[0-9]+'"
if [ -n "${SUWRAP_GATE_BIN:-}" ]; then
  as "$T_CALLER" "$SUWRAP_GATE_BIN" --version
  t_expect "suwrap-gate: exit 0, its name and version (got $T_RC: $T_OUT)" \
    sh -c "[ $T_RC = 0 ] && printf '%s' '$T_OUT' | grep -Eq '^suwrap-gate [0-9]+\.[0-9]+\.[0-9]+'"
fi

t_case "suwrap-cgid's bad arguments exit 2"
for args in "--no-such-option" "--max-children 0" "--timeout nonsense" "--log-level loud" "--listen" "stray"; do
  # shellcheck disable=SC2086
  as "$T_CALLER" "$SUWRAP_CGID_BIN" --listen "$T_ROOT/never.sock" $args
  t_expect "$args: exit 2 (got $T_RC)" test "$T_RC" = 2
  t_expect "$args: a message on stderr" test -n "$T_OUT"
done
t_expect "no socket was made" test ! -e "$T_ROOT/never.sock"
as "$T_CALLER" "$SUWRAP_CGID_BIN" --help
t_expect "--help exits 0 (got $T_RC)" test "$T_RC" = 0

t_done
