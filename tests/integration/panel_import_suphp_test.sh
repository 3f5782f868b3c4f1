#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# suwrap-policy import-suphp: a suPHP suphp.conf becomes a suwrap.toml that loads (config
# check), means what suPHP's did where suwrap has the same setting, and says on standard
# error what has no equivalent. The translation of a suphp.conf for this test tree is then
# installed as suwrap's configuration and real requests run through the set-uid suwrap.
source "$(dirname "$0")/../lib/common.sh" panel
t_setup ALICE BOB
mkdir -p "$T_ROOT/etc"
chmod 0755 "$T_ROOT/etc"

# toml_value FILE EXPRESSION: a value of a TOML file (parsed by Python's tomllib) named t.
toml_value() {
  "$T_PYTHON" -I -S -c '
import sys, tomllib
t = tomllib.load(open(sys.argv[1], "rb"))
v = eval(sys.argv[2], {"t": t})
print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"
}

# Debian's suphp.conf as suphp-common ships it.
cat >"$T_ROOT/etc/debian-suphp.conf" <<'EOF'
[global]
;Path to logfile
logfile=/var/log/suphp/suphp.log

;Loglevel
loglevel=info

;User Apache is running as
webserver_user=www-data

;Path all scripts have to be in
docroot=/var/www:${HOME}/public_html

;Path to chroot() to before executing script
;chroot=/mychroot

; Security options
allow_file_group_writeable=false
allow_file_others_writeable=false
allow_directory_group_writeable=false
allow_directory_others_writeable=false

;Check wheter script is within DOCUMENT_ROOT
check_vhost_docroot=true

;Send minor error messages to browser
errors_to_browser=false

;PATH environment variable
env_path=/bin:/usr/bin

;Umask to set, specify in octal notation
umask=0077

; Minimum UID
min_uid=100

; Minimum GID
min_gid=100

[handlers]
;Handler for php-scripts
application/x-httpd-suphp="php:/usr/bin/php-cgi"

;Handler for CGI-scripts
x-suphp-cgi="execute:!self"
EOF

t_case "Debian's suphp.conf: exit 0, a suwrap.toml on stdout, notes on stderr"
t_policy import-suphp "$T_ROOT/etc/debian-suphp.conf"
t_policy_exit 0
printf '%s\n' "$T_OUT" >"$T_ROOT/etc/debian.toml"
chmod 0644 "$T_ROOT/etc/debian.toml"
notes=$T_ERR
for key in logfile loglevel docroot check_vhost_docroot application/x-httpd-suphp; do
  line=$(grep -n "^$key=" "$T_ROOT/etc/debian-suphp.conf" | cut -d: -f1)
  t_expect "a note for $key, naming its line $line" t_contains "$notes" "note: $T_ROOT/etc/debian-suphp.conf:$line: $key: "
done
t_expect "a note for the set-id mode, which is not in the file" t_contains "$notes" "note: $T_ROOT/etc/debian-suphp.conf: mode: "
t_expect "every stderr line is a note" eval '! printf "%s\n" "$notes" | grep -qv "^note: "'

t_case "the translation loads: config check accepts it"
t_policy config check --config "$T_ROOT/etc/debian.toml"
t_policy_exit 0
t_expect "OK, with two handlers (got: $T_OUT$T_ERR)" t_contains "$T_OUT" "2 handler(s)"

t_case "the translation carries each setting over"
f="$T_ROOT/etc/debian.toml"
t_expect "webserver_user -> caller" test "$(toml_value "$f" 't["global"]["caller"]')" = www-data
t_expect "docroot -> docroots, \${HOME} -> /home/*" test "$(toml_value "$f" 't["global"]["docroots"]')" = "['/var/www', '/home/*/public_html']"
t_expect "umask 0077 -> \"077\"" test "$(toml_value "$f" 't["global"]["umask"]')" = 077
t_expect "min_uid, min_gid" test "$(toml_value "$f" '[t["global"]["min_uid"], t["global"]["min_gid"]]')" = "[100, 100]"
t_expect "unquoted env_path -> safe_path as suPHP 0.7.2 read it (the first piece), noted" test "$(toml_value "$f" 't["global"]["safe_path"]')" = /bin
t_expect "check_vhost_docroot -> check_vhost" test "$(toml_value "$f" 't["global"]["check_vhost"]')" = true
t_expect "errors_to_browser, allow_*_group_writable" test \
  "$(toml_value "$f" '[t["global"][k] for k in ("errors_to_browser", "allow_file_group_writable", "allow_dir_group_writable")]')" \
  = "[False, False, False]"
t_expect "no key for others-writable: suwrap has none" eval '! grep -q others "$f"'
t_expect "php handler" test "$(toml_value "$f" '[t["handlers"]["php"][k] for k in ("kind", "path", "extensions")]')" \
  = "['php', '/usr/bin/php-cgi', ['.php']]"
t_expect "cgi handler" test "$(toml_value "$f" '[t["handlers"]["cgi"][k] for k in ("kind", "extensions")]')" = "['cgi', ['.cgi']]"

