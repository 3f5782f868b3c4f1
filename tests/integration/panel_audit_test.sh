#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# suwrap-policy audit on a real tree of about 2,000 files owned by a real user, with one
# planted way to fail each check a file can fail: it reports exactly those, with the check
# `check` gives for the same path, counts them per check, prints a progress line only on a
# terminal, and with --fix prints (never runs) shell-quoted chmod/chown commands that, once
# run, leave only what no chmod or chown can fix. The 100,000-file timing is bench/audit.sh.
source "$(dirname "$0")/../lib/common.sh" panel
t_setup ALICE BOB
t_config
C=(--config "$SUWRAP_CONFIG_PATH")
A=$ALICE_DOCROOT

# ---- a clean tree: 40 directories of 50 files, a third of them scripts ----------------------
clean=$("$T_PYTHON" - "$A" "$ALICE_UID" "$ALICE_GID" <<'PY'
import os, sys
root, uid, gid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kinds = [".php", ".html", ".css", ".php", ".png", ".js", ".php", ".txt", ".json"]
scripts = 0
for d in range(40):
    sub = os.path.join(root, "site", "d%02d" % d)
    os.makedirs(sub, exist_ok=True)
    for f in range(50):
        kind = kinds[(d * 50 + f) % len(kinds)]
        path = os.path.join(sub, "f%02d%s" % (f, kind))
        with open(path, "w") as out:
            out.write("<?php echo 1;\n")
        os.chown(path, uid, gid)
        os.chmod(path, 0o644)
        scripts += kind == ".php"
for dirpath, _, _ in os.walk(root):
    os.chown(dirpath, uid, gid)
    os.chmod(dirpath, 0o755)
print(scripts)
PY
)

t_case "a clean tree of 2,000 files: nothing refused, exit 0"
t_policy audit --json "${C[@]}" "$A/site"
t_policy_exit 0
t_expect "every .php judged: scanned $clean" t_json_is 'j["scanned"]' "$clean"
t_expect "refused 0, by_check {}, files []" t_json_is '[j["refused"], j["by_check"], j["files"]]' "[0, {}, []]"
t_expect "no progress line on standard error when it is not a terminal (got: $T_ERR)" test -z "$T_ERR"
t_expect "a few seconds at most (took $(t_json 'j["seconds"]') s)" t_json_is 'j["seconds"] < 5' true

# ---- one planted way to fail each check a file can fail -------------------------------------
p="$A/planted"
t_dir "$ALICE" 0755 "$p"
t_file "$ALICE" 0664 "$p/groupw.php" "<?php"                # file_perms: group-writable
t_file "$ALICE" 0666 "$p/otherw.php" "<?php"                # file_perms: writable by others
t_file "$ALICE" 4755 "$p/suid.php" "<?php"                  # file_perms: set-uid
t_file "$ALICE" 0644 "$p/linked.php" "<?php"                # file_perms: two hard links (both names)
ln "$p/linked.php" "$p/linked2.php"
t_file root 0644 "$p/root.php" "<?php"                      # user: root's
t_file "$BOB" 0644 "$p/bobs.php" "<?php"                    # dir_perms: bob's file in alice's directories
t_dir "$ALICE" 0777 "$p/upload"                             # dir_perms: a directory writable by others
for n in 1 2 3; do t_file "$ALICE" 0644 "$p/upload/shell$n.php" "<?php"; done
t_file "$ALICE" 0644 "$p/tool.cgi" "#!/bin/sh"              # handler: a cgi script that is not executable
t_file "$ALICE" 0755 "$p/ok.cgi" "#!/bin/sh"                # passes
ln -s /etc/passwd "$p/passwd.php"                           # path: leads out of the docroot
ln -s groupw.php "$p/alias.php"                             # path: root's link to alice's file
ln -s ok.cgi "$p/alias-ok.cgi"                              # passes: alice's link to alice's file
chown -h "$ALICE:$ALICE" "$p/alias-ok.cgi"
ln -s nothere.php "$p/gone.php"                             # path: leads nowhere
chown -h "$ALICE:$ALICE" "$p/gone.php"
t_file "$ALICE" 0644 "$p/new
line.php" "<?php"                                           # request: a line break in the name
t_file "$ALICE" 0664 "$p/it's a file.php" "<?php"           # file_perms, and a name to quote
mkfifo "$p/pipe.php"                                        # file_perms: not a regular file
chown "$ALICE:$ALICE" "$p/pipe.php"
t_file "$ALICE" 0777 "$p/photo.jpg" "x"                     # not a script at all: no handler claims .jpg
planted=19  # candidate scripts above; photo.jpg is not one

expected_refusals="$p/alias.php path
$p/bobs.php dir_perms
$p/gone.php path
$p/groupw.php file_perms
$p/it's a file.php file_perms
$p/linked.php file_perms
$p/linked2.php file_perms
$p/new
line.php request
$p/otherw.php file_perms
$p/passwd.php path
$p/pipe.php file_perms
$p/root.php user
$p/suid.php file_perms
$p/tool.cgi handler
$p/upload/shell1.php dir_perms
$p/upload/shell2.php dir_perms
$p/upload/shell3.php dir_perms"

