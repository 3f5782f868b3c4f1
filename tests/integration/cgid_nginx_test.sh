#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Real nginx in front of suwrap-cgid, with Debian's stock fastcgi_params and the server
# block of install/webservers/nginx-suwrap.conf (the one docs/deploy-nginx.md shows),
# driven by curl on 127.0.0.1.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/cgid_site.sh"
command -v nginx >/dev/null || { echo "SKIP $T_NAME: nginx is not installed"; exit 77; }
t_web_site
t_fill_template "$T_WEBSERVERS_DIR/nginx-suwrap.conf" "$T_ROOT/nginx-site.conf" \
  LISTEN="127.0.0.1:$T_PORT" SERVER_NAME=localhost DOCROOT="$T_ROOT/home" SOCKET="$T_CGID_SOCK"
# The same site on a second port, with the line docs/deploy-nginx.md adds for a site on a
# port other than 80 and 443, right after the include of fastcgi_params.
PORT_WITH_HOST=$(t_free_port)
t_fill_template "$T_WEBSERVERS_DIR/nginx-suwrap.conf" "$T_ROOT/nginx-site-port.conf" \
  LISTEN="127.0.0.1:$PORT_WITH_HOST" SERVER_NAME=localhost DOCROOT="$T_ROOT/home" SOCKET="$T_CGID_SOCK"
sed -i "\\|include /etc/nginx/fastcgi_params;|r $T_WEBSERVERS_DIR/nginx-suwrap-host-port.conf" "$T_ROOT/nginx-site-port.conf"
cat "$T_ROOT/nginx-site-port.conf" >>"$T_ROOT/nginx-site.conf"
t_start_nginx "$T_ROOT/nginx-site.conf"

t_case "nginx: what arrives as HTTP_HOST on a port other than 80"
t_file "$ALICE" 0644 "$ALICE_DOCROOT/host.php" '<?php echo $_SERVER["HTTP_HOST"] ?? "(none)", " ", $_SERVER["SERVER_PORT"];'
t_curl "$(t_url "$ALICE" host.php)"
# Debian's fastcgi_params sets HTTP_HOST to $host (the host name alone), and nginx then
# passes no Host header of its own; an older fastcgi_params without that line leaves the
# Host header as the client sent it, port included.
if grep -q '^fastcgi_param *HTTP_HOST *\$host;' /etc/nginx/fastcgi_params; then
  t_expect "the stock fastcgi_params: the host alone (got: $T_OUT)" test "$T_OUT" = "127.0.0.1 $T_PORT"
else
  t_expect "no HTTP_HOST line in fastcgi_params: the Host header (got: $T_OUT)" test "$T_OUT" = "127.0.0.1:$T_PORT $T_PORT"
fi
t_curl "http://127.0.0.1:$PORT_WITH_HOST/$ALICE/public_html/host.php"
t_expect "with the documented line: the host and its port (got: $T_OUT)" test "$T_OUT" = "127.0.0.1:$PORT_WITH_HOST $PORT_WITH_HOST"

t_web_cases nginx
t_stop_web nginx
t_done
