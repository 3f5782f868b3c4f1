#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The contract a hosting panel drives suwrap-policy by (suwrap-policy(8), EXIT STATUS, JSON,
# account apply, config install): distinct exit statuses for exists, not_found, invalid,
# locked and io; a retried add or remove that is a no-op (--if-absent, --if-present);
# account apply of 1,000 accounts, as a desired set and as a list of changes, under one lock,
# all or nothing (an invalid entry changes nothing; an apply killed in the middle of its
# commit is rolled back by the next edit); config check --json; and config install of a
# staged file in /tmp, validated as if in place, renamed atomically, a bad one refused with
# the old one kept. Times are printed, never asserted.
source "$(dirname "$0")/../lib/common.sh" panel
t_setup ALICE BOB CAROL DAVE
SITES="$T_ROOT/sites"
t_dir root 0755 "$SITES"
t_config 'mode="account"' "docroots=[\"$T_ROOT/home/*/public_html\", \"$SITES/*\"]"
C=(--config "$SUWRAP_CONFIG_PATH")
ACCOUNTS="$T_CONF_DIR/accounts.d"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/index.php" "<?php echo 1;"

# The state of accounts_dir: every file's name and content, hidden ones included (not the
# account index, .suwrap/, which suwrap rebuilds when it is stale).
state() { (cd "$ACCOUNTS" && LC_ALL=C find . -maxdepth 1 -type f -exec sha1sum {} + | LC_ALL=C sort) | sha1sum; }
hidden() { (cd "$ACCOUNTS" && LC_ALL=C find . -maxdepth 1 -type f -name '.*' | sort) | tr '\n' ' '; }
seconds() { "$T_PYTHON" -c 'import time; print("%.3f" % time.monotonic())'; }
# apply_changes_nothing RC FILE: account apply --json FILE exits RC and leaves accounts_dir as it was.
apply_changes_nothing() {
  local before
  before=$(state)
  t_policy account apply --json "${C[@]}" "$2"
  t_policy_exit "$1"
  t_expect "accounts_dir unchanged" test "$(state)" = "$before"
}
# timed_apply WHAT FILE: account apply --json FILE, its wall time printed (never asserted).
timed_apply() {
  local start took
  start=$(seconds)
  t_policy account apply --json "${C[@]}" "$2"
  took=$("$T_PYTHON" -c "print('%.2f' % ($(seconds) - $start))")
  echo "     account apply, $1: $took s (apply says $(t_json 'j["seconds"]' 2>/dev/null) s)"
}

# ---- exit statuses, text and JSON --------------------------------------------------------------
add_alice=(account add alice --user "$ALICE" --docroot "$ALICE_DOCROOT" --domain alice.example "${C[@]}")
t_case "add: 0, then the same add again: 3 (exists), with the reason on stderr"
t_policy "${add_alice[@]}"
t_policy_exit 0
t_policy "${add_alice[@]}"
t_policy_exit 3
t_expect "stderr says it exists" t_contains "$T_ERR" "exists"
t_expect "stdout is empty without --json" test -z "$T_OUT"

t_case "set and remove of no such account: 4 (not_found)"
t_policy account set nobody --disabled true "${C[@]}"
t_policy_exit 4
t_policy account remove nobody "${C[@]}"
t_policy_exit 4
t_policy account show nobody --json "${C[@]}"
t_policy_exit 4
t_expect "code not_found" t_json_is 'j["error"]["code"]' not_found

t_case "invalid input: 2 (a user that does not exist, a limit that is not a number, a bad name)"
t_policy account add ghost --user no-such-user-here --docroot "$BOB_DOCROOT" --domain g.example "${C[@]}"
t_policy_exit 2
t_policy account set alice --cpu-seconds lots --json "${C[@]}"
t_policy_exit 2
t_expect "code invalid" t_json_is 'j["error"]["code"]' invalid
t_policy account add ../etc --user "$BOB" --docroot "$BOB_DOCROOT" --domain g.example "${C[@]}"
t_policy_exit 2

