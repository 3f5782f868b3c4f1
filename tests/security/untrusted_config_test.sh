#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A configuration that someone other than root could have written: the main file writable
# by group or others, owned by a user, replaced by a symlink to a user's file; its directory
# or accounts.d group-writable or owned by a user; an account file group-writable. Whoever
# could write it could name any script and any user. Nothing runs: exit 2, 500, a body that
# says nothing. An untrusted main file is logged nowhere it names (it goes to syslog); an
# untrusted accounts.d or account file is logged in the log the trusted main file names,
# check config, naming what cannot be trusted — and an account file refuses only the
# requests it could govern.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
t_config
t_markers_dir

t_file "$ALICE" 0644 "$ALICE_DOCROOT/ok.php" "<?php touch('$T_MARKS/ran-' . posix_getuid()); echo 'ALICE-RAN';"

t_case "control: the trusted configuration runs alice's script"
t_attack_script "$ALICE_DOCROOT/ok.php"
t_ran_only
rm -f "$T_MARKS"/*

# refused_untrusted: the last request ran nothing and answered a bare 500 with exit 2.
refused_untrusted() {
  t_expect "exit 2, status 500 (got $T_RC, $T_STATUS)" test "$T_RC" = 2 -a "$T_STATUS" = 500
  t_expect "the body says nothing more" test "$(t_body)" = "500 Internal Server Error"
  t_expect "nothing in the log the untrusted file names (new: $(t_log_new | head -c 200))" \
    test "$(t_log_count)" = "$T_LOG_MARK"
  t_expect "nothing ran (markers: $(t_markers))" test -z "$(t_markers)"
}

# refused_untrusted_accounts PATH: as refused_untrusted, but the trusted main file's log has
# the refusal: check config, naming PATH.
refused_untrusted_accounts() {
  t_expect "exit 2, status 500 (got $T_RC, $T_STATUS)" test "$T_RC" = 2 -a "$T_STATUS" = 500
  t_expect "the body says nothing more" test "$(t_body)" = "500 Internal Server Error"
  t_expect "one decision line, check config" test "$(t_log_new | wc -l)" = 1 -a "$(t_log_field decision check)" = config
  t_expect "naming $1" t_contains "$(t_log_field decision reason)" "$1:"
  t_expect "nothing ran (markers: $(t_markers))" test -z "$(t_markers)"
}

t_case "the configuration is writable by others"
chmod 0666 "$SUWRAP_CONFIG_PATH"
t_attack_script "$ALICE_DOCROOT/ok.php"
refused_untrusted
t_config

t_case "the configuration is writable by group"
chmod 0664 "$SUWRAP_CONFIG_PATH"
t_attack_script "$ALICE_DOCROOT/ok.php"
refused_untrusted
t_config

t_case "the configuration is owned by a user"
chown "$ALICE" "$SUWRAP_CONFIG_PATH"
t_attack_script "$ALICE_DOCROOT/ok.php"
refused_untrusted
t_config

t_case "the configuration is a symlink to a file owned by a user"
cp "$SUWRAP_CONFIG_PATH" "$ALICE_HOME/suwrap.toml"
chown "$ALICE:$ALICE" "$ALICE_HOME/suwrap.toml"
chmod 0644 "$ALICE_HOME/suwrap.toml"
rm -f "$SUWRAP_CONFIG_PATH"
ln -s "$ALICE_HOME/suwrap.toml" "$SUWRAP_CONFIG_PATH"
t_attack_script "$ALICE_DOCROOT/ok.php"
refused_untrusted
rm -f "$SUWRAP_CONFIG_PATH"
t_config

t_case "the configuration's directory is group-writable"
chmod 0775 "$T_CONF_DIR"
t_attack_script "$ALICE_DOCROOT/ok.php"
refused_untrusted
chmod 0755 "$T_CONF_DIR"

t_case "the configuration's directory is owned by a user"
chown "$ALICE" "$T_CONF_DIR"
t_attack_script "$ALICE_DOCROOT/ok.php"
refused_untrusted
chown root "$T_CONF_DIR"

t_case "accounts.d is group-writable"
chmod 0775 "$T_CONF_DIR/accounts.d"
t_attack_script "$ALICE_DOCROOT/ok.php"
refused_untrusted_accounts "$T_CONF_DIR/accounts.d"
chmod 0755 "$T_CONF_DIR/accounts.d"

t_case "accounts.d is owned by a user"
chown "$ALICE" "$T_CONF_DIR/accounts.d"
t_attack_script "$ALICE_DOCROOT/ok.php"
refused_untrusted_accounts "$T_CONF_DIR/accounts.d"
chown root "$T_CONF_DIR/accounts.d"

t_case "an account file is group-writable"
t_account_for alice "$ALICE" "$ALICE_DOCROOT"
chmod 0664 "$T_CONF_DIR/accounts.d/alice.toml"
t_attack_script "$ALICE_DOCROOT/ok.php"
refused_untrusted_accounts "$T_CONF_DIR/accounts.d/alice.toml"
rm -f "$T_CONF_DIR/accounts.d/alice.toml"

t_case "another account's file is group-writable: alice's request runs"
t_account other "user = \"swnosuchuser$$\"
docroots = [\"/srv/other\"]"
chmod 0664 "$T_CONF_DIR/accounts.d/other.toml"
t_attack_script "$ALICE_DOCROOT/ok.php"
t_ran_only
rm -f "$T_MARKS"/* "$T_CONF_DIR/accounts.d/other.toml"

t_case "control: restored, the same request runs again"
t_attack_script "$ALICE_DOCROOT/ok.php"
t_ran_only

t_done
