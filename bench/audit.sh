#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Times `suwrap-policy audit` on a generated tree of 100,000 files. Not a test: it prints
# the time (cold and warm page cache aside, the second run is what a panel's nightly audit
# sees) and what audit found, then removes everything it made.
#
#   sudo bench/audit.sh [path/to/suwrap-policy]      (FILES=100000 DIRS=1000 to change the tree)
#
# The tree is one account's docroot: DIRS directories of FILES/DIRS files each, a third of
# them .php, the rest .html/.js/.css/.png that audit passes over, and one refused script in
# every hundred (group-writable), so the report is not empty.
set -euo pipefail
BENCH_TAG=audit
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

policy=${1:-${SUWRAP_POLICY_BIN:-build/policy/suwrap-policy}}
files=${FILES:-100000}
dirs=${DIRS:-1000}

need_root "it makes a user and a root-owned configuration"
[ -x "$policy" ] || { echo "bench/audit.sh: no suwrap-policy at $policy" >&2; exit 2; }

scratch=$(mktemp -d /run/suwrap-bench-audit.XXXXXX)
user="swbench$$"
cleanup() {
  [ -n "${KEEP:-}" ] && { echo "kept $scratch (remove it and user $user by hand)"; return; }
  rm -rf "$scratch"
  remove_users "$user"
}
trap cleanup EXIT
chmod 0755 "$scratch"
useradd --user-group --no-create-home --home-dir "$scratch/home/$user" --shell /usr/sbin/nologin "$user"

docroot="$scratch/home/$user/public_html"
mkdir -p "$scratch/etc/accounts.d" "$docroot"
chmod 0755 "$scratch/etc" "$scratch/etc/accounts.d" "$scratch/home"
cat >"$scratch/etc/suwrap.toml" <<EOF
[global]
caller = "www-data"
docroots = ["$scratch/home/*/public_html"]
log = "$scratch/suwrap.log"

[handlers.php]
kind = "php"
path = "/usr/bin/php-cgi"
ini_dir = "$(ls -d /etc/php/*/cgi 2>/dev/null | sort -V | tail -n 1)"
extensions = [".php"]

[handlers.cgi]
kind = "cgi"
extensions = [".cgi"]
EOF
chmod 0644 "$scratch/etc/suwrap.toml"

echo "generating $files files in $dirs directories under $docroot ..."
python3 - "$docroot" "$files" "$dirs" "$(id -u "$user")" "$(id -g "$user")" <<'PY'
import os, sys
root, files, dirs, uid, gid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
kinds = [".php", ".html", ".js", ".php", ".css", ".png", ".php", ".txt", ".json"]
per_dir = max(1, files // dirs)
made = 0
for d in range(dirs):
    sub = os.path.join(root, "d%02d" % (d % 100), "e%04d" % d)
    os.makedirs(sub, exist_ok=True)
    for f in range(per_dir):
        if made == files:
            break
        path = os.path.join(sub, "f%05d%s" % (f, kinds[made % len(kinds)]))
        with open(path, "w") as out:
            out.write("<?php echo 1;\n")
        os.chown(path, uid, gid)
        os.chmod(path, 0o664 if made % 100 == 0 else 0o644)
        made += 1
for dirpath, dirnames, _ in os.walk(root):
    os.chown(dirpath, uid, gid)
    os.chmod(dirpath, 0o755)
os.chown(os.path.dirname(root), uid, gid)
os.chmod(os.path.dirname(root), 0o755)
print("made", made, "files")
PY

run() {
  local start end
  start=$(date +%s.%N)
  set +e
  "$policy" audit --json --config "$scratch/etc/suwrap.toml" "$docroot" >"$scratch/audit.json"
  local rc=$?
  set -e
  end=$(date +%s.%N)
  python3 - "$scratch/audit.json" "$rc" "$start" "$end" "$1" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
rc, start, end, label = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
print("%-5s audit: %.2f s wall (%.2f s inside), exit %d, %d scripts judged, %d refused %s"
      % (label, end - start, report["seconds"], rc, report["scanned"], report["refused"], report["by_check"]))
PY
}


run cold
run warm
