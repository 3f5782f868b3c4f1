#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The package's life on a machine, with apt: install the first version (the set-uid bit
# from dpkg-statoverride, the units started), serve requests through the installed
# suwrap-cgid, edit the configuration, upgrade to the second version while requests keep
# coming (the daemon restarted, the socket kept, the edit and the statoverride kept),
# remove (the statoverride kept) and purge (nothing left).
#
# Without systemd as PID 1 the units are run by tests/lib/systemd_stand_in.py, and the
# maintainer scripts reach it through their own systemctl calls (t_apt).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/package.sh"
t_pkg_setup
t_stand_in_start

wrapper=/usr/lib/suwrap/suwrap
gate=/usr/lib/suwrap/suwrap-gate
sock=/run/suwrap/cgid.sock

t_case "apt installs $T_VERSION_OLD"
t_apt install "$T_DEB_OLD"
t_expect "apt-get install succeeds" test "$T_RC" = 0
t_expect "version $T_VERSION_OLD is installed" test "$(dpkg-query -W -f='${Version}' suwrap)" = "$T_VERSION_OLD"
t_expect "suwrap is root:www-data 4750" test "$(stat -c '%U:%G %a' $wrapper)" = "root:www-data 4750"
t_expect "the set-uid bit comes from dpkg-statoverride" test "$(dpkg-statoverride --list $wrapper)" = "root www-data 4750 $wrapper"
t_expect "suwrap-gate is root's, mode 0711, through dpkg-statoverride" \
  test "$(stat -c '%U %a' $gate) / $(dpkg-statoverride --list $gate)" = "root 711 / root root 711 $gate"
t_expect "the configuration is a conffile" sh -c 'dpkg-query -W -f="\${Conffiles}" suwrap | grep -q " /etc/suwrap/suwrap.toml "'
t_expect "the logrotate snippet is a conffile" sh -c 'dpkg-query -W -f="\${Conffiles}" suwrap | grep -q " /etc/logrotate.d/suwrap "'
t_expect "the decision log's directory is root:adm 0750" test "$(stat -c '%U:%G %a' /var/log/suwrap)" = "root:adm 750"
t_expect "the manual pages are installed" test -f /usr/share/man/man5/suwrap.toml.5.gz -a -f /usr/share/man/man8/suwrap.8.gz
t_expect "the installed suwrap.toml(5) is the repository's (docs.man-keys holds it to the parser)" \
  sh -c "zcat /usr/share/man/man5/suwrap.toml.5.gz | cmp -s - '$SUWRAP_SOURCE_DIR/man/suwrap.toml.5'"
t_expect "man suwrap.toml renders it" sh -c 'man -P cat suwrap.toml 2>/dev/null | grep -q allow_dir_group_writable'
t_expect "the units are enabled" test -L /etc/systemd/system/sockets.target.wants/suwrap-cgid.socket
t_expect "the postinst started the socket and the service" grep -q "start suwrap-cgid.service" "$T_ROOT/state/systemctl.calls"
pid_old=$(t_main_pid)
t_expect "suwrap-cgid runs as www-data (pid $pid_old)" test "$(ps -o user= -p "$pid_old" 2>/dev/null)" = www-data
t_expect "it told the service manager it is ready" grep -q "notify $pid_old READY=1" "$T_ROOT/state/events"
t_expect "suwrap-policy config check accepts the installed configuration" /usr/bin/suwrap-policy config check

t_case "the installed stack serves a request"
t_user ALICE
# The administrator's edit: docroots where the test's accounts live.
sed -i "s|^docroots .*|docroots    = [\"$T_ROOT/home/*/public_html\"]|" /etc/suwrap/suwrap.toml
t_file "$ALICE" 0644 "$ALICE_DOCROOT/who.php" '<?php echo "uid=", posix_getuid();'
request() {  # one request through the package's socket; prints the CGI status and body
  env -i REQUEST_METHOD=GET GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=localhost \
    SCRIPT_FILENAME="$ALICE_DOCROOT/who.php" SCRIPT_NAME=/who.php \
    /usr/bin/cgi-fcgi -bind -connect "$sock" </dev/null 2>/dev/null | tr -d '\r' |
    awk 'BEGIN { s = 200 } /^Status:/ && !body { s = $2 } /^$/ { body = 1; next } body { b = b $0 } END { print s, b }'
}
answer=$(request)
t_expect "200 and the script ran as alice (got: $answer)" test "$answer" = "200 uid=$ALICE_UID"
t_expect "the decision is in the package's log" grep -q '"decision":"allow"' /var/log/suwrap/suwrap.log