# ---- a suphp.conf for this tree, installed and used ------------------------------------------
cat >"$T_ROOT/etc/suphp.conf" <<EOF
[global]
logfile=/var/log/suphp.log
loglevel=warn
webserver_user=$T_CALLER
docroot=$T_ROOT/home/\${USERNAME}/public_html
chroot=/jail
allow_file_group_writeable=false
allow_file_others_writeable=true
allow_directory_group_writeable=false
allow_directory_others_writeable=false
check_vhost_docroot=false
errors_to_browser=true
env_path="/usr/bin:/bin"
umask=0077
min_uid=1000
min_gid=1000

[handlers]
application/x-httpd-suphp="php:$T_PHP_CGI"
x-suphp-cgi="execute:!self"

[phprc_paths]
application/x-httpd-suphp=$T_PHP_INI_DIR/
EOF

t_case "a suphp.conf for this tree: notes for what suwrap does not do"
t_policy import-suphp "$T_ROOT/etc/suphp.conf"
t_policy_exit 0
t_expect "others-writable: never allowed" t_contains "$T_ERR" "allow_file_others_writeable: no equivalent: suwrap never runs a script that is writable by others (check file_perms)"
t_expect "chroot: unsupported" t_contains "$T_ERR" "chroot: unsupported"
t_expect "loglevel: no levels" t_contains "$T_ERR" "loglevel: no equivalent"
t_expect "\${USERNAME} becomes one component" t_contains "$T_OUT" "docroots = [\"$T_ROOT/home/*/public_html\"]"
t_expect "[phprc_paths] gives the ini_dir" t_contains "$T_OUT" "ini_dir = \"$T_PHP_INI_DIR\""
# The only edit: where this test's log goes (suwrap's default is /var/log/suwrap).
printf '%s\n' "$T_OUT" | sed "s|^\[global\]\$|[global]\nlog = \"$T_LOG\"|" >"$SUWRAP_CONFIG_PATH"
chmod 0644 "$SUWRAP_CONFIG_PATH"

t_case "installed as suwrap's configuration: alice's script runs as alice, with suPHP's umask"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/made.php" '<?php touch(__DIR__ . "/made"); echo posix_getuid(), " ", decoct(umask());'
t_script "$ALICE_DOCROOT/made.php"
t_allowed
t_expect "it printed alice's uid and umask 77 (got: $(t_body))" test "$(t_body)" = "$ALICE_UID 77"
t_expect "the file it made is 0600" test "$(stat -c %a "$ALICE_DOCROOT/made")" = 600

t_case "a CGI script runs through the execute:!self handler"
t_file "$BOB" 0755 "$BOB_DOCROOT/hello.cgi" '#!/bin/sh
printf "Content-Type: text/plain\r\n\r\n"; id -u'
t_script "$BOB_DOCROOT/hello.cgi"
t_allowed
t_expect "as bob (got: $(t_body))" test "$(t_body)" = "$BOB_UID"

t_case "a script writable by others, which suPHP was told to allow, is refused"
t_file "$ALICE" 0666 "$ALICE_DOCROOT/open.php" '<?php echo 1;'
t_script "$ALICE_DOCROOT/open.php"
t_refused 1 403 file_perms
t_expect "errors_to_browser came over: the body names the check" t_contains "$(t_body)" "file_perms"

t_case "a script outside the imported docroots is refused"
t_file "$ALICE" 0644 "$ALICE_HOME/private/x.php" '<?php echo 1;'
t_script "$ALICE_HOME/private/x.php"
t_refused 1 403 docroot

# ---- modes, and what suPHP itself would refuse ------------------------------------------------
t_case "mode=paranoid becomes account mode, with a note"
printf '[global]\nmode=paranoid\ndocroot=/var/www\n' >"$T_ROOT/etc/paranoid.conf"
t_policy import-suphp "$T_ROOT/etc/paranoid.conf"
t_policy_exit 0
t_expect "mode = \"account\"" eval 'printf "%s\n" "$T_OUT" | grep -q "^mode = \"account\""'
t_expect "the note says how accounts are made" t_contains "$T_ERR" "suwrap-policy account add"

t_case "a file that is not there: exit 2, nothing on stdout"
t_policy import-suphp "$T_ROOT/etc/nothere.conf"
t_policy_exit 2
t_expect "stdout is empty" test -z "$T_OUT"

t_case "a line suPHP would not read: exit 2, naming the file and line"
printf '[global]\numask=0077\nthis line is nothing\n' >"$T_ROOT/etc/bad.conf"
t_policy import-suphp "$T_ROOT/etc/bad.conf"
t_policy_exit 2
t_expect "stderr names line 3 (got: $T_ERR)" t_contains "$T_ERR" "$T_ROOT/etc/bad.conf:3: "
t_expect "stdout is empty" test -z "$T_OUT"

t_case "a value suPHP would refuse: exit 2, naming the key"
printf '[global]\ncheck_vhost_docroot=perhaps\n' >"$T_ROOT/etc/bad2.conf"
t_policy import-suphp "$T_ROOT/etc/bad2.conf"
t_policy_exit 2
t_expect "stderr names the key and what was expected (got: $T_ERR)" \
  t_contains "$T_ERR" "bad2.conf:2: check_vhost_docroot: expected true/false"

t_done
