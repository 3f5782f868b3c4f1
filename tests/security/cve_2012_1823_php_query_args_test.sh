#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CVE-2012-1823: php-cgi took a query string without '=' as command-line options, so
# "?-s" showed the source and "?-d+auto_prepend_file=php://input" ran the request body.
# A web server may also pass query words to a CGI program as its arguments (RFC 3875
# §4.4). Nothing from a request may ever become an argument of any program: php-cgi's
# /proc/self/cmdline is exactly [php-cgi], a CGI program gets no argument ($# = 0), whatever
# the query string and whatever arguments suwrap itself was given.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
t_config
t_markers_dir

# The source holds a secret that only a source listing (-s) would show.
t_file "$ALICE" 0644 "$ALICE_DOCROOT/index.php" '<?php
// SOURCE-SECRET-d41d8 must never be shown
echo "SCRIPT-RAN\n";
echo "cmdline=", str_replace("\0", "|", file_get_contents("/proc/self/cmdline")), "\n";
echo "loaded=", php_ini_loaded_file(), "\n";
echo "prepend=", ini_get("auto_prepend_file"), "\n";
echo "url_include=", ini_get("allow_url_include"), "\n";'
t_file "$ALICE" 0755 "$ALICE_DOCROOT/args.cgi" '#!/bin/sh
printf "Content-Type: text/plain\r\n\r\n"
echo "argc=$#"
for a in "$@"; do echo "arg=$a"; done
echo "cmdline=$(tr "\0" "|" </proc/$$/cmdline)"'
t_file root 0644 "$T_ROOT/evil.ini" "auto_prepend_file = $T_ROOT/evil.inc"
t_file root 0644 "$T_ROOT/evil.inc" "<?php touch('$T_MARKS/evil-ini'); echo 'PWNED-BY-INI';"
printf '<?php touch("%s/php-input"); echo "PWNED";' "$T_MARKS" >"$T_ROOT/post-body"
post_len=$(stat -c %s "$T_ROOT/post-body")
configured_ini="$T_PHP_INI_DIR/php.ini"

# The control: php-cgi given "-s" as an argument shows the source, so the assertions on the
# secret below can fail.
t_case "control: php-cgi -s as an argument prints the source"
out=$(cd "$ALICE_DOCROOT" && env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET REDIRECT_STATUS=200 \
  SCRIPT_FILENAME="$ALICE_DOCROOT/index.php" setpriv --reuid="$ALICE" --regid="$ALICE_GID" --init-groups \
  "$T_PHP_CGI" -s 2>&1 || true)
t_expect "the secret is in the listing" t_contains "$out" SOURCE-SECRET-d41d8

# php_ran_plainly: the last response is index.php run with no argument and the configured ini.
php_ran_plainly() {
  local body
  body=$(t_body)
  t_expect "the script ran" t_contains "$body" SCRIPT-RAN
  t_expect "no source listing (the secret is absent)" eval '! t_contains "$T_OUT" SOURCE-SECRET'
  t_expect "php-cgi's cmdline is exactly [$T_PHP_CGI]" t_contains "$body" "cmdline=$T_PHP_CGI|
"
  t_expect "the configured ini was loaded (-n/-c ignored)" t_contains "$body" "loaded=$configured_ini"
  t_expect "auto_prepend_file is unset" eval 'printf "%s\n" "$body" | grep -qx "prepend="'
  t_expect "allow_url_include is off" eval 'printf "%s\n" "$body" | grep -qx "url_include="'
  t_expect "no PWNED" eval '! t_contains "$T_OUT" PWNED'
}

t_case "QUERY_STRING=-s"
t_attack_script "$ALICE_DOCROOT/index.php" QUERY_STRING=-s
t_ran_only
php_ran_plainly

t_case "QUERY_STRING=-d allow_url_include=1 -d auto_prepend_file=php://input, with a PHP body"
T_STDIN="$T_ROOT/post-body"
t_attack_script "$ALICE_DOCROOT/index.php" REQUEST_METHOD=POST CONTENT_LENGTH="$post_len" \
  CONTENT_TYPE=application/x-www-form-urlencoded \
  QUERY_STRING='-d+allow_url_include%3d1+-d+auto_prepend_file%3dphp://input'
T_STDIN=/dev/null
t_ran_only
php_ran_plainly

t_case "QUERY_STRING=-n (no ini)"
t_attack_script "$ALICE_DOCROOT/index.php" QUERY_STRING=-n
t_ran_only
php_ran_plainly

t_case "QUERY_STRING=-c /tmp/evil.ini"
t_attack_script "$ALICE_DOCROOT/index.php" QUERY_STRING="-c+$T_ROOT/evil.ini"
t_ran_only
php_ran_plainly

t_case "suwrap itself given the query words as arguments (a server's ISINDEX-style argv)"
T_SUWRAP_ARGS=(-d allow_url_include=1 -d auto_prepend_file=php://input -s -n -c "$T_ROOT/evil.ini")
T_STDIN="$T_ROOT/post-body"
t_request_via -- SCRIPT_FILENAME="$ALICE_DOCROOT/index.php" REQUEST_METHOD=POST CONTENT_LENGTH="$post_len" \
  QUERY_STRING='-s+-d+auto_prepend_file%3dphp://input'
T_STDIN=/dev/null
t_ran_only
php_ran_plainly

t_case "action-handler mode: QUERY_STRING=-s and arguments to suwrap"
t_request_via -- SCRIPT_FILENAME="$T_SUWRAP" PATH_TRANSLATED="$ALICE_DOCROOT/index.php" \
  PATH_INFO=/index.php QUERY_STRING=-s
t_ran_only
php_ran_plainly
T_SUWRAP_ARGS=()
t_attack_script "$T_SUWRAP" PATH_TRANSLATED="$ALICE_DOCROOT/index.php" PATH_INFO=/index.php \
  QUERY_STRING="-c+$T_ROOT/evil.ini+-d+auto_prepend_file%3d$T_ROOT/evil.inc"
t_ran_only
php_ran_plainly

t_case "a CGI program gets no argument from the query string"
t_attack_script "$ALICE_DOCROOT/args.cgi" QUERY_STRING='-s+--help+x'
t_ran_only
t_expect "argc=0" t_contains "$(t_body)" "argc=0"
t_expect "no arg= line" eval '! t_contains "$(t_body)" "arg="'
# suwrap executes the checked descriptor (execveat): the kernel names the script /dev/fd/N.
t_expect "its cmdline is the interpreter and the script only" \
  eval 'printf "%s\n" "$(t_body)" | grep -Eqx "cmdline=/bin/sh\|/dev/fd/[0-9]+\|"' 

t_case "a CGI program gets no argument from suwrap's own arguments either"
T_SUWRAP_ARGS=(-s evil words)
t_request_via -- SCRIPT_FILENAME="$ALICE_DOCROOT/args.cgi" QUERY_STRING='evil+words'
T_SUWRAP_ARGS=()
t_ran_only
t_expect "argc=0" t_contains "$(t_body)" "argc=0"

t_case "action-handler mode: a CGI program gets no argument"
t_attack_script "$T_SUWRAP" PATH_TRANSLATED="$ALICE_DOCROOT/args.cgi" PATH_INFO=/args.cgi QUERY_STRING=-s+x
t_ran_only
t_expect "argc=0" t_contains "$(t_body)" "argc=0"

t_case "nothing of the payloads ran"
t_expect "no marker (got: $(t_markers))" test -z "$(t_markers)"

t_done
