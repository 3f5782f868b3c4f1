#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An account user plants php.ini and php-cgi-fcgi.ini beside a script. php-cgi reads those
# from its working directory (the script's directory) when PHPRC is unset, and
# php-cgi-fcgi.ini even before the php.ini of a PHPRC *directory*, so an account could
# switch off disable_functions or open_basedir, or add an auto_prepend_file of its choosing. suwrap sets PHPRC to the configured php.ini *file*: the planted ones are never
# loaded. Control runs of php-cgi (no PHPRC, or PHPRC naming the directory) show the plant is live.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
t_config

t_file "$ALICE" 0644 "$ALICE_DOCROOT/prepend.inc" '<?php echo "PWNED-BY-PREPEND\n";'
planted="auto_prepend_file = $ALICE_DOCROOT/prepend.inc
disable_functions = php_ini_loaded_file,posix_getuid
memory_limit = 7M"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/php.ini" "$planted"
# The planted ini disables php_ini_loaded_file(): show.php reports that instead of failing.
t_file "$ALICE" 0644 "$ALICE_DOCROOT/show.php" '<?php
echo "loaded=", function_exists("php_ini_loaded_file") ? php_ini_loaded_file() : "DISABLED", "\n";
echo "prepend=", ini_get("auto_prepend_file"), "\n";
echo "disabled=", ini_get("disable_functions"), "\n";
echo "memory_limit=", ini_get("memory_limit"), "\n";
echo "uid=", function_exists("posix_getuid") ? posix_getuid() : "DISABLED", "\n";'
configured_ini="$T_PHP_INI_DIR/php.ini"
configured_memory=$(sed -n 's/^memory_limit *= *//p' "$configured_ini" | tail -n 1)

# What php-cgi does with these files without PHPRC, or with PHPRC naming a directory: the
# plant is effective, so the assertions on suwrap's runs below can fail.
control() {  # control [PHPRC=...]: prints the response php-cgi gives as alice in her docroot
  (cd "$ALICE_DOCROOT" && env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET REDIRECT_STATUS=200 \
    SCRIPT_FILENAME="$ALICE_DOCROOT/show.php" "$@" \
    setpriv --reuid="$ALICE" --regid="$ALICE_GID" --init-groups "$T_PHP_CGI" 2>&1 || true)
}

check_not_loaded() {  # check_not_loaded: the last response shows only the configured ini
  local body
  body=$(t_body)
  t_expect "php_ini_loaded_file() is the configured $configured_ini" t_contains "$body" "loaded=$configured_ini"
  t_expect "the auto_prepend_file never ran (no PWNED)" eval '! t_contains "$T_OUT" PWNED'
  t_expect "auto_prepend_file is not the planted one" eval '! t_contains "$body" "prepend=$ALICE_DOCROOT"'
  t_expect "disable_functions is not the planted one" eval '! t_contains "$body" "disabled=php_ini_loaded_file"'
  t_expect "memory_limit is the configured $configured_memory" t_contains "$body" "memory_limit=$configured_memory"
  t_expect "the script ran as alice" t_contains "$body" "uid=$ALICE_UID"
}

t_case "control: php-cgi without PHPRC loads the planted php.ini"
out=$(control)
t_expect "PWNED and the planted file (got: $(printf '%s' "$out" | tr '\n' ' ' | head -c 200))" \
  eval 't_contains "$out" PWNED-BY-PREPEND && t_contains "$out" "memory_limit=7M"'

t_case "a php.ini beside the script is never loaded"
t_attack_script "$ALICE_DOCROOT/show.php"
t_ran_only
check_not_loaded

t_case "control: php-cgi with PHPRC naming a directory loads a planted php-cgi-fcgi.ini"
mv "$ALICE_DOCROOT/php.ini" "$ALICE_DOCROOT/php-cgi-fcgi.ini"
out=$(control PHPRC="$T_PHP_INI_DIR")
t_expect "PWNED and the planted file" eval 't_contains "$out" PWNED-BY-PREPEND && t_contains "$out" "memory_limit=7M"'

t_case "a php-cgi-fcgi.ini beside the script is never loaded"
t_attack_script "$ALICE_DOCROOT/show.php"
t_ran_only
check_not_loaded

t_case "both at once, and a PHPRC from the caller pointing at them, change nothing"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/php.ini" "$planted"
t_attack_script "$ALICE_DOCROOT/show.php" PHPRC="$ALICE_DOCROOT" PHP_INI_SCAN_DIR="$ALICE_DOCROOT"
t_ran_only
check_not_loaded

t_case "planted in a subdirectory that holds the script (the working directory)"
t_dir "$ALICE" 0755 "$ALICE_DOCROOT/app"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/app/php-cgi-fcgi.ini" "$planted"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/app/php.ini" "$planted"
cp -p "$ALICE_DOCROOT/show.php" "$ALICE_DOCROOT/app/show.php"
t_attack_script "$ALICE_DOCROOT/app/show.php"
t_ran_only
check_not_loaded

t_case "through action-handler mode too"
t_attack_script "$T_SUWRAP" PATH_TRANSLATED="$ALICE_DOCROOT/app/show.php" PATH_INFO=/app/show.php
t_ran_only
check_not_loaded

t_done
