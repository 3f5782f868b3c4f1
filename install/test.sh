#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The test command: on a fresh Debian 12 machine, as root, installs what is needed,
# builds, and runs every suite (unit, integration, security) with CTest.
#
# The test build compiles in its own configuration path (/etc/suwrap-test/suwrap.toml),
# so the tests never touch a real /etc/suwrap. Set-uid copies of suwrap exist only in the
# tests' scratch directories while a test runs.
#
# Before CTest's run, a sanitizer pass (tests/sanitizers/run.sh): the unit tests and
# suwrap-cgid built with ASan+UBSan in build/asan, the unit tests run there and the
# suwrap-cgid suites run against that daemon. CTest's run includes the fuzz targets
# (label fuzz, tests/fuzz/run.sh). SUWRAP_SANITIZERS=0 leaves the sanitizer pass out.
# CTest's summary stays the last line; the exit status covers both.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build="${SUWRAP_TEST_BUILD:-$here/build/test}"
# Two test runs on one machine need their own compiled-in configuration and gate paths.
config="${SUWRAP_TEST_CONFIG:-/etc/suwrap-test/suwrap.toml}"
gate="${SUWRAP_TEST_GATE_PATH:-/run/suwrap-tests/suwrap-gate}"
# The PHP guard's directory beside the gate: /run/suwrap-tests/<prefix>php-guard.
php_guard="${SUWRAP_TEST_PHP_GUARD_DIR:-$(dirname "$gate")/$(basename "$gate" | sed 's/suwrap-gate$//')php-guard}"
export SUWRAP_TEST_CONFIG="$config"
jobs=$(nproc)

if [ "$(id -u)" -ne 0 ]; then
  echo "install/test.sh: run as root: the tests create users and set-uid binaries" >&2
  exit 2
fi

"$here/install/deps.sh"

cmake -S "$here" -B "$build" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSUWRAP_DEVELOPER=ON \
  -DSUWRAP_CONFIG="$config" \
  -DSUWRAP_GATE_PATH="$gate" \
  -DSUWRAP_PHP_GUARD_DIR="$php_guard"
cmake --build "$build" -j "$jobs"

sanitizers=0
if [ "${SUWRAP_SANITIZERS:-1}" != 0 ]; then
  SUWRAP_JOBS=$jobs "$here/tests/sanitizers/run.sh" "$build" || sanitizers=$?
  if [ "$sanitizers" -ne 0 ]; then
    echo "install/test.sh: the sanitizer pass FAILED (above); CTest's run follows" >&2
  fi
fi

cd "$build"
status=0
ctest --output-on-failure --timeout 900 -j "$jobs" "$@" || status=$?
if [ "$status" -eq 0 ] && [ "$sanitizers" -ne 0 ]; then status=1; fi
exit "$status"
