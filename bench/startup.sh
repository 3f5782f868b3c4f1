#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Where the time of one suwrap run goes, beside a bare exec of the same C CGI. Not a test:
# it prints a markdown breakdown (docs/BENCHMARKS.md shows one) and removes everything it
# made. bench/run.sh measures the whole stacks; this takes one suwrap run apart:
#
#   wall and CPU time of programs that each add one part of what suwrap does, run in
#   alternation (a busy moment of a shared machine falls on all of them alike):
#     an empty C program (one exec), an empty C++ program linked as suwrap is (libstdc++ and
#     libgcc linked in), the same linked against the shared libstdc++ and libtomlplusplus
#     (as suwrap was until it linked its C++ runtime statically), the bare CGI, a minimal
#     wrapper (fork, exec, wait), suwrap refused at check `handler` (everything before the
#     fork), suwrap running the CGI; and, as experiments that change no code of the
#     project: the same suwrap built against the shared C++ runtime and libtomlplusplus
#     (what the static runtime saves), and both with nsswitch.conf limited to `files`
#     (a private mount namespace; the system's file is not touched);
#   instruction counts (valgrind --tool=callgrind) of one suwrap run as root, split into
#     dynamic loading, configuration, the checks (NSS look-ups, the walk) and, in the child
#     before its exec, the privilege drop.
#
#   sudo bench/startup.sh [--runs N] [--no-shared] [--no-callgrind] [-o FILE]
#
# It uses build/bench (bench/run.sh builds it: Release, -DSUWRAP_CONFIG=/etc/suwrap-bench/suwrap.toml)
# and shares bench/run.sh's lock, configuration directory and scratch base.
set -euo pipefail

BENCH_TAG=startup
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PYTHON=/usr/bin/python3

runs=400
do_shared=1
do_callgrind=1
output=""

usage() {
  usage_from_header
  cat <<EOF
Options:
  --runs N          alternating rounds of the timing (default $runs)
  --no-shared       skip the shared-runtime experiment (it compiles the policy library, ~2 min)
  --no-callgrind    skip the instruction counts
  -o, --output FILE also write the breakdown to FILE
  -h, --help        this text
EOF
}

while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    # --no-static: its name while the experiment was the static runtime.
    --no-shared | --no-static) do_shared=0; shift ;;
    --no-callgrind) do_callgrind=0; shift ;;
    -o | --output) output=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/startup.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[0-9]+$ ]] && [ "$runs" -gt 0 ] || { echo "bench/startup.sh: --runs wants a whole number" >&2; exit 2; }
need_root "it makes a user and a set-uid binary"

[ -x "$BUILD_DIR/suwrap/suwrap" ] || die "no $BUILD_DIR/suwrap/suwrap: run bench/run.sh first (it builds it)"
grep -q "$BENCH_CONF" "$BUILD_DIR/CMakeCache.txt" || die "$BUILD_DIR is not configured with -DSUWRAP_CONFIG=$BENCH_CONF"
for tool in gcc g++ "$PYTHON" unshare; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
if [ "$do_callgrind" = 1 ] && ! command -v valgrind >/dev/null; then
  say "valgrind is not installed: no instruction counts (apt-get install valgrind)"
  do_callgrind=0
fi

S=""
USER_NAME=""
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM HUP
  [ -n "$USER_NAME" ] && remove_users "$USER_NAME"
  [ -n "$S" ] && rm -rf "$S"
  rmdir "$RUN_BASE" 2>/dev/null
  [ -e "$BENCH_CONF_DIR/.made-by-suwrap-bench" ] && rm -rf "$BENCH_CONF_DIR"
  exit "$rc"
}

bench_lock "bench/run.sh or bench/startup.sh"
on_exit cleanup

# ---- set-up: a user, the CGI and a text file it owns, the configuration, a set-uid copy ------

