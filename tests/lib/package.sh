# SPDX-License-Identifier: Apache-2.0
# Set-up for the package suites (tests/package/*_test.sh), sourced after common.sh: the
# packages package.build made, the real dpkg database, the real /etc/suwrap, and a
# stand-in for systemd where systemd is not PID 1 (tests/lib/systemd_stand_in.py).
#
# Environment (set by CTest): SUWRAP_PACKAGE_DIR (build_debs.sh's OUT-DIR), SUWRAP_SOURCE_DIR.

T_STAND_IN=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/systemd_stand_in.py
T_UNITS=/lib/systemd/system
T_STAND_IN_PID=""

# t_pkg_setup: the scratch tree, as t_setup makes it, without suwrap's test configuration
# (these suites use the package's own /etc/suwrap); skips when the machine already has a
# suwrap package or an /etc/suwrap of its own, which the suites would replace.
t_pkg_setup() {
  : "${SUWRAP_PACKAGE_DIR:?SUWRAP_PACKAGE_DIR must name the directory package.build filled}"
  if [ "$(id -u)" != 0 ]; then
    echo "SKIP $T_NAME: needs root (installs packages)"
    exit 77
  fi
  if dpkg-query -W -f='${Status}' suwrap 2>/dev/null | grep -q 'installed' || [ -e /etc/suwrap ]; then
    echo "SKIP $T_NAME: a suwrap package or /etc/suwrap is already on this machine; not touching it"
    exit 77
  fi
  for f in first second; do
    ls "$SUWRAP_PACKAGE_DIR/$f"/suwrap_*.deb >/dev/null 2>&1 || {
      echo "FAIL $T_NAME: no package in $SUWRAP_PACKAGE_DIR/$f (package.build failed?)" >&2
      exit 1
    }
  done
  mkdir -p /run/suwrap-tests
  T_ROOT=$(mktemp -d /run/suwrap-tests/"$T_NAME".XXXXXX)
  chmod 0755 "$T_ROOT"
  mkdir -p "$T_ROOT/home" "$T_ROOT/state"
  chmod 0755 "$T_ROOT/home"
  trap t_cleanup EXIT
  # Whatever happens, nothing of the package stays: purge removes the statoverrides too.
  t_on_cleanup "DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq suwrap"
  T_DEB_OLD=$(ls "$SUWRAP_PACKAGE_DIR"/first/suwrap_*.deb | grep -v dbgsym)
  T_DEB_NEW=$(ls "$SUWRAP_PACKAGE_DIR"/second/suwrap_*.deb | grep -v dbgsym)
  T_VERSION_OLD=$(sed -n 1p "$SUWRAP_PACKAGE_DIR/versions")
  T_VERSION_NEW=$(sed -n 2p "$SUWRAP_PACKAGE_DIR/versions")
}

# t_stand_in_start: systemd's stand-in for suwrap-cgid's units, in $T_ROOT/state.
t_stand_in_start() {
  local state=$T_ROOT/state
  "$T_PYTHON" "$T_STAND_IN" serve "$state" "$T_UNITS" suwrap-cgid >>"$state/stand-in.log" 2>&1 &
  T_STAND_IN_PID=$!
  t_on_cleanup "t_kill_pid $T_STAND_IN_PID"
  for _ in $(seq 1 50); do [ -S "$state/control" ] && break; sleep 0.1; done
  # The script bound over /usr/bin/systemctl in apt's namespace, and the real one, which
  # it runs for what systemctl does without a running systemd (enable, preset, disable on
  # --root=/: the units' symlinks in /etc/systemd/system).
  cp /usr/bin/systemctl "$state/systemctl.real"
  printf '#!/bin/sh\nexec %s %s systemctl %s "$@"\n' "$T_PYTHON" "$T_STAND_IN" "$state" >"$state/systemctl"
  # A policy-rc.d that lets the maintainer scripts start this package's units, and no
  # other (a machine's own policy-rc.d, such as a container's "exit 101", is hidden
  # from apt's namespace only).
  printf '#!/bin/sh\ncase "$1" in suwrap-cgid.*) exit 0 ;; esac\nexit 101\n' >"$state/policy-rc.d"
  chmod 0755 "$state/systemctl" "$state/policy-rc.d"
}

# t_apt ARGS...: apt-get ARGS in a mount namespace of its own where systemd seems to run
# (a /run/systemd/system) and /usr/bin/systemctl is the stand-in, so that the package's
# maintainer scripts start, restart and stop its units as they would under systemd.
# Output in $T_ROOT/apt.log; sets T_RC.
t_apt() {
  if [ ! -e /usr/bin/systemctl ]; then
    echo "SKIP $T_NAME: no /usr/bin/systemctl to stand in for (install systemd)"
    exit 77
  fi
  [ -d /run/systemd ] || { mkdir /run/systemd && t_on_cleanup "rmdir /run/systemd"; }
  T_RC=0
  unshare --mount --propagation private -- /bin/sh -c '
    mount -t tmpfs -o mode=0755 systemd-stand-in /run/systemd && mkdir /run/systemd/system &&
    mount --bind "$0/systemctl" /usr/bin/systemctl &&
    { [ ! -e /usr/sbin/policy-rc.d ] || mount --bind "$0/policy-rc.d" /usr/sbin/policy-rc.d; } &&
    exec "$@"' "$T_ROOT/state" \
    env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0 "$@" >>"$T_ROOT/apt.log" 2>&1 || T_RC=$?
  T_OUT=$(tail -n 20 "$T_ROOT/apt.log")
}

# t_systemctl ARGS...: the stand-in's systemctl, as an administrator would type it.
t_systemctl() { "$T_ROOT/state/systemctl" "$@"; }
t_main_pid() { t_systemctl main-pid suwrap-cgid.service; }
