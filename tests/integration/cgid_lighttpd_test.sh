#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Real lighttpd in front of suwrap-cgid with mod_fastcgi and the configuration of
# install/webservers/lighttpd-suwrap.conf (the one docs/deploy-lighttpd.md shows), driven
# by curl on 127.0.0.1.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/cgid_site.sh"
command -v lighttpd >/dev/null || { echo "SKIP $T_NAME: lighttpd is not installed"; exit 77; }
t_web_site
t_fill_template "$T_WEBSERVERS_DIR/lighttpd-suwrap.conf" "$T_ROOT/lighttpd-site.conf" SOCKET="$T_CGID_SOCK"
t_start_lighttpd "$T_ROOT/lighttpd-site.conf" "$T_ROOT/home"

t_web_cases lighttpd
t_stop_web lighttpd
t_done
