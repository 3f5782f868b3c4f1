#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every JSON output of suwrap-policy, produced for real, valid against its schema in schemas/:
# check, audit, account add/set/show/list/remove/apply, config check, config install, and the
# failure object that every command prints under --json, for each of its codes (invalid 2,
# exists 3, not_found 4, locked 5, io 6), a malformed command line included.
source "$(dirname "$0")/../lib/common.sh" panel
t_setup ALICE BOB
t_config 'mode="account"'
C=(--config "$SUWRAP_CONFIG_PATH")
ACCOUNTS="$T_CONF_DIR/accounts.d"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/index.php" "<?php echo 1;"
t_file "$ALICE" 0664 "$ALICE_DOCROOT/groupw.php" "<?php echo 1;"

# json_case SCHEMA RC DESCRIPTION -- ARGS...: runs suwrap-policy ARGS, expects exit RC and
# standard output valid against schemas/SCHEMA.schema.json.
json_case() {
  local schema=$1 rc=$2 what=$3
  shift 4
  t_case "$what"
  t_policy "$@"
  t_policy_exit "$rc"
  t_expect "valid against $schema.schema.json" t_schema "$schema"
}

# ---- check and audit ------------------------------------------------------------------------
json_case check 1 "check --json, refused (no account holds the docroot)" -- check --json "$ALICE_DOCROOT/index.php"
json_case account 0 "account add --json" -- account add alice --user "$ALICE" --docroot "$ALICE_DOCROOT" \
  --domain alice.example --cpu-seconds 7 --json "${C[@]}"
json_case check 0 "check --json, allowed" -- check --json "$ALICE_DOCROOT/index.php"
json_case check 1 "check --json, refused (file_perms)" -- check --json "$ALICE_DOCROOT/groupw.php"
json_case audit 1 "audit --json, one refused" -- audit --json "${C[@]}" "$ALICE_DOCROOT"
json_case audit 1 "audit --json --fix" -- audit --json --fix "${C[@]}" "$ALICE_DOCROOT"
t_file root 0644 "$T_ROOT/broken.toml" "[global]
nonsense = 1"
# check answers a configuration that does not load as suwrap would: decision error, check config.
json_case check 2 "check --json with a configuration that does not load: decision error" -- \
  check --json --config "$T_ROOT/broken.toml" "$ALICE_DOCROOT/index.php"
json_case error 2 "audit --json with a configuration that does not load" -- audit --json --config "$T_ROOT/broken.toml" "$ALICE_DOCROOT"

# ---- accounts -------------------------------------------------------------------------------
json_case account 0 "account add --if-absent --json of the same account (changed false)" -- \
  account add alice --user "$ALICE" --docroot "$ALICE_DOCROOT" --domain alice.example --cpu-seconds 7 --if-absent --json "${C[@]}"
t_expect "changed is false" t_json_is 'j["changed"]' false
json_case error 3 "account add --json of an existing account: exists" -- \
  account add alice --user "$ALICE" --docroot "$ALICE_DOCROOT" --domain alice.example --json "${C[@]}"
json_case error 2 "account add --json of a user that does not exist: invalid" -- \
  account add ghost --user no-such-user-here --docroot "$BOB_DOCROOT" --domain ghost.example --json "${C[@]}"
json_case account 0 "account set --json" -- account set alice --disabled true --json "${C[@]}"
json_case error 4 "account set --json of no such account: not_found" -- account set nobody --disabled true --json "${C[@]}"
json_case account 0 "account show --json" -- account show alice --json "${C[@]}"
json_case error 4 "account show --json of no such account" -- account show nobody --json "${C[@]}"
json_case account-list 0 "account list --json" -- account list --json "${C[@]}"
json_case account-remove 0 "account remove --if-present --json of none" -- account remove nobody --if-present --json "${C[@]}"
json_case error 4 "account remove --json of none: not_found" -- account remove nobody --json "${C[@]}"

printf '{"schema_version": 1, "accounts": [{"name": "alice", "user": "%s", "docroots": ["%s"], "domains": ["alice.example"]},
 {"name": "bob", "user": "%s", "docroots": ["%s"], "limits": {"nproc": 10}}]}\n' \
  "$ALICE" "$ALICE_DOCROOT" "$BOB" "$BOB_DOCROOT" >"$T_ROOT/desired.json"
printf '{"changes": [{"action": "set", "name": "bob", "php_handler": "php"}, {"action": "remove", "name": "gone", "if_present": true}]}\n' \
  >"$T_ROOT/changes.json"
t_case "the apply inputs of this suite are valid against account-apply-input.schema.json"
for f in desired changes; do
  T_OUT=$(cat "$T_ROOT/$f.json")
  t_expect "$f.json" t_schema account-apply-input
done
json_case account-apply 0 "account apply --dry-run --json" -- account apply --dry-run --json "${C[@]}" "$T_ROOT/desired.json"
json_case account-apply 0 "account apply --json, the desired set" -- account apply --json "${C[@]}" "$T_ROOT/desired.json"
json_case account-apply 0 "account apply --json, a list of changes" -- account apply --json "${C[@]}" "$T_ROOT/changes.json"
json_case account-list 0 "account list --json, two accounts" -- account list --json "${C[@]}"
printf '{"accounts": [{"name": "x", "user": "%s"}]}\n' "$ALICE" >"$T_ROOT/bad.json"
json_case error 2 "account apply --json of an input without docroots: invalid" -- account apply --json "${C[@]}" "$T_ROOT/bad.json"
json_case error 6 "account apply --json of a file that cannot be read: io" -- account apply --json "${C[@]}" "$T_ROOT/none.json"
json_case account-remove 0 "account remove --json" -- account remove bob --json "${C[@]}"

t_case "account add --json while another edit holds the lock: locked"
flock "$ACCOUNTS" sleep 20 &
holder=$!
t_on_cleanup "kill $holder"
sleep 0.3
json_case error 5 "locked, after --lock-timeout" -- account add bob --user "$BOB" --docroot "$BOB_DOCROOT" \
  --domain bob.example --lock-timeout 0.2 --json "${C[@]}"
kill "$holder"; wait "$holder" 2>/dev/null || true

# ---- configuration --------------------------------------------------------------------------
json_case config-check 0 "config check --json" -- config check --json "${C[@]}"
json_case error 2 "config check --json of a configuration that does not load" -- config check --json --config "$T_ROOT/broken.toml"
cp "$SUWRAP_CONFIG_PATH" "$T_ROOT/staged.toml"
chown "$ALICE" "$T_ROOT/staged.toml"
json_case config-install 0 "config install --dry-run --json of a staged copy" -- \
  config install --dry-run --json "${C[@]}" "$T_ROOT/staged.toml"
json_case config-install 0 "config install --json of a staged copy" -- config install --json "${C[@]}" "$T_ROOT/staged.toml"
json_case error 2 "config install --json of a staged file that is not valid" -- config install --json "${C[@]}" "$T_ROOT/broken.toml"
json_case error 6 "config install --json of a file that is not there: io" -- config install --json "${C[@]}" "$T_ROOT/none.toml"

json_case error 2 "a malformed command line under --json: invalid" -- account add --json --no-such-option "${C[@]}"
t_done
