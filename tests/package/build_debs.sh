#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian package twice, the documented way (dpkg-buildpackage -us -uc -b), from
# a copy of the tracked tree: the version of debian/changelog, then the same tree with a
# changelog entry for the next version on top, so that an upgrade between two real builds
# can be tested. The second build reuses the first one's compiled objects.
#
#   build_debs.sh SOURCE-DIR OUT-DIR
#
# OUT-DIR/first/ and OUT-DIR/second/ get each build's .deb, .changes and .buildinfo;
# OUT-DIR/versions has the two versions, one a line.
set -euo pipefail
src=$1
out=$2

rm -rf "$out"
mkdir -p "$out/first" "$out/second"
tree="$out/src/suwrap"
mkdir -p "$tree"
# The tracked files only (what a clone has), never a build directory or a work file.
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -P -t "$tree" 2>/dev/null || true)
  # Files deleted in the work tree but still tracked are not copied.
  (cd "$src" && git ls-files -z --deleted | xargs -0 -r -I{} rm -f "$tree/{}")
else
  (cd "$src" && tar --exclude='./build*' --exclude='./obj-*' -cf - .) | tar -C "$tree" -xf -
fi

export DEB_BUILD_OPTIONS="parallel=$(nproc)"
build() {  # build DEST
  (cd "$tree" && dpkg-buildpackage -us -uc -b "${@:2}") >"$1/build.log" 2>&1 || {
    tail -n 40 "$1/build.log" >&2
    echo "build_debs.sh: dpkg-buildpackage failed; the whole log is $1/build.log" >&2
    exit 1
  }
  mv "$out/src"/*.deb "$out/src"/*.changes "$out/src"/*.buildinfo "$1/"
  mv "$out/src"/*.ddeb "$1/" 2>/dev/null || true
}

first=$(cd "$tree" && dpkg-parsechangelog -S Version)
build "$out/first"

# The next version: a changelog entry on top, as a maintainer's dch would write it.
second="${first%.*}.$(( ${first##*.} + 1 ))"
maintainer=$(cd "$tree" && dpkg-parsechangelog -S Maintainer)
{
  printf 'suwrap (%s) unstable; urgency=medium\n\n' "$second"
  printf '  * Rebuilt to test upgrades from %s.\n\n' "$first"
  printf ' -- %s  %s\n\n' "$maintainer" "$(date -R)"
  cat "$tree/debian/changelog"
} >"$tree/debian/changelog.new"
mv "$tree/debian/changelog.new" "$tree/debian/changelog"
# Not cleaned (-nc): the compiled objects of the first build are used again; debhelper's
# records of the first run go, so that every packaging step runs for the new version.
rm -rf "$tree/debian/.debhelper" "$tree/debian/suwrap" "$tree/debian/suwrap-dbgsym"
rm -f "$tree/debian/debhelper-build-stamp" "$tree/debian/files" "$tree"/debian/*.substvars "$tree"/debian/*.debhelper.log
build "$out/second" -nc

printf '%s\n%s\n' "$first" "$second" >"$out/versions"
ls "$out/first"/*.deb "$out/second"/*.deb
