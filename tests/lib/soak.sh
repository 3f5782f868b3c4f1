# SPDX-License-Identifier: Apache-2.0
# The soak and fault suites' helpers (soak_test.sh, cgid_faults_test.sh, and the suites that
# judge zombies the same way): sourced by common.sh for the suites that name soak, with
# cgid.sh; not run.

# t_zombies_of_test USER...: one line "pid ppid user command" per zombie on the machine
# that is the test's: a child of this shell, of the daemon, of the web server or one of
# its workers, or of a process of USER...; or a process of USER... itself. Zombies of
# anything else on the machine are not this test's to judge.
t_zombies_of_test() {
  local parents=" $$ ${T_CGID_PID:-} ${T_WEB_PID:-} " u
  if [ -n "$T_WEB_PID" ]; then parents+="$(ps -o pid= --ppid "$T_WEB_PID" 2>/dev/null | tr '\n' ' ' || true) "; fi
  for u in "$@"; do parents+="$(ps -o pid= -u "$u" 2>/dev/null | tr '\n' ' ' || true) "; done
  ps -eo pid=,ppid=,user:32=,stat=,comm= | awk -v parents="$parents" -v users=" $* " '
    $4 ~ /^Z/ && (index(parents, " " $2 " ") || index(users, " " $3 " ")) { print $1, $2, $3, $5 }'
}

# t_nginx_site_with_cgi CONF: the documented nginx server block
# (install/webservers/nginx-suwrap.conf) filled for 127.0.0.1:$T_PORT, $T_ROOT/home and
# $T_CGID_SOCK, plus a location that hands .cgi and .txt to the daemon as well, so that
# CGI programs run and suwrap, not nginx, is the one that refuses a .txt.
t_nginx_site_with_cgi() {
  t_fill_template "$T_WEBSERVERS_DIR/nginx-suwrap.conf" "$1" \
    LISTEN="127.0.0.1:$T_PORT" SERVER_NAME=localhost DOCROOT="$T_ROOT/home" SOCKET="$T_CGID_SOCK"
  sed -i '$d' "$1"  # the server block's closing brace
  cat >>"$1" <<EOF
    location ~ \.(cgi|txt)\$ {
        include /etc/nginx/fastcgi_params;
        fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
        fastcgi_pass unix:$T_CGID_SOCK;
    }
}
EOF
}
