#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attack (issue 13, item 1): the file that runs is not the file that was checked. carol
# shares a group with alice; with allow_dir_group_writable = true she may rename entries in
# alice's shared directory (alice:devs, 2775). She swaps alice's page with a file of her own
# with renameat2(RENAME_EXCHANGE), in a loop, while requests for alice's page run. suwrap
# checks alice's page and opens it again as alice (check identity), but php-cgi opened the
# path once more, and a CGI was executed by its path: carol's file ran as alice in about one
# request in ten. Now a CGI is executed from the descriptor that was checked (execveat), a
# "#!" script too, and php-cgi's guard compiles only the inode that was checked — per
# request and in warm mode. Every answer is alice's page or a refusal; carol's file runs
# only as carol (owner mode: when her file stands at the path, it is hers), never as alice.
source "$(dirname "$0")/../lib/common.sh" security cgid
t_setup
t_require_warm
t_shared_with_carol
t_markers_dir
ROUNDS=40

# Alice's pages and carol's files, one pair per kind: PHP, a compiled CGI, a "#!" CGI.
t_file "$ALICE" 0644 "$SHARED/page.php" '<?php echo "ALICE-PAGE uid=", posix_getuid(), "\n";'
t_file "$CAROL" 0644 "$SHARED/carol.php" "<?php @touch('$T_MARKS/carol-ran-as-' . posix_getuid()); echo 'CAROL-RAN';"
t_cc "$SHARED/page.cgi" '#include <stdio.h>
#include <unistd.h>
int main(void) { printf("Content-Type: text/plain\r\n\r\nALICE-PAGE uid=%d\n", (int)getuid()); return 0; }'
t_cc "$SHARED/carol.cgi" "#include <stdio.h>
#include <unistd.h>
int main(void) { char p[512]; snprintf(p, sizeof p, \"$T_MARKS/carol-ran-as-%d\", (int)getuid()); FILE *f = fopen(p, \"w\"); if (f) fclose(f); printf(\"Content-Type: text/plain\\r\\n\\r\\nCAROL-RAN\\n\"); return 0; }"
chown "$ALICE:$ALICE" "$SHARED/page.cgi"; chmod 0755 "$SHARED/page.cgi"
chown "$CAROL:$CAROL" "$SHARED/carol.cgi"; chmod 0755 "$SHARED/carol.cgi"
t_file "$ALICE" 0755 "$SHARED/script.cgi" '#!/bin/sh
printf "Content-Type: text/plain\r\n\r\nALICE-PAGE uid=%s\n" "$(id -u)"'
t_file "$CAROL" 0755 "$SHARED/carol-script.cgi" "#!/bin/sh
touch '$T_MARKS/carol-ran-as-'\$(id -u)
printf 'Content-Type: text/plain\\r\\n\\r\\nCAROL-RAN\\n'"

# The swapper, as carol: renameat2(RENAME_EXCHANGE) of two names, a random pause of up to
# PAUSE microseconds after each, until told to stop (10 s at most). A rename changes the
# inode's change time, which check identity compares: with no pause at all every request
# would be refused before anything is opened again, and the later opens would go untested.
t_cc "$T_ROOT/swapper" '#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  time_t end = time(NULL) + 10;
  long pause = atol(argv[4]);
  srand((unsigned)getpid());
  while (time(NULL) < end && access(argv[3], F_OK) != 0) {
    if (renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) != 0) { perror("renameat2"); return 1; }
    if (pause > 0) usleep((useconds_t)(rand() % pause));
  }
  return 0;
}'
chmod 0755 "$T_ROOT/swapper"
SWAPPER=""
t_on_cleanup '[ -n "$SWAPPER" ] && kill "$SWAPPER"'

