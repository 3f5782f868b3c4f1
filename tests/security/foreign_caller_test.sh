#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Someone other than the configured caller runs suwrap. A user in group www-data can execute
# the 4750 binary, but is not www-data: refused (check caller), nothing runs, whatever the
# request asks for. Root is no caller either. A user outside the group cannot execute it at
# all: the kernel refuses the exec (setpriv exits 126) and suwrap never starts, so it logs
# nothing; on a kernel that does not enforce the execute bit (probed first), suwrap's own
# caller check must refuse that user instead.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE MALLORY EVE
usermod -a -G "$T_CALLER" "$MALLORY"
t_config
t_markers_dir

t_file "$ALICE" 0644 "$ALICE_DOCROOT/ok.php" "<?php touch('$T_MARKS/alice-' . posix_getuid()); echo 'ALICE-RAN';"
t_file "$MALLORY" 0644 "$MALLORY_DOCROOT/own.php" "<?php touch('$T_MARKS/mallory-' . posix_getuid()); echo 'MALLORY-RAN';"

t_case "control: the configured caller gets alice's script run"
t_attack_script "$ALICE_DOCROOT/ok.php"
t_ran_only
rm -f "$T_MARKS"/*

t_case "a member of group $T_CALLER who is not the caller: alice's script"
T_AS=$MALLORY
t_expect "mallory really is in the caller's group" eval 'id -nG "$MALLORY" | grep -qw "$T_CALLER"'
t_attack_script "$ALICE_DOCROOT/ok.php"
t_refused_only 1 403 caller
t_expect "the log names mallory as the caller" eval 't_log_new | grep -q "^decision deny caller null $MALLORY "'

t_case "the same member: its own script, and in action-handler mode"
t_attack_script "$MALLORY_DOCROOT/own.php"
t_refused_only 1 403 caller
t_attack_script "$T_SUWRAP" PATH_TRANSLATED="$ALICE_DOCROOT/ok.php" PATH_INFO=/ok.php
t_refused_only 1 403 caller

t_case "the same member: suwrap -V is not answered"
set +e
version=$(env -i setpriv --reuid="$MALLORY" --regid="$MALLORY_GID" --init-groups "$T_SUWRAP" -V 2>&1)
rc=$?
set -e
t_expect "exit 1 and no version (got $rc: $version)" eval '[ "$rc" = 1 ] && ! t_contains "$version" "$SUWRAP_CONFIG_PATH"'

t_case "root is not the caller"
T_AS=root
t_attack_script "$ALICE_DOCROOT/ok.php"
t_refused_only 1 403 caller

# Whether this kernel enforces the execute bit for others: a root-owned 0750 copy of
# /bin/true, run as eve. (Some sandboxed kernels let any user execve any ELF file; there the
# only line left is suwrap's own caller check, which must then refuse.)
t_dir root 0755 "$T_ROOT/probe"
cp /bin/true "$T_ROOT/probe/true"
chown root:"$T_CALLER" "$T_ROOT/probe/true"
chmod 0750 "$T_ROOT/probe/true"
if env -i setpriv --reuid="$EVE" --regid="$EVE_GID" --init-groups "$T_ROOT/probe/true" 2>/dev/null; then
  exec_enforced=false
else
  exec_enforced=true
fi

T_AS=$EVE
if $exec_enforced; then
  t_case "a user outside group $T_CALLER cannot execute suwrap at all"
  t_attack_script "$ALICE_DOCROOT/ok.php"
  t_expect "setpriv's exec failed with 126 (got $T_RC)" test "$T_RC" = 126
  t_expect "permission denied" t_contains "$T_ERR" "Permission denied"
  t_expect "no response at all" test -z "$T_OUT"
  t_expect "suwrap logged nothing (new lines: $(t_log_new))" test "$(t_log_count)" = "$T_LOG_MARK"
else
  t_case "a user outside group $T_CALLER: this kernel does not enforce the execute bit, so suwrap's caller check refuses"
  echo "     note: a 0750 root:$T_CALLER file was executable by $EVE here; the kernel ignores exec permission"
  t_attack_script "$ALICE_DOCROOT/ok.php"
  t_refused_only 1 403 caller
  t_expect "the log names eve as the caller" eval 't_log_new | grep -q "^decision deny caller null $EVE "'
fi
T_AS=""

t_case "nothing ran"
t_expect "no marker (got: $(t_markers))" test -z "$(t_markers)"

t_done
