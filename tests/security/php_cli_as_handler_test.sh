#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A PHP handler that is the PHP command-line binary: `[handlers.php] path = "/usr/bin/php"`,
# as some suphp.conf files name it. suwrap runs a PHP handler as php-cgi is run — the
# program alone, the request body on its stdin — and the CLI run so executes the body: any
# visitor who can POST runs code as the site's owner. suwrap refuses it (check handler, the
# program is read for its SAPI, whatever it is named), `config check` refuses it, and
# `import-suphp` says why. php-cgi under any name is served.
source "$(dirname "$0")/../lib/common.sh" security panel
t_setup ALICE
t_markers_dir
CLI=$(readlink -f /usr/bin/php 2>/dev/null || true)
if [ -z "$CLI" ] || [ ! -x "$CLI" ]; then
  echo "SKIP $T_NAME: the PHP command-line binary (php-cli) is not installed"
  exit 77
fi

php_handler() {  # php_handler PATH: a configuration whose .php handler runs PATH
  T_CONFIG_TABLES="[handlers.php]
kind = \"php\"
path = \"$1\"
ini_dir = \"$T_PHP_INI_DIR\"
extensions = [\".php\"]"
  t_config
}

t_file "$ALICE" 0644 "$ALICE_DOCROOT/page.php" '<?php echo "the page\n";'
printf '<?php touch("%s/ran-body"); echo "BODY RAN\n";' "$T_MARKS" >"$T_ROOT/body"
T_STDIN="$T_ROOT/body"
post() { t_attack_script "$ALICE_DOCROOT/page.php" REQUEST_METHOD=POST CONTENT_LENGTH="$(stat -c %s "$T_ROOT/body")" \
  CONTENT_TYPE=application/x-www-form-urlencoded; }

t_case "control: php-cgi as the handler runs the page, not the body"
php_handler "$T_PHP_CGI"
post
t_ran_only
t_expect "the page answered" t_contains "$T_OUT" "the page"
t_expect "the body did not run" test -z "$(t_markers)"

t_case "the PHP command-line binary as the handler: refused, the body never runs"
php_handler /usr/bin/php
post
t_refused_only 3 500 handler
t_expect "the log says why" t_contains "$(t_log_field decision reason)" "is the PHP command-line binary"
t_expect "the body did not run (markers: $(t_markers))" test -z "$(t_markers)"
t_expect "no BODY RAN in the response" eval '! t_contains "$T_OUT" "BODY RAN"'

t_case "the same binary under another name (a copy named php-cgi): refused"
cp "$CLI" "$T_ROOT/bin/php-cgi"
chmod 0755 "$T_ROOT/bin/php-cgi"
php_handler "$T_ROOT/bin/php-cgi"
post
t_refused_only 3 500 handler
t_expect "the body did not run (markers: $(t_markers))" test -z "$(t_markers)"

t_case "php-cgi under another name (a copy named php): served"
cp "$(readlink -f "$T_PHP_CGI")" "$T_ROOT/bin/php"
chmod 0755 "$T_ROOT/bin/php"
php_handler "$T_ROOT/bin/php"
post
t_ran_only
t_expect "the body did not run" test -z "$(t_markers)"

t_case "config check refuses the command-line binary as a PHP handler"
php_handler /usr/bin/php
t_policy config check --config "$SUWRAP_CONFIG_PATH"
t_expect "exit 2" test "$T_RC" = 2
t_expect "it says why" t_contains "$T_ERR" "handlers.php.path: /usr/bin/php is the PHP command-line binary"
php_handler "$T_PHP_CGI"
t_policy config check --config "$SUWRAP_CONFIG_PATH"
t_expect "and accepts php-cgi (exit $T_RC: $T_ERR)" test "$T_RC" = 0

t_case "import-suphp carries the handler over, and says it will be refused and why"
cat >"$T_ROOT/suphp.conf" <<'EOF'
[global]
webserver_user=www-data
docroot=/var/www
min_uid=1000
min_gid=1000
[handlers]
application/x-httpd-suphp="php:/usr/bin/php"
EOF
t_policy import-suphp "$T_ROOT/suphp.conf"
t_expect "exit 0" test "$T_RC" = 0
t_expect "a note names the command-line binary" t_contains "$T_ERR" "/usr/bin/php is the PHP command-line binary"
t_expect "and what to name instead" t_contains "$T_ERR" "name php-cgi instead"

t_done
