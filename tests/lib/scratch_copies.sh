# SPDX-License-Identifier: Apache-2.0
# What the suites run as other users, copied into the scratch tree (sourced by common.sh,
# not run). suwrap-cgid runs as www-data; suwrap-policy and suwrap-gate are run as the
# caller and as test users; test users run tests/lib's Python helpers. A clone may lie
# where only root can enter (/root is 0700 on Debian), so none of these runs from the
# source or build tree: t_setup copies them into $T_ROOT, root's and readable by all, and
# points SUWRAP_CGID_BIN, SUWRAP_POLICY_BIN, SUWRAP_GATE_BIN, T_LIB and T_FCGI_CLIENT at
# the copies. (suwrap itself is copied by t_install_suwrap, the gate's compiled-in path
# by t_install_gate.)

T_LIB=""  # the copies of tests/lib/*.py, once t_setup has made them

# t_copy_for_others: makes the copies; t_setup calls it once $T_ROOT/bin exists.
t_copy_for_others() {
  local source_lib pair name program copy
  source_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  T_LIB=$T_ROOT/lib
  install -d -o root -g root -m 0755 "$T_LIB"
  install -o root -g root -m 0644 "$source_lib"/*.py "$T_LIB/"
  T_FCGI_CLIENT=$T_LIB/fcgi_client.py
  for pair in SUWRAP_CGID_BIN=suwrap-cgid SUWRAP_POLICY_BIN=suwrap-policy SUWRAP_GATE_BIN=suwrap-gate; do
    name=${pair%%=*}
    program=${!name:-}
    [ -n "$program" ] && [ -f "$program" ] || continue
    copy=$T_ROOT/bin/${pair#*=}
    install -o root -g root -m 0755 "$program" "$copy"
    printf -v "$name" '%s' "$copy"
    t_copy_runs_as_caller "$program" "$copy"
  done
}

# t_copy_runs_as_caller ORIGINAL COPY: a copied program is all of itself, except a script:
# what it runs is not copied with it (tests/sanitizers/run.sh's wrapper execs the sanitized
# daemon). Such a copy must run as the caller, or the suite stops here and says why, rather
# than with a daemon that did not start.
t_copy_runs_as_caller() {
  local original=$1 copy=$2 magic out
  magic=$(head -c 4 "$copy" | od -An -c | tr -d ' ')
  [ "$magic" = '177ELF' ] && return 0
  if ! out=$(env -i PATH=/usr/bin:/bin /usr/bin/setpriv --reuid="$T_CALLER" --regid="$(id -g "$T_CALLER")" \
    --init-groups "$copy" --version </dev/null 2>&1); then
    echo "FAIL $T_NAME: $T_CALLER cannot run $original, copied to $copy: $(printf '%s' "$out" | tail -n 3)" >&2
    echo "FAIL $T_NAME: it is a script; what it runs must lie where $T_CALLER can reach it (not under a directory only root can enter)" >&2
    exit 1
  fi
}