refusals() { t_json '"\n".join(f["path"] + " " + f["check"] for f in j["files"])'; }

t_case "audit --json reports every planted refusal, and only those"
t_policy audit --json "${C[@]}" "$A"
t_policy_exit 1
t_expect "scanned $((clean + planted))" t_json_is 'j["scanned"]' "$((clean + planted))"
t_expect "refused 17" t_json_is 'j["refused"]' 17
t_expect "counts per check" t_json_is 'j["by_check"]' \
  "{'dir_perms': 4, 'file_perms': 7, 'handler': 1, 'path': 3, 'request': 1, 'user': 1}"
t_expect "each file with its check (got: $(refusals | head -c 2000))" test "$(refusals)" = "$expected_refusals"
t_expect "each with a reason" t_json_is 'all(f["reason"] and f["decision"] == "deny" for f in j["files"])' true
audit_json=$T_OUT

t_case "each verdict is the one check gives for that path"
same=0 differ=""
while IFS= read -r -d '' path && IFS= read -r -d '' expected; do
  T_OUT=$("$SUWRAP_POLICY_BIN" check --json "${C[@]}" "$path" || true)
  got=$(t_json 'j["check"]')
  if [ "$got" = "$expected" ]; then same=$((same + 1)); else differ+=" $path:$got!=$expected"; fi
