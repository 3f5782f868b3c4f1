#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attack: alice's CGI app.cgi starts with "#!/usr/bin/php-cgi". suwrap executes the checked
# descriptor, and the kernel hands the interpreter /dev/fd/N — but php-cgi ignores that and
# opens SCRIPT_FILENAME again by its name, and reads php-cgi-fcgi.ini or php.ini from its
# current directory (the script's) and .user.ini files, without suwrap's PHP guard. carol
# shares a group with alice; with allow_dir_group_writable = true she writes into alice's
# shared directory an ini file with auto_prepend_file naming her own code, which then ran
# as alice. suwrap refuses a CGI whose interpreter is php-cgi (403, check exec) before it
# runs; the interpreter is judged by what it is (its SAPI), not by its name. Controls: a
# "#!/bin/sh" CGI beside it runs, and so does a compiled one.
source "$(dirname "$0")/../lib/common.sh" security
t_setup
t_shared_with_carol
t_markers_dir

t_file "$ALICE" 0755 "$SHARED/app.cgi" "#!$T_PHP_CGI
<?php touch('$T_MARKS/app-ran'); echo 'ALICE-CGI';"
t_file "$ALICE" 0644 "$SHARED/php.ini" 'cgi.force_redirect = 0'
t_file "$ALICE" 0755 "$SHARED/sh.cgi" "#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\nSH-CGI uid=%s\\n' \"\$(id -u)\""
# The same php-cgi under another name: judged by what it is.
install -o root -g root -m 0755 "$(readlink -f "$T_PHP_CGI")" "$T_ROOT/bin/interp"
t_file "$ALICE" 0755 "$SHARED/renamed.cgi" "#!$T_ROOT/bin/interp
<?php touch('$T_MARKS/renamed-ran'); echo 'ALICE-CGI';"
# The kernel's other ways to php-cgi: a name ended by a NUL (and a file that is only the
# "#!" line), an interpreter that is itself a "#!" script, env and the dynamic loader with
# php-cgi as their argument.
printf '#!%s\0%s\n<?php touch("%s/nul-ran");\n' "$T_PHP_CGI" "$(printf 'A%.0s' $(seq 1 300))" "$T_MARKS" >"$SHARED/nul.cgi"
printf '#!%s' "$T_PHP_CGI" >"$SHARED/short.cgi"
t_dir "$ALICE" 0755 "$ALICE_HOME/bin"
t_file "$ALICE" 0755 "$ALICE_HOME/bin/runphp" "#!$T_PHP_CGI"
t_file "$ALICE" 0755 "$SHARED/nested.cgi" "#!$ALICE_HOME/bin/runphp
<?php touch('$T_MARKS/nested-ran');"
t_file "$ALICE" 0755 "$SHARED/env.cgi" "#!/usr/bin/env php-cgi
<?php touch('$T_MARKS/env-ran');"
loader=$(readlink -f "$(ldd "$(readlink -f "$T_PHP_CGI")" | awk '/ld-linux/ {print $1; exit}')")
t_file "$ALICE" 0755 "$SHARED/loader.cgi" "#!$loader $(readlink -f "$T_PHP_CGI")
<?php touch('$T_MARKS/loader-ran');"
chown "$ALICE:$ALICE" "$SHARED/nul.cgi" "$SHARED/short.cgi"
chmod 0755 "$SHARED/nul.cgi" "$SHARED/short.cgi"
T_CONFIG_TABLES=$(t_php_tables php)
t_config allow_dir_group_writable=true

setpriv --reuid="$CAROL" --regid="$CAROL_GID" --init-groups sh -c "
  printf '<?php @touch(\"$T_MARKS/carol-ran-as-\" . posix_getuid()); echo \"CAROL-RAN\";\\n' >'$SHARED/.x.php'
  printf 'cgi.force_redirect=0\\nauto_prepend_file=$SHARED/.x.php\\n' >'$SHARED/php-cgi-fcgi.ini'
  printf 'auto_prepend_file=$SHARED/.x.php\\n' >'$SHARED/.user.ini'"
[ "$(stat -c %U "$SHARED/php-cgi-fcgi.ini")" = "$CAROL" ] || { echo "FAIL $T_NAME: carol could not write into the shared directory" >&2; exit 1; }

for script in app.cgi renamed.cgi nul.cgi short.cgi nested.cgi env.cgi loader.cgi; do
  t_case "a CGI run by php-cgi ($script), carol's ini and .user.ini beside it"
  rm -f "$T_MARKS"/*
  t_attack SCRIPT_FILENAME="$SHARED/$script" DOCUMENT_ROOT="$ALICE_DOCROOT"
  t_expect "carol's file did not run as alice (markers: $(t_markers))" t_no_marker "carol-ran-as-$ALICE_UID"
  t_expect "alice's CGI did not run either (markers: $(t_markers))" test -z "$(t_markers)"
  t_expect "refused: exit 1, 403 (got exit $T_RC, $T_STATUS)" test "$T_RC/$T_STATUS" = 1/403
  t_expect "logged: deny, check exec" test "$(t_log_field decision decision)/$(t_log_field decision check)" = deny/exec
  t_expect "the reason names php-cgi" t_contains "$(t_log_field decision reason)" "is php-cgi"
done

t_case "control: a #!/bin/sh CGI in the same directory runs as alice"
t_attack SCRIPT_FILENAME="$SHARED/sh.cgi" DOCUMENT_ROOT="$ALICE_DOCROOT"
t_expect "it ran as alice (got exit $T_RC: $(printf '%s' "$T_OUT" | tr '\r\n' '  '))" t_contains "$T_OUT" "SH-CGI uid=$ALICE_UID"

t_case "control: a compiled CGI runs as alice"
t_cc "$T_ROOT/bin.cgi" '#include <stdio.h>
#include <unistd.h>
int main(void) { printf("Content-Type: text/plain\r\n\r\nBIN-CGI uid=%d\n", (int)getuid()); return 0; }'
install -o "$ALICE" -g "$ALICE" -m 0755 "$T_ROOT/bin.cgi" "$SHARED/bin.cgi"
t_attack SCRIPT_FILENAME="$SHARED/bin.cgi" DOCUMENT_ROOT="$ALICE_DOCROOT"
t_expect "it ran as alice (got exit $T_RC: $(printf '%s' "$T_OUT" | tr '\r\n' '  '))" t_contains "$T_OUT" "BIN-CGI uid=$ALICE_UID"

t_done