t_case "another edit holds the lock: 5 (locked) after --lock-timeout, and the command changed nothing"
before=$(state)
flock "$ACCOUNTS" sleep 30 &
holder=$!
t_on_cleanup "kill $holder"
sleep 0.3
t_policy account add bob --user "$BOB" --docroot "$BOB_DOCROOT" --domain bob.example --lock-timeout 0.3 --json "${C[@]}"
t_policy_exit 5
t_expect "code locked" t_json_is 'j["error"]["code"]' locked
t_policy account remove alice --lock-timeout 0.3 "${C[@]}"
t_policy_exit 5
kill "$holder"; wait "$holder" 2>/dev/null || true
t_expect "accounts_dir unchanged" test "$(state)" = "$before"

t_case "a file system failure: 6 (io), nothing changed"
t_policy account apply --json "${C[@]}" "$T_ROOT/no-such-file.json"
t_policy_exit 6
t_expect "code io" t_json_is 'j["error"]["code"]' io
t_expect "accounts_dir unchanged" test "$(state)" = "$before"

# ---- a retry is a no-op -----------------------------------------------------------------------
t_case "add --if-absent of the account as it is: 0, changed false, the file untouched"
inode=$(stat -c %i "$ACCOUNTS/alice.toml")
t_policy "${add_alice[@]}" --if-absent --json
t_policy_exit 0
t_expect "changed false" t_json_is 'j["changed"]' false
t_expect "same file (inode)" test "$(stat -c %i "$ACCOUNTS/alice.toml")" = "$inode"
t_case "add --if-absent of an account that differs: still 3"
t_policy account add alice --user "$ALICE" --docroot "$ALICE_DOCROOT" --domain other.example --if-absent "${C[@]}"
t_policy_exit 3
t_case "set to what it is already: 0, changed false"
t_policy account set alice --domain alice.example --json "${C[@]}"
t_policy_exit 0
t_expect "changed false" t_json_is 'j["changed"]' false
t_case "remove --if-present twice: 0 and 0; the second changed nothing"
t_policy account add bob --user "$BOB" --docroot "$BOB_DOCROOT" --domain bob.example "${C[@]}"
t_policy_exit 0
t_policy account remove bob --if-present --json "${C[@]}"
t_policy_exit 0
t_expect "changed true" t_json_is 'j["changed"]' true
t_policy account remove bob --if-present --json "${C[@]}"
t_policy_exit 0
t_expect "changed false" t_json_is 'j["changed"]' false

# ---- account apply: 1,000 accounts ------------------------------------------------------------
# 1,000 docroots under $SITES, 250 for each of four users; account mode lets a user hold many.
"$T_PYTHON" - "$SITES" "$ALICE" "$BOB" "$CAROL" "$DAVE" "$T_ROOT" <<'PY'
import json, os, pwd, sys
sites, users, root = sys.argv[1], sys.argv[2:6], sys.argv[6]
accounts = []
for i in range(1000):
    user = users[i % 4]
    pw = pwd.getpwnam(user)
    d = os.path.join(sites, "s%04d" % i)
    os.mkdir(d, 0o755)
    os.chown(d, pw.pw_uid, pw.pw_gid)
    accounts.append({"name": "site%04d" % i, "user": user, "docroots": [d],
                     "domains": ["site%04d.example" % i], "limits": {"cpu_seconds": 10 + i % 7}})
def write(name, doc):
    with open(os.path.join(root, name), "w") as f:
        json.dump(doc, f)
write("desired.json", {"schema_version": 1, "accounts": accounts})
write("suspend.json", {"changes": [{"action": "set", "name": a["name"], "disabled": True} for a in accounts]})
bad = [dict(a) for a in accounts]
bad[500] = dict(bad[500], user="no-such-user-here")
write("bad.json", {"accounts": bad})
# half removed, half changed back, one added: the list of changes a panel sends.
changes = [{"action": "remove", "name": a["name"]} for a in accounts[:500]]
changes += [{"action": "set", "name": a["name"], "disabled": False, "php_handler": "php"} for a in accounts[500:]]
changes.append({"action": "add", "name": "alice2", "user": users[0], "docroots": [os.path.join(sites, "extra")]})
os.mkdir(os.path.join(sites, "extra"), 0o755)
os.chown(os.path.join(sites, "extra"), pwd.getpwnam(users[0]).pw_uid, pwd.getpwnam(users[0]).pw_gid)
write("changes.json", {"changes": changes})
PY
for f in desired suspend bad changes; do
  T_OUT=$(cat "$T_ROOT/$f.json")
  t_case "$f.json is valid apply input"
  t_expect "account-apply-input.schema.json" t_schema account-apply-input
