#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# suEXEC's docroot test is a string prefix: with /var/www configured, /var/www-evil and
# /var/www2 pass. suwrap compares component by component: a script in a sibling whose name
# merely starts with the docroot's, in a shorter prefix, or deeper than a '*' allows, is
# refused (check docroot) and never runs; a symlink out of the docroot is refused (path).
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
t_markers_dir
www="$T_ROOT/var/www"
t_config "docroots=[\"$www\", \"$T_ROOT/home/*/public_html\"]"

t_dir root 0755 "$T_ROOT/var"
for d in www www-evil www2 ww wwww; do
  t_dir "$ALICE" 0755 "$T_ROOT/var/$d"
  t_file "$ALICE" 0644 "$T_ROOT/var/$d/x.php" "$(t_marker_php "$d" "RAN-$d")"
done
for d in public_html2 public_html-evil public; do
  t_dir "$ALICE" 0755 "$ALICE_HOME/$d"
  t_file "$ALICE" 0644 "$ALICE_HOME/$d/x.php" "$(t_marker_php "$d" "RAN-$d")"
done

t_case "control: the configured docroot itself runs"
t_attack_script "$www/x.php"
t_ran_only
t_expect "its output" t_contains "$(t_body)" RAN-www
rm -f "$T_MARKS/www"

for d in www-evil www2 ww wwww; do
  t_case "$T_ROOT/var/$d is not inside $www"
  t_attack_script "$T_ROOT/var/$d/x.php"
  t_refused_only 1 403 docroot
done

for d in public_html2 public_html-evil public; do
  t_case "home/*/$d is not inside home/*/public_html"
  t_attack_script "$ALICE_HOME/$d/x.php"
  t_refused_only 1 403 docroot
done

t_case "'*' matches one component: home/alice/x/public_html is outside"
t_dir "$ALICE" 0755 "$ALICE_HOME/x/public_html"
t_file "$ALICE" 0644 "$ALICE_HOME/x/public_html/x.php" "$(t_marker_php deep RAN-deep)"
t_attack_script "$ALICE_HOME/x/public_html/x.php"
t_refused_only 1 403 docroot

t_case "action-handler mode: PATH_TRANSLATED in www2"
t_attack_script "$T_SUWRAP" PATH_TRANSLATED="$T_ROOT/var/www2/x.php" PATH_INFO=/x.php
t_refused_only 1 403 docroot

t_case "a symlink in the docroot leading to the sibling www2"
ln -s ../www2 "$www/escape"
chown -h "$ALICE:$ALICE" "$www/escape"
t_attack_script "$www/escape/x.php"
t_refused_only 1 403 path
ln -s ../www2/x.php "$www/escape.php"
chown -h "$ALICE:$ALICE" "$www/escape.php"
t_attack_script "$www/escape.php"
t_refused_only 1 403 path

t_case "nothing outside the docroot ran"
t_expect "no marker (got: $(t_markers))" test -z "$(t_markers)"

t_done