t_case "systemctl reload suwrap-cgid"
t_expect "reload succeeds (RELOADING=1, then READY=1)" t_systemctl reload suwrap-cgid.service
t_expect "the daemon said RELOADING=1" grep -q "notify $pid_old RELOADING=1" "$T_ROOT/state/events"

t_case "apt upgrades to $T_VERSION_NEW while requests keep coming"
socket_inode=$(stat -c %i "$sock")
(
  while [ ! -e "$T_ROOT/stop-requests" ]; do
    request >>"$T_ROOT/answers"
    sleep 0.05
  done
) &
loop=$!
t_on_cleanup "kill $loop"
sleep 1
t_apt install "$T_DEB_NEW"
upgrade_rc=$T_RC
sleep 1
touch "$T_ROOT/stop-requests"
wait "$loop" || true
t_expect "apt-get install of the new version succeeds" test "$upgrade_rc" = 0
t_expect "version $T_VERSION_NEW is installed" test "$(dpkg-query -W -f='${Version}' suwrap)" = "$T_VERSION_NEW"
t_expect "the postinst restarted suwrap-cgid.service" grep -q "restart suwrap-cgid.service" "$T_ROOT/state/systemctl.calls"
t_expect "the socket was not restarted: the same socket listens" test "$(stat -c %i "$sock")" = "$socket_inode"
pid_new=$(t_main_pid)
t_expect "a new suwrap-cgid runs (pid $pid_old, then $pid_new)" test -n "$pid_new" -a "$pid_new" != 0 -a "$pid_new" != "$pid_old"
t_expect "it runs the new binary" test "$(readlink "/proc/$pid_new/exe")" = /usr/sbin/suwrap-cgid
t_expect "the new daemon told the service manager it is ready" grep -q "notify $pid_new READY=1" "$T_ROOT/state/events"
total=$(wc -l <"$T_ROOT/answers")
good=$(grep -c "^200 uid=$ALICE_UID\$" "$T_ROOT/answers" || true)
t_expect "every request during the upgrade was served ($good of $total)" test "$total" -ge 10 -a "$good" = "$total"
t_expect "the statoverride is kept" test "$(dpkg-statoverride --list $wrapper)" = "root www-data 4750 $wrapper"
t_expect "suwrap is still root:www-data 4750" test "$(stat -c '%U:%G %a' $wrapper)" = "root:www-data 4750"
t_expect "the edited configuration is kept" grep -q "^docroots    = \[\"$T_ROOT/home/\*/public_html\"\]" /etc/suwrap/suwrap.toml
t_expect "no .dpkg-dist or .dpkg-new was left beside it" sh -c '! ls /etc/suwrap/suwrap.toml.dpkg-* 2>/dev/null'
answer=$(request)
t_expect "the upgraded stack serves (got: $answer)" test "$answer" = "200 uid=$ALICE_UID"

if command -v logrotate >/dev/null; then
  t_case "the logrotate snippet"
  t_expect "logrotate reads it without an error" sh -c \
    "! logrotate --debug --state '$T_ROOT/logrotate.state' /etc/logrotate.d/suwrap 2>&1 | grep -qi 'error'"
  t_expect "it rotates daily and by size" sh -c "grep -q '^ *daily' /etc/logrotate.d/suwrap && grep -q '^ *maxsize' /etc/logrotate.d/suwrap"
fi

t_case "apt removes the package"
t_apt remove suwrap
t_expect "apt-get remove succeeds" test "$T_RC" = 0
t_expect "the prerm stopped suwrap-cgid" grep -q "stop.*suwrap-cgid.service" "$T_ROOT/state/systemctl.calls"
t_expect "suwrap-cgid is stopped" test "$(t_main_pid)" = 0
t_expect "the programs are gone" test ! -e $wrapper -a ! -e /usr/sbin/suwrap-cgid -a ! -e /usr/bin/suwrap-policy
t_expect "the statoverride is kept after remove" test "$(dpkg-statoverride --list $wrapper)" = "root www-data 4750 $wrapper"
t_expect "the configuration stays after remove" test -f /etc/suwrap/suwrap.toml

t_case "apt purges the package"
t_apt purge suwrap
t_expect "apt-get purge succeeds" test "$T_RC" = 0
t_expect "no statoverride is left" sh -c "! dpkg-statoverride --list $wrapper && ! dpkg-statoverride --list $gate"
t_expect "the configuration is gone" test ! -e /etc/suwrap/suwrap.toml
t_expect "the log directories are gone" test ! -e /var/log/suwrap -a ! -e /var/log/suwrap-cgid
t_expect "no set-uid file of the package remains" sh -c '[ -z "$(find /usr/lib/suwrap -perm -4000 2>/dev/null)" ]'
t_expect "no unit is left enabled" test ! -e /etc/systemd/system/sockets.target.wants/suwrap-cgid.socket

t_done
