#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Account mode, one user with two accounts: `shop` (disabled, tight limits) and `blog`. A
# link in blog's docroot to a script in shop's, `blog/x.php -> ../shop/evil.php`, would run
# shop's file under blog's settings — past shop's suspension. The account is chosen by the
# file that runs as well as by the name asked for: when they differ, nothing runs (check
# target). A link within one account's docroot is served as before.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
t_markers_dir

t_config 'mode="account"'
t_dir "$ALICE" 0755 "$ALICE_DOCROOT/shop"
t_dir "$ALICE" 0755 "$ALICE_DOCROOT/blog"
t_account shop "user = \"$ALICE\"
docroots = [\"$ALICE_DOCROOT/shop\"]
disabled = true"
t_account blog "user = \"$ALICE\"
docroots = [\"$ALICE_DOCROOT/blog\"]"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/shop/evil.php" "<?php touch('$T_MARKS/ran-shop');"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/blog/real.php" "<?php touch('$T_MARKS/ran-blog');"
ln -s ../shop/evil.php "$ALICE_DOCROOT/blog/x.php"
ln -s real.php "$ALICE_DOCROOT/blog/alias.php"
chown -h "$ALICE:$ALICE" "$ALICE_DOCROOT/blog/x.php" "$ALICE_DOCROOT/blog/alias.php"

t_case "control: shop's script is refused, shop is disabled"
t_attack_script "$ALICE_DOCROOT/shop/evil.php"
t_refused_only 1 403 target

t_case "a link in blog's docroot to shop's script: refused, nothing runs"
t_attack_script "$ALICE_DOCROOT/blog/x.php"
t_refused_only 1 403 target
t_expect "the log names both accounts" t_contains "$(t_log_field decision reason)" "is account shop's, not account blog's"
t_expect "shop's script never ran (markers: $(t_markers))" test -z "$(t_markers)"

t_case "control: a link within blog's docroot is served"
t_attack_script "$ALICE_DOCROOT/blog/alias.php"
t_ran_only
t_expect "blog's script ran" test -e "$T_MARKS/ran-blog"

t_done
