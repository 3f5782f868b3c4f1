#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The sanitizer pass of the test command: builds the unit tests and suwrap-cgid with
# AddressSanitizer and UndefinedBehaviorSanitizer (SUWRAP_SANITIZE=ON) in build/asan, runs
# the unit tests there, then runs the suwrap-cgid suites of tests/integration against the
# sanitized daemon. A sanitizer report fails the pass.
#
#   tests/sanitizers/run.sh MAIN_BUILD [SUITE...]
#
# MAIN_BUILD is the configured, built test build: its suwrap and suwrap-policy serve the
# suites. SUITE names suites of tests/integration to run (cgid_limits_test); by default
# every cgid_*_test.sh.
#
# suwrap itself stays unsanitized: it runs set-uid, and a sanitizer runtime takes its
# options (log_path=...) from the caller's environment. The daemon runs as www-data, not
# set-uid, so it can run sanitized as in production. As root, like the test command.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
main_build=$(cd "${1:?usage: tests/sanitizers/run.sh MAIN_BUILD [SUITE...]}" && pwd)
shift
build=${SUWRAP_ASAN_BUILD:-$root/build/asan}
jobs=${SUWRAP_JOBS:-$(nproc)}
config_path=${SUWRAP_TEST_CONFIG:-/etc/suwrap-test/suwrap.toml}
caller=www-data

say() { echo "== sanitizers ($((SECONDS / 60))m$((SECONDS % 60))s): $*"; }

# -O1 -g1: what the sanitizers are meant to run with, and a quicker build than -O2 -g. A
# Debug build also keeps assert() and leaves _FORTIFY_SOURCE off (Hardening.cmake), whose
# checked libc calls would bypass ASan's. Warnings are not errors here: GCC's flow analysis
# is unreliable on sanitizer-instrumented code (spurious -Wmaybe-uninitialized in
# libstdc++), and the main build already holds the code to -Werror.
say "building the unit tests and suwrap-cgid with ASan+UBSan in $build"
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1" \
  -DSUWRAP_SANITIZE=ON -DSUWRAP_DEVELOPER=OFF -DSUWRAP_CONFIG="$config_path" >"$build/configure.log" 2>&1 \
  || { cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build" -j "$jobs" --target unit_tests suwrap-cgid

# detect_leaks is LeakSanitizer (on by default on x86-64; said for the reader);
# UBSan findings abort (-fno-sanitize-recover) and print where.
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

say "unit tests"
(cd "$build" && ctest -L unit -j "$jobs" --output-on-failure --timeout 300)

# The suites start the daemon with `env -i` as www-data: the sanitizer options reach it
# through a wrapper that execs the daemon (same pid, same descriptors). Reports go to
# files of their own, so a finding cannot hide in a suite's scratch directory, removed
# when the suite ends, nor in a daemon's stderr that nobody reads.
#
# The daemon's quarantine of freed blocks (kept unused to catch a use after free) is
# 1 MB instead of 256: the suites assert its peak RSS (under 64 MB after a 50 MB answer,
# 8 MB of growth while 50 MB stream through), and freed 64 KiB buffers parked in a large
# quarantine would count there though the daemon holds none of them.
#
# www-data may not enter the build tree (a clone under /root, 0700 on Debian): the daemon,
# its wrapper and the reports directory live in a scratch directory of the pass's own under
# /run/suwrap-tests, root's and 0755, removed when the pass ends.
mkdir -p /run/suwrap-tests
[ "$(stat -c %u:%g:%a /run/suwrap-tests)" = 0:0:755 ] || {
  chown root:root /run/suwrap-tests
  chmod 0755 /run/suwrap-tests
}
scratch=$(mktemp -d /run/suwrap-tests/sanitizers.XXXXXX)
chmod 0755 "$scratch"
trap 'rm -rf "$scratch"' EXIT
reports="$scratch/reports"
wrapper="$scratch/suwrap-cgid-sanitized"
daemon="$scratch/suwrap-cgid"
install -o root -g root -m 0755 "$build/cgid/suwrap-cgid" "$daemon"
cat >"$wrapper" <<WRAPPER
#!/bin/sh
# Written by tests/sanitizers/run.sh: suwrap-cgid with its sanitizer options.
ASAN_OPTIONS='$ASAN_OPTIONS:quarantine_size_mb=1:log_path=$reports/asan' \\
UBSAN_OPTIONS='$UBSAN_OPTIONS:log_path=$reports/ubsan' \\
exec '$daemon' "\$@"
WRAPPER
chmod 0755 "$wrapper"

gate=""
if [ -x "$main_build/gate/suwrap-gate" ]; then gate="$main_build/gate/suwrap-gate"; fi

suites=()
for name in "$@"; do suites+=("$root/tests/integration/${name%.sh}.sh"); done
if [ "${#suites[@]}" -eq 0 ]; then suites=("$root"/tests/integration/cgid_*_test.sh); fi
say "${#suites[@]} suwrap-cgid suites against the sanitized daemon"
passed=0
failed=0
skipped=0
for suite in "${suites[@]}"; do
  name=$(basename "$suite" .sh)
  rm -rf "$reports"
  mkdir -p "$reports"
  chown "$caller:$(id -gn "$caller")" "$reports"
  chmod 0755 "$reports"
  started=$SECONDS
  set +e
  env SUWRAP_BIN="$main_build/suwrap/suwrap" SUWRAP_POLICY_BIN="$main_build/policy/suwrap-policy" \
    SUWRAP_CGID_BIN="$wrapper" SUWRAP_CONFIG_PATH="$config_path" SUWRAP_SOURCE_DIR="$root" \
    SUWRAP_PHP_GUARD_SO="$main_build/php/suwrap_guard.so" \
    ${gate:+SUWRAP_GATE_BIN="$gate"} bash "$suite" >"$build/$name.log" 2>&1
  rc=$?
  set -e
  found=$(find "$reports" -type f | sort)
  if [ "$rc" -eq 77 ] && [ -z "$found" ]; then
    skipped=$((skipped + 1))
    echo "SKIP $name (sanitized daemon): $(tail -n 1 "$build/$name.log")"
  elif [ "$rc" -eq 0 ] && [ -z "$found" ]; then
    passed=$((passed + 1))
    echo "PASS $name (sanitized daemon) in $((SECONDS - started)) s"
  else
    failed=$((failed + 1))
    tail -n 30 "$build/$name.log" >&2
    for report in $found; do
      echo "---- $report" >&2
      cat "$report" >&2
    done
    echo "FAIL $name (sanitized daemon): exit $rc, $(echo "$found" | grep -c . || true) sanitizer report(s); log: $build/$name.log" >&2
  fi
done
rm -rf "$reports"
say "suwrap-cgid suites against the sanitized daemon: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
