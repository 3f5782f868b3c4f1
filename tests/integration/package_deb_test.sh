#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian package: built with cpack, installed with apt-get on this machine, used for
# one real request, removed and purged — and nothing of it left behind.
source "$(dirname "$0")/../lib/common.sh"
: "${SUWRAP_SOURCE_DIR:?}"
t_setup

if dpkg-query -W -f='${Status}' suwrap 2>/dev/null | grep -q 'install ok installed' || [ -e /etc/suwrap ]; then
  echo "SKIP $T_NAME: a suwrap package or /etc/suwrap is already on this machine; not touching it"
  exit 77
fi
t_on_cleanup "apt-get purge -y -qq suwrap"

t_case "cpack builds a .deb"
deb_build="$T_ROOT/deb-build"
SUWRAP_DEB_BUILD="$deb_build" "$SUWRAP_SOURCE_DIR/install/build-deb.sh" >"$T_ROOT/build.log" 2>&1 || { tail -30 "$T_ROOT/build.log"; }
deb=$(ls "$deb_build"/suwrap_*.deb 2>/dev/null | head -n 1)
t_expect "a package file exists" test -n "$deb"

t_case "the package installs cleanly"
set +e
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >"$T_ROOT/install.log" 2>&1
rc=$?
set -e
t_expect "apt-get install succeeds" test "$rc" = 0
t_expect "suwrap is root:www-data 4750" test "$(stat -c '%U:%G %a' /usr/lib/suwrap/suwrap)" = "root:www-data 4750"
t_expect "the set-uid bit comes from dpkg-statoverride" dpkg-statoverride --list /usr/lib/suwrap/suwrap
t_expect "suwrap-cgid is installed" test -x /usr/sbin/suwrap-cgid
t_expect "suwrap-policy is installed" test -x /usr/bin/suwrap-policy
t_expect "the systemd units are installed" test -f /lib/systemd/system/suwrap-cgid.socket
t_expect "the example configuration is installed" test -f /etc/suwrap/suwrap.toml
t_expect "the log directory is root's" test "$(stat -c '%U %a' /var/log/suwrap)" = "root 750"
t_expect "suwrap-policy config check accepts it" /usr/bin/suwrap-policy config check

t_case "the installed suwrap serves a request"
t_user ALICE
sed -i "s|^docroots .*|docroots    = [\"$T_ROOT/home/*/public_html\"]|" /etc/suwrap/suwrap.toml
t_file "$ALICE" 0644 "$ALICE_DOCROOT/who.php" '<?php echo "uid=", posix_getuid();'
T_SUWRAP_SAVED=$T_SUWRAP
T_SUWRAP=/usr/lib/suwrap/suwrap
T_LOG=/var/log/suwrap/suwrap.log
t_script "$ALICE_DOCROOT/who.php"
t_allowed
t_expect "runs as alice" t_contains "$(t_body)" "uid=$ALICE_UID"
T_SUWRAP=$T_SUWRAP_SAVED

t_case "the package removes cleanly, and purge removes its configuration"
set +e
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq suwrap >"$T_ROOT/remove.log" 2>&1
rc=$?
set -e
t_expect "apt-get remove succeeds" test "$rc" = 0
t_expect "the programs are gone" test ! -e /usr/lib/suwrap/suwrap -a ! -e /usr/sbin/suwrap-cgid -a ! -e /usr/bin/suwrap-policy
t_expect "no statoverride is left" bash -c '! dpkg-statoverride --list /usr/lib/suwrap/suwrap'
t_expect "the configuration stays after remove" test -f /etc/suwrap/suwrap.toml
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq suwrap >/dev/null 2>&1
t_expect "purge removes /etc/suwrap" test ! -e /etc/suwrap/suwrap.toml
t_expect "purge removes the log directories" test ! -e /var/log/suwrap -a ! -e /var/log/suwrap-cgid
t_expect "no set-uid file of the package remains" bash -c '[ -z "$(find /usr/lib/suwrap -perm -4000 2>/dev/null)" ]'

t_done
