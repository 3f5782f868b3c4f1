#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# suwrap end to end: real users, the set-uid binary run as www-data, real php-cgi.
# What an allowed request gets: the owner's uid, exactly the allowed environment, the
# request body, the script's own status headers, and an exit line in the log.
source "$(dirname "$0")/../lib/common.sh"
t_setup ALICE BOB
t_config

t_file "$ALICE" 0644 "$ALICE_DOCROOT/whoami.php" '<?php echo "uid=", posix_getuid(), " gid=", posix_getgid();'
t_file "$BOB" 0644 "$BOB_DOCROOT/whoami.php" '<?php echo "uid=", posix_getuid(), " gid=", posix_getgid();'

t_case "php runs as the script's owner (alice)"
t_script "$ALICE_DOCROOT/whoami.php"
t_allowed
t_expect "body shows alice's uid and gid" t_contains "$(t_body)" "uid=$ALICE_UID gid=$ALICE_GID"
t_expect "log line names alice" test "$(t_log_field decision user)" = "$ALICE"
t_expect "log line has alice's uid" test "$(t_log_field decision uid)" = "$ALICE_UID"
t_expect "exit line logged with status 0" test "$(t_log_field exit status)" = 0
t_expect "exit line has timed_out false" test "$(t_log_field exit timed_out)" = false

t_case "php runs as the script's owner (bob)"
t_script "$BOB_DOCROOT/whoami.php"
t_allowed
t_expect "body shows bob's uid" t_contains "$(t_body)" "uid=$BOB_UID gid=$BOB_GID"

t_case "the handler sees exactly the allowed environment"
t_file "$ALICE" 0755 "$ALICE_DOCROOT/env.cgi" '#!/bin/sh
printf "Content-Type: text/plain\r\n\r\n"
env | sort
'
t_script "$ALICE_DOCROOT/env.cgi" HTTP_X_CUSTOM=hello QUERY_STRING='a=1&b=2' \
  LD_PRELOAD=/tmp/evil.so LD_LIBRARY_PATH=/tmp GCONV_PATH=/tmp PHPRC=/tmp HTTP_PROXY=http://evil:1 \
  PHP_VALUE=auto_prepend_file=/tmp/x SUWRAP_HANDLER=cgi BASH_ENV=/tmp/x IFS=x TZ=Europe/Paris
t_allowed
names=$(t_body | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' | LC_ALL=C sort | tr '\n' ' ')
# /bin/sh (dash) adds PWD of its own; everything else must come from suwrap.
expected="GATEWAY_INTERFACE HOME HTTP_X_CUSTOM LOGNAME PATH PWD QUERY_STRING REQUEST_METHOD SCRIPT_FILENAME SERVER_NAME SERVER_PROTOCOL TZ USER "
t_expect "variable names are exactly the allowed ones (got: $names)" test "$names" = "$expected"
t_expect "PATH is safe_path" t_contains "$(t_body)" "PATH=/usr/local/bin:/usr/bin:/bin"
t_expect "SCRIPT_FILENAME is the checked script" t_contains "$(t_body)" "SCRIPT_FILENAME=$ALICE_DOCROOT/env.cgi"
t_expect "HOME is alice's" t_contains "$(t_body)" "HOME=$ALICE_HOME"
t_expect "USER is alice" t_contains "$(t_body)" "USER=$ALICE"

t_case "php gets REDIRECT_STATUS=200 and PHPRC naming the php.ini file"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/phpenv.php" '<?php echo getenv("REDIRECT_STATUS"), "|", getenv("PHPRC"), "|", php_ini_loaded_file();'
t_script "$ALICE_DOCROOT/phpenv.php"
t_allowed
t_expect "REDIRECT_STATUS=200, PHPRC is the file, and it is the loaded ini" \
  t_contains "$(t_body)" "200|$T_PHP_INI_DIR/php.ini|$T_PHP_INI_DIR/php.ini"

t_case "a POST body reaches the script"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/echo.php" '<?php echo "got:", file_get_contents("php://input");'
printf 'name=alice&secret=42' >"$T_ROOT/body"
T_STDIN="$T_ROOT/body"
t_script "$ALICE_DOCROOT/echo.php" REQUEST_METHOD=POST CONTENT_LENGTH=20 \
  CONTENT_TYPE=application/x-www-form-urlencoded
T_STDIN=/dev/null
t_allowed
t_expect "body echoed" t_contains "$(t_body)" "got:name=alice&secret=42"

t_case "Status and Location headers from the script come through untouched"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/redirect.php" '<?php header("Location: /elsewhere", true, 302); echo "moved";'
t_script "$ALICE_DOCROOT/redirect.php"
t_allowed
t_expect "Status: 302" test "$T_STATUS" = 302
t_expect "Location header" t_contains "$T_OUT" "Location: /elsewhere"

t_case "a CGI program's own exit status is logged"
t_file "$ALICE" 0755 "$ALICE_DOCROOT/fails.cgi" '#!/bin/sh
printf "Content-Type: text/plain\r\n\r\nbye"
exit 7
'
t_script "$ALICE_DOCROOT/fails.cgi"
t_allowed
t_expect "exit line has status 7" test "$(t_log_field exit status)" = 7

t_case "action-handler mode: SCRIPT_FILENAME names suwrap, the script is PATH_TRANSLATED"
t_script "$T_SUWRAP" PATH_TRANSLATED="$ALICE_DOCROOT/whoami.php" PATH_INFO=/whoami.php
t_allowed
t_expect "body shows alice's uid" t_contains "$(t_body)" "uid=$ALICE_UID"

t_case "action-handler mode: extra path info after the script is a 404"
t_script "$T_SUWRAP" PATH_TRANSLATED="$ALICE_DOCROOT/whoami.php/extra" PATH_INFO=/whoami.php/extra
t_refused 1 404 path

t_case "suwrap -V answers the caller"
set +e
version=$(env -i /usr/bin/setpriv --reuid="$T_CALLER" --regid="$T_CALLER" --init-groups "$T_SUWRAP" -V 2>&1)
set -e
t_expect "version names the config path" t_contains "$version" "$SUWRAP_CONFIG_PATH"

t_done
