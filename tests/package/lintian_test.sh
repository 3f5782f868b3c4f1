#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# lintian on what package.build made: no error and no warning, and an override only where
# the set-uid file needs one, each with its reason.
set -euo pipefail
: "${SUWRAP_PACKAGE_DIR:?}" "${SUWRAP_SOURCE_DIR:?}"
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }

if ! command -v lintian >/dev/null; then
  echo "SKIP lintian_test: lintian is not installed (install/deps.sh installs it)"
  exit 77
fi
changes=$(ls "$SUWRAP_PACKAGE_DIR"/first/*.changes)
# Static-Built-Using (what is linked in statically) is a field of dpkg's (deb-control(5),
# dpkg >= 1.21.3), which lintian 2.116 (Debian 12) does not know yet: it would call it an
# unknown field. Where lintian lacks it and dpkg documents it, lintian is given its own
# list of binary fields with that one added; a newer lintian needs nothing.
include=()
fields=/usr/share/lintian/data/fields/binary-fields
if [ -f "$fields" ] && ! grep -qx 'Static-Built-Using' "$fields" &&
  man deb-control 2>/dev/null | grep -q 'Static-Built-Using'; then
  known=$(mktemp -d)
  trap 'rm -rf "$known"' EXIT
  mkdir -p "$known/data/fields"
  { cat "$fields"; echo Static-Built-Using; } >"$known/data/fields/binary-fields"
  include=(--include-dir "$known")
  echo "note: this lintian does not know dpkg's Static-Built-Using field; it is told of it"
fi
out=$(lintian "${include[@]}" --display-level '>=warning' --show-overrides --fail-on error,warning "$changes" 2>&1) && rc=0 || rc=$?
if [ "$rc" = 0 ]; then ok "lintian: no error, no warning ($(basename "$changes"))"; else fail "lintian (exit $rc):"$'\n'"$out"; fi
printf '%s\n' "$out" | sed -n '/^[EW]:/p'

# Overrides: only for the set-uid wrapper, each with a comment giving its reason.
overrides=$(ls "$SUWRAP_SOURCE_DIR"/debian/*lintian-overrides 2>/dev/null || true)
bad=""
for file in $overrides; do
  bad+=$(awk '/^#/ { reason = 1; next }
              NF && $0 !~ /usr\/lib\/suwrap\/suwrap( |$|\])/ { print FILENAME ": not about the set-uid file: " $0 }
              NF && !reason { print FILENAME ": no reason (a # line) before: " $0 }
              { reason = 0 }' "$file")
done
if [ -z "$bad" ]; then ok "overrides: only for the set-uid file, each with its reason (${overrides:-none})"; else fail "$bad"; fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
