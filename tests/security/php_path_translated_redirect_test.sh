#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# php-cgi runs PATH_TRANSLATED instead of SCRIPT_FILENAME when the two differ and
# REDIRECT_URL is set (its Apache Action compatibility), or with cgi.fix_pathinfo=0.
# A caller must not be able to name a checked script in SCRIPT_FILENAME and have php-cgi
# run a file of its own choosing, as the account, through PATH_TRANSLATED.
source "$(dirname "$0")/../lib/common.sh"
t_setup ALICE
t_config
t_file "$ALICE" 0644 "$ALICE_DOCROOT/index.php" '<?php echo "alice index";'
# The caller's own file, somewhere alice can read.
mkdir -p "$T_ROOT/caller"
chmod 0755 "$T_ROOT/caller"
t_file "$T_CALLER" 0644 "$T_ROOT/caller/evil.php" '<?php echo "EVIL ran as uid ", posix_getuid();'

t_case "PATH_TRANSLATED with REDIRECT_URL does not redirect php-cgi"
t_script "$ALICE_DOCROOT/index.php" PATH_TRANSLATED="$T_ROOT/caller/evil.php" REDIRECT_URL=/x PATH_INFO=/x
t_allowed
t_expect "alice's checked script ran" t_contains "$(t_body)" "alice index"
t_expect "the caller's file did not run" bash -c '! grep -q EVIL <<<"$0"' "$(t_body)"

t_case "with cgi.fix_pathinfo=0 PATH_TRANSLATED alone does not redirect php-cgi"
T_CONFIG_TABLES="[handlers.php]
kind = \"php\"
path = \"$T_PHP_CGI\"
args = [\"-d\", \"cgi.fix_pathinfo=0\"]
ini_dir = \"$T_PHP_INI_DIR\"
extensions = [\".php\"]"
t_config
t_script "$ALICE_DOCROOT/index.php" PATH_TRANSLATED="$T_ROOT/caller/evil.php"
t_allowed
t_expect "alice's checked script ran" t_contains "$(t_body)" "alice index"
t_expect "the caller's file did not run" bash -c '! grep -q EVIL <<<"$0"' "$(t_body)"

t_done
