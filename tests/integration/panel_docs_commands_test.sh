#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docs/hosting-panels.md runs as written. Every line of its ```sh blocks is run here, in page
# order, with this suite's users and scratch paths in place of the page's (alice, bob, carol,
# /home, /tmp, /etc/suwrap, the PHP paths); a line ending in "# exit N" must exit N, every
# other line 0; a --json answer must validate against its schema in schemas/. Each file the
# page marks "<!-- file: PATH -->" is written from the block that follows it. After each
# section, what the page says took effect is checked with real requests through the set-uid
# suwrap, run as www-data. A section with commands that this suite has no check for fails,
# and so does a suwrap-policy command line in any other kind of block: the page and this
# test cannot drift apart.
source "$(dirname "$0")/../lib/common.sh" panel
repo=$(cd "$(dirname "$0")/../.." && pwd)
page="$repo/docs/hosting-panels.md"
t_setup ALICE BOB CAROL

# The page's second PHP version: this machine's php-cgi with a php.ini of its own, so that
# a switch shows in what the script prints.
php83_ini="$T_ROOT/etc/php83"
t_dir root 0755 "$T_ROOT/etc"
t_dir root 0755 "$php83_ini"
t_file root 0644 "$php83_ini/php.ini" "memory_limit = 77M"
t_dir root 1777 "$T_ROOT/tmp"
info='<?php echo posix_getuid(), " ", ini_get("memory_limit");'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/index.php" "$info"
t_file "$BOB" 0644 "$BOB_DOCROOT/index.php" "$info"
t_file root 0644 "$T_ROOT/suphp.conf" "[global]
webserver_user=www-data
docroot=/home/*/public_html
min_uid=1000
min_gid=1000
umask=0022

[handlers]
application/x-httpd-suphp=\"php:/usr/bin/php-cgi\"
"
# The page's commands find suwrap-policy on PATH.
mkdir -p "$T_ROOT/pbin"
ln -s "$SUWRAP_POLICY_BIN" "$T_ROOT/pbin/suwrap-policy"
[ ! -e "$SUWRAP_CONFIG_PATH" ] || rm -f "$SUWRAP_CONFIG_PATH"

# ---- the page, taken apart -----------------------------------------------------------------
# $T_ROOT/page/manifest: one line per command, "NUMBER<TAB>SECTION<TAB>EXIT"; the command
# itself in $T_ROOT/page/NUMBER.sh. Marked files are written where they belong.
mkdir -p "$T_ROOT/page"
t_case "the page's commands and files are taken from its blocks"
set +e
T_OUT=$("$T_PYTHON" - "$page" "$T_ROOT/page" "$T_ROOT" "$T_CONF_DIR" "$T_LOG" "$T_PHP_CGI" \
  "$T_PHP_INI_DIR" "$php83_ini" "$ALICE" "$BOB" "$CAROL" <<'PY'
import os, re, sys
page, out, root, conf, log, php_cgi, ini82, ini83, alice, bob, carol = sys.argv[1:]
places = {
    "/tmp/": root + "/tmp/", "/home/": root + "/home/", "/etc/suwrap/": conf + "/",
    "/var/log/suwrap/suwrap.log": log, "/usr/bin/php-cgi8.2": php_cgi, "/usr/bin/php-cgi8.3": php_cgi,
    "/etc/php/8.2/cgi": ini82, "/etc/php/8.3/cgi": ini83, "/etc/suphp/suphp.conf": root + "/suphp.conf",
}
names = {"alice": alice, "bob": bob, "carol": carol}
pattern = re.compile("|".join([re.escape(p) for p in sorted(places, key=len, reverse=True)] +
                              [r"\b%s\b" % n for n in names]))
def ours(text):  # one pass: nothing put in place is replaced again
    return pattern.sub(lambda m: places.get(m.group(0)) or names[m.group(0)], text)

problems, section, commands, files, manifest = [], None, 0, 0, []
lines = open(page).read().split("\n")
i = 0
while i < len(lines):
    line = lines[i]
    heading = re.match(r"#{2,3} (.*)", line)
    if heading:
        section = heading.group(1)
    fence = re.match(r"```(\w*)$", line)
    if not fence:
        i += 1
        continue
    kind, start = fence.group(1), i + 1
    end = lines.index("```", start)
    block = lines[start:end]
    marker = re.match(r"<!-- file: (\S+) -->$", lines[start - 2]) if start >= 2 else None
    if marker:
        with open(ours(marker.group(1)), "w") as f:
            f.write(ours("\n".join(block) + "\n"))
        files += 1
    elif kind == "sh":
        command = ""
        for text in block:
            command += text + "\n"
            # A command goes on after a trailing backslash or inside an open quote.
            if text.endswith("\\") or command.count("'") % 2 == 1:
                continue
            expected = re.search(r"#\s*exit (\d+)\s*$", command)
            commands += 1
            with open(os.path.join(out, "%03d.sh" % commands), "w") as f:
                f.write(ours(command))
            manifest.append("%03d\t%s\t%s" % (commands, section, expected.group(1) if expected else 0))
            command = ""
        if command.strip():
            problems.append("an unfinished command in the block at line %d" % start)
    else:
        for number, text in enumerate(block, start + 1):
            if re.match(r"(\$ )?suwrap-policy ", text):
                problems.append("line %d: a suwrap-policy command in a %s block, which this suite does not run" %
                                (number, kind or "plain"))
    i = end + 1
with open(os.path.join(out, "manifest"), "w") as f:
    f.write("".join(m + "\n" for m in manifest))
if commands < 20 or files < 3:
    problems.append("only %d commands and %d files found" % (commands, files))
print("; ".join(problems) if problems else "%d commands, %d files" % (commands, files))
sys.exit(1 if problems else 0)
PY
)
T_RC=$?
set -e
t_expect "$T_OUT" test "$T_RC" = 0

# ---- what each section says took effect ----------------------------------------------------
alice_request() { t_script "$ALICE_DOCROOT/index.php" SERVER_NAME="$ALICE.example"; }
bob_request() { t_script "$BOB_DOCROOT/index.php" SERVER_NAME="$BOB.example"; }
account_json() { t_policy account show --json "$1"; }

took_effect() {
  t_case "took effect: $1"
  case "$1" in
    "Install the configuration")
      t_expect "the staged file is the configuration" cmp -s "$T_ROOT/tmp/suwrap.toml.new" "$SUWRAP_CONFIG_PATH"
      t_expect "root's, 0644" test "$(stat -c '%U:%G %a' "$SUWRAP_CONFIG_PATH")" = "root:root 644"
      alice_request
      t_refused 1 403 target ;;
    "Create an account")
      alice_request
      t_allowed
      t_expect "it ran as alice" t_contains "$T_OUT" "$ALICE_UID "
      t_policy account add "$ALICE" --user "$ALICE" --docroot "$ALICE_DOCROOT" --domain "$ALICE.example" \
        --domain "www.$ALICE.example" --php-handler php82 --if-absent --json
      t_expect "the page's add, retried: exit 0, changed false" t_json_is '[j["changed"], '"$T_RC"']' "[False, 0]"
      account_json "$CAROL"
      t_expect "carol was not added (exit 4)" test "$T_RC" = 4 ;;
    Suspend)
      alice_request
      t_refused 1 403 target
      account_json "$ALICE"
      t_expect "disabled" t_json_is 'j["disabled"]' true ;;
    Resume)
      alice_request
      t_allowed ;;
    "Switch the PHP version")
      alice_request
      t_allowed
      t_expect "php83's php.ini is read (memory_limit 77M)" t_contains "$T_OUT" "$ALICE_UID 77M" ;;
    "Change the limits")
      account_json "$ALICE"
      t_expect "memory_mb 384 stays, cpu_seconds back to the default" \
        t_json_is '[j["overrides"], j["limits"]["memory_mb"], j["limits"]["cpu_seconds"]]' "[{'memory_mb': 384}, 384, 30]"
      alice_request
      t_allowed ;;
    "Change many accounts at once")
      t_policy account list --json
      t_expect "exactly alice and bob" t_json_is 'sorted(a["name"] for a in j)' "$(printf "['%s', '%s']" $(printf '%s\n' "$ALICE" "$BOB" | sort))"
      account_json "$ALICE"
      t_expect "alice: php83, nproc 32 only" t_json_is '[j["php_handler"], j["overrides"]]' "['php83', {'nproc': 32}]"
      bob_request
      t_allowed
      alice_request
      t_allowed ;;
    "Audit an account's files")
      t_pass "audit found nothing to refuse in alice's docroot (exit 0 above)" ;;
    "Remove an account")
      alice_request
      t_refused 1 403 target
      bob_request
      t_allowed ;;
    "Read the logs")
      t_expect "the refusals include the removed account's" t_contains "$T_OUT" "deny target $ALICE_DOCROOT/index.php" ;;
    "Coming from suPHP")
      t_expect "a configuration was written" grep -q '^\[global\]' "$T_ROOT/tmp/suwrap.toml.new" ;;
    *)
      t_fail "the page has commands under \"$1\", and this suite no check of their effect: add one" ;;
  esac
}

# schemas/ names the shape of each command's --json answer.
schema_of() {
  local command=$1 rc=$2
  if [ "$rc" -ge 2 ]; then echo error; return; fi
  case "$command" in
    *"account add "* | *"account set "* | *"account show "*) echo account ;;
    *"account list "*) echo account-list ;;
    *"account remove "*) echo account-remove ;;
    *"account apply "*) echo account-apply ;;
    *"config check "*) echo config-check ;;
    *"config install "*) echo config-install ;;
    *"policy check "*) echo check ;;
    *"policy audit "*) echo audit ;;
  esac
}

# ---- the page, run -------------------------------------------------------------------------
export PATH="$T_ROOT/pbin:$PATH"
previous=""
while IFS=$'\t' read -r number section expected <&3; do
  if [ -n "$previous" ] && [ "$section" != "$previous" ]; then took_effect "$previous"; fi
  previous=$section
  command=$(cat "$T_ROOT/page/$number.sh")
  t_case "$section: $(head -n 1 "$T_ROOT/page/$number.sh" | sed "s|$T_ROOT|…|g")"
  set +e
  T_OUT=$(cd "$T_ROOT" && bash -c "$command" 2>"$T_ROOT/stderr")
  T_RC=$?
  set -e
  T_ERR=$(cat "$T_ROOT/stderr")
  t_policy_exit "$expected"
  [ "$T_RC" = "$expected" ] || echo "     stdout: $T_OUT"$'\n'"     stderr: $T_ERR"
  case "$command" in
    *--json*)
      schema=$(schema_of "$command " "$T_RC")
      if [ -n "$schema" ]; then t_expect "the answer is $schema.schema.json" t_schema "$schema"; fi ;;
  esac
done 3<"$T_ROOT/page/manifest"
[ -z "$previous" ] || took_effect "$previous"
t_done
