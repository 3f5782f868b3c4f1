#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Real nginx in front of suwrap-cgid, with Debian's stock fastcgi_params and the server
# block of install/webservers/nginx-suwrap.conf (the one docs/deploy-nginx.md shows),
# driven by curl on 127.0.0.1.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/cgid_site.sh"
command -v nginx >/dev/null || { echo "SKIP $T_NAME: nginx is not installed"; exit 77; }
t_setup
t_cgid_site
t_start_cgid
T_PORT=$(t_free_port)
t_fill_template "$T_WEBSERVERS_DIR/nginx-suwrap.conf" "$T_ROOT/nginx-site.conf" \
  LISTEN="127.0.0.1:$T_PORT" SERVER_NAME=localhost DOCROOT="$T_ROOT/home" SOCKET="$T_CGID_SOCK"
t_start_nginx "$T_ROOT/nginx-site.conf"

t_case "nginx: PATH_INFO after the script reaches it, the script is still the one checked"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/route.php" '<?php echo $_SERVER["PATH_INFO"], " ", $_SERVER["SCRIPT_FILENAME"];'
t_curl "$(t_url "$ALICE" route.php/some/route)"
t_expect "200 (got $T_STATUS)" test "$T_STATUS" = 200
t_expect "PATH_INFO and SCRIPT_FILENAME (got: $T_OUT)" test "$T_OUT" = "/some/route $ALICE_DOCROOT/route.php"

t_web_cases nginx
t_stop_web nginx
t_done
