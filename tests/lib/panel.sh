# SPDX-License-Identifier: Apache-2.0
# suwrap-policy, as a hosting panel runs it (the panel_*_test.sh suites, and the others that
# run the policy tool): sourced by common.sh for the suites that name panel.
#
# The panel suites run the policy tool the way docs/hosting-panels.md shows and assert its
# JSON with Python, so a field renamed or a value changed fails the suite.

# t_policy ARGS...: runs suwrap-policy (as root, or as $T_AS when set); sets T_RC, T_OUT
# (standard output) and T_ERR (standard error).
t_policy() {
  local run=("$SUWRAP_POLICY_BIN")
  [ -n "$T_AS" ] && run=(/usr/bin/setpriv --reuid="$T_AS" --regid="$(id -g "$T_AS")" --init-groups "$SUWRAP_POLICY_BIN")
  set +e
  T_OUT=$("${run[@]}" "$@" 2>"$T_ROOT/stderr")
  T_RC=$?
  set -e
  T_ERR=$(cat "$T_ROOT/stderr")
  T_STATUS=""
}

# t_json EXPRESSION: the value of a Python expression over the last T_OUT parsed as JSON
# (named j), printed; booleans print as true/false and None as null.
t_json() {
  printf '%s' "$T_OUT" | "$T_PYTHON" -I -S -c '
import json, sys
j = json.load(sys.stdin)
v = eval(sys.argv[1], {"j": j, "len": len, "sorted": sorted, "set": set, "all": all, "any": any})
print("null" if v is None else (str(v).lower() if isinstance(v, bool) else v))' "$1"
}

# t_json_is EXPRESSION VALUE: t_json EXPRESSION prints VALUE (for t_expect).
t_json_is() { [ "$(t_json "$1" 2>&1)" = "$2" ]; }

# t_schema NAME: the last T_OUT is one JSON document valid against schemas/NAME.schema.json
# (the errors, if any, in T_SCHEMA_ERR). NAME "error" is the failure object of every command.
t_schema() {
  T_SCHEMA_ERR=$(printf '%s' "$T_OUT" | "$T_PYTHON" "$SUWRAP_SOURCE_DIR/tests/lib/json_schema.py" \
    "$SUWRAP_SOURCE_DIR/schemas" "$1" 2>&1) || { echo "     schema $1: $T_SCHEMA_ERR"; return 1; }
}

# t_policy_exit RC: the last t_policy exited with RC.
t_policy_exit() {
  if [ "$T_RC" = "$1" ]; then t_pass "exit $1"; else t_fail "expected exit $1, got $T_RC"; fi
}
