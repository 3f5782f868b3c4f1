#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The caller lowers its resource limits before it runs suwrap (a set-uid program inherits
# them): RLIMIT_NOFILE so an open fails, RLIMIT_FSIZE so the log append is cut short (or
# SIGXFSZ kills suwrap mid-line), RLIMIT_CPU to a second. suwrap must still decide, exit
# with one of its own statuses (not die of a signal) and log whole lines only; and a handler
# it runs gets the account's limits from the configuration, never the caller's.
#
# Raising a lowered *hard* limit back needs CAP_SYS_RESOURCE, which some machines (and
# container runtimes) leave out of root's bounding set. There suwrap cannot undo the
# caller's hard limits, and refusing (exit 3, a whole "error" line) is the right answer;
# writing part of a line, or being killed by SIGXFSZ, is not.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
T_CONFIG_TABLES=$(t_php_tables php '[limits]
cpu_seconds = 9
nofile = 123
fsize_mb = 7
nproc = 40')
t_config

t_file "$ALICE" 0755 "$ALICE_DOCROOT/limits.cgi" '#!/bin/sh
printf "Content-Type: text/plain\r\n\r\n"
cat /proc/self/limits'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/ok.php" '<?php echo "ALICE-RAN";'

if prlimit --nofile=16:16 sh -c 'ulimit -Hn 32' 2>/dev/null; then can_raise_hard=true; else can_raise_hard=false; fi
echo "     note: root can raise a lowered hard limit here (CAP_SYS_RESOURCE): $can_raise_hard"

# limit NAME: "soft hard" of that line of the last response's /proc/self/limits.
limit() { t_body | awk -v n="$1" 'index($0, n) == 1 { sub(n, ""); print $1, $2 }'; }
check_account_limits() {
  t_expect "Max open files is the account's 123 (got $(limit "Max open files"))" test "$(limit "Max open files")" = "123 123"
  t_expect "Max file size is the account's 7 MiB (got $(limit "Max file size"))" test "$(limit "Max file size")" = "7340032 7340032"
  t_expect "Max cpu time is the account's 9 s, hard 10 (got $(limit "Max cpu time"))" test "$(limit "Max cpu time")" = "9 10"
  t_expect "Max processes is the account's 40 (got $(limit "Max processes"))" test "$(limit "Max processes")" = "40 40"
  t_expect "no core dumps (got $(limit "Max core file size"))" test "$(limit "Max core file size")" = "0 0"
}
# decided_whole: the last request ended with one of suwrap's statuses, either running the
# handler with the account's limits or refusing with a whole error line (or none, where the
# limit leaves no room), and the whole log
# is still JSON Lines.
decided_whole() {
  local new
  new=$(t_log_new)
  t_expect "suwrap was not killed by a signal (exit $T_RC)" test "$T_RC" -lt 128
  if [ "$T_RC" = 0 ]; then
    t_ran_only
    check_account_limits
  else
    # Where the caller's file-size limit leaves no room for the line, none of it is
    # written to the file (suwrap sends it to syslog instead): never a partial line.
    t_expect "a refusal: exit 3, 500, one whole error line or none (got exit $T_RC, $T_STATUS, new lines: $new)" \
      eval '[ "$T_RC" = 3 ] && [ "$T_STATUS" = 500 ] && { [ -z "$new" ] || { [[ "$new" =~ ^decision\ error\  ]] && [ "$(printf "%s\n" "$new" | wc -l)" = 1 ]; }; }'
    t_expect "refusing is the answer only where the limits cannot be raised" test "$can_raise_hard" = false
  fi
  t_expect "the whole log is JSON Lines, no partial line" t_log_valid
}

t_case "control: lowered limits do reach a program started directly"
T_OUT=$(env -i prlimit --nofile=16:16 --fsize=1:1 setpriv --reuid="$ALICE" --regid="$ALICE_GID" --init-groups \
  "$ALICE_DOCROOT/limits.cgi" 2>&1 || true)
t_expect "Max open files 16 (got $(limit "Max open files"))" test "$(limit "Max open files")" = "16 16"
t_expect "Max file size 1 (got $(limit "Max file size"))" test "$(limit "Max file size")" = "1 1"

t_case "a first request, so the log is longer than the limits below"
t_attack_script "$ALICE_DOCROOT/ok.php"
t_ran_only

t_case "soft limits lowered: the handler gets the account's limits"
t_request_via prlimit --nofile=16:1024 --fsize=1:unlimited --cpu=1:unlimited -- SCRIPT_FILENAME="$ALICE_DOCROOT/limits.cgi"
t_ran_only
check_account_limits
t_expect "the log stays whole JSON Lines" t_log_valid

t_case "soft limits lowered: a refusal is decided and logged whole"
t_request_via prlimit --nofile=16:1024 --fsize=1:unlimited --cpu=1:unlimited -- SCRIPT_FILENAME="$ALICE_DOCROOT/missing.php"
t_refused_only 1 404 path
t_expect "the log stays whole JSON Lines" t_log_valid

t_case "soft limits lowered, action-handler mode"
t_request_via prlimit --nofile=16:1024 --fsize=1:unlimited -- SCRIPT_FILENAME="$T_SUWRAP" \
  PATH_TRANSLATED="$ALICE_DOCROOT/limits.cgi" PATH_INFO=/limits.cgi
t_ran_only
check_account_limits

t_case "hard RLIMIT_NOFILE and RLIMIT_CPU lowered"
t_request_via prlimit --nofile=16:16 --cpu=1:1 -- SCRIPT_FILENAME="$ALICE_DOCROOT/limits.cgi"
decided_whole

t_case "hard RLIMIT_FSIZE lowered to one byte"
t_request_via prlimit --fsize=1:1 -- SCRIPT_FILENAME="$ALICE_DOCROOT/limits.cgi"
decided_whole

t_case "hard RLIMIT_FSIZE ending 40 bytes into the next log line"
size=$(stat -c %s "$T_LOG")
t_request_via prlimit --fsize=$((size + 40)):$((size + 40)) -- SCRIPT_FILENAME="$ALICE_DOCROOT/limits.cgi"
decided_whole

t_case "a tiny stack (RLIMIT_STACK 64 KiB): suwrap answers and logs, it does not crash"
t_request_via prlimit --stack=65536:65536 -- SCRIPT_FILENAME="$ALICE_DOCROOT/limits.cgi"
decided_whole

t_case "the next ordinary request is logged as a line of its own"
t_attack_script "$ALICE_DOCROOT/ok.php"
t_ran_only
t_expect "the whole log is JSON Lines" t_log_valid

t_done