mkdir -p "$RUN_BASE"
chown root:root "$RUN_BASE"
chmod 0755 "$RUN_BASE"
# The scratch directory is named like bench/run.sh's, whose start removes it if this run
# is killed before its trap runs.
S=$(mktemp -d "$RUN_BASE/run.XXXXXX")
chmod 0755 "$S"
mkdir -p "$S/bin" "$S/src" "$S/log" "$S/home" "$S/cg"
chmod 0755 "$S/bin" "$S/src" "$S/log" "$S/home"
chmod 1777 "$S/cg"   # the child writes its own profile after dropping to the user

USER_NAME="swstart$(( $$ % 100000 ))"
useradd --user-group --no-create-home --home-dir "$S/home/$USER_NAME" --shell /usr/sbin/nologin "$USER_NAME" ||
  die "useradd failed"
echo "$USER_NAME" >"$S/user"
USER_GID=$(id -g "$USER_NAME")
DOCROOT=$S/home/$USER_NAME/public_html
mkdir -p "$DOCROOT"
chown "$USER_NAME:$USER_NAME" "$S/home/$USER_NAME" "$DOCROOT"
chmod 0755 "$S/home/$USER_NAME" "$DOCROOT"

cat >"$S/src/uid.c" <<'EOF'
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("Content-Type: text/plain\r\n\r\nuid %u", (unsigned)getuid());
  return 0;
}
EOF
gcc -O2 -o "$DOCROOT/uid.cgi" "$S/src/uid.c"
printf 'not a script\n' >"$DOCROOT/index.txt"
printf '%s' '<?php echo "hello ", posix_getuid();' >"$DOCROOT/hello.php"
chown "$USER_NAME:$USER_NAME" "$DOCROOT/uid.cgi" "$DOCROOT/index.txt" "$DOCROOT/hello.php"
chmod 0755 "$DOCROOT/uid.cgi"
chmod 0644 "$DOCROOT/index.txt" "$DOCROOT/hello.php"
PHP_INI_DIR=$(ls -d /etc/php/*/cgi 2>/dev/null | sort -V | tail -n 1)
PHP_TABLE=""
if [ -n "$PHP_INI_DIR" ] && [ -x /usr/bin/php-cgi ]; then
  PHP_TABLE=$(printf '[handlers.php]\nkind = "php"\npath = "/usr/bin/php-cgi"\nini_dir = "%s"\nextensions = [".php"]\n' "$PHP_INI_DIR")
fi

# The yardsticks.
printf 'int main(void) { return 0; }\n' >"$S/src/empty.c"
gcc -O2 -o "$S/bin/empty-c" "$S/src/empty.c"
printf '#include <string>\nint main() { std::string s("x"); return static_cast<int>(s.size()) - 1; }\n' >"$S/src/empty.cpp"
# Linked as suwrap is (suwrap/CMakeLists.txt: the C++ runtime linked in, libc shared), and as
# it was before (the shared libstdc++ and libtomlplusplus; --no-as-needed keeps the latter).
g++ -O2 -pie -fPIE -Wl,-z,relro -Wl,-z,now -static-libstdc++ -static-libgcc -o "$S/bin/empty-cxx" "$S/src/empty.cpp"
g++ -O2 -pie -fPIE -Wl,-z,relro -Wl,-z,now -o "$S/bin/empty-cxx-shared" "$S/src/empty.cpp" -Wl,--no-as-needed \
  -ltomlplusplus
cat >"$S/src/forkexec.c" <<'EOF'
/* The least a wrapper can do: fork, exec the program in argv[1], wait for it. */
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv, char** envp) {
  (void)argc;
  pid_t child = fork();
  if (child == 0) {
    execve(argv[1], argv + 1, envp);
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return 0;
}
EOF
gcc -O2 -o "$S/bin/forkexec" "$S/src/forkexec.c"
cat >"$S/src/initgroups.c" <<'EOF'
/* initgroups(argv[1], argv[2]) when given: what suwrap's drop asks NSS for. */
#include <grp.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  return argc > 2 ? initgroups(argv[1], (gid_t)atoi(argv[2])) != 0 : 0;
}
EOF
gcc -O2 -o "$S/bin/initgroups" "$S/src/initgroups.c"
chmod 0755 "$S/bin/"*

