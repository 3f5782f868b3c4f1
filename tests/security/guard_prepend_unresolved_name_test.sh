#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attack: alice's own php.ini (her php_ini_dir, hers alone) sets include_path to her
# library and auto_prepend_file to a relative name, or to a phar:// URL. carol shares a
# group with alice; with allow_dir_group_writable = true alice's shared directory is hers to
# write too. When the name is not found on include_path, PHP's own open would still try the
# script's directory (the current one), where carol put a file of that name; a phar:// name
# would be opened through the phar wrapper from carol's archive. suwrap's PHP guard compiles
# a prepend only from a file it resolved to an absolute path and judged: such a name is
# refused (403) before anything runs, per request and warm. Control: the same name found
# in alice's own library runs.
source "$(dirname "$0")/../lib/common.sh" security cgid
t_setup
t_require_warm
t_shared_with_carol
t_markers_dir

t_file "$ALICE" 0644 "$SHARED/page.php" "<?php touch('$T_MARKS/page-ran'); echo 'ALICE-PAGE uid=', posix_getuid(), \"\\n\";"
t_dir "$ALICE" 0755 "$ALICE_HOME/etc"
t_dir "$ALICE" 0755 "$ALICE_HOME/lib"
t_file "$ALICE" 0644 "$ALICE_HOME/lib/found.php" '<?php echo "ALICE-LIB\n";'

# As carol: her prepend.php beside alice's page, and a phar with init.php.
carol_php="<?php @touch('$T_MARKS/carol-ran-as-' . posix_getuid()); echo 'CAROL-RAN';"
setpriv --reuid="$CAROL" --regid="$CAROL_GID" --init-groups sh -c "printf '%s\n' \"\$1\" >'$SHARED/prepend.php'" _ "$carol_php"
setpriv --reuid="$CAROL" --regid="$CAROL_GID" --init-groups php -d phar.readonly=0 -r \
  '$p = new Phar($argv[1]); $p["init.php"] = $argv[2];' "$SHARED/lib.phar" "$carol_php"
[ "$(stat -c %U "$SHARED/prepend.php")" = "$CAROL" ] && [ -f "$SHARED/lib.phar" ] ||
  { echo "FAIL $T_NAME: carol could not write into the shared directory" >&2; exit 1; }

# php_ini PREPEND: alice's php.ini with her include_path and that auto_prepend_file.
php_ini() {
  t_file "$ALICE" 0644 "$ALICE_HOME/etc/php.ini" "include_path = \"$ALICE_HOME/lib\"
auto_prepend_file = \"$1\""
}

ask() {
  local params=(SCRIPT_FILENAME="$SHARED/page.php" DOCUMENT_ROOT="$ALICE_DOCROOT" SCRIPT_NAME=/shared/page.php)
  if [ "$1" = warm ]; then t_log_mark; t_fcgi "${params[@]}"; else t_attack "${params[@]}"; fi
}

for mode in request warm; do
  kind=php
  [ "$mode" = warm ] && kind=php-fcgi
  T_CONFIG_TABLES=$(t_php_tables $kind)
  t_account alice "user = \"$ALICE\"
docroots = [\"$ALICE_DOCROOT\"]
php_ini_dir = \"$ALICE_HOME/etc\""
  t_config allow_dir_group_writable=true mode='"account"'

  for prepend in prepend.php "phar://$SHARED/lib.phar/init.php"; do
    php_ini "$prepend"
    [ "$mode" = warm ] && t_start_cgid --config "$SUWRAP_CONFIG_PATH" --pool-dir "$T_ROOT/run/pools"
    t_case "$mode: auto_prepend_file = $prepend, not on alice's include_path: carol's file is there"
    rm -f "$T_MARKS"/*
    ask "$mode"
    t_expect "carol's file did not run as alice (markers: $(t_markers))" t_no_marker "carol-ran-as-$ALICE_UID"
    t_expect "refused with 403 (got $T_STATUS)" test "$T_STATUS" = 403
    t_expect "alice's page did not run either (markers: $(t_markers))" t_no_marker page-ran
    [ "$mode" = warm ] && t_stop_cgid
  done

  t_case "$mode: control: a relative auto_prepend_file found on alice's include_path runs"
  php_ini found.php
  [ "$mode" = warm ] && t_start_cgid --config "$SUWRAP_CONFIG_PATH" --pool-dir "$T_ROOT/run/pools"
  rm -f "$T_MARKS"/*
  ask "$mode"
  t_expect "alice's library, then her page (got: $(printf '%s' "$T_OUT" | tr '\r\n' '  '))" \
    t_contains "$T_OUT" "ALICE-LIB"$'\n'"ALICE-PAGE uid=$ALICE_UID"
  [ "$mode" = warm ] && t_stop_cgid
done

t_done
