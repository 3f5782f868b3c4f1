#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every check of suwrap(8), CHECKS made to fail for real through the set-uid suwrap run as
# www-data: each case asserts the exit code, the CGI status and the log line's check.
# A case that passes each check is in suwrap_run_test.sh (every allowed run passes all 15).
source "$(dirname "$0")/../lib/common.sh"
t_setup ALICE BOB
t_config

hello='<?php echo "hello from ", posix_getuid();'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/ok.php" "$hello"

t_case "baseline: alice's script is allowed"
t_script "$ALICE_DOCROOT/ok.php"
t_allowed

# 1. caller ----------------------------------------------------------------------------
t_case "caller: the real uid is not the configured caller"
t_config "caller=\"$BOB\""
t_script "$ALICE_DOCROOT/ok.php"
t_refused 1 403 caller
t_config

# 2. config ------------------------------------------------------------------------------
t_case "config: the configuration is writable by others"
chmod 0666 "$SUWRAP_CONFIG_PATH"
t_script "$ALICE_DOCROOT/ok.php"
# Without a trusted configuration there is no log file to trust either: the line goes to syslog.
if [ "$T_RC" = 2 ] && [ "$T_STATUS" = 500 ]; then t_pass "exit 2, 500"; else t_fail "expected exit 2 and 500"; fi
t_expect "the body names no reason (errors_to_browser is off)" test "$(t_body)" = "500 Internal Server Error"
t_config

t_case "config: an unknown key"
t_config "no_such_key=true"
t_script "$ALICE_DOCROOT/ok.php"
if [ "$T_RC" = 2 ] && [ "$T_STATUS" = 500 ]; then t_pass "exit 2, 500"; else t_fail "expected exit 2 and 500"; fi
t_config

t_case "config: an account file owned by a user"
t_account_for alice "$ALICE" "$ALICE_DOCROOT"
chown "$ALICE" "$T_CONF_DIR/accounts.d/alice.toml"
t_script "$ALICE_DOCROOT/ok.php"
if [ "$T_RC" = 2 ] && [ "$T_STATUS" = 500 ]; then t_pass "exit 2, 500"; else t_fail "expected exit 2 and 500"; fi
rm -f "$T_CONF_DIR/accounts.d/alice.toml"

# 3. request ----------------------------------------------------------------------------
t_case "request: no SCRIPT_FILENAME"
t_request
t_refused 1 403 request

t_case "request: a relative script path"
t_script "home/x.php"
t_refused 1 403 request

t_case "request: a '..' component"
t_script "$ALICE_DOCROOT/../public_html/ok.php"
t_refused 1 403 request

t_case "request: a newline in an environment value"
t_script "$ALICE_DOCROOT/ok.php" "HTTP_X_EVIL=a
b"
t_refused 1 403 request

t_case "request: more than 512 variables"
many=()
for i in $(seq 1 520); do many+=("HTTP_X_$i=v"); done
t_script "$ALICE_DOCROOT/ok.php" "${many[@]}"
t_refused 1 403 request

# 4. docroot ------------------------------------------------------------------------------
t_case "docroot: a script outside every docroot"
t_file "$ALICE" 0644 "$ALICE_HOME/private/x.php" "$hello"
chmod 0755 "$ALICE_HOME/private"; chown "$ALICE:$ALICE" "$ALICE_HOME/private"
t_script "$ALICE_HOME/private/x.php"
t_refused 1 403 docroot

# 5. path --------------------------------------------------------------------------------
t_case "path: a missing script is a 404"
t_script "$ALICE_DOCROOT/missing.php"
t_refused 1 404 path

t_case "path: a symlink with symlinks = \"deny\""
ln -s ok.php "$ALICE_DOCROOT/link.php"; chown -h "$ALICE:$ALICE" "$ALICE_DOCROOT/link.php"
t_config 'symlinks="deny"'
t_script "$ALICE_DOCROOT/link.php"
t_refused 1 403 path
t_config

t_case "path: owner-match allows alice's link to alice's file"
t_script "$ALICE_DOCROOT/link.php"
t_allowed

