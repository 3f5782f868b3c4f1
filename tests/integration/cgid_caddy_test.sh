#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Real Caddy (Debian 12's caddy package) in front of suwrap-cgid with php_fastcgi and the
# site block of install/webservers/caddy-suwrap.Caddyfile (the one docs/deploy-caddy.md
# shows), driven by curl on 127.0.0.1. Caddy runs as its own user, as Debian's
# caddy.service does, so the daemon serves it through --allow-uid.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/cgid_site.sh"
if ! command -v caddy >/dev/null || ! id caddy >/dev/null 2>&1; then
  echo "SKIP $T_NAME: Debian's caddy package is not installed"
  exit 77
fi
t_web_site
t_fill_template "$T_WEBSERVERS_DIR/caddy-suwrap.Caddyfile" "$T_ROOT/caddy-site.Caddyfile" \
  SITE="http://127.0.0.1:$T_PORT" DOCROOT="$T_ROOT/home" SOCKET="$T_CGID_SOCK"
t_start_caddy "$T_ROOT/caddy-site.Caddyfile"

t_case "Caddy: without --allow-uid the daemon closes Caddy's connections"
lines=$(t_log_count)
t_curl "$(t_url "$ALICE" whoami.php)"
t_expect "502 (got $T_STATUS)" test "$T_STATUS" = 502
t_expect "the daemon logged Caddy's uid" grep -q "closed a connection from uid $(id -u caddy) " "$T_CGID_LOG"
t_expect "suwrap never ran" test "$(t_log_count)" = "$lines"
t_stop_cgid
T_CGID_ARGS=(--allow-uid "$(id -u caddy)")
t_start_cgid

t_web_cases Caddy
t_stop_web Caddy
t_done
