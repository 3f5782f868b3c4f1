#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A hosting panel's life cycle of an account, with the commands docs/hosting-panels.md
# shows: provision (account add), read back (list/show --json), suspend and resume
# (account set --disabled), switch the PHP (account set --php-handler), a per-account
# php.ini and limits, remove; every edit validated before anything is written, written
# atomically, and each state checked through the real set-uid suwrap run as www-data.
# The JSON Lines log a panel reads, and the metrics of suwrap-cgid, are checked at the end.
source "$(dirname "$0")/../lib/common.sh" cgid panel
t_setup ALICE BOB CAROL

# Two PHP handlers on the installed php-cgi: the second with its own php.ini, so that a
# switch shows in what the script prints.
tuned_ini="$T_ROOT/etc/php-tuned"
mkdir -p "$tuned_ini"
chmod 0755 "$T_ROOT/etc" "$tuned_ini"
printf 'memory_limit = 77M\n' >"$tuned_ini/php.ini"
chmod 0644 "$tuned_ini/php.ini"
T_CONFIG_TABLES="$(t_php_handler php82 php)

$(t_php_handler php82-tuned php "ini_dir=\"$tuned_ini\"" 'extensions=[]')

[handlers.cgi]
kind = \"cgi\"
extensions = [\".cgi\"]"
t_config 'mode="account"' 'check_vhost=true'
C=(--config "$SUWRAP_CONFIG_PATH")
ACCOUNTS="$T_CONF_DIR/accounts.d"

info='<?php echo posix_getuid(), " ", ini_get("memory_limit");'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/info.php" "$info"
t_file "$BOB" 0644 "$BOB_DOCROOT/info.php" "$info"

# alice.example is alice's: SERVER_NAME must be one of her domains (check_vhost).
alice_request() { t_script "$ALICE_DOCROOT/info.php" SERVER_NAME=alice.example; }

# ---- provision ------------------------------------------------------------------------------
t_case "before: no account holds alice's docroot, so her script is refused (check target)"
alice_request
t_refused 1 403 target

t_case "account add provisions alice and prints her as JSON"
t_policy account add alice --user "$ALICE" --docroot "$ALICE_DOCROOT" --domain alice.example \
  --domain WWW.Alice.Example --php-handler php82 --json "${C[@]}"
t_policy_exit 0
t_expect "name, user, docroots" t_json_is '[j["name"], j["user"], j["docroots"]]' "['alice', '$ALICE', ['$ALICE_DOCROOT']]"
t_expect "domains are lower-cased" t_json_is 'j["domains"]' "['alice.example', 'www.alice.example']"
t_expect "php_handler php82, group and handlers unset (null)" t_json_is '[j["php_handler"], j["group"], j["handlers"], j["php_ini_dir"]]' "['php82', None, None, None]"
t_expect "not disabled" t_json_is 'j["disabled"]' false
t_expect "effective limits, all six keys" t_json_is 'j["limits"]' \
  "{'cpu_seconds': 30, 'wall_seconds': 60, 'memory_mb': 512, 'nproc': 64, 'nofile': 256, 'fsize_mb': 256}"
t_expect "the file is accounts.d/alice.toml" t_json_is 'j["file"]' "$ACCOUNTS/alice.toml"
t_expect "it is root's, mode 0644" test "$(stat -c '%U:%G %a' "$ACCOUNTS/alice.toml")" = "root:root 644"

t_case "alice's script now runs as alice, with the handler's php.ini"
alice_request
t_allowed
t_expect "it printed alice's uid and the default memory_limit (got: $(t_body))" test "$(t_body)" = "$ALICE_UID 128M"
t_expect "the log names handler php82" test "$(t_log_field decision handler)" = php82

t_case "a request for a domain that is not alice's is refused (check vhost)"
t_script "$ALICE_DOCROOT/info.php" SERVER_NAME=bob.example
t_refused 1 403 vhost

t_case "account add bob with limit overrides and a handler list"
t_policy account add bob --user "$BOB" --docroot "$BOB_DOCROOT" --domain bob.example --handlers php82,cgi \
  --cpu-seconds 5 --memory-mb 300 --json "${C[@]}"
t_policy_exit 0
t_expect "handlers as given" t_json_is 'j["handlers"]' "['php82', 'cgi']"
t_expect "limits: the overrides, and [limits] for the rest" t_json_is 'j["limits"]' \
  "{'cpu_seconds': 5, 'wall_seconds': 60, 'memory_mb': 300, 'nproc': 64, 'nofile': 256, 'fsize_mb': 256}"
t_script "$BOB_DOCROOT/info.php" SERVER_NAME=bob.example
t_allowed

# ---- read back ------------------------------------------------------------------------------
t_case "account list --json lists both, sorted by name"
t_policy account list --json "${C[@]}"
t_policy_exit 0
t_expect "two accounts: alice, bob" t_json_is '[a["name"] for a in j]' "['alice', 'bob']"
t_expect "every object has the contract's keys" t_json_is \
  'all(set(["name","user","group","docroots","domains","php_handler","handlers","php_ini_dir","disabled","limits"]) <= set(a) for a in j)' true

t_case "account show --json alice"
t_policy account show --json alice "${C[@]}"
t_policy_exit 0
t_expect "one object, alice's" t_json_is '[j["name"], j["user"]]' "['alice', '$ALICE']"

t_case "account list and show without --json are text for people"
t_policy account list "${C[@]}"
t_expect "a header and one line each" test "$(printf '%s\n' "$T_OUT" | wc -l)" = 3
t_expect "alice's line says enabled" eval 'printf "%s\n" "$T_OUT" | grep -q "^alice .* enabled "'
t_policy account show alice "${C[@]}"
t_expect "key: value lines" t_contains "$T_OUT" "php_handler:  php82"

t_case "show of an unknown account: exit 4 (not found)"
t_policy account show nobody "${C[@]}"
t_policy_exit 4

# ---- suspend and resume ---------------------------------------------------------------------
t_case "account set --disabled true suspends alice"
t_policy account set alice --disabled true "${C[@]}"
t_policy_exit 0
t_policy account show --json alice "${C[@]}"
t_expect "disabled: true, the rest unchanged" t_json_is '[j["disabled"], j["php_handler"], j["domains"]]' \
  "[True, 'php82', ['alice.example', 'www.alice.example']]"
alice_request
t_refused 1 403 target
t_expect "the reason says so" t_contains "$(t_log_field decision reason)" "account alice is disabled"
t_policy check --json --server-name alice.example "$ALICE_DOCROOT/info.php"
t_expect "check --json says the same: deny, check target (exit $T_RC)" t_json_is '[j["decision"], j["check"], j["reason"]]' \
  "['deny', 'target', 'account alice is disabled']"
# The log filter of docs/hosting-panels.md: every refusal, one line each.
refusals=$("$T_PYTHON" -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["event"] == "decision" and r["decision"] != "allow":
        print(r["ts"], r["decision"], r["check"], r["script"], "-", r["reason"])' "$T_LOG")
t_expect "the panel's log filter shows the suspension last" eval \
  'printf "%s\n" "$refusals" | tail -n 1 | grep -Eq "^[0-9T:.-]+Z deny target $ALICE_DOCROOT/info.php - account alice is disabled$"'

t_case "account set --disabled false resumes her"
t_policy account set alice --disabled false "${C[@]}"
t_policy_exit 0
alice_request
t_allowed

# ---- switch PHP -----------------------------------------------------------------------------
t_case "account set --php-handler switches alice's PHP"
t_policy account set alice --php-handler php82-tuned --json "${C[@]}"
t_policy_exit 0
t_expect "php_handler is php82-tuned" t_json_is 'j["php_handler"]' php82-tuned
alice_request
t_allowed
t_expect "her script ran with the other handler's php.ini (got: $(t_body))" test "$(t_body)" = "$ALICE_UID 77M"
t_expect "the log names handler php82-tuned" test "$(t_log_field decision handler)" = php82-tuned

t_case "account set --php-ini-dir gives alice her own php.ini"
mkdir -p "$ALICE_HOME/etc/php"
printf 'memory_limit = 55M\n' >"$ALICE_HOME/etc/php/php.ini"
chown -R "$ALICE:$ALICE" "$ALICE_HOME/etc"
chmod 0755 "$ALICE_HOME/etc" "$ALICE_HOME/etc/php"
t_policy account set alice --php-ini-dir "$ALICE_HOME/etc/php" "${C[@]}"
t_policy_exit 0
alice_request
t_expect "PHPRC is her php.ini (got: $(t_body))" test "$(t_body)" = "$ALICE_UID 55M"

t_case "an empty value clears a key: --php-ini-dir '' --php-handler ''"
t_policy account set alice --php-ini-dir '' --php-handler '' --json "${C[@]}"
t_policy_exit 0
t_expect "both null" t_json_is '[j["php_handler"], j["php_ini_dir"]]' "[None, None]"
alice_request
t_expect "back to php82 by extension (got: $(t_body))" test "$(t_body)" = "$ALICE_UID 128M"
t_expect "the file has neither key" eval '! grep -Eq "^(php_handler|php_ini_dir) " "$ACCOUNTS/alice.toml"'

t_case "--cpu-seconds default drops an override"
t_policy account set bob --cpu-seconds default --json "${C[@]}"
t_expect "cpu_seconds is [limits]' 30 again, memory_mb stays 300" t_json_is '[j["limits"]["cpu_seconds"], j["limits"]["memory_mb"]]' "[30, 300]"

# ---- validation: nothing is written when an edit is wrong ------------------------------------
snapshot() { (cd "$ACCOUNTS" && LC_ALL=C ls -A && cat ./*.toml) | sha256sum; }
before=$(snapshot)
refused_edit() {  # refused_edit DESCRIPTION EXPECTED-WORDS ARGS... (exit 2, or $EXIT)
  local what=$1 words=$2
  shift 2
  t_case "refused: $what"
  t_policy account "$@" "${C[@]}"
  t_policy_exit "${EXIT:-2}"
  t_expect "stderr says: $words" t_contains "$T_ERR" "$words"
  t_expect "accounts.d is unchanged" test "$(snapshot)" = "$before"
}
EXIT=3 refused_edit "an account that exists (exit 3)" "account alice exists" \
  add alice --user "$ALICE" --docroot "$ALICE_DOCROOT" --domain alice.example
refused_edit "a docroot inside another account's" "overlaps $ALICE_DOCROOT of account alice" \
  add carol --user "$CAROL" --docroot "$ALICE_DOCROOT" --domain carol.example
mkdir -p "$ALICE_DOCROOT/sub"
refused_edit "a docroot below another account's (component-wise)" "overlaps" \
  add carol --user "$CAROL" --docroot "$ALICE_DOCROOT/sub" --domain carol.example
refused_edit "a user that does not exist" "does not exist" \
  add carol --user nosuchuser$$ --docroot "$CAROL_DOCROOT" --domain carol.example
refused_edit "a user below min_uid" "below min_uid" \
  add carol --user "$T_CALLER" --docroot "$CAROL_DOCROOT" --domain carol.example
refused_edit "root" "is root" \
  add carol --user root --docroot "$CAROL_DOCROOT" --domain carol.example
refused_edit "a relative docroot" "is not an absolute path" \
  add carol --user "$CAROL" --docroot public_html --domain carol.example
refused_edit "a docroot that does not exist" "does not exist" \
  add carol --user "$CAROL" --docroot "$CAROL_HOME/nothere" --domain carol.example
refused_edit "a docroot that is a file" "is not a directory" \
  add carol --user "$CAROL" --docroot "$ALICE_DOCROOT/info.php" --domain carol.example
refused_edit "a handler that is not configured" "php74 is not configured" \
  add carol --user "$CAROL" --docroot "$CAROL_DOCROOT" --domain carol.example --php-handler php74
refused_edit "a cgi handler as the PHP" "must be \"php\" or \"php-fcgi\"" \
  add carol --user "$CAROL" --docroot "$CAROL_DOCROOT" --domain carol.example --php-handler cgi
refused_edit "a php_handler outside its handlers" "not among the account's handlers" \
  add carol --user "$CAROL" --docroot "$CAROL_DOCROOT" --domain carol.example --php-handler php82 --handlers cgi
refused_edit "a php_ini_dir owned by another user" "must be owned by root or $CAROL" \
  add carol --user "$CAROL" --docroot "$CAROL_DOCROOT" --domain carol.example --php-ini-dir "$ALICE_HOME/etc/php"
refused_edit "a php_ini_dir without php.ini" "php.ini does not exist" \
  add carol --user "$CAROL" --docroot "$CAROL_DOCROOT" --domain carol.example --php-ini-dir "$CAROL_HOME"
refused_edit "a domain that is not a host name" "domains" \
  add carol --user "$CAROL" --docroot "$CAROL_DOCROOT" --domain "carol example"
refused_edit "a name starting with '.'" "starts with '.'" \
  add .carol --user "$CAROL" --docroot "$CAROL_DOCROOT" --domain carol.example
refused_edit "a name with a '/'" "may hold only" \
  add carol/x --user "$CAROL" --docroot "$CAROL_DOCROOT" --domain carol.example
refused_edit "a limit that is not a number" "--memory-mb takes a whole number" \
  add carol --user "$CAROL" --docroot "$CAROL_DOCROOT" --domain carol.example --memory-mb lots
EXIT=4 refused_edit "set on an account that does not exist (exit 4)" "no account carol" set carol --disabled true
refused_edit "set --disabled with a word other than true or false" "takes true or false" set alice --disabled yes
refused_edit "set moving bob's docroot into alice's" "overlaps" set bob --docroot "$ALICE_DOCROOT/sub"
EXIT=4 refused_edit "remove of an account that does not exist (exit 4)" "no account carol" remove carol

t_case "editing needs root: as www-data, exit 2 and nothing written"
T_AS=$T_CALLER t_policy account set alice --disabled true "${C[@]}"
t_policy_exit 2
t_expect "stderr says to run it as root" t_contains "$T_ERR" "run it as root"
t_expect "accounts.d is unchanged" test "$(snapshot)" = "$before"
t_case "reading does not: list --json as www-data"
T_AS=$T_CALLER t_policy account list --json "${C[@]}"
t_policy_exit 0
t_expect "the same two accounts" t_json_is '[a["name"] for a in j]' "['alice', 'bob']"

# ---- concurrency and atomicity --------------------------------------------------------------
t_case "two panels adding overlapping accounts at once: exactly one wins"
mkdir -p "$CAROL_DOCROOT/shared"
chown "$CAROL:$CAROL" "$CAROL_DOCROOT/shared"
for n in 1 2 3 4; do
  "$SUWRAP_POLICY_BIN" account add "race$n" --user "$CAROL" --docroot "$CAROL_DOCROOT/shared" --domain "race$n.example" \
    "${C[@]}" >"$T_ROOT/race$n.out" 2>&1 &
done
wait
made=$(cd "$ACCOUNTS" && ls race*.toml 2>/dev/null | wc -l)
t_expect "one race*.toml was written (got $made)" test "$made" = 1
t_policy config check "${C[@]}"
t_expect "the configuration is valid (config check exit $T_RC: $T_ERR)" test "$T_RC" = 0
rm -f "$ACCOUNTS"/race*.toml

t_case "no temporary file is ever left in accounts.d"
t_expect "only alice.toml, bob.toml and the index's .suwrap (got: $(ls -A "$ACCOUNTS" | tr '\n' ' '))" \
  test "$(LC_ALL=C ls -A "$ACCOUNTS" | tr '\n' ' ')" = ".suwrap alice.toml bob.toml "
t_expect "and only the index in .suwrap (got: $(ls -A "$ACCOUNTS/.suwrap" | tr '\n' ' '))" \
  test "$(LC_ALL=C ls -A "$ACCOUNTS/.suwrap" | tr '\n' ' ')" = "index "

t_case "account add creates a missing accounts_dir"
rm -rf "$ACCOUNTS.moved"
mv "$ACCOUNTS" "$ACCOUNTS.moved"
t_policy account add carol --user "$CAROL" --docroot "$CAROL_DOCROOT" --domain carol.example "${C[@]}"
t_policy_exit 0
t_expect "accounts.d is back, root's, 0755" test "$(stat -c '%U %a' "$ACCOUNTS")" = "root 755"
rm -rf "$ACCOUNTS"
mv "$ACCOUNTS.moved" "$ACCOUNTS"

# ---- remove ---------------------------------------------------------------------------------
t_case "account remove bob"
t_policy account remove bob --json "${C[@]}"
t_policy_exit 0
t_expect "prints what it removed" t_json_is '[j["removed"], j["file"]]' "['bob', '$ACCOUNTS/bob.toml']"
t_expect "the file is gone" test ! -e "$ACCOUNTS/bob.toml"
t_script "$BOB_DOCROOT/info.php" SERVER_NAME=bob.example
t_refused 1 403 target

t_case "a broken account file: list names it and lists the others; remove removes it"
printf 'user = \n' >"$ACCOUNTS/broken.toml"
t_policy account list "${C[@]}"
t_expect "list lists the others (exit $T_RC)" test "$T_RC" = 0
t_expect "and says which file is broken" t_contains "$T_ERR" "not listed, broken: $ACCOUNTS/broken.toml"
t_policy account show broken "${C[@]}"
t_expect "show says what is wrong with it (exit $T_RC)" t_contains "$T_ERR" "TOML syntax error"
t_policy account remove broken "${C[@]}"
t_policy_exit 0
t_policy account list "${C[@]}"
t_expect "and then nothing is broken (exit $T_RC)" test "$T_RC" = 0 -a -z "$T_ERR"

# ---- the log a panel reads -----------------------------------------------------------------
t_case "the log: one JSON object per line with the contract's fields"
alice_request
t_allowed
fields=$("$T_PYTHON" - "$T_LOG" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
decision = [l for l in lines if l["event"] == "decision"][-1]
exit_ = [l for l in lines if l["event"] == "exit"][-1]
print(sorted(decision) == sorted(["ts", "event", "pid", "request_id", "caller", "script", "handler", "user", "uid",
                                  "gid", "account", "host", "decision", "check", "reason"]) or sorted(decision),
      sorted(exit_) == sorted(["ts", "event", "pid", "request_id", "account", "user", "handler", "script", "host",
                               "status", "signal", "wall_ms", "cpu_ms", "maxrss_kb", "timed_out"]) or sorted(exit_),
      decision["decision"], decision["user"], decision["caller"])
PY
)
t_expect "decision and exit lines carry every field (got: $fields)" test "$fields" = "True True allow $ALICE $T_CALLER"

# ---- metrics -------------------------------------------------------------------------------
if [ -n "${SUWRAP_CGID_BIN:-}" ] && [ -x "${SUWRAP_CGID_BIN:-}" ]; then
  t_case "metrics: suwrap-cgid --status-path answers with Prometheus text"
  t_start_cgid --status-path /suwrap-status
  t_fcgi SCRIPT_FILENAME="$ALICE_DOCROOT/info.php" SCRIPT_NAME=/info.php SERVER_NAME=alice.example
  t_expect "a request through the daemon runs (status $T_STATUS)" test "$T_STATUS" = 200
  t_status_page
  t_expect "status 200" test "$T_STATUS" = 200
  # grep reads it all (no -q): the text is longer than a pipe write, and pipefail would
  # count the writer's SIGPIPE after an early match as a failure.
  t_expect "requests_total counts it" eval 't_body | grep "^suwrap_cgid_requests_total{status=\"200\"} [1-9]" >/dev/null'
  t_expect "children_active is a gauge" eval 't_body | grep "^# TYPE suwrap_cgid_children_active gauge" >/dev/null'
  t_stop_cgid
else
  echo "skip metrics: SUWRAP_CGID_BIN is not set"
fi

t_done
