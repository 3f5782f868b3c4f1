#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian package that suwrap's build, tests, demo and benchmark need.
# Idempotent and non-interactive: safe to run again. Run as root on Debian 12.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install/deps.sh: run as root (it calls apt-get)" >&2
  exit 2
fi

build_pkgs=(
  build-essential cmake pkg-config git
  libcli11-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  libtomlplusplus-dev libasio-dev libsystemd-dev nlohmann-json3-dev
  clang libclang-rt-14-dev clang-format clang-tidy
  debhelper dpkg-dev lintian man-db groff-base
  php-dev
)
# prometheus: promtool checks the metrics, the alert rules and the dashboard's queries, and
# one test scrapes suwrap-cgid with a private Prometheus of its own (its own port and data
# directory); the package's service is never used.
# wordpress, mariadb-server: tests/integration/wordpress_test.sh installs WordPress in one
# account on a private MariaDB (its own datadir and socket); the package's service is never
# used. php (the metapackage, met by php-cgi) is named so that wordpress's "php" dependency
# does not pull Apache's mod_php in; the theme is the one the package recommends, the front
# page's; php-mysql gives php-cgi mysqli.
run_pkgs=(
  php-cgi nginx apache2 lighttpd caddy curl libfcgi-bin
  procps util-linux passwd findutils acl python3 python3-jsonschema strace
  wrk logrotate prometheus
  php mariadb-server php-mysql wordpress wordpress-theme-twentytwentythree
)

missing=()
for p in "${build_pkgs[@]}" "${run_pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install/deps.sh: all ${#build_pkgs[@]}+${#run_pkgs[@]} packages already installed"
  exit 0
fi

echo "install/deps.sh: installing ${missing[*]}"
# Web servers must not be started by their packages: nginx and Apache would both
# claim port 80, and the tests start their own instances with their own configs.
# A policy-rc.d that denies service starts is put in place only for this install,
# and only if the machine has none of its own.
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  made_policy=1
fi
cleanup() { if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install/deps.sh: done"