# 6. target ------------------------------------------------------------------------------
t_case "target: the owner's uid has no user"
t_file root 0644 "$ALICE_DOCROOT/orphan.php" "$hello"
chown 59999:59999 "$ALICE_DOCROOT/orphan.php"
t_script "$ALICE_DOCROOT/orphan.php"
t_refused 1 403 target

t_case "target: the account is disabled"
t_account alice "user = \"$ALICE\"
docroots = [\"$ALICE_DOCROOT\"]
disabled = true"
t_script "$ALICE_DOCROOT/ok.php"
t_refused 1 403 target
rm -f "$T_CONF_DIR/accounts.d/alice.toml"

# 7. user --------------------------------------------------------------------------------
t_case "user: a root-owned script"
t_file root 0644 "$ALICE_DOCROOT/root.php" "$hello"
t_script "$ALICE_DOCROOT/root.php"
t_refused 1 403 user

t_case "user: a script of a system user below min_uid"
t_file daemon 0644 "$ALICE_DOCROOT/daemon.php" "$hello"
t_script "$ALICE_DOCROOT/daemon.php"
t_refused 1 403 user

t_case "user: an account whose user no longer exists"
t_config 'mode="account"'
t_account ghost "user = \"swnosuchuser\"
docroots = [\"$BOB_DOCROOT\"]"
t_file "$BOB" 0644 "$BOB_DOCROOT/ok.php" "$hello"
t_script "$BOB_DOCROOT/ok.php"
t_refused 1 403 user
rm -f "$T_CONF_DIR/accounts.d/ghost.toml"

# 8. owner -------------------------------------------------------------------------------
t_case "owner: account mode, a file of bob inside alice's docroot"
t_account_for alice "$ALICE" "$ALICE_DOCROOT"
t_file "$BOB" 0644 "$ALICE_DOCROOT/bobs.php" "$hello"
t_script "$ALICE_DOCROOT/bobs.php"
t_refused 1 403 owner

t_case "account mode: alice's own script runs as alice"
t_script "$ALICE_DOCROOT/ok.php"
t_allowed
t_expect "body shows alice's uid" t_contains "$(t_body)" "hello from $ALICE_UID"
rm -f "$T_CONF_DIR/accounts.d/alice.toml"
t_config

# 9. dir_perms ---------------------------------------------------------------------------
t_case "dir_perms: a group-writable directory"
t_dir "$ALICE" 0775 "$ALICE_DOCROOT/blog"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/blog/index.php" "$hello"
t_script "$ALICE_DOCROOT/blog/index.php"
t_refused 1 403 dir_perms

t_case "dir_perms: allowed when allow_dir_group_writable = true"
t_config 'allow_dir_group_writable=true'
t_script "$ALICE_DOCROOT/blog/index.php"
t_allowed
t_config

t_case "dir_perms: a directory of another user on the way"
t_dir "$BOB" 0755 "$ALICE_DOCROOT/bobdir"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/bobdir/x.php" "$hello"
t_script "$ALICE_DOCROOT/bobdir/x.php"
t_refused 1 403 dir_perms

t_case "dir_perms: a world-writable directory"
t_dir "$ALICE" 0777 "$ALICE_DOCROOT/tmp"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/tmp/x.php" "$hello"
t_script "$ALICE_DOCROOT/tmp/x.php"
t_refused 1 403 dir_perms

# 10. file_perms -------------------------------------------------------------------------
t_case "file_perms: a group-writable script"
t_file "$ALICE" 0664 "$ALICE_DOCROOT/gw.php" "$hello"
t_script "$ALICE_DOCROOT/gw.php"
t_refused 1 403 file_perms

t_case "file_perms: a world-writable script"
t_file "$ALICE" 0646 "$ALICE_DOCROOT/ww.php" "$hello"
t_script "$ALICE_DOCROOT/ww.php"
t_refused 1 403 file_perms

t_case "file_perms: a set-uid script"
t_file "$ALICE" 04755 "$ALICE_DOCROOT/suid.cgi" '#!/bin/sh
echo hi'
t_script "$ALICE_DOCROOT/suid.cgi"
t_refused 1 403 file_perms

t_case "file_perms: a script with two hard links"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/linked.php" "$hello"
ln "$ALICE_DOCROOT/linked.php" "$ALICE_DOCROOT/linked2.php"
t_script "$ALICE_DOCROOT/linked.php"
t_refused 1 403 file_perms

t_case "file_perms: a directory named as the script"
t_dir "$ALICE" 0755 "$ALICE_DOCROOT/dir.php"
t_script "$ALICE_DOCROOT/dir.php"
t_refused 1 403 file_perms

# 11. handler -----------------------------------------------------------------------------
t_case "handler: a .txt file never runs"
t_file "$ALICE" 0755 "$ALICE_DOCROOT/notes.txt" '#!/bin/sh
echo ran'
t_script "$ALICE_DOCROOT/notes.txt"
t_refused 1 403 handler

t_case "handler: a .cgi that its owner cannot execute"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/noexec.cgi" '#!/bin/sh
echo ran'
t_script "$ALICE_DOCROOT/noexec.cgi"
t_refused 1 403 handler

t_case "handler: SUWRAP_HANDLER names no configured handler"
t_script "$ALICE_DOCROOT/ok.php" SUWRAP_HANDLER=nosuch
t_refused 1 403 handler

t_case "handler: an ini_dir without php.ini"
mkdir -p "$T_ROOT/emptyini"
T_CONFIG_TABLES="[handlers.php]
kind = \"php\"
path = \"$T_PHP_CGI\"
ini_dir = \"$T_ROOT/emptyini\"
extensions = [\".php\"]"
t_config
t_script "$ALICE_DOCROOT/ok.php"
t_refused 1 403 handler
T_CONFIG_TABLES=""
t_config

t_case "handler: not in the account's handlers"
t_account alice "user = \"$ALICE\"
docroots = [\"$ALICE_DOCROOT\"]
handlers = [\"cgi\"]"
t_script "$ALICE_DOCROOT/ok.php"
t_refused 1 403 handler
rm -f "$T_CONF_DIR/accounts.d/alice.toml"

# 12. vhost -------------------------------------------------------------------------------
t_case "vhost: SERVER_NAME is not one of the account's domains"
t_config 'check_vhost=true'
t_account alice "user = \"$ALICE\"
docroots = [\"$ALICE_DOCROOT\"]
domains = [\"alice.example\"]"
t_script "$ALICE_DOCROOT/ok.php" SERVER_NAME=bob.example
t_refused 1 403 vhost

t_case "vhost: SERVER_NAME is the account's domain"
t_script "$ALICE_DOCROOT/ok.php" SERVER_NAME=alice.example
t_allowed
rm -f "$T_CONF_DIR/accounts.d/alice.toml"
t_config

# 13. drop --------------------------------------------------------------------------------
t_case "drop: a user who is a member of root's group cannot be dropped to"
usermod -a -G root "$BOB"
t_file "$BOB" 0644 "$BOB_DOCROOT/ok.php" "$hello"
t_script "$BOB_DOCROOT/ok.php"
t_refused 3 500 drop
t_expect "nothing ran" test "$(t_body)" = "500 Internal Server Error"
gpasswd -d "$BOB" root >/dev/null

# 14. identity -------------------------------------------------------------------------
t_case "identity: a script its owner cannot open is not run"
t_file "$ALICE" 0200 "$ALICE_DOCROOT/writeonly.php" "$hello"
t_script "$ALICE_DOCROOT/writeonly.php"
t_refused 1 403 identity

# 15. exec --------------------------------------------------------------------------------
t_case "exec: a CGI whose interpreter does not exist"
t_file "$ALICE" 0755 "$ALICE_DOCROOT/badshebang.cgi" '#!/nonexistent/interpreter
'
t_script "$ALICE_DOCROOT/badshebang.cgi"
t_refused 3 500 exec
t_expect "an exit line follows" test "$(t_log_field exit status)" = 127

t_case "errors_to_browser: the reason is in the body only when asked"
t_config 'errors_to_browser=true'
t_script "$ALICE_DOCROOT/gw.php"
t_expect "the body names the check" t_contains "$(t_body)" "file_perms"
t_config

t_done