done < <(printf '%s' "$audit_json" | "$T_PYTHON" -c '
import json, sys
for f in json.load(sys.stdin)["files"]:
    sys.stdout.write(f["path"] + "\0" + f["check"] + "\0")')
t_expect "17 of 17 agree${differ:+ (differ:$differ)}" test "$same" = 17
for ok in "$p/ok.cgi" "$p/alias-ok.cgi" "$A/site/d00/f00.php" "$A/site/d39/f48.php"; do
  "$SUWRAP_POLICY_BIN" check "${C[@]}" "$ok" >/dev/null && t_pass "check allows $ok, which audit passed" ||
    t_fail "check refuses $ok, which audit passed"
done

t_case "text output: one FAIL line per refusal, then the counts"
t_policy audit "${C[@]}" "$A"
t_policy_exit 1
t_expect "17 FAIL lines (the line break in a name shown as \\x0a)" test "$(printf '%s\n' "$T_OUT" | grep -c '^FAIL ')" = 17
t_expect "the name with a line break stays on its line" t_contains "$T_OUT" "FAIL request $p/new\\x0aline.php: "
t_expect "FAIL check path: reason" t_contains "$T_OUT" "FAIL file_perms $p/groupw.php: $p/groupw.php is writable by group (mode 0664)"
t_expect "the summary" eval 'printf "%s\n" "$T_OUT" | tail -n 1 | grep -Eq "^scanned $((clean + planted)) scripts in [0-9.]+ s: 17 refused \(dir_perms 4, file_perms 7, handler 1, path 3, request 1, user 1\)$"'

# ---- --fix ------------------------------------------------------------------------------------
t_case "--fix prints the commands, shell-quoted, and runs none"
t_policy audit --fix "${C[@]}" "$A"
t_policy_exit 1
fix=$T_OUT
for want in "chmod g-w '$p/groupw.php'" "chmod go-w '$p/otherw.php'" "chmod ug-s '$p/suid.php'" \
  "chown -h --from=0:0 $ALICE: '$p/root.php'" "chown -h --from=$BOB_UID:$BOB_GID $ALICE: '$p/bobs.php'" \
  "chmod go-w '$p/upload'" "chmod u+x '$p/tool.cgi'" "chown -h --from=0:0 $ALICE: '$p/alias.php'" \
  "chmod g-w '$p/it'\\''s a file.php'"; do
  t_expect "prints: $want" eval 'printf "%s\n" "$fix" | grep -qxF "$want"'
done
t_expect "nothing for the link out of the docroot but a comment" \
  eval '! printf "%s\n" "$fix" | grep -v "^#" | grep -q "passwd"'
t_expect "every line is a command or a comment; a name cannot start a line of its own" \
  eval '! printf "%s\n" "$fix" | grep -Evq "^(#|chmod |chown )"'
t_expect "it starts with the warning to run them while the account cannot change its files" \
  eval 'printf "%s\n" "$fix" | head -n 2 | grep -q "while the account cannot change its files"'
t_expect "nothing was changed by printing" test "$(stat -c %a "$p/groupw.php") $(stat -c %U "$p/root.php")" = "664 root"

t_case "--json --fix: each file carries its commands"
t_policy audit --json --fix "${C[@]}" "$A"
t_expect "a fix list for every file" t_json_is 'all(len(f["fix"]) > 0 for f in j["files"])' true
t_expect "groupw.php's" t_json_is '[f["fix"] for f in j["files"] if f["path"].endswith("/groupw.php")][0]' \
  "[\"chmod g-w '$p/groupw.php'\"]"

t_case "running the printed commands leaves only what no chmod or chown fixes"
printf '%s\n' "$fix" | sh -e
t_policy audit --json "${C[@]}" "$A"
t_policy_exit 1
t_expect "left: the hard links, the links out and to nothing, the line break, the FIFO (got: $(refusals))" \
  test "$(refusals)" = "$p/gone.php path
$p/linked.php file_perms
$p/linked2.php file_perms
$p/new
line.php request
$p/passwd.php path
$p/pipe.php file_perms"
rm -f "$p/gone.php" "$p/linked2.php" "$p/passwd.php" "$p/new
line.php" "$p/pipe.php"
t_policy audit "${C[@]}" "$A"
t_expect "with those removed, the tree is clean: exit 0 (got $T_RC: $(printf '%s' "$T_OUT" | tail -n 3))" test "$T_RC" = 0

t_case "a printed chown does nothing to a file whose owner changed since the audit"
t_file root 0644 "$p/late.php" "<?php"
t_policy audit --fix "${C[@]}" "$p"
late_fix=$(printf '%s\n' "$T_OUT" | grep -F "'$p/late.php'")
t_expect "it was: $late_fix" test "$late_fix" = "chown -h --from=0:0 $ALICE: '$p/late.php'"
chown "$BOB:$BOB" "$p/late.php"   # as if the path now led to someone else's file
printf '%s\n' "$late_fix" | sh -e
t_expect "the file is still bob's" test "$(stat -c %U "$p/late.php")" = "$BOB"
rm -f "$p/late.php"

# ---- who may run it, and errors ---------------------------------------------------------------
t_case "the caller may audit too, and gets the same answer"
t_file "$ALICE" 0664 "$p/again.php" "<?php"
T_AS=$T_CALLER t_policy audit --json "${C[@]}" "$A"
t_policy_exit 1
t_expect "one refusal, file_perms" t_json_is '[j["refused"], j["by_check"]]' "[1, {'file_perms': 1}]"
t_case "anyone else: exit 2, every script would fail check caller"
T_AS=$ALICE t_policy audit --json "${C[@]}" "$A"
t_policy_exit 2
t_expect "with --json, the failure is JSON on stdout, saying why" t_json_is \
  '[j["schema_version"], j["error"]["code"], "runs as root or as the caller" in j["error"]["problems"][0]["message"]]' \
  "[1, 'invalid', True]"

t_case "a directory that does not exist: exit 2"
t_policy audit --json "${C[@]}" "$A/site" "$A/nothere"
t_policy_exit 2
t_expect "it is in errors, the other directory is still audited" t_json_is \
  '[[e["path"] for e in j["errors"]], j["scanned"]]' "[['$A/nothere'], $clean]"

t_case "a configuration that does not load: exit 2"
t_policy audit --config "$T_ROOT/nothere.toml" "$A"
t_policy_exit 2

t_case "a relative directory is taken from the working directory"
policy_bin=$(readlink -f "$SUWRAP_POLICY_BIN")
T_OUT=$(cd "$A" && "$policy_bin" audit --json "${C[@]}" planted || true)
t_expect "paths are absolute" t_json_is '[f["path"] for f in j["files"]]' "['$p/again.php']"

# ---- progress on a terminal -----------------------------------------------------------------
t_case "on a terminal, a progress line on standard error, cleared at the end"
out=$(script -qec "$SUWRAP_POLICY_BIN audit ${C[*]} $A/site >/dev/null" /dev/null | od -An -c | tr -s ' \n' ' ')
t_expect "it shows the count (got: $(printf '%s' "$out" | head -c 300))" t_contains "$out" "a u d i t : 2 5 6 s c r i p t s"
out=$(printf '%s' "$out" | sed 's/ *$//')
t_expect "and clears it as the last thing written" eval '[[ "$out" == *"\\r 033 [ K" ]]'

# ---- account mode and check_vhost -----------------------------------------------------------
t_case "account mode with check_vhost: scripts are judged as requests for the account's domain"
rm -f "$p/again.php"
t_config 'mode="account"' 'check_vhost=true'
t_account alice "user = \"$ALICE\"
docroots = [\"$A\"]
domains = [\"alice.example\"]"
t_file "$BOB" 0644 "$p/bobs.php" "<?php"
t_policy audit --json --fix "${C[@]}" "$A"
t_policy_exit 1
t_expect "only bob's file, check owner (not vhost)" t_json_is '[(f["path"], f["check"]) for f in j["files"]]' \
  "[('$p/bobs.php', 'owner')]"
t_expect "the fix gives it to the account's user" t_json_is 'j["files"][0]["fix"]' \
  "[\"chown -h --from=$BOB_UID:$BOB_GID $ALICE: '$p/bobs.php'\"]"
t_account alice "user = \"$ALICE\"
docroots = [\"$A\"]"
t_policy audit --json "${C[@]}" "$A/site"
t_expect "an account without domains: every script refused, check vhost" t_json_is '[j["refused"], j["by_check"]]' \
  "[$clean, {'vhost': $clean}]"

t_done
