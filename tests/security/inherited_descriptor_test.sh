#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The caller leaves descriptors open across the exec of suwrap: a root-only secret file, a
# directory, /etc/shadow (setpriv keeps every descriptor). suwrap closes all but 0, 1, 2
# before anything else, so the handler sees only those and cannot read what the caller had
# open. The same program started directly with the descriptors open does see and read them
# (the control), so the listing can fail.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
t_config

t_file root 0600 "$T_ROOT/secret" "TOPSECRET-0f3c"
# A CGI program that lists its descriptors as it got them at exec (leaving out the one it
# reads the listing through) and tries to read descriptors 7, 9 and 200.
t_cc "$ALICE_DOCROOT/fds.cgi" '
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(void) {
  printf("Content-Type: text/plain\r\n\r\nfds=");
  DIR* d = opendir("/proc/self/fd");
  struct dirent* e;
  while (d && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == 0x2e || atoi(e->d_name) == dirfd(d)) continue;
    printf("%s,", e->d_name);
  }
  printf("\n");
  int probes[] = {7, 9, 200};
  for (int i = 0; i < 3; ++i) {
    char buf[64] = {0};
    ssize_t n = read(probes[i], buf, sizeof buf - 1);
    printf("read%d=%s\n", probes[i], n > 0 ? buf : "failed");
  }
  return 0;
}'
chown "$ALICE:$ALICE" "$ALICE_DOCROOT/fds.cgi"
chmod 0755 "$ALICE_DOCROOT/fds.cgi"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/fds.php" '<?php
foreach ([7, 9, 200] as $fd) echo "php$fd=", var_export(@file_get_contents("php://fd/$fd"), true), "\n";'

# Descriptors the caller leaves open, without close-on-exec.
exec 7<"$T_ROOT/secret" 9</etc/shadow 200<"$T_ROOT"

t_case "control: the program started directly sees and reads the caller's descriptors"
out=$(env -i setpriv --reuid="$ALICE" --regid="$ALICE_GID" --init-groups "$ALICE_DOCROOT/fds.cgi" 2>&1 || true)
t_expect "it lists 7, 9 and 200 (got: $(printf '%s' "$out" | grep fds=))" \
  eval 'printf "%s" "$out" | grep "^fds=" | grep -q ",7,.*9,.*200,"'
t_expect "it reads the secret through 7" t_contains "$out" "read7=TOPSECRET-0f3c"

t_case "through suwrap: only 0, 1, 2"
t_attack_script "$ALICE_DOCROOT/fds.cgi"
t_ran_only
t_expect "exactly 0, 1, 2 (got: $(t_body | grep fds=))" eval 't_body | grep -qx "fds=0,1,2,"'
t_expect "7, 9 and 200 cannot be read" \
  eval 't_body | grep -qx "read7=failed" && t_body | grep -qx "read9=failed" && t_body | grep -qx "read200=failed"'
t_expect "the secret appears nowhere" eval '! t_contains "$T_OUT" TOPSECRET'
t_expect "nothing of /etc/shadow appears" eval '! t_contains "$T_OUT" "root:"'

t_case "PHP cannot read them either"
t_attack_script "$ALICE_DOCROOT/fds.php"
t_ran_only
t_expect "php://fd/7, 9, 200 give nothing" \
  eval 't_body | grep -qx "php7=false" && t_body | grep -qx "php9=false" && t_body | grep -qx "php200=false"'
t_expect "the secret appears nowhere" eval '! t_contains "$T_OUT" TOPSECRET'

t_case "action-handler mode: only 0, 1, 2"
t_attack_script "$T_SUWRAP" PATH_TRANSLATED="$ALICE_DOCROOT/fds.cgi" PATH_INFO=/fds.cgi
t_ran_only
t_expect "exactly 0, 1, 2" eval 't_body | grep -qx "fds=0,1,2,"'

t_case "a refusal with the descriptors open writes only its own line"
t_attack_script "$ALICE_DOCROOT/missing.cgi"
t_refused_only 1 404 path
t_expect "the secret is in no log line" eval '! grep -q TOPSECRET "$T_LOG"'
exec 7<&- 9<&- 200<&-

t_done