if [ -e "$BENCH_CONF_DIR" ] && [ ! -e "$BENCH_CONF_DIR/.made-by-suwrap-bench" ]; then
  die "$BENCH_CONF_DIR exists and was not made by bench/; not touching it"
fi
mkdir -p "$BENCH_CONF_DIR/accounts.d"
touch "$BENCH_CONF_DIR/.made-by-suwrap-bench"
chmod 0755 "$BENCH_CONF_DIR" "$BENCH_CONF_DIR/accounts.d"
write_config() {  # CALLER [EXTRA TOML]
  cat >"$BENCH_CONF" <<EOF
[global]
caller = "$1"
docroots = ["$S/home/*/public_html"]
log = "$S/log/suwrap.log"

[handlers.cgi]
kind = "cgi"
extensions = [".cgi"]

$PHP_TABLE
${2-}
EOF
  chown root:root "$BENCH_CONF"
  chmod 0644 "$BENCH_CONF"
}
write_config "$CALLER"
install_setuid() {  # SOURCE NAME
  cp "$1" "$S/bin/$2"
  chown root:"$CALLER" "$S/bin/$2"
  chmod 4750 "$S/bin/$2"
}
install_setuid "$BUILD_DIR/suwrap/suwrap" suwrap

# ---- the shared-runtime experiment ----------------------------------------------------------

# The same sources and flags as build/bench, but toml++ as Debian's shared library
# (TOML_HEADER_ONLY=0, TOML_SHARED_LIB=1) and libstdc++/libgcc linked dynamically: suwrap as
# it was linked until its C++ runtime was linked in. The difference is what loading and
# relocating the C++ shared libraries at every start cost, and what linking them in saved.
build_shared() {
  say "building the shared-runtime variant (from $BUILD_DIR/compile_commands.json)"
  mkdir -p "$S/shared"
  "$PYTHON" - "$BUILD_DIR" "$S/shared" "$SOURCE_DIR" >"$S/shared/build.sh" <<'PY'
import json, os, shlex, sys
build, out, source = sys.argv[1], sys.argv[2], sys.argv[3]
def part(path):
    rel = os.path.relpath(path, source)
    return rel.startswith("config/src/") or rel.startswith("policy/src/") or rel.startswith("suwrap/")
entries = [e for e in json.load(open(os.path.join(build, "compile_commands.json"))) if part(e["file"])]
objects = []
print("set -e")
for i, e in enumerate(entries):
    args = shlex.split(e["command"])
    drop = ("-DTOML_HEADER_ONLY=0", "-DTOML_HEADER_ONLY=1", "-DTOML_SHARED_LIB=1")
    args = [a for a in args if a not in drop] + ["-DTOML_HEADER_ONLY=0", "-DTOML_SHARED_LIB=1"]
    obj = os.path.join(out, "%02d-%s.o" % (i, os.path.basename(e["file"])))
    args[args.index("-o") + 1] = obj
    objects.append(obj)
    print("(cd %s && nice %s) &" % (shlex.quote(e["directory"]), shlex.join(args)))
    if i % 2 == 1:
        print("wait")
print("wait")
print("c++ -O3 -pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack -Wl,--as-needed -o %s %s -ltomlplusplus"
      % (os.path.join(out, "suwrap"), " ".join(objects)))
PY
  if bash "$S/shared/build.sh" >"$S/shared/build.log" 2>&1; then
    install_setuid "$S/shared/suwrap" suwrap-shared
  else
    say "the shared variant did not build: $(tail -n 3 "$S/shared/build.log" | tr '\n' ' ')"
    do_shared=0
  fi
}
[ "$do_shared" = 1 ] && build_shared

# ---- timing ---------------------------------------------------------------------------------