# race WHERE ALICE_FILE CAROL_FILE PAUSE: ROUNDS requests for alice's file while carol swaps it
# with hers; counts the answers: RAN (alice's page), REFUSED (403), CAROLS (carol's file
# ran: as carol when it stood at the path when suwrap checked it; the markers say as whom).
race() {
  local where=$1 page=$SHARED/$2 theirs=$SHARED/$3 pause=$4 i
  rm -f "$T_MARKS"/* "$T_ROOT/stop"
  setpriv --reuid="$CAROL" --regid="$CAROL_GID" --init-groups "$T_ROOT/swapper" "$page" "$theirs" "$T_ROOT/stop" "$pause" &
  SWAPPER=$!
  RAN=0 REFUSED=0 CAROLS=0 OTHER=""
  for ((i = 0; i < ROUNDS; i++)); do
    if [ "$where" = warm ]; then t_fcgi SCRIPT_FILENAME="$page"; else t_request SCRIPT_FILENAME="$page"; fi
    if t_contains "$T_OUT" "ALICE-PAGE uid=$ALICE_UID"; then RAN=$((RAN + 1));
    elif [ "$T_STATUS" = 403 ]; then REFUSED=$((REFUSED + 1));
    elif t_contains "$T_OUT" CAROL-RAN; then CAROLS=$((CAROLS + 1));  # as whom: the markers say
    else OTHER+="[$T_STATUS $(printf '%s' "$T_OUT" | tr -d '\r' | tail -n 1)]"; fi
  done
  touch "$T_ROOT/stop"
  wait "$SWAPPER" || true
  SWAPPER=""
  # The names end as they began, whichever way the last swap left them.
  if [ "$(stat -c %U "$page")" != "$ALICE" ]; then
    setpriv --reuid="$CAROL" --regid="$CAROL_GID" --init-groups "$T_PYTHON" -c \
      'import ctypes, sys; ctypes.CDLL(None, use_errno=True).renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 2)' "$page" "$theirs"
  fi
}

for mode in request warm; do
  if [ "$mode" = request ]; then
    T_CONFIG_TABLES=$(t_php_tables php)
  else
    T_CONFIG_TABLES=$(t_php_tables php-fcgi)
    t_start_cgid --config "$SUWRAP_CONFIG_PATH" --pool-dir "$T_ROOT/run/pools"
  fi
  t_config allow_dir_group_writable=true

  # Pauses (µs): php-cgi opens the script some 10 ms after suwrap checked it, a CGI is
  # executed within a fraction of a millisecond, a warm worker opens it within a millisecond
  # or two of the gate's check. Most answers are refusals (each swap changes the change time
  # that check identity and the guard compare); what must hold is that none is carol's file
  # run as alice.
  kinds=("page.php carol.php 20000")
  [ "$mode" = request ] && kinds+=("page.cgi carol.cgi 3000" "script.cgi carol-script.cgi 3000")
  [ "$mode" = warm ] && kinds=("page.php carol.php 3000")
  for pair in "${kinds[@]}"; do
    read -r mine theirs pause <<<"$pair"
    t_case "$mode: control: $mine standing still runs as alice"
    if [ "$mode" = warm ]; then t_fcgi SCRIPT_FILENAME="$SHARED/$mine"; else t_request SCRIPT_FILENAME="$SHARED/$mine"; fi
    t_expect "alice's page, as alice" t_contains "$T_OUT" "ALICE-PAGE uid=$ALICE_UID"

    t_case "$mode: carol swaps $mine with her $theirs (RENAME_EXCHANGE) during $ROUNDS requests"
    race "$mode" "$mine" "$theirs" "$pause"
    t_expect "carol's file never ran as alice ($RAN alice's, $REFUSED refused, $CAROLS carol's; markers: $(t_markers))" \
      t_no_marker "carol-ran-as-$ALICE_UID"
    t_expect "every answer is alice's page, carol's file or a refusal${OTHER:+ (others: $OTHER)}" test -z "$OTHER"
  done
  if [ "$mode" = warm ]; then t_stop_cgid; fi
done

t_done
