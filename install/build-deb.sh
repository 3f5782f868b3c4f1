#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds build/deb/suwrap_<version>_<arch>.deb for Debian 12: prefix /usr, the
# configuration at /etc/suwrap/suwrap.toml, suwrap set-uid through dpkg-statoverride.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build="${SUWRAP_DEB_BUILD:-$here/build/deb}"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DSUWRAP_CONFIG=/etc/suwrap/suwrap.toml -DSUWRAP_CALLER_GROUP=www-data -DSUWRAP_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)"
(cd "$build" && cpack -G DEB >/dev/null)
ls "$build"/suwrap_*.deb
