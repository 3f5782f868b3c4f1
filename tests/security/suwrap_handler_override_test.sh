#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# SUWRAP_HANDLER comes from the caller. It may choose among handlers of the family the
# script's extension selects (a PHP version), never make an uploaded .jpg run as PHP or
# a PHP file run as a program of its own.
source "$(dirname "$0")/../lib/common.sh"
t_setup ALICE
T_CONFIG_TABLES="$(t_php_handler php php)

$(t_php_handler php-other php 'extensions=[]')

[handlers.cgi]
kind = \"cgi\"
extensions = [\".cgi\"]"
t_config
t_file "$ALICE" 0755 "$ALICE_DOCROOT/uploads/avatar.jpg" 'GIF89a<?php echo "JPG-AS-PHP"; ?>'
chown "$ALICE:$ALICE" "$ALICE_DOCROOT/uploads"; chmod 0755 "$ALICE_DOCROOT/uploads"
t_file "$ALICE" 0755 "$ALICE_DOCROOT/page.php" '#!/bin/sh
echo "PHP-FILE-AS-PROGRAM"
<?php echo "page ran as php";'

t_case "SUWRAP_HANDLER=php does not make a .jpg run"
t_script "$ALICE_DOCROOT/uploads/avatar.jpg" SUWRAP_HANDLER=php
t_refused 1 403 handler
t_expect "nothing ran" bash -c '! grep -q JPG-AS-PHP <<<"$0"' "$T_OUT"

t_case "SUWRAP_HANDLER=cgi does not make a .php file run as a program"
t_script "$ALICE_DOCROOT/page.php" SUWRAP_HANDLER=cgi
t_refused 1 403 handler
t_expect "nothing ran" bash -c '! grep -q PHP-FILE-AS-PROGRAM <<<"$0"' "$T_OUT"

t_case "SUWRAP_HANDLER may choose another PHP handler for a .php file"
t_script "$ALICE_DOCROOT/page.php" SUWRAP_HANDLER=php-other
t_allowed
t_expect "the log names the chosen handler" test "$(t_log_field decision handler)" = php-other
t_expect "it ran through PHP" t_contains "$(t_body)" "page ran as php"

t_done
