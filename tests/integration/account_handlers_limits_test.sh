#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Per-account PHP and limits: two PHP handlers, each account gets its own through
# php_handler; the account's [limits] override the defaults — a CPU-bound script is
# killed at the account's cpu_seconds, a memory hog fails at its memory_mb.
source "$(dirname "$0")/../lib/common.sh"
t_setup ALICE BOB

# A second handler: the same php-cgi with an ini file of its own.
ini2="$T_ROOT/php2"
mkdir -p "$ini2"
cp "$T_PHP_INI_DIR/php.ini" "$ini2/php.ini"
chmod 0755 "$ini2"; chmod 0644 "$ini2/php.ini"
T_CONFIG_TABLES="[handlers.php]
kind = \"php\"
path = \"$T_PHP_CGI\"
ini_dir = \"$T_PHP_INI_DIR\"
extensions = [\".php\"]

[handlers.php2]
kind = \"php\"
path = \"$T_PHP_CGI\"
ini_dir = \"$ini2\"
extensions = []

[limits]
cpu_seconds = 30
wall_seconds = 20
memory_mb = 1024"
t_config
t_account alice "user = \"$ALICE\"
docroots = [\"$ALICE_DOCROOT\"]
php_handler = \"php2\"
[limits]
cpu_seconds = 1
memory_mb = 300"
t_account_for bob "$BOB" "$BOB_DOCROOT"

for u in ALICE BOB; do
  d=${u}_DOCROOT; n=${!u}
  t_file "$n" 0644 "${!d}/ini.php" '<?php echo "ini=", php_ini_loaded_file(), " uid=", posix_getuid();'
  t_file "$n" 0644 "${!d}/spin.php" '<?php $i = 0; while (true) { $i++; }'
  t_file "$n" 0644 "${!d}/hog.php" '<?php ini_set("memory_limit", "-1"); $s = str_repeat("x", 400 * 1024 * 1024); echo "allocated ", strlen($s);'
done

t_case "each account gets its own PHP handler"
t_script "$ALICE_DOCROOT/ini.php"
t_allowed
t_expect "alice runs the php2 handler" test "$(t_log_field decision handler)" = php2
t_expect "with php2's php.ini" t_contains "$(t_body)" "ini=$ini2/php.ini uid=$ALICE_UID"
t_script "$BOB_DOCROOT/ini.php"
t_allowed
t_expect "bob runs the php handler" test "$(t_log_field decision handler)" = php
t_expect "with the default php.ini" t_contains "$(t_body)" "ini=$T_PHP_INI_DIR/php.ini uid=$BOB_UID"

t_case "a CPU-bound script is killed at the account's cpu_seconds"
t_script "$ALICE_DOCROOT/spin.php"
sig=$(t_log_field exit signal)
t_expect "killed by SIGXCPU or SIGKILL (signal $sig)" eval '[ "$sig" = 24 ] || [ "$sig" = 9 ]'
t_expect "not by the wall clock" test "$(t_log_field exit timed_out)" = false
t_expect "after about one second of CPU, far below the default 30 (cpu_ms $(t_log_field exit cpu_ms))" \
  test "$(t_log_field exit cpu_ms)" -lt 5000

t_case "a memory hog fails at the account's memory_mb"
t_script "$ALICE_DOCROOT/hog.php"
t_expect "the allocation did not succeed" bash -c '! grep -q "allocated 419430400" <<<"$0"' "$T_OUT"

t_case "the same hog succeeds for bob under the default 1024 MB"
t_script "$BOB_DOCROOT/hog.php"
t_allowed
t_expect "allocated" t_contains "$(t_body)" "allocated 419430400"

t_done