cat >"$S/alternate.py" <<'PY'
# Runs every command once per round, in turn, for N rounds (after 10 rounds of warm-up),
# and prints per command: the median wall time and the mean CPU time (user + system of the
# command and the children it waited for, from wait4), both in ms, tab-separated.
import json, os, statistics, sys, time
commands = json.load(open(sys.argv[1]))
rounds = int(sys.argv[2])
null = os.open("/dev/null", os.O_RDWR)
actions = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)]
wall = {c["name"]: [] for c in commands}
cpu = {c["name"]: [] for c in commands}
for r in range(rounds + 10):
    for c in commands:
        start = time.perf_counter_ns()
        pid = os.posix_spawn(c["argv"][0], c["argv"], c["env"], file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        end = time.perf_counter_ns()
        if os.waitstatus_to_exitcode(status) != c.get("exit", 0):
            sys.exit("%s exited %d, expected %d" % (c["name"], os.waitstatus_to_exitcode(status), c.get("exit", 0)))
        if r >= 10:
            wall[c["name"]].append((end - start) / 1e6)
            cpu[c["name"]].append((usage.ru_utime + usage.ru_stime) * 1e3)
for c in commands:
    print("%s\t%.3f\t%.3f" % (c["name"], statistics.median(wall[c["name"]]), statistics.mean(cpu[c["name"]])))
PY
chmod 0644 "$S/alternate.py"

CGI_ENV_JSON=$("$PYTHON" -c '
import json, sys
docroot = sys.argv[1]
print(json.dumps({"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1",
                  "SERVER_NAME": "localhost", "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000",
                  "QUERY_STRING": "", "DOCUMENT_ROOT": docroot, "SCRIPT_NAME": "/uid.cgi", "REQUEST_URI": "/uid.cgi",
                  "SCRIPT_FILENAME": docroot + "/uid.cgi"}))' "$DOCROOT")

# commands_json KEY...: the timing list for these keys.
commands_json() {
  "$PYTHON" - "$S" "$DOCROOT" "$CGI_ENV_JSON" "$USER_NAME" "$USER_GID" "$PHP_INI_DIR" "$@" <<'PY'
import json, sys
s, docroot, env, user, gid, ini_dir, keys = (sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], sys.argv[5],
                                             sys.argv[6], sys.argv[7:])
txt = dict(env, SCRIPT_FILENAME=docroot + "/index.txt", SCRIPT_NAME="/index.txt", REQUEST_URI="/index.txt")
php = dict(env, SCRIPT_FILENAME=docroot + "/hello.php", SCRIPT_NAME="/hello.php", REQUEST_URI="/hello.php")
# What suwrap's child gets for a PHP script (suwrap(8), ENVIRONMENT), less HOME/USER/LOGNAME.
php_bare = dict(php, REDIRECT_STATUS="200", PHPRC=ini_dir + "/php.ini", PATH="/usr/local/bin:/usr/bin:/bin")
all_commands = {
    "empty-c": dict(argv=[s + "/bin/empty-c"], env={}),
    "empty-cxx": dict(argv=[s + "/bin/empty-cxx"], env={}),
    "empty-cxx-shared": dict(argv=[s + "/bin/empty-cxx-shared"], env={}),
    "bare": dict(argv=[docroot + "/uid.cgi"], env=env),
    "forkexec": dict(argv=[s + "/bin/forkexec", docroot + "/uid.cgi"], env=env),
    "refused": dict(argv=[s + "/bin/suwrap"], env=txt, exit=1),
    "full": dict(argv=[s + "/bin/suwrap"], env=env),
    "shared-refused": dict(argv=[s + "/bin/suwrap-shared"], env=txt, exit=1),
    "shared-full": dict(argv=[s + "/bin/suwrap-shared"], env=env),
    "php-bare": dict(argv=["/usr/bin/php-cgi"], env=php_bare),
    "php-full": dict(argv=[s + "/bin/suwrap"], env=php),
    "no-initgroups": dict(argv=[s + "/bin/initgroups"], env={}),
    "initgroups": dict(argv=[s + "/bin/initgroups", user, gid], env={}),
}
print(json.dumps([dict(all_commands[k], name=k) for k in keys]))
PY
}

# time_as USER KEY...: alternating timing of these commands as USER; appends
# "label key wall cpu" lines to $S/times.tsv under the label $TIME_LABEL.
time_as() {
  local as=$1
  shift
  commands_json "$@" >"$S/commands.json"
  chmod 0644 "$S/commands.json"
  (cd "$S" && /usr/bin/setpriv --reuid="$as" --regid="$(id -g "$as")" --init-groups \
    "$PYTHON" "$S/alternate.py" "$S/commands.json" "$runs") | sed "s/^/$TIME_LABEL\t/" >>"$S/times.tsv"
}

# The response must be the CGI's: a broken set-up would time refusals.
check_body=$(cd "$S" && env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=localhost \
  SCRIPT_FILENAME="$DOCROOT/uid.cgi" /usr/bin/setpriv --reuid="$CALLER" --regid="$(id -g "$CALLER")" --init-groups \
  "$S/bin/suwrap" | sed '1,/^\r\{0,1\}$/d')
[ "$check_body" = "uid $(id -u "$USER_NAME")" ] || die "suwrap did not run the CGI: '$check_body' ($(tail -n 1 "$S/log/suwrap.log" 2>/dev/null))"

keys=(empty-c empty-cxx empty-cxx-shared bare forkexec refused full)
[ "$do_shared" = 1 ] && keys+=(shared-refused shared-full)
say "timing ${keys[*]} as $CALLER, $runs alternating rounds"
: >"$S/times.tsv"
TIME_LABEL=system time_as "$CALLER" "${keys[@]}"
if [ -n "$PHP_TABLE" ]; then
  say "timing php-cgi bare and through suwrap as $CALLER, $runs alternating rounds"
  TIME_LABEL=system time_as "$CALLER" php-bare php-full
fi
say "timing initgroups as root"
TIME_LABEL=system time_as root no-initgroups initgroups
# The same with NSS limited to files, in a private mount namespace: what the `systemd`
# source of Debian's nsswitch.conf costs the drop (initgroups asks every group source).
nss_keys=(bare full)
[ "$do_shared" = 1 ] && nss_keys+=(shared-full)
say "timing ${nss_keys[*]} with nsswitch.conf limited to files (private mount namespace)"
sed -E 's/^((passwd|group|shadow|gshadow):[[:space:]]*).*/\1files/' /etc/nsswitch.conf >"$S/nsswitch.files"
chmod 0644 "$S/nsswitch.files"
export -f time_as commands_json
export S DOCROOT CGI_ENV_JSON USER_NAME USER_GID PYTHON PHP_INI_DIR runs
TIME_LABEL=files unshare --mount --propagation private -- bash -c \
  'set -e; mount --bind "$S/nsswitch.files" /etc/nsswitch.conf; time_as www-data "$@"' _ "${nss_keys[@]}" ||
  say "the files-only experiment failed (no mount namespace here?)"

# ---- instruction counts ---------------------------------------------------------------------

# One run as root (valgrind cannot run a set-uid program as such): the caller is root for
# this run only. Valgrind keeps a few descriptors for itself and refuses any RLIMIT_NOFILE
# but its own, so the run gets 1036 descriptors (valgrind leaves 1024) and the account
# limit is 1024: suwrap's own limit is 1024 too. The child dumps its counts before execve.
callgrind_run() {
  say "callgrind: one suwrap run as root"
  write_config root $'\n[limits]\nnofile = 1024'
  cp "$BUILD_DIR/suwrap/suwrap" "$S/bin/suwrap-root"
  chmod 0700 "$S/bin/suwrap-root"
  local rc=0
  (cd "$DOCROOT" && ulimit -n 1036 && env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SERVER_PROTOCOL=HTTP/1.1 \
    SERVER_NAME=localhost SCRIPT_FILENAME="$DOCROOT/uid.cgi" \
    valgrind --tool=callgrind --callgrind-out-file="$S/cg/callgrind.out.%p" --dump-before=execve --trace-children=no \
    "$S/bin/suwrap-root" >"$S/cg/stdout" 2>"$S/cg/valgrind.log") || rc=$?
  write_config "$CALLER"
  if [ "$rc" != 0 ] || ! grep -q "uid $(id -u "$USER_NAME")" "$S/cg/stdout"; then
    say "callgrind run failed ($rc): $(tail -n 2 "$S/log/suwrap.log" | tr '\n' ' ')"
    return 1
  fi
  local f
  for f in "$S"/cg/callgrind.out.*; do
    [ -s "$f" ] && callgrind_annotate --inclusive=yes --threshold=100 "$f" >"$f.txt" 2>/dev/null
  done
}
[ "$do_callgrind" = 1 ] && { callgrind_run || do_callgrind=0; }

# ---- the report -----------------------------------------------------------------------------

"$PYTHON" - "$S" "$do_callgrind" >"$S/report.md" <<'PY'
import glob, os, re, sys
s, callgrind = sys.argv[1], sys.argv[2] == "1"
times = {}
for line in open(os.path.join(s, "times.tsv")):
    label, key, wall, cpu = line.rstrip("\n").split("\t")
    times[(label, key)] = (float(wall), float(cpu))

def t(key, label="system"):
    return times.get((label, key))

def diff(a, b):
    return None if a is None or b is None else (a[0] - b[0], a[1] - b[1])

def fmt(v):
    return "–" if v is None else "%.2f | %.2f" % v

print("### One suwrap run, timed part by part (C CGI; median wall ms | mean CPU ms)\n")
print("| what runs | wall ms | CPU ms |")
print("|---|--:|--:|")
rows = [("empty C program: one exec", "empty-c"),
        ("empty C++ program linked like suwrap (libstdc++ and libgcc linked in)", "empty-cxx"),
        ("empty C++ program linked like suwrap was (shared libstdc++, libtomlplusplus)", "empty-cxx-shared"),
        ("the C CGI, bare", "bare"), ("a minimal wrapper: fork, exec the CGI, wait", "forkexec"),
        ("suwrap refused at check `handler` (a .txt): everything before the fork", "refused"),
        ("suwrap running the C CGI", "full"),
        ("experiment: suwrap with the shared libstdc++ and libtomlplusplus (as before), refused", "shared-refused"),
        ("experiment: the same, running the C CGI", "shared-full")]
for label, key in rows:
    if t(key):
        print("| %s | %s |" % (label, fmt(t(key))))
if t("php-bare"):
    print("| hello.php: php-cgi, bare | %s |" % fmt(t("php-bare")))
    print("| hello.php: through suwrap | %s |" % fmt(t("php-full")))
if t("initgroups"):
    print("| as root: initgroups() of the user (what the drop asks NSS), minus an empty program | %s |"
          % fmt(diff(t("initgroups"), t("no-initgroups"))))
for key, label in (("bare", "the C CGI, bare"), ("full", "suwrap running the C CGI"),
                   ("shared-full", "experiment: shared runtime, running the C CGI")):
    if t(key, "files"):
        print("| nsswitch.conf `files` only: %s | %s |" % (label, fmt(t(key, "files"))))

print("\n### Where suwrap's added time goes (differences of the rows above)\n")
print("| part | wall ms | CPU ms |")
print("|---|--:|--:|")
parts = [
    ("suwrap adds to the bare CGI, in all", diff(t("full"), t("bare"))),
    ("  the wrapper's own exec (an empty C program)", t("empty-c")),
    ("  the C++ runtime linked in (an empty C++ program over an empty C one)", diff(t("empty-cxx"), t("empty-c"))),
    ("  configuration, NSS look-ups, the walk, the decision log line", diff(t("refused"), t("empty-cxx"))),
    ("  fork, drop, identity, exec set-up, supervision, exit log line", diff(diff(t("full"), t("refused")), t("bare"))),
    ("    of which initgroups() (measured alone)", diff(t("initgroups"), t("no-initgroups"))),
    ("    of which the `systemd` NSS source (all `files` minus system)", diff(t("full"), t("full", "files"))),
    ("a minimal fork+exec wrapper adds", diff(t("forkexec"), t("bare"))),
    ("suwrap adds to php-cgi (hello.php)", diff(t("php-full"), t("php-bare"))),
    ("the shared C++ runtime would add (an empty program)", diff(t("empty-cxx-shared"), t("empty-cxx"))),
    ("the shared C++ runtime would add (suwrap running the C CGI)", diff(t("shared-full"), t("full"))),
]
for label, v in parts:
    if v is not None:
        print("| %s | %s |" % (label.replace("  ", "&nbsp;&nbsp;"), fmt(v)))

if callgrind:
    def inclusive(path):
        table = []
        for line in open(path):
            m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
            if m:
                table.append((int(m.group(1).replace(",", "")), m.group(2)))
        return table

    def find(table, pattern):
        best = 0
        for count, where in table:
            if re.search(pattern, where):
                best = max(best, count)
        return best

    outs = sorted(glob.glob(os.path.join(s, "cg", "callgrind.out.*.txt")))
    parent = [p for p in outs if re.search(r"callgrind\.out\.\d+\.txt$", p) and os.path.getsize(p) > 2000]
    child = [p for p in outs if re.search(r"callgrind\.out\.\d+\.1\.txt$", p)]
    if parent:
        pt = inclusive(parent[0])
        total = find(pt, r"PROGRAM TOTALS")
        print("\n### Instructions of one suwrap run as root (callgrind, Ir)\n")
        print("| part | instructions | share |")
        print("|---|--:|--:|")
        def row(label, n, of=total):
            print("| %s | %s | %s |" % (label, format(n, ","), "%.0f%%" % (100.0 * n / of) if of else "–"))
        row("the supervisor process, in all", total)
        row("&nbsp;&nbsp;dynamic loading and relocation before main (ld.so `_dl_start`)", find(pt, r"rtld\.c:_dl_start"))
        row("&nbsp;&nbsp;main", find(pt, r"\?\?\?:main "))
        row("&nbsp;&nbsp;&nbsp;&nbsp;load_config (read, toml++ parse, validation)", find(pt, r"load_config\("))
        row("&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;of which toml++ parse", find(pt, r"toml::v\d+::ex::parse\(|toml::v\d+::parse\("))
        row("&nbsp;&nbsp;&nbsp;&nbsp;decide: checks 1–12", find(pt, r"policy::decide\("))
        row("&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;NSS user look-ups (by uid)", find(pt, r"SystemFacts::user_by_uid\("))
        row("&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;NSS group look-ups (by gid)", find(pt, r"SystemFacts::group_by_gid\("))
        row("&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;the walk", find(pt, r"SystemFacts::walk\("))
        row("&nbsp;&nbsp;&nbsp;&nbsp;decision line (JSON)", find(pt, r"decision_line"))
        row("&nbsp;&nbsp;&nbsp;&nbsp;run_and_supervise (fork, wait, exit line)", find(pt, r"run_and_supervise\("))
    if child:
        ct = inclusive(child[0])
        print("\n| in the child, before its execve | instructions |")
        print("|---|--:|")
        print("| the child's part of run_and_supervise | %s |" % format(find(ct, r"run_and_supervise\(") - find(pt, r"run_and_supervise\("), ","))
        print("| &nbsp;&nbsp;drop_privileges | %s |" % format(find(ct, r"drop_privileges\("), ","))
        print("| &nbsp;&nbsp;&nbsp;&nbsp;initgroups | %s |" % format(find(ct, r"initgroups\.c:initgroups"), ","))
        print("| &nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;loading NSS modules (dlopen of libnss_systemd and its libraries) | %s |"
              % format(find(ct, r"nss_module\.c:module_load"), ","))
PY
{
  echo "## One suwrap start taken apart — bench/startup.sh, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- nproc: $(nproc); CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo); kernel $(uname -r); Debian $(cat /etc/debian_version)"
  echo "- $runs alternating rounds; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- suwrap: $(git -C "$SOURCE_DIR" describe --always --dirty 2>/dev/null || echo '?') ($BUILD_DIR); nsswitch.conf group: $(awk '/^group:/ {$1 = ""; print}' /etc/nsswitch.conf)"
  echo
  cat "$S/report.md"
} >"$S/final.md"
cat "$S/final.md"
if [ -n "$output" ]; then cp "$S/final.md" "$output"; say "written to $output"; fi
