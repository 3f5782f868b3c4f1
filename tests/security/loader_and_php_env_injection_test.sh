#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A caller (a compromised web server or suwrap-cgid) puts loader and PHP variables in the
# environment: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, GCONV_PATH (CVE-2021-4034's vector),
# PHPRC, PHP_INI_SCAN_DIR, PHP_VALUE, PHP_ADMIN_VALUE. None reaches the handler, and a
# preload library that leaves a marker in its constructor never runs: not in suwrap (set-uid:
# the loader's secure mode), not in the handler (the environment is built from nothing).
# The same library does run in setpriv, which starts suwrap as the caller: that marker shows
# the library works, so its absence elsewhere means something.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
t_config
t_markers_dir

# The marker: <program>.<euid>.<pid>, where program is the basename of /proc/self/exe.
t_dir root 0755 "$T_ROOT/lib"
t_cc "$T_ROOT/lib/mark.so" "
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
__attribute__((constructor)) static void leave_marker(void) {
  char exe[4096] = {0}, path[8192];
  ssize_t n = readlink(\"/proc/self/exe\", exe, sizeof exe - 1);
  const char* base = n > 0 ? (strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe) : \"unknown\";
  snprintf(path, sizeof path, \"%s/%s.%u.%d\", \"$T_MARKS\", base, (unsigned)geteuid(), (int)getpid());
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) close(fd);
}
unsigned la_version(unsigned v) { return v; }
" -shared -fPIC
chmod 0755 "$T_ROOT/lib/mark.so"

t_file "$ALICE" 0755 "$ALICE_DOCROOT/env.cgi" '#!/bin/sh
printf "Content-Type: text/plain\r\n\r\n"
env'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/env.php" '<?php
foreach (["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "GCONV_PATH", "PHP_VALUE", "PHP_ADMIN_VALUE", "PHP_INI_SCAN_DIR"] as $n)
  echo "getenv:$n=", var_export(getenv($n), true), "\n";
echo "PHPRC=", getenv("PHPRC"), "\n";
echo "loaded=", php_ini_loaded_file(), "\n";
echo "scanned=", var_export(php_ini_scanned_files(), true), "\n";
echo "prepend=", ini_get("auto_prepend_file"), "\n";
echo "disabled=", ini_get("disable_functions"), "\n";'
t_dir "$ALICE" 0755 "$ALICE_HOME/evil"
t_file "$ALICE" 0644 "$ALICE_HOME/evil/php.ini" "auto_prepend_file = $ALICE_HOME/evil/prepend.inc"
t_file "$ALICE" 0644 "$ALICE_HOME/evil/zz-evil.ini" "auto_prepend_file = $ALICE_HOME/evil/prepend.inc"
t_file "$ALICE" 0644 "$ALICE_HOME/evil/prepend.inc" "<?php touch('$T_MARKS/prepend'); echo 'PWNED';"
configured_ini="$T_PHP_INI_DIR/php.ini"

hostile=(
  LD_PRELOAD="$T_ROOT/lib/mark.so"
  LD_AUDIT="$T_ROOT/lib/mark.so"
  LD_LIBRARY_PATH="$T_ROOT/lib"
  GCONV_PATH="$T_ROOT/lib"
  PHPRC="$ALICE_HOME/evil"
  PHP_INI_SCAN_DIR="$ALICE_HOME/evil"
  "PHP_VALUE=auto_prepend_file=$ALICE_HOME/evil/prepend.inc"
  "PHP_ADMIN_VALUE=disable_functions=php_ini_loaded_file"
)
loader_names='^(LD_[A-Z_]*|GCONV_PATH|PHPRC|PHP_INI_SCAN_DIR|PHP_VALUE|PHP_ADMIN_VALUE)='

# only_setpriv_marked: the markers left are setpriv's (the control) and nobody else's.
only_setpriv_marked() {
  local m others=""
  for m in $(t_markers); do case "$m" in setpriv.*) ;; *) others+="$m " ;; esac; done
  t_expect "the library ran in setpriv, which is not set-uid (the control; markers: $(t_markers))" \
    eval 'ls "$T_MARKS" | grep -q "^setpriv\."'
  t_expect "it ran nowhere else: not in suwrap, not in the handler (others: ${others:-none})" test -z "$others"
  rm -f "$T_MARKS"/*
}

t_case "control: the handler itself, started with LD_PRELOAD, does run the library"
env -i LD_PRELOAD="$T_ROOT/lib/mark.so" setpriv --reuid="$ALICE" --regid="$ALICE_GID" --init-groups \
  "$ALICE_DOCROOT/env.cgi" >/dev/null 2>&1 || true
t_expect "a marker of the CGI's shell, as alice (markers: $(t_markers))" \
  eval 'ls "$T_MARKS" | grep -q "^dash\.$ALICE_UID\."'
rm -f "$T_MARKS"/*

t_case "a CGI program: no loader variable in its environment"
t_attack_script "$ALICE_DOCROOT/env.cgi" "${hostile[@]}"
t_ran_only
t_expect "no LD_*, GCONV_PATH, PHPRC, PHP_* variable (got: $(t_body | grep -E "$loader_names" | tr '\n' ' '))" \
  eval '! t_body | grep -Eq "$loader_names"'
t_expect "the library's path appears nowhere in it" eval '! t_contains "$(t_body)" "$T_ROOT/lib"'
only_setpriv_marked

t_case "PHP: no loader variable, and the configured ini only"
t_attack_script "$ALICE_DOCROOT/env.php" "${hostile[@]}"
t_ran_only
body=$(t_body)
for n in LD_PRELOAD LD_LIBRARY_PATH LD_AUDIT GCONV_PATH PHP_VALUE PHP_ADMIN_VALUE; do
  t_expect "getenv('$n') is false" t_contains "$body" "getenv:$n=false"
done
# suwrap's own PHP_INI_SCAN_DIR: the PHP guard's root-owned directory after php-cgi's own.
if [ -n "$T_PHP_GUARD_DIR" ]; then
  t_expect "PHP_INI_SCAN_DIR is suwrap's, naming the PHP guard's directory" \
    t_contains "$body" "getenv:PHP_INI_SCAN_DIR=':$T_PHP_GUARD_DIR'"
else
  t_expect "getenv('PHP_INI_SCAN_DIR') is not the caller's" eval '! t_contains "$body" "getenv:PHP_INI_SCAN_DIR='"'"'$ALICE_HOME"'
fi
t_expect "PHPRC is the configured php.ini, not the caller's" t_contains "$body" "PHPRC=$configured_ini"
t_expect "the configured ini is loaded" t_contains "$body" "loaded=$configured_ini"
t_expect "no ini from the caller's PHP_INI_SCAN_DIR" eval '! t_contains "$body" "$ALICE_HOME/evil"'
t_expect "auto_prepend_file is unset" eval 'printf "%s\n" "$body" | grep -qx "prepend="'
t_expect "disable_functions is not the caller's" eval '! t_contains "$body" "disabled=php_ini_loaded_file"'
t_expect "no PWNED" eval '! t_contains "$T_OUT" PWNED'
only_setpriv_marked

t_case "a refused request with the same environment: the library never runs in suwrap"
t_attack_script "$ALICE_DOCROOT/missing.php" "${hostile[@]}"
t_refused_only 1 404 path
only_setpriv_marked

t_case "action-handler mode with the same environment"
t_attack_script "$T_SUWRAP" PATH_TRANSLATED="$ALICE_DOCROOT/env.cgi" PATH_INFO=/env.cgi "${hostile[@]}"
t_ran_only
t_expect "no loader variable" eval '! t_body | grep -Eq "$loader_names"'
only_setpriv_marked

t_case "the prepend file never ran"
t_expect "no prepend marker" t_no_marker prepend

t_done
