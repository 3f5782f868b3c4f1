#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets with clang (ASan + UBSan + libFuzzer) in build/fuzz and
# runs each for SECONDS on a fresh copy of its seed corpus, so tests/fuzz/corpus is never
# written to. Prints, per target, the executions, the coverage reached and the corpus
# size; fails on any crash, leak, timeout or out-of-memory, keeping the input that caused
# it under build/fuzz/artifacts/<target>/ and saying how to replay it.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     TARGET: codec, config, paths (default: all)
#
# Exit status: 0 all ran clean, 1 a target failed or the build did, 77 clang or its
# libFuzzer runtime is not installed (CTest reports that as a skip).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-60}
shift || true
build=${SUWRAP_FUZZ_BUILD:-$root/build/fuzz}
jobs=${SUWRAP_FUZZ_JOBS:-$(nproc)}

case "$seconds" in
  '' | *[!0-9]*) echo "usage: tests/fuzz/run.sh [SECONDS] [codec|config|paths]..." >&2; exit 2 ;;
esac

target_of() {
  case "$1" in
    codec | fastcgi_codec | fastcgi_codec_fuzz) echo fastcgi_codec_fuzz ;;
    config | config_fuzz) echo config_fuzz ;;
    paths | paths_fuzz) echo paths_fuzz ;;
    *) echo "tests/fuzz/run.sh: unknown target '$1' (codec, config or paths)" >&2; exit 2 ;;
  esac
}
targets=()
for name in "${@:-codec config paths}"; do
  for word in $name; do targets+=("$(target_of "$word")"); done
done

if ! command -v clang >/dev/null || ! command -v clang++ >/dev/null; then
  echo "SKIP fuzz: clang is not installed (install/deps.sh installs it)"
  exit 77
fi
fuzzer_runtime=$(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a)
if [ ! -f "$fuzzer_runtime" ]; then
  echo "SKIP fuzz: clang's libFuzzer runtime is not installed (package libclang-rt-14-dev)"
  exit 77
fi

# One build at a time in build/fuzz: CTest starts one test per target, and they share it.
mkdir -p "$build"
(
  flock 9
  if ! cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSUWRAP_FUZZ=ON -DSUWRAP_BUILD_TESTS=OFF \
      >"$build/configure.log" 2>&1; then
    tail -n 30 "$build/configure.log" >&2
    echo "FAIL fuzz: configuring $build failed (whole log: $build/configure.log)" >&2
    exit 1
  fi
  if ! cmake --build "$build" -j "$jobs" --target "${targets[@]}" >"$build/build.log" 2>&1; then
    grep -E 'error|Error' "$build/build.log" | head -n 30 >&2 || tail -n 30 "$build/build.log" >&2
    echo "FAIL fuzz: building the fuzz targets failed (whole log: $build/build.log)" >&2
    exit 1
  fi
) 9>"$build/.build.lock"

# libFuzzer's own default exit code for a finding is 77, CTest's skip code: give findings
# codes of their own so that a crash can never pass for a skip.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
for target in "${targets[@]}"; do
  binary="$build/tests/fuzz/$target"
  seeds="$root/tests/fuzz/corpus/$target"
  work="$build/corpus-work/$target"
  artifacts="$build/artifacts/$target/"
  log="$build/logs/$target.log"
  rm -rf "$work" "$artifacts"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  cp "$seeds"/* "$work"/
  options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
           -error_exitcode=99 -timeout_exitcode=98 -artifact_prefix="$artifacts")
  if [ -f "$root/tests/fuzz/$target.dict" ]; then options+=(-dict="$root/tests/fuzz/$target.dict"); fi

  set +e
  "$binary" "${options[@]}" "$work" >"$log" 2>&1
  rc=$?
  set -e

  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  features=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  corpus=$(find "$work" -type f | wc -l)
  findings=$(find "$artifacts" -type f | wc -l)
  if [ "$rc" -eq 0 ] && [ "$findings" -eq 0 ] && [ -n "$done_line" ]; then
    echo "fuzz $target: ${execs:-?} execs in ${seconds} s, coverage ${cov:-?} edges, ${features:-?} features," \
      "corpus $(find "$seeds" -type f | wc -l) seeds -> $corpus inputs, 0 crashes"
  else
    failed=1
    grep -E -A 40 '^==[0-9]+==ERROR|runtime error|fuzz property broken|^==[0-9]+== ERROR' "$log" | head -n 60 >&2 \
      || tail -n 40 "$log" >&2
    echo "FAIL fuzz $target: exit $rc after ${execs:-?} execs; whole log: $log" >&2
    for finding in "$artifacts"*; do
      [ -f "$finding" ] || continue
      echo "  reproduce: $binary $finding" >&2
    done
  fi
done
exit "$failed"
