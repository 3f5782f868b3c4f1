#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# suwrap started with descriptors 0, 1 and 2 closed. Without care the log would be opened as
# descriptor 1 or 2: the response, error messages, or the handler's whole output would land
# in the log, and the handler would run with the log as its stdout. suwrap must not crash,
# must log to the log file only, and nothing may run with the log on 0, 1 or 2: a CGI
# records where its 0, 1 and 2 lead, and prints a marker that must never reach the log.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
t_config
t_markers_dir

t_file "$ALICE" 0755 "$ALICE_DOCROOT/stdio.cgi" "#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\nHANDLER-OUTPUT\n'
echo HANDLER-STDERR >&2
in=\$(readlink /proc/\$\$/fd/0) out=\$(readlink /proc/\$\$/fd/1) err=\$(readlink /proc/\$\$/fd/2)
printf '0=%s\\n1=%s\\n2=%s\\n' \"\$in\" \"\$out\" \"\$err\" >$T_MARKS/stdio.\$\$"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/ok.php" '<?php echo "PHP-OUTPUT"; fwrite(STDERR, "PHP-STDERR");'

# closed_run REDIRECTIONS SCRIPT: runs suwrap as the caller with those descriptors closed;
# sets T_RC. Nothing can be captured from a closed stdout: the log and the markers tell.
closed_run() {
  local how=$1 script=$2
  t_log_mark
  rm -f "$T_MARKS"/*
  set +e
  case "$how" in
    all) env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SCRIPT_FILENAME="$script" \
           setpriv --reuid="$T_CALLER" --regid="$T_CALLER" --init-groups "$T_SUWRAP" <&- >&- 2>&- ;;
    out) env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SCRIPT_FILENAME="$script" \
           setpriv --reuid="$T_CALLER" --regid="$T_CALLER" --init-groups "$T_SUWRAP" </dev/null >&- 2>"$T_ROOT/stderr" ;;
    err) env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SCRIPT_FILENAME="$script" \
           setpriv --reuid="$T_CALLER" --regid="$T_CALLER" --init-groups "$T_SUWRAP" </dev/null >"$T_ROOT/stdout" 2>&- ;;
  esac
  T_RC=$?
  set -e
  T_STATUS=""
}
# log_clean: the log holds only JSON lines, and nothing the handler or suwrap printed.
log_clean() {
  t_expect "the log is whole JSON Lines" t_log_valid
  t_expect "no handler output or response in the log" \
    eval '! grep -Eq "HANDLER-|PHP-OUTPUT|PHP-STDERR|Status:|Content-Type|Forbidden" "$T_LOG"'
}
# stdio_not_log: the CGI's 0, 1 and 2 led somewhere, and never to the log.
stdio_not_log() {
  local rec
  rec=$(cat "$T_MARKS"/stdio.* 2>/dev/null || true)
  t_expect "the CGI ran and recorded its descriptors ($(printf '%s' "$rec" | tr '\n' ' '))" \
    eval '[ "$(printf "%s\n" "$rec" | grep -c "^[012]=/")" = 3 ]'
  t_expect "none of them is the log" eval '! printf "%s" "$rec" | grep -q "$T_LOG"'
}

t_case "0, 1, 2 all closed: a CGI program runs"
closed_run all "$ALICE_DOCROOT/stdio.cgi"
t_expect "exit 0 (got $T_RC)" test "$T_RC" = 0
t_ran_only
stdio_not_log
# (glibc itself opens /dev/full on a closed 0 and /dev/null on a closed 1 or 2 of a set-uid
# program, before main; suwrap's own guard covers the rest.)
t_expect "its 0, 1, 2 are /dev/null or /dev/full" \
  eval '! cat "$T_MARKS"/stdio.* | grep -Ev "^[012]=/dev/(null|full)$" | grep -q .'
log_clean

t_case "0, 1, 2 all closed: PHP runs"
closed_run all "$ALICE_DOCROOT/ok.php"
t_expect "exit 0 (got $T_RC)" test "$T_RC" = 0
t_ran_only
log_clean

t_case "0, 1, 2 all closed: a refusal is logged to the log file"
closed_run all "$ALICE_DOCROOT/missing.php"
t_expect "exit 1 (got $T_RC)" test "$T_RC" = 1
T_STATUS=404
t_refused_only 1 404 path
log_clean

t_case "only 1 closed: the response does not become the log"
closed_run out "$ALICE_DOCROOT/stdio.cgi"
t_expect "exit 0 (got $T_RC)" test "$T_RC" = 0
t_ran_only
stdio_not_log
log_clean

t_case "only 2 closed"
closed_run err "$ALICE_DOCROOT/stdio.cgi"
t_expect "exit 0 (got $T_RC)" test "$T_RC" = 0
t_ran_only
stdio_not_log
t_expect "the response went to stdout" t_contains "$(cat "$T_ROOT/stdout")" HANDLER-OUTPUT
log_clean

t_case "only 2 closed: a refusal's response goes to stdout, the line to the log"
closed_run err "$ALICE_DOCROOT/missing.php"
T_OUT=$(cat "$T_ROOT/stdout")
T_STATUS=$(printf '%s' "$T_OUT" | sed -n 's/^Status: \([0-9]*\).*/\1/p' | sed -n 1p)
t_refused_only 1 404 path
log_clean

t_done
