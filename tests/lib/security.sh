# SPDX-License-Identifier: Apache-2.0
# The attacks of the security suites (tests/security/*, and the integration suites that
# judge a request the same way), sourced by common.sh for the suites that name security:
# a request made with the log marked first, or by a hostile caller process (a wrapper such
# as prlimit or timeout, arguments to suwrap), judged by the log lines it wrote; and the
# set-up of the attacks by a member of an account's group.

T_SUWRAP_ARGS=()  # arguments given to suwrap by t_request_via (a web server may pass query words)

# t_marker_php NAME [OUTPUT]: a PHP script that leaves the marker NAME in $T_MARKS when it
# runs and prints OUTPUT (default RAN).
t_marker_php() { printf '<?php touch("%s/%s"); echo "%s";' "$T_MARKS" "$1" "${2:-RAN}"; }

# t_marker_cgi NAME [OUTPUT]: the same as a /bin/sh CGI program.
t_marker_cgi() {
  printf '#!/bin/sh\ntouch %s/%s\nprintf "Content-Type: text/plain\\r\\n\\r\\n%s"\n' "$T_MARKS" "$1" "${2:-RAN}"
}

# t_attack [NAME=VALUE]...: t_request, with the log marked first.
t_attack() { t_log_mark; t_request "$@"; }
t_attack_script() { local path=$1; shift; t_attack SCRIPT_FILENAME="$path" "$@"; }

# t_request_via WRAPPER... -- [NAME=VALUE]...: like t_attack, with WRAPPER (run as root with
# the request's environment, e.g. `prlimit --nofile=8:8` or `timeout 30`) before setpriv, and
# T_SUWRAP_ARGS given to suwrap as its arguments.
t_request_via() {
  local wrap=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do wrap+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  local as=${T_AS:-$T_CALLER}
  local base=(GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=localhost)
  t_log_mark
  set +e
  T_OUT=$(env -i "${base[@]}" "$@" "${wrap[@]}" /usr/bin/setpriv --reuid="$as" --regid="$(id -g "$as")" \
    --init-groups "$T_SUWRAP" "${T_SUWRAP_ARGS[@]}" <"$T_STDIN" 2>"$T_ROOT/stderr"; echo "~$?")
  set -e
  t_response
}

# t_refused_only RC STATUS CHECK: the last t_attack was refused with this exit code, CGI
# status and check, and the request wrote exactly one log line, that refusal: no allow line
# and no exit line, so nothing was run.
t_refused_only() {
  local rc=$1 status=$2 check=$3 new
  new=$(t_log_new)
  if [ "$T_RC" = "$rc" ] && [ "$T_STATUS" = "$status" ] && [ "$(printf '%s\n' "$new" | wc -l)" = 1 ] &&
    [[ "$new" =~ ^decision\ (deny|error)\ $check\  ]]; then
    t_pass "exit $rc, $status, check $check, nothing ran"
  else
    t_fail "expected exit $rc, status $status, one refusal line with check $check; got exit $T_RC, status $T_STATUS, new log lines: $new"
  fi
}

# t_ran_only: the last t_attack was allowed and ran: an allow line, then an exit line.
t_ran_only() {
  local new
  new=$(t_log_new)
  if [ "$T_RC" = 0 ] && [[ "$new" =~ ^decision\ allow\ null\ .*$'\n'exit\  ]] && [ "$(printf '%s\n' "$new" | wc -l)" = 2 ]; then
    t_pass "allowed and ran"
  else
    t_fail "expected an allow line then an exit line; got exit $T_RC, new log lines: $new"
  fi
}

# t_shared_with_carol: the set-up of the attacks by a group member: users ALICE and CAROL,
# a group DEVS with carol in it, and SHARED, alice's directory $ALICE_DOCROOT/shared of
# group DEVS, mode 2775: carol can write into it (allow_dir_group_writable admits it).
t_shared_with_carol() {
  t_user ALICE
  t_user CAROL
  t_group DEVS "$CAROL"
  SHARED="$ALICE_DOCROOT/shared"
  t_dir "$ALICE" 2775 "$SHARED"
  chgrp "$DEVS" "$SHARED"
  chmod 2775 "$SHARED"
}

# t_group VAR MEMBER...: a real group (removed when the suite ends) with these users as
# supplementary members. Sets VAR (its name).
t_group() {
  local var=$1 name="swgrp$(( $$ % 10000 ))$RANDOM"
  shift
  groupadd "$name"
  t_on_cleanup "groupdel '$name'"
  local member
  for member in "$@"; do usermod -aG "$name" "$member"; done
  printf -v "$var" '%s' "$name"
}
