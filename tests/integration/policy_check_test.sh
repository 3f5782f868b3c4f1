#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# suwrap-policy check and config check on a real tree: the same answer suwrap gives,
# explained one check per line, and JSON for machines.
source "$(dirname "$0")/../lib/common.sh"
: "${SUWRAP_POLICY_BIN:?}"
t_setup ALICE
t_config
t_file "$ALICE" 0644 "$ALICE_DOCROOT/ok.php" '<?php echo "ok";'
t_dir "$ALICE" 0775 "$ALICE_DOCROOT/blog"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/blog/index.php" '<?php echo "blog";'
policy() {
  set +e
  T_OUT=$("$SUWRAP_POLICY_BIN" "$@" 2>"$T_ROOT/policy.err")
  T_RC=$?
  set -e
  T_ERR=$(cat "$T_ROOT/policy.err")
  T_STATUS=-
}

t_case "check explains an allowed script: twelve PASS lines, exit 0"
policy check "$ALICE_DOCROOT/ok.php"
t_expect "exit 0" test "$T_RC" = 0
t_expect "twelve PASS lines" test "$(grep -c '^PASS ' <<<"$T_OUT")" = 12
t_expect "the checks in contract order" test "$(awk '{print $2}' <<<"$T_OUT" | tr '\n' ' ')" = \
  "caller config request docroot path target user owner dir_perms file_perms handler vhost "
t_expect "the target is named" t_contains "$T_OUT" "PASS user $ALICE (uid $ALICE_UID)"

t_case "suwrap agrees: the same script runs"
t_script "$ALICE_DOCROOT/ok.php"
t_allowed

t_case "check explains a refused script: the failing check with its reason, then SKIP"
policy check "$ALICE_DOCROOT/blog/index.php"
t_expect "exit 1" test "$T_RC" = 1
t_expect "FAIL dir_perms with the directory and its mode" \
  t_contains "$T_OUT" "FAIL dir_perms $ALICE_DOCROOT/blog is writable by group (mode 0775)"
t_expect "the rest is skipped" test "$(grep -c '^SKIP ' <<<"$T_OUT")" = 3

t_case "suwrap agrees: the same script is refused with the same check"
t_script "$ALICE_DOCROOT/blog/index.php"
t_refused 1 403 dir_perms

t_case "check --json"
policy check --json "$ALICE_DOCROOT/blog/index.php"
t_expect "decision, user, checks as the contract says" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["decision"] == "deny", d
assert d["script"].endswith("/blog/index.php")
assert d["user"] == sys.argv[2] and d["uid"] == int(sys.argv[3])
names = [c["name"] for c in d["checks"]]
assert names[8] == "dir_perms" and d["checks"][8]["result"] == "fail", d["checks"][8]
assert all(c["result"] == "skip" for c in d["checks"][9:])
' "$T_OUT" "$ALICE" "$ALICE_UID"

t_case "check of a script outside every docroot"
policy check /etc/passwd
t_expect "exit 1, FAIL docroot" eval '[ "$T_RC" = 1 ] && grep -q "^FAIL docroot" <<<"$T_OUT"'

t_case "config check accepts the configuration"
policy config check
t_expect "exit 0 and OK" eval '[ "$T_RC" = 0 ] && grep -q "^OK " <<<"$T_OUT"'

t_case "config check catches a world-writable configuration"
chmod 0666 "$SUWRAP_CONFIG_PATH"
policy config check
t_expect "exit 2" test "$T_RC" = 2
t_expect "names the file and says it is writable by others" \
  t_contains "$T_ERR" "$SUWRAP_CONFIG_PATH"
t_expect "says what is wrong" eval 'grep -qi "writable by others" <<<"$T_ERR"'
chmod 0644 "$SUWRAP_CONFIG_PATH"

t_case "config check catches a bad key with its line"
t_config 'umask="999"'
policy config check
t_expect "exit 2" test "$T_RC" = 2
t_expect "names file, line, key and expectation (got: $T_ERR)" \
  eval 'grep -Eq "$SUWRAP_CONFIG_PATH:[0-9]+: global\.umask: expected" <<<"$T_ERR"'
t_config 'no_such_key=1'
policy config check
t_expect "an unknown key is named (got: $T_ERR)" eval 'grep -q "global.no_such_key" <<<"$T_ERR"'
t_config

t_case "config check warns of an account's memory_mb below what php-cgi maps"
t_account alice "user = \"$ALICE\"
docroots = [\"$ALICE_DOCROOT\"]
[limits]
memory_mb = 128"
policy config check
t_expect "exit 0: a warning, not an error (got $T_RC: $T_ERR)" test "$T_RC" = 0
t_expect "naming the account file and the key" t_contains "$T_ERR" "warning: $T_CONF_DIR/accounts.d/alice.toml: limits.memory_mb: 128 is below 256"
t_account alice "user = \"$ALICE\"
docroots = [\"$ALICE_DOCROOT\"]
handlers = [\"cgi\"]
[limits]
memory_mb = 128"
policy config check
t_expect "not for an account that runs no PHP" eval '! t_contains "$T_ERR" "memory_mb"'
rm -f "$T_CONF_DIR/accounts.d/alice.toml"

t_case "config check warns that allow_dir_group_writable lets a directory's group run code as its owner"
t_config 'allow_dir_group_writable=true'
policy config check
t_expect "exit 0 with the warning (got $T_RC)" test "$T_RC" = 0
t_expect "it says so in plain words" t_contains "$T_ERR" "every member of a directory's group can then replace a script or add a .user.ini in it, and so run code as the directory's owner"
t_config

t_done
