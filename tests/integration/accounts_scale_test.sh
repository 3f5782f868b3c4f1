#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 10,000 account files, as a hosting server has them: a request for one account is served;
# one file broken in each way (syntax, unknown key, group-writable, a user that does not
# exist, a docroot others can write) refuses that account's requests — with the reason in
# the configured log — and only those; a file written directly (disabled, edited, removed,
# added) takes effect on the next request, per request and with suwrap-cgid and a warm pool
# running; in owner mode, another file rewritten in place to name a user is seen by the
# next request that comes through suwrap-cgid. The generated accounts name users that do not
# exist: only the three that requests are made for are real.
source "$(dirname "$0")/../lib/common.sh" cgid panel
t_setup ALICE BOB CAROL

ACCOUNTS="$T_CONF_DIR/accounts.d"
GENERATED=10000

# generate MODE: GENERATED account files of users that do not exist, each with a docroot of
# its own under $T_ROOT/sites (never requested), written as a configuration tool would.
generate() {
  "$T_PYTHON" - "$ACCOUNTS" "$GENERATED" "$T_ROOT/sites" <<'PY'
import os, sys
accounts, count, sites = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(count):
    with open(os.path.join(accounts, "gen%05d.toml" % i), "w") as f:
        f.write('user = "swgen%05d"\ndocroots = ["%s/gen%05d"]\ndomains = ["gen%05d.example"]\n' % (i, sites, i, i))
PY
}