done

t_case "an invalid entry among 1,000 (a user that does not exist): exit 2, nothing written"
apply_changes_nothing 2 "$T_ROOT/bad.json"
t_expect "the problem names account site0500" t_json_is '[p.get("account") for p in j["error"]["problems"]]' "['site0500']"

t_case "the desired set of 1,000 accounts (plus removing alice), in one apply"
timed_apply "desired set, 1,000 created" "$T_ROOT/desired.json"
t_policy_exit 0
t_expect "1,000 created, alice removed" t_json_is '[len(j["created"]), j["changed"], j["removed"], j["unchanged"]]' "[1000, [], ['alice'], 0]"
t_expect "1,000 files" test "$(ls "$ACCOUNTS" | grep -c '\.toml$')" = 1000
t_expect "no staged file, backup or journal left (got: $(hidden))" test -z "$(hidden)"
t_policy account show site0777 --json "${C[@]}"
t_expect "site0777 as given" t_json_is '[j["user"], j["docroots"], j["overrides"]]' "['$BOB', ['$SITES/s0777'], {'cpu_seconds': 10}]"

t_case "the same desired set again: a no-op"
apply_changes_nothing 0 "$T_ROOT/desired.json"
t_expect "nothing created, changed or removed; 1,000 unchanged" t_json_is '[j["created"], j["changed"], j["removed"], j["unchanged"]]' "[[], [], [], 1000]"

t_case "1,000 changes (suspend every account), under one lock"
timed_apply "list of 1,000 changes" "$T_ROOT/suspend.json"
t_policy_exit 0
t_expect "1,000 changed" t_json_is 'len(j["changed"])' 1000
t_policy account list --json "${C[@]}"
t_expect "every account disabled" t_json_is 'all(a["disabled"] for a in j) and len(j) == 1000' true

t_case "an apply killed in the middle of its commit is rolled back by the next edit"
if ! command -v strace >/dev/null; then
  t_pass "SKIP: strace (install/deps.sh) is not installed"
else
  before=$(state)
  # SIGKILL at the 400th rename: 399 accounts are changed on disk, the rest are not.
  set +e
  strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 -e inject=rename,renameat,renameat2:signal=KILL:when=400 \
    "$SUWRAP_POLICY_BIN" account apply --json "${C[@]}" "$T_ROOT/changes.json" >/dev/null 2>&1
  killed=$?
  set -e
  t_expect "it was killed (exit $killed)" test "$killed" = 137
  t_expect "its journal is left behind" test -e "$ACCOUNTS/.apply-journal"
  t_expect "and accounts_dir is half changed" test "$(state)" != "$before"
  t_policy account list --json "${C[@]}"
  t_expect "a reader sees whole files only: every account file parses" t_json_is 'len(j) >= 500' true
  t_policy account remove nobody --if-present "${C[@]}"
  t_policy_exit 0
  t_expect "the next edit said it replayed the journal" t_contains "$T_ERR" "interrupted account apply"
  t_expect "accounts_dir is as before the apply, to the byte" test "$(state)" = "$before"
  t_expect "no journal, staged file or backup left (got: $(hidden))" test -z "$(hidden)"
fi

t_case "the same list of changes, not killed: 500 removed, 500 changed, 1 created"
timed_apply "1,001 mixed changes" "$T_ROOT/changes.json"
t_policy_exit 0
t_expect "counts" t_json_is '[len(j["created"]), len(j["changed"]), len(j["removed"])]' "[1, 500, 500]"
t_expect "501 files" test "$(ls "$ACCOUNTS" | grep -c '\.toml$')" = 501
t_case "the same list again: the removes and the add now fail (4 and 3 are mixed: invalid), nothing changes"
apply_changes_nothing 2 "$T_ROOT/changes.json"

