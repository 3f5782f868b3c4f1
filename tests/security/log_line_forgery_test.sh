#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Request data that tries to forge a log line: a newline or carriage return in the script's
# file name (a real file with that name exists, so only the request check stops it), in
# PATH_TRANSLATED, in an environment variable's name or value, in SUWRAP_HANDLER; and bytes
# that are not line breaks but could break a reader: quotes, backslashes, tabs, invalid
# UTF-8, U+2028. The log stays JSON Lines, one object per line, exactly one new decision
# line per refusal, and no forged record appears; names that are allowed come back exactly.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
t_config
t_markers_dir

forged='{"ts":"2000-01-01T00:00:00.000Z","event":"decision","pid":1,"caller":"www-data","script":"/forged","handler":"php","user":"root","uid":0,"gid":0,"decision":"allow","check":null,"reason":"forged"}'
payload="<?php touch('$T_MARKS/ran'); echo 'RAN';"
nl_name="evil"$'\n'"$forged"$'\n'"x.php"
cr_name="evil"$'\r'"$forged"$'\r'"x.php"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/$nl_name" "$payload"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/$cr_name" "$payload"

no_forged_line() {
  t_expect "the whole log is JSON Lines" t_log_valid
  t_expect "no forged record in the log" eval '! grep -q "\"reason\":\"forged\"}$" "$T_LOG" && ! grep -q "^{\"ts\":\"2000-" "$T_LOG"'
  t_expect "nothing ran" t_no_marker ran
}

t_case "a newline in SCRIPT_FILENAME (the file exists)"
t_attack_script "$ALICE_DOCROOT/$nl_name"
t_refused_only 1 403 request
no_forged_line

t_case "a carriage return in SCRIPT_FILENAME"
t_attack_script "$ALICE_DOCROOT/$cr_name"
t_refused_only 1 403 request
no_forged_line

t_case "a newline in PATH_TRANSLATED (action-handler mode)"
t_attack_script "$T_SUWRAP" PATH_TRANSLATED="$ALICE_DOCROOT/$nl_name" PATH_INFO=/x.php
t_refused_only 1 403 request
no_forged_line

t_case "a newline in an environment value and in an environment name"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/ok.php" "$payload"
t_attack_script "$ALICE_DOCROOT/ok.php" "HTTP_X_EVIL=a"$'\n'"$forged"
t_refused_only 1 403 request
no_forged_line
t_attack_script "$ALICE_DOCROOT/ok.php" "HTTP_X"$'\n'"$forged=1"
t_refused_only 1 403 request
no_forged_line

t_case "a newline in SUWRAP_HANDLER"
t_attack_script "$ALICE_DOCROOT/ok.php" "SUWRAP_HANDLER=php"$'\n'"$forged"
t_refused_only 1 403 request
no_forged_line

# A name that is allowed, full of JSON's special characters: it runs, and its decision
# line gives the exact name back.
odd_name='q"uo\te'$'\t''tab'$'\x01''ctl'$'\xff\xfe''bad'$'\xe2\x80\xa8''ls.php'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/$odd_name" "<?php echo 'ODD-RAN';"
t_case "quotes, backslash, tab, a control byte, invalid UTF-8 and U+2028 in an allowed name"
t_attack_script "$ALICE_DOCROOT/$odd_name"
t_ran_only
t_expect "it ran" t_contains "$(t_body)" ODD-RAN
t_expect "the whole log is JSON Lines" t_log_valid
t_expect "each line is one object: the log has as many lines as records" \
  eval '[ "$(wc -l <"$T_LOG")" = "$(T_LOG_MARK=0 t_log_new | grep -c "^decision\|^exit")" ]'
# The logged name, decoded, is the file name: valid UTF-8 as itself, each invalid byte as the
# code point of the same number (json_escape writes it as \u00XX).
same_name() {
  "$T_PYTHON" -I -S - "$T_LOG" "$ALICE_DOCROOT/$odd_name" <<'PY'
import codecs, json, os, sys
codecs.register_error("as_latin1", lambda e: (e.object[e.start:e.end].decode("latin-1"), e.end))
records = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
logged = [r for r in records if r.get("event") == "decision"][-1]["script"]
expected = os.fsencode(sys.argv[2]).decode("utf-8", "as_latin1")
sys.exit(0 if logged == expected else 1)
PY
}
t_expect "the logged script is exactly the name" same_name

t_done