site() {  # site NAME USER DOCROOT [EXTRA]: the account file of a real user, written directly
  t_account "$1" "user = \"$2\"
docroots = [\"$3\"]
${4:-}"
}

t_file "$ALICE" 0644 "$ALICE_DOCROOT/hello.php" '<?php echo "hello from uid ", posix_getuid(), "\n";'
t_file "$BOB" 0644 "$BOB_DOCROOT/hello.php" '<?php echo "hello from uid ", posix_getuid(), "\n";'
t_file "$CAROL" 0644 "$CAROL_DOCROOT/hello.php" '<?php echo "hello from uid ", posix_getuid(), "\n";'

served() {  # served USER_UID: the last request ran the script as that uid
  [ "$T_RC" = 0 ] && t_contains "$T_OUT" "hello from uid $1"
}
refused_log_config() {  # refused_log_config FILE: the last decision line is check config naming FILE
  [ "$(t_log_field decision check)" = config ] && t_contains "$(t_log_field decision reason)" "$1"
}
refused_for_file() {  # refused_for_file FILE TEXT: check config, 500, exit 2, the log names FILE and TEXT
  local reason
  reason=$(t_log_field decision reason)
  [ "$T_RC" = 2 ] && [ "$T_STATUS" = 500 ] && [ "$(t_log_field decision check)" = config ] &&
    t_contains "$reason" "$1" && t_contains "$reason" "$2"
}

# ---- account mode: every request is for the account whose docroot holds the script ------
t_config 'mode="account"'
generate
site alice "$ALICE" "$ALICE_DOCROOT"
site bob "$BOB" "$BOB_DOCROOT"
echo "# $(find "$ACCOUNTS" -name '*.toml' | wc -l) account files"
sleep 0.2  # files changed within the clock's granularity are read again at every look

t_case "account mode, 10,002 account files: alice's request is served as alice"
started=$(date +%s%N)
t_script "$ALICE_DOCROOT/hello.php"
echo "#   first request (every file read, .suwrap made): $(( ($(date +%s%N) - started) / 1000000 )) ms"
t_expect "served as alice" served "$ALICE_UID"
sleep 0.2  # making .suwrap changed the directory: the index is written once that is 50 ms old
started=$(date +%s%N)
t_script "$ALICE_DOCROOT/hello.php"
echo "#   second request (the index written): $(( ($(date +%s%N) - started) / 1000000 )) ms"
t_expect "the index exists, root's 0644" test "$(stat -c '%U %a' "$ACCOUNTS/.suwrap/index")" = "root 644"
started=$(date +%s%N)
t_script "$ALICE_DOCROOT/hello.php"
echo "#   next request (through the index): $(( ($(date +%s%N) - started) / 1000000 )) ms"
t_expect "served again" served "$ALICE_UID"

broken_case() {  # broken_case WHAT TEXT-IN-REASON: bob's requests refused, alice's served
  t_script "$BOB_DOCROOT/hello.php"
  t_expect "bob refused, check config, the log names bob.toml ($1)" refused_for_file "$ACCOUNTS/bob.toml" "$2"
  t_script "$ALICE_DOCROOT/hello.php"
  t_expect "alice still served" served "$ALICE_UID"
}

t_case "bob.toml with a syntax error"
site bob "$BOB" "$BOB_DOCROOT" 'disabled = tru'
broken_case "a syntax error" "TOML syntax error"

t_case "bob.toml with an unknown key"
site bob "$BOB" "$BOB_DOCROOT" 'colour = "blue"'
broken_case "an unknown key" "unknown key"

t_case "bob.toml writable by its group"
site bob "$BOB" "$BOB_DOCROOT"
chmod 0664 "$ACCOUNTS/bob.toml"
broken_case "group-writable" "writable by its group"
chmod 0644 "$ACCOUNTS/bob.toml"

t_case "bob.toml naming a user that does not exist"
site bob "swnosuchuser$$" "$BOB_DOCROOT"
t_script "$BOB_DOCROOT/hello.php"
t_refused 1 403 user
t_expect "the log says which" t_contains "$(t_log_field decision reason)" "swnosuchuser$$ of account bob does not exist"
t_script "$ALICE_DOCROOT/hello.php"
t_expect "alice still served" served "$ALICE_UID"

t_case "bob's docroot writable by others"
site bob "$BOB" "$BOB_DOCROOT"
chmod 0777 "$BOB_DOCROOT"
t_script "$BOB_DOCROOT/hello.php"
t_refused 1 403 dir_perms
chmod 0755 "$BOB_DOCROOT"
t_script "$ALICE_DOCROOT/hello.php"
t_expect "alice still served" served "$ALICE_UID"

t_case "bob's account, fixed, is served again"
t_script "$BOB_DOCROOT/hello.php"
t_expect "served as bob" served "$BOB_UID"

t_case "a file written directly takes effect on the next request"
site bob "$BOB" "$BOB_DOCROOT" 'disabled = true'
t_script "$BOB_DOCROOT/hello.php"
t_refused 1 403 target
site bob "$BOB" "$BOB_DOCROOT"
t_script "$BOB_DOCROOT/hello.php"
t_expect "enabled again: served" served "$BOB_UID"
rm -f "$ACCOUNTS/bob.toml"
t_script "$BOB_DOCROOT/hello.php"
t_refused 1 403 target
site bob "$BOB" "$BOB_DOCROOT"
t_script "$BOB_DOCROOT/hello.php"
t_expect "added again: served" served "$BOB_UID"

t_case "a file that nothing can be read from refuses everything, and says so"
printf '\001\002 not an account\n' >"$ACCOUNTS/junk.toml"
t_script "$ALICE_DOCROOT/hello.php"
t_expect "refused, check config, naming junk.toml" refused_for_file "$ACCOUNTS/junk.toml" "refuses every request"
rm -f "$ACCOUNTS/junk.toml"
t_script "$ALICE_DOCROOT/hello.php"
t_expect "removed: served" served "$ALICE_UID"

t_case "config check lists every broken file with what it refuses"
site bob "$BOB" "$BOB_DOCROOT" 'disabled = tru'
chmod 0664 "$ACCOUNTS/gen00007.toml"
started=$(date +%s%N)
t_policy config check --config "$SUWRAP_CONFIG_PATH"
echo "#   config check of 10,002 files: $(( ($(date +%s%N) - started) / 1000000 )) ms"
t_expect "exit 2" test "$T_RC" = 2
t_expect "bob.toml is listed" t_contains "$T_ERR" "$ACCOUNTS/bob.toml:"
t_expect "with the requests it refuses" t_contains "$T_ERR" "it refuses the requests under $BOB_DOCROOT"
t_expect "gen00007.toml is listed" t_contains "$T_ERR" "$ACCOUNTS/gen00007.toml: is writable by its group"
t_expect "and counted" t_contains "$T_ERR" "10000 account(s), 2 broken account file(s)"
chmod 0644 "$ACCOUNTS/gen00007.toml"
site bob "$BOB" "$BOB_DOCROOT"

# ---- owner mode, with suwrap-cgid and a warm pool running -------------------------------
T_CONFIG_TABLES=$(t_php_handler php-warm php-fcgi workers=1 idle_seconds=60)
t_config 'mode="owner"'
t_start_cgid --pool-dir "$T_ROOT/run/pools"
request() {  # request USER_DOCROOT: hello.php through suwrap-cgid
  t_fcgi SCRIPT_FILENAME="$1/hello.php"
}
gates() { pgrep -u "$1" -f "^$SUWRAP_GATE_PATH " | wc -l; }

t_case "owner mode, 10,002 account files, through suwrap-cgid: alice is served warm"
request "$ALICE_DOCROOT"
t_expect "served as alice" served "$ALICE_UID"
t_expect "by a gate of hers" test "$(gates "$ALICE")" = 1
t_expect "and no gate for anyone else" test "$(pgrep -f "^$SUWRAP_GATE_PATH " | wc -l)" = 1

t_case "alice's file, disabled in place while her pool runs: the next request is refused"
site alice "$ALICE" "$ALICE_DOCROOT" 'disabled = true'
request "$ALICE_DOCROOT"
t_expect "refused, 403" test "$T_STATUS" = 403
t_expect "logged: account alice is disabled" t_contains "$(t_log_field decision reason)" "account alice is disabled"
site alice "$ALICE" "$ALICE_DOCROOT"
request "$ALICE_DOCROOT"
t_expect "enabled again: served" served "$ALICE_UID"

t_case "alice's file broken while her pool runs: refused with the reason, bob served"
site alice "$ALICE" "$ALICE_DOCROOT" 'limits = 7'
request "$ALICE_DOCROOT"
t_expect "refused, 500" test "$T_STATUS" = 500
t_expect "logged: check config naming alice.toml" refused_log_config "$ACCOUNTS/alice.toml"
request "$BOB_DOCROOT"
t_expect "bob served" served "$BOB_UID"
site alice "$ALICE" "$ALICE_DOCROOT"
request "$ALICE_DOCROOT"
t_expect "fixed: alice served" served "$ALICE_UID"

t_case "alice's file removed while her pool runs: she runs with the defaults"
site alice "$ALICE" "$ALICE_DOCROOT" 'php_handler = "nope"'
request "$ALICE_DOCROOT"
t_expect "a handler the configuration lacks: refused" test "$T_STATUS" = 500
rm -f "$ACCOUNTS/alice.toml"
request "$ALICE_DOCROOT"
t_expect "no file: served" served "$ALICE_UID"

t_case "another file rewritten in place to name carol, disabled: her next request through suwrap-cgid is refused"
request "$CAROL_DOCROOT"
t_expect "carol (no account file) served" served "$CAROL_UID"
site gen00042 "$CAROL" "$T_ROOT/sites/gen00042" 'disabled = true'
request "$CAROL_DOCROOT"
t_expect "refused, 403" test "$T_STATUS" = 403
t_expect "logged: account gen00042 is disabled" t_contains "$(t_log_field decision reason)" "account gen00042 is disabled"
site gen00042 "swgen00042" "$T_ROOT/sites/gen00042"
request "$CAROL_DOCROOT"
t_expect "back as it was: served" served "$CAROL_UID"

t_stop_cgid
t_done
