#!/usr/bin/env bash
# The test command: on a fresh Debian 12 machine, as root, installs what is needed,
# builds, and runs every suite (unit, integration, security) with CTest.
#
# The test build compiles in its own configuration path (/etc/suwrap-test/suwrap.toml),
# so the tests never touch a real /etc/suwrap. Set-uid copies of suwrap exist only in the
# tests' scratch directories while a test runs.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build="${SUWRAP_TEST_BUILD:-$here/build/test}"
jobs=$(nproc)

if [ "$(id -u)" -ne 0 ]; then
  echo "install/test.sh: run as root: the tests create users and set-uid binaries" >&2
  exit 2
fi

"$here/install/deps.sh"

cmake -S "$here" -B "$build" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSUWRAP_DEVELOPER=ON \
  -DSUWRAP_CONFIG=/etc/suwrap-test/suwrap.toml
cmake --build "$build" -j "$jobs"

cd "$build"
ctest --output-on-failure --timeout 900 -j "$jobs" "$@"
