#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# PHP compiles only the checked file because php-cgi loads suwrap's guard; where it does
# not, that no longer holds. Two ways a PHP handler would run without it: php-cgi of
# another PHP build than the one the guard was built for (another minor version: PHP
# refuses the library with a warning and goes on), and a handler argument -n
# (--no-php-ini), with which php-cgi reads no ini file at all. The first is made here as
# PHP tells builds apart, by the extension build string in the program ("API420220829,NTS"),
# in a copy of php-cgi with another one: PHP itself then refuses the guard (shown below).
# suwrap refuses such a handler (check handler), config check says why, and -n is a
# configuration error.
source "$(dirname "$0")/../lib/common.sh" security panel
t_setup ALICE
t_markers_dir
if [ -z "$T_PHP_GUARD_DIR" ]; then echo "SKIP $T_NAME: needs the test build's PHP guard"; exit 77; fi

php_handler() {  # php_handler PATH [ARGS-TOML]: a configuration whose .php handler runs PATH
  T_CONFIG_TABLES="[handlers.php]
kind = \"php\"
path = \"$1\"
${2:+args = $2}
ini_dir = \"$T_PHP_INI_DIR\"
extensions = [\".php\"]"
  t_config
}
t_file "$ALICE" 0644 "$ALICE_DOCROOT/page.php" "<?php touch('$T_MARKS/page-ran'); echo 'the page';"

# A copy of php-cgi whose extension build string is another PHP's.
other=$T_ROOT/bin/php-cgi-other
"$T_PYTHON" - "$(readlink -f "$T_PHP_CGI")" "$other" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
patched, n = re.subn(rb"\0API4(\d{8}),", lambda m: b"\0API4" + b"9" * 8 + b",", data)
if n == 0:
    sys.exit("no extension build string found in php-cgi")
open(sys.argv[2], "wb").write(patched)
PY
chown root:root "$other"
chmod 0755 "$other"
loaded() { env -i PHP_INI_SCAN_DIR=":$T_PHP_GUARD_DIR" "$1" -v 2>&1; }

t_case "control: php-cgi of the guard's build loads the guard and serves the page"
t_expect "php-cgi -v names suwrap_guard" t_contains "$(loaded "$T_PHP_CGI")" "suwrap_guard"
php_handler "$T_PHP_CGI"
t_attack_script "$ALICE_DOCROOT/page.php"
t_ran_only
t_expect "the page ran" test -e "$T_MARKS/page-ran"
rm -f "$T_MARKS"/*

t_case "php-cgi of another build: PHP would not load the guard"
t_expect "PHP says it cannot load it" t_contains "$(loaded "$other")" "Cannot load suwrap_guard"

t_case "php-cgi of another build as the handler: refused, nothing runs"
php_handler "$other"
t_attack_script "$ALICE_DOCROOT/page.php"
t_refused_only 3 500 handler
t_expect "the log says why" t_contains "$(t_log_field decision reason)" "is php-cgi of another PHP build"
t_expect "the page did not run (markers: $(t_markers))" test -z "$(t_markers)"

t_case "config check refuses it and says what to do"
t_policy config check --config "$SUWRAP_CONFIG_PATH"
t_expect "exit 2 (got $T_RC)" test "$T_RC" = 2
t_expect "it names the handler and the reason: $T_ERR" t_contains "$T_ERR" "handlers.php.path: $other is php-cgi of another PHP build"

for args in '["-n"]' '["--no-php-ini"]'; do
  t_case "a PHP handler with args = $args: a configuration error, nothing runs"
  php_handler "$T_PHP_CGI" "$args"
  t_attack_script "$ALICE_DOCROOT/page.php"
  t_expect "refused: exit 2, 500 (got exit $T_RC, $T_STATUS)" test "$T_RC/$T_STATUS" = 2/500
  t_expect "the page did not run (markers: $(t_markers))" test -z "$(t_markers)"
  t_policy config check --config "$SUWRAP_CONFIG_PATH"
  t_expect "config check: exit 2, naming the key (got $T_RC: $T_ERR)" sh -c '[ "$1" = 2 ] && printf "%s" "$2" | grep -q "handlers.php.args: expected arguments without -n"' _ "$T_RC" "$T_ERR"
done

t_done
