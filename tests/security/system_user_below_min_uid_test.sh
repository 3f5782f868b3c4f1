#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Scripts of users below min_uid (1000): the system user daemon, a user made with
# `useradd -r`, one with an explicit uid under 1000, and a user whose primary group is below
# min_gid. Their files must never run: a system account often owns things an account user
# must not reach. Refused with check user, nothing runs; lowering min_uid below the user's
# uid lets the same script run (the control), so the refusal is the minimum's.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
t_markers_dir
t_config

php() { printf '<?php touch("%s/%s-" . posix_getuid()); echo "RAN";' "$T_MARKS" "$1"; }
free_uid() {  # the highest free uid and gid below 1000 and above 500
  local u
  for u in $(seq 999 -1 500); do
    if ! getent passwd "$u" >/dev/null && ! getent group "$u" >/dev/null; then echo "$u"; return; fi
  done
  echo "no free uid below 1000" >&2
  return 1
}

t_user SYS -r
t_user LOW -u "$(free_uid)" --user-group
t_user LOWGID -g users   # uid >= 1000, primary group "users" (gid 100)
t_dir daemon 0755 "$T_ROOT/home/daemon/public_html"
chown daemon:daemon "$T_ROOT/home/daemon"
t_file daemon 0644 "$T_ROOT/home/daemon/public_html/x.php" "$(php daemon)"
t_file "$SYS" 0644 "$SYS_DOCROOT/x.php" "$(php sys)"
t_file "$LOW" 0644 "$LOW_DOCROOT/x.php" "$(php low)"
t_file "$LOWGID" 0644 "$LOWGID_DOCROOT/x.php" "$(php lowgid)"
t_file daemon 0644 "$ALICE_DOCROOT/daemon.php" "$(php daemon-in-alice)"

t_case "the users are what the cases need"
t_expect "useradd -r gave uid $SYS_UID < 1000" test "$SYS_UID" -lt 1000
t_expect "the explicit uid $LOW_UID < 1000" test "$LOW_UID" -lt 1000
t_expect "$LOWGID has uid $LOWGID_UID >= 1000 and gid $LOWGID_GID < 1000" test "$LOWGID_UID" -ge 1000 -a "$LOWGID_GID" -lt 1000

t_case "daemon's script in daemon's docroot"
t_attack_script "$T_ROOT/home/daemon/public_html/x.php"
t_refused_only 1 403 user

t_case "a useradd -r user's script"
t_attack_script "$SYS_DOCROOT/x.php"
t_refused_only 1 403 user
t_expect "the reason names min_uid" eval 't_log_new | grep -q "below min_uid"'

t_case "a uid $LOW_UID user's script"
t_attack_script "$LOW_DOCROOT/x.php"
t_refused_only 1 403 user

t_case "a user whose primary group is below min_gid"
t_attack_script "$LOWGID_DOCROOT/x.php"
t_refused_only 1 403 user
t_expect "the reason names min_gid" eval 't_log_new | grep -q "below min_gid"'

t_case "daemon's file in alice's docroot"
t_attack_script "$ALICE_DOCROOT/daemon.php"
t_refused_only 1 403 user

t_case "account mode: an account naming a system user"
t_config 'mode="account"'
t_account_for sys "$SYS" "$SYS_DOCROOT"
t_attack_script "$SYS_DOCROOT/x.php"
t_refused_only 1 403 user
rm -f "$T_CONF_DIR"/accounts.d/*.toml

t_case "nothing ran"
t_expect "no marker (got: $(t_markers))" test -z "$(t_markers)"

t_case "control: min_uid lowered to $LOW_UID runs that user's script as that user"
t_config "min_uid=$LOW_UID" "min_gid=$LOW_GID"
t_attack_script "$LOW_DOCROOT/x.php"
t_ran_only
t_expect "its marker, as uid $LOW_UID" test -e "$T_MARKS/low-$LOW_UID"
t_config

t_done
