#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A root-owned script: in owner mode it would run as root. suwrap never runs anything as root
# (check user), whether the file sits in an account's docroot or in a root-owned docroot, is
# reached through a root-owned link, or (account mode) lies in an account's docroot, where it
# is not the account's file (check owner). A marker that the script leaves when it runs
# proves it did not, as root or as anyone.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
www="$T_ROOT/var/www"
t_config "docroots=[\"$www\", \"$T_ROOT/home/*/public_html\"]"
t_markers_dir

php() { printf '<?php touch("%s/%s-" . posix_getuid()); echo "RAN uid=", posix_getuid();' "$T_MARKS" "$1"; }
cgi() { printf '#!/bin/sh\ntouch %s/%s-$(id -u)\nprintf "Content-Type: text/plain\\r\\n\\r\\nRAN"\n' "$T_MARKS" "$1"; }
t_dir root 0755 "$T_ROOT/var"
t_dir root 0755 "$www"
t_file root 0644 "$ALICE_DOCROOT/root.php" "$(php root-in-alice)"
t_file root 0755 "$ALICE_DOCROOT/root.cgi" "$(cgi root-cgi-in-alice)"
t_file root 0644 "$www/index.php" "$(php root-in-www)"
t_file root 0755 "$www/index.cgi" "$(cgi root-cgi-in-www)"
t_file root 04755 "$www/suid-root.cgi" "$(cgi suid-root)"

t_case "control: the same script owned by alice in the root-owned docroot runs, as alice"
t_file "$ALICE" 0644 "$www/alice.php" "$(php alice-in-www)"
t_attack_script "$www/alice.php"
t_ran_only
t_expect "its marker, as alice" test -e "$T_MARKS/alice-in-www-$ALICE_UID"
rm -f "$T_MARKS"/* "$www/alice.php"

t_case "a root-owned PHP file in alice's docroot"
t_attack_script "$ALICE_DOCROOT/root.php"
t_refused_only 1 403 user

t_case "a root-owned CGI program in alice's docroot"
t_attack_script "$ALICE_DOCROOT/root.cgi"
t_refused_only 1 403 user

t_case "root-owned files in a root-owned docroot"
t_attack_script "$www/index.php"
t_refused_only 1 403 user
t_attack_script "$www/index.cgi"
t_refused_only 1 403 user

t_case "a set-uid root CGI program"
t_attack_script "$www/suid-root.cgi"
t_refused_only 1 403 user

t_case "a root-owned link to a root-owned script"
ln -s index.php "$www/link.php"
t_attack_script "$www/link.php"
t_refused_only 1 403 user

t_case "SUWRAP_HANDLER=cgi on a root-owned file"
t_attack_script "$www/index.php" SUWRAP_HANDLER=cgi
t_refused_only 1 403 user

t_case "action-handler mode: PATH_TRANSLATED naming the root-owned script"
t_attack_script "$T_SUWRAP" PATH_TRANSLATED="$www/index.cgi" PATH_INFO=/index.cgi
t_refused_only 1 403 user

t_case "account mode: a root-owned file in alice's account docroot is not alice's"
t_config 'mode="account"' "docroots=[\"$www\", \"$T_ROOT/home/*/public_html\"]"
t_account_for alice "$ALICE" "$ALICE_DOCROOT"
t_attack_script "$ALICE_DOCROOT/root.php"
t_refused_only 1 403 owner
t_attack_script "$ALICE_DOCROOT/root.cgi"
t_refused_only 1 403 owner

t_case "account mode: an account naming root"
t_account rootacct "user = \"root\"
docroots = [\"$www\"]"
t_attack_script "$www/index.php"
t_refused_only 1 403 user
rm -f "$T_CONF_DIR"/accounts.d/*.toml
t_config "docroots=[\"$www\", \"$T_ROOT/home/*/public_html\"]"

t_case "nothing ran, as root or as anyone"
t_expect "no marker (got: $(t_markers))" test -z "$(t_markers)"

t_done