# ---- config check --json ----------------------------------------------------------------------
t_case "config check --json: valid, with its counts"
t_policy config check --json "${C[@]}"
t_policy_exit 0
t_expect "valid, 2 handlers, 501 accounts, none broken" t_json_is '[j["valid"], j["handlers"], j["accounts"], j["broken"]]' "[True, 2, 501, 0]"
t_case "config check --json of a broken account file: exit 2, the file named"
t_account zz-broken 'user = 42'
t_policy config check --json "${C[@]}"
t_policy_exit 2
t_expect "the problem names zz-broken.toml" t_json_is 'any(p.get("file", "").endswith("zz-broken.toml") for p in j["error"]["problems"])' true
rm -f "$ACCOUNTS/zz-broken.toml"

# ---- config install ---------------------------------------------------------------------------
staged=$(mktemp /tmp/suwrap-staged.XXXXXX.toml)
t_on_cleanup "rm -f '$staged'"
sed 's/^\[global\]$/[global]\numask = "027"/' "$SUWRAP_CONFIG_PATH" >"$staged"
chown "$ALICE:$ALICE" "$staged"
chmod 0644 "$staged"
t_case "config check refuses the staged file where it is (/tmp, alice's): not root's"
t_policy config check --json --config "$staged"
t_policy_exit 2
t_case "config install judges it as if in place, then renames it in atomically"
inode=$(stat -c %i "$SUWRAP_CONFIG_PATH")
t_policy config install --json "${C[@]}" "$staged"
t_policy_exit 0
t_expect "changed, 501 accounts judged against it" t_json_is '[j["changed"], j["accounts"], j["installed"]]' "[True, 501, '$SUWRAP_CONFIG_PATH']"
t_expect "the destination holds the staged text" cmp -s "$staged" "$SUWRAP_CONFIG_PATH"
t_expect "a new file (renamed, not rewritten in place)" test "$(stat -c %i "$SUWRAP_CONFIG_PATH")" != "$inode"
t_expect "root's, 0644" test "$(stat -c '%U:%G %a' "$SUWRAP_CONFIG_PATH")" = "root:root 644"
t_expect "no temporary file left beside it" test -z "$(cd "$T_CONF_DIR" && ls -A | grep '^\..*install' || true)"
t_expect "the staged file is untouched (alice's)" test "$(stat -c %U "$staged")" = "$ALICE"
t_expect "suwrap loads it: config check passes" eval 't_policy config check "${C[@]}"; [ "$T_RC" = 0 ]'
t_case "installing it again: 0, changed false"
t_policy config install --json "${C[@]}" "$staged"
t_policy_exit 0
t_expect "changed false" t_json_is 'j["changed"]' false
t_case "a bad staged file (a handler's php-cgi that does not exist) is refused, the old one kept"
good=$(sha1sum <"$SUWRAP_CONFIG_PATH")
sed "s|^path = \".*\"|path = \"$T_ROOT/no-php-cgi\"|" "$SUWRAP_CONFIG_PATH" >"$staged"
t_policy config install --json "${C[@]}" "$staged"
t_policy_exit 2
t_expect "the problem names the path" t_contains "$T_OUT" "no-php-cgi"
t_expect "the installed file is unchanged" test "$(sha1sum <"$SUWRAP_CONFIG_PATH")" = "$good"
t_case "a staged file that every account would fail against (no handler they name) is refused too"
printf '[global]\ncaller = "%s"\nmode = "account"\ndocroots = ["%s/*"]\naccounts_dir = "%s"\n' "$T_CALLER" "$SITES" "$ACCOUNTS" >"$staged"
t_policy account set site0999 --php-handler php "${C[@]}"
t_policy config install --json "${C[@]}" "$staged"
t_policy_exit 2
t_expect "the installed file is unchanged" test "$(sha1sum <"$SUWRAP_CONFIG_PATH")" = "$good"
t_done
