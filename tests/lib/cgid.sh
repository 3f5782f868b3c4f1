# SPDX-License-Identifier: Apache-2.0
# suwrap-cgid and private web servers, for the cgid_*_test.sh suites and the others that
# run the daemon: sourced by common.sh for the suites that name cgid, and by cgid_site.sh.
#
# The daemon runs as www-data, as in production, on a socket under $T_ROOT/run. Each web
# server is a private instance with its own configuration, pid file and logs under $T_ROOT,
# listening on a free port of 127.0.0.1: the system's own services are never touched.
# Every start registers a clean-up that ends the process; the t_stop_* helpers end it
# while the suite runs and assert a clean exit.

T_FCGI_CLIENT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/fcgi_client.py
T_WEBSERVERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/install/webservers
T_CGID_PID=""
T_CGID_SOCK=""
T_CGID_LOG=""
T_CGID_FDS=""   # the daemon's descriptor count after warm-up (t_cgid_baseline)
T_WEB_PID=""
T_PORT=""
T_CGID_ARGS=()  # given to every t_start_cgid after its own arguments

# t_start_cgid [ARGS...]: starts suwrap-cgid as www-data on $T_ROOT/run/cgid.sock (or
# $T_CGID_SOCK if set) with the set-uid test copy of suwrap and --log-file
# $T_ROOT/run/cgid.log, plus ARGS and T_CGID_ARGS; returns once it listens. Sets
# T_CGID_PID. T_CGID_GROUPS (gids, comma-separated), if set, are its groups instead of
# www-data's own (a group it shares with a web server of another user).
t_start_cgid() {
  : "${SUWRAP_CGID_BIN:?SUWRAP_CGID_BIN must name the built suwrap-cgid}"
  mkdir -p "$T_ROOT/run"
  chown "$T_CALLER:$(id -gn "$T_CALLER")" "$T_ROOT/run"
  chmod 0755 "$T_ROOT/run"
  T_CGID_SOCK=${T_CGID_SOCK:-$T_ROOT/run/cgid.sock}
  T_CGID_LOG=$T_ROOT/run/cgid.log
  T_CGID_FDS=""
  local before=0 _
  [ -f "$T_CGID_LOG" ] && before=$(wc -l <"$T_CGID_LOG")
  local groups=(--init-groups)
  [ -n "${T_CGID_GROUPS:-}" ] && groups=(--groups "$T_CGID_GROUPS")
  env -i PATH=/usr/bin:/bin /usr/bin/setpriv --reuid="$T_CALLER" --regid="$(id -g "$T_CALLER")" "${groups[@]}" \
    "$SUWRAP_CGID_BIN" --listen "$T_CGID_SOCK" --wrapper "$T_SUWRAP" --log-file "$T_CGID_LOG" "$@" "${T_CGID_ARGS[@]}" \
    </dev/null >>"$T_ROOT/run/cgid.stderr" 2>&1 &
  T_CGID_PID=$!
  t_on_cleanup "t_kill_pid $T_CGID_PID"
  for _ in $(seq 1 100); do
    if [ -f "$T_CGID_LOG" ] && tail -n +"$((before + 1))" "$T_CGID_LOG" | grep -q 'listening on'; then return 0; fi
    t_alive "$T_CGID_PID" || break
    sleep 0.05
  done
  echo "FAIL $T_NAME: suwrap-cgid did not start: $(cat "$T_ROOT/run/cgid.stderr" "$T_CGID_LOG" 2>/dev/null | tail -n 5)" >&2
  exit 1
}

# t_stop_cgid: SIGTERM to the daemon; asserts that it exits 0 and removes its socket.
t_stop_cgid() {
  t_case "suwrap-cgid stops on SIGTERM"
  kill -TERM "$T_CGID_PID"
  t_wait_exit "$T_CGID_PID" 15
  t_expect "exit status 0 (got $T_EXIT)" test "$T_EXIT" = 0
  t_expect "the socket is removed" test ! -e "$T_CGID_SOCK"
  T_CGID_PID=""
}

t_cgid_fd_count() { ls "/proc/$T_CGID_PID/fd" | wc -l; }
t_cgid_hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$T_CGID_PID/status"; }

# t_cgid_baseline: remembers the daemon's descriptor count (T_CGID_FDS, which
# t_nothing_left compares with). Call it after a warm-up request. A client has its answer a
# moment before the daemon closes that connection's socket (the close follows the send of
# FCGI_END_REQUEST), so a count taken right after a request may hold one descriptor too
# many: it waits (up to 5 s) for no child and the same count three times 0.1 s apart, then
# takes that count.
t_cgid_baseline() {
  local last="" same=0 now _
  for _ in $(seq 1 50); do
    now=$(t_cgid_fd_count)
    if [ -z "$(ps -o pid= --ppid "$T_CGID_PID" 2>/dev/null || true)" ] && [ "$now" = "$last" ]; then
      same=$((same + 1))
      [ "$same" -ge 2 ] && break
    else
      same=0
    fi
    last=$now
    sleep 0.1
  done
  T_CGID_FDS=$(t_cgid_fd_count)
}

# t_nothing_left USER...: waits up to 10 s for the daemon to have no child (no zombie
# either), the users to have no process, and the daemon's descriptor count to be back at
# its baseline (if one was taken); then asserts each.
t_nothing_left() {
  local children="" procs="" fds="" u deadline=$((${EPOCHREALTIME//[!0-9]/} + 10000000))
  while :; do
    children=$(ps -o pid=,stat=,args= --ppid "$T_CGID_PID" 2>/dev/null || true)
    procs=""
    for u in "$@"; do procs+=$(ps -o pid=,stat=,args= -u "$u" 2>/dev/null || true); done
    fds=$(t_cgid_fd_count)
    if [ -z "$children" ] && [ -z "$procs" ] && { [ -z "$T_CGID_FDS" ] || [ "$fds" = "$T_CGID_FDS" ]; }; then break; fi
    ((${EPOCHREALTIME//[!0-9]/} < deadline)) || break
    sleep 0.1
  done
  t_expect "the daemon has no child and no zombie${children:+ (has: $children)}" test -z "$children"
  t_expect "no process of the test users${procs:+ (left: $procs)}" test -z "$procs"
  if [ -n "$T_CGID_FDS" ]; then
    t_expect "the daemon's descriptors are back to $T_CGID_FDS (now $fds)" test "$fds" = "$T_CGID_FDS"
  fi
}

# t_wait_children N: waits up to 5 s until the daemon has N children (suwrap processes).
t_wait_children() {
  local _
  for _ in $(seq 1 50); do
    [ "$(ps -o pid= --ppid "$T_CGID_PID" | wc -l)" -ge "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

# t_fcgi [NAME=VALUE]...: one request straight to the daemon's socket with cgi-fcgi (as
# root, a peer the daemon serves) with exactly this environment, plus REQUEST_METHOD=GET
# unless given; standard input is $T_STDIN. Sets T_RC, T_OUT, T_ERR, T_STATUS.
t_fcgi() {
  set +e
  T_OUT=$(env -i REQUEST_METHOD=GET GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=localhost "$@" \
    /usr/bin/cgi-fcgi -bind -connect "$T_CGID_SOCK" <"$T_STDIN" 2>"$T_ROOT/stderr"; echo "~$?")
  set -e
  t_response
}

# t_status_page [NAME=VALUE]...: t_fcgi for the daemon's --status-path (SCRIPT_NAME is
# /suwrap-status), asked again up to twice when cgi-fcgi ends with EPIPE (32) and no output:
# the daemon answers a status request at once and closes the connection, and cgi-fcgi, if it
# has yet to send the empty body, meets the closed socket and prints nothing. The page
# changes nothing, so asking again is safe.
t_status_page() {
  local try
  for try in 1 2 3; do
    t_fcgi SCRIPT_NAME=/suwrap-status "$@"
    if [ "$T_RC" != 32 ] || [ -n "$T_OUT" ]; then return 0; fi
  done
}

# t_fcgi_client [--as USER] MODE ARGS...: tests/lib/fcgi_client.py against the daemon's
# socket, as root or as USER. Its output in T_OUT, exit status in T_RC.
t_fcgi_client() {
  local as=root
  if [ "$1" = --as ]; then as=$2; shift 2; fi
  T_RC=0
  T_OUT=$(env -i PATH=/usr/bin:/bin /usr/bin/setpriv --reuid="$as" --regid="$(id -g "$as")" --init-groups \
    "$T_PYTHON" "$T_FCGI_CLIENT" "$T_CGID_SOCK" "$@" 2>"$T_ROOT/stderr" </dev/null) || T_RC=$?
  T_ERR=$(cat "$T_ROOT/stderr")
  T_STATUS=""
}

# t_free_port: a TCP port of 127.0.0.1 that nothing listens on right now.
t_free_port() {
  "$T_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# t_fill_template SRC DST KEY=VALUE...: copies a snippet of install/webservers with each
# @KEY@ replaced by VALUE; fails if a placeholder stays unfilled.
t_fill_template() {
  local src=$1 dst=$2
  shift 2
  "$T_PYTHON" - "$src" "$dst" "$@" <<'PY'
import re, sys
src, dst, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
text = open(src).read()
for pair in pairs:
    key, _, value = pair.partition("=")
    text = text.replace("@" + key + "@", value)
left = sorted(set(re.findall(r"@[A-Z_]+@", text)))
if left:
    sys.exit("%s: placeholders left unfilled: %s" % (src, " ".join(left)))
open(dst, "w").write(text)
PY
}

# t_wait_port PORT PID: waits until 127.0.0.1:PORT accepts connections while PID lives.
t_wait_port() {
  local _
  for _ in $(seq 1 100); do
    if "$T_PYTHON" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' \
      "$1" 2>/dev/null; then return 0; fi
    t_alive "$2" || return 1
    sleep 0.05
  done
  return 1
}

# t_web_start NAME DIR CHECK-COMMAND... -- COMMAND...: CHECK-COMMAND checks a web server's
# configuration (the suite fails with what it printed, kept in DIR/check.err, when it
# rejects it); then COMMAND runs the server in the foreground of a background job (output
# appended to DIR/stderr), ended by the clean-up, and this returns once it listens on
# 127.0.0.1:$T_PORT (else the suite fails with the last lines of DIR/error.log and
# DIR/stderr). Sets T_WEB_PID.
t_web_start() {
  local name=$1 dir=$2 check=()
  shift 2
  while [ "$1" != -- ]; do check+=("$1"); shift; done
  shift
  if ! "${check[@]}" >"$dir/check.err" 2>&1; then
    echo "FAIL $T_NAME: $name rejects its configuration: $(tail -n 20 "$dir/check.err")" >&2
    exit 1
  fi
  "$@" </dev/null >>"$dir/stderr" 2>&1 &
  T_WEB_PID=$!
  t_on_cleanup "t_kill_pid $T_WEB_PID"
  if ! t_wait_port "$T_PORT" "$T_WEB_PID"; then
    echo "FAIL $T_NAME: $name did not start: $(tail -n 5 "$dir/error.log" "$dir/stderr" 2>/dev/null)" >&2
    exit 1
  fi
}

# t_start_nginx SERVER_CONF: a private nginx (master as root, workers as www-data, in
# the foreground of a background job) whose http block includes SERVER_CONF, a filled
# server block listening on 127.0.0.1:$T_PORT. Its files are under $T_ROOT/nginx.
t_start_nginx() {
  local dir=$T_ROOT/nginx
  mkdir -p "$dir/tmp"
  chown "$T_CALLER" "$dir/tmp"
  printf '%s\n' \
    "user $T_CALLER $(id -gn "$T_CALLER");" \
    "worker_processes 2;" \
    "daemon off;" \
    "pid $dir/nginx.pid;" \
    "error_log $dir/error.log info;" \
    "events { worker_connections 1024; }" \
    "http {" \
    "    access_log $dir/access.log;" \
    "    client_body_temp_path $dir/tmp/client_body;" \
    "    fastcgi_temp_path $dir/tmp/fastcgi;" \
    "    proxy_temp_path $dir/tmp/proxy;" \
    "    scgi_temp_path $dir/tmp/scgi;" \
    "    uwsgi_temp_path $dir/tmp/uwsgi;" \
    "    include /etc/nginx/mime.types;" \
    "    client_max_body_size 64m;" \
    "    include $1;" \
    "}" >"$dir/nginx.conf"
  t_web_start nginx "$dir" nginx -t -q -c "$dir/nginx.conf" -e "$dir/error.log" -p "$dir/" \
    -- nginx -c "$dir/nginx.conf" -e "$dir/error.log" -p "$dir/"
}

# t_start_apache SITE_CONF [MODULE...]: a private Apache 2.4 (event MPM, started as root,
# children as www-data) in the foreground of a background job, listening on
# 127.0.0.1:$T_PORT, with the modules every site needs plus MODULE... (the names of
# /usr/lib/apache2/modules/mod_NAME.so, e.g. proxy proxy_fcgi cgid actions alias),
# including SITE_CONF. Its files are under $T_ROOT/apache.
t_start_apache() {
  local dir=$T_ROOT/apache site=$1 m
  shift
  mkdir -p "$dir/run"
  {
    echo "ServerRoot $dir"
    echo "DefaultRuntimeDir $dir/run"
    echo "PidFile $dir/apache.pid"
    echo "Mutex file:$dir/run default"
    echo "ErrorLog $dir/error.log"
    echo "LogLevel warn"
    echo "Listen 127.0.0.1:$T_PORT"
    echo "ServerName 127.0.0.1"
    echo "User $T_CALLER"
    echo "Group $(id -gn "$T_CALLER")"
    for m in mpm_event authz_core mime dir "$@"; do
      echo "LoadModule ${m}_module /usr/lib/apache2/modules/mod_$m.so"
    done
    echo "TypesConfig /etc/mime.types"
    echo "LogFormat \"%h %l %u %t \\\"%r\\\" %>s %O\" common"
    echo "CustomLog $dir/access.log common"
    echo "<Directory />"
    echo "    AllowOverride None"
    echo "    Require all denied"
    echo "</Directory>"
    echo "Include $site"
  } >"$dir/apache2.conf"
  t_web_start Apache "$dir" apache2 -t -f "$dir/apache2.conf" -- apache2 -f "$dir/apache2.conf" -DFOREGROUND
}

# t_start_lighttpd SITE_CONF DOCROOT: a private lighttpd (started as root, running as
# www-data) in the foreground of a background job on 127.0.0.1:$T_PORT, serving DOCROOT
# and including SITE_CONF. Its files are under $T_ROOT/lighttpd.
t_start_lighttpd() {
  local dir=$T_ROOT/lighttpd
  mkdir -p "$dir/tmp"
  # lighttpd opens its logs after it has become www-data.
  chown "$T_CALLER" "$dir" "$dir/tmp"
  printf '%s\n' \
    "server.document-root = \"$2\"" \
    "server.bind = \"127.0.0.1\"" \
    "server.port = $T_PORT" \
    "server.username = \"$T_CALLER\"" \
    "server.groupname = \"$(id -gn "$T_CALLER")\"" \
    "server.pid-file = \"$dir/lighttpd.pid\"" \
    "server.errorlog = \"$dir/error.log\"" \
    "server.upload-dirs = ( \"$dir/tmp\" )" \
    "server.modules = ( \"mod_access\", \"mod_accesslog\" )" \
    "accesslog.filename = \"$dir/access.log\"" \
    "include \"$1\"" >"$dir/lighttpd.conf"
  t_web_start lighttpd "$dir" lighttpd -tt -f "$dir/lighttpd.conf" -- lighttpd -D -f "$dir/lighttpd.conf"
}

# t_start_caddy SITE_CONF: a private Caddy run as the caddy user (as Debian's
# caddy.service does), in the foreground of a background job, with no admin endpoint
# and no automatic HTTPS, importing SITE_CONF (whose site address is 127.0.0.1:$T_PORT).
# Its files are under $T_ROOT/caddy.
t_start_caddy() {
  local dir=$T_ROOT/caddy
  mkdir -p "$dir/data" "$dir/config"
  chown -R caddy:caddy "$dir"
  printf '%s\n' \
    "{" \
    "	admin off" \
    "	auto_https off" \
    "	storage file_system $dir/data" \
    "	log {" \
    "		output file $dir/error.log" \
    "	}" \
    "}" \
    "import $1" >"$dir/Caddyfile"
  local as_caddy=(env -i HOME="$dir" XDG_DATA_HOME="$dir/data" XDG_CONFIG_HOME="$dir/config" PATH=/usr/bin:/bin
    /usr/bin/setpriv --reuid=caddy --regid=caddy --init-groups caddy)
  t_web_start Caddy "$dir" "${as_caddy[@]}" validate --adapter caddyfile --config "$dir/Caddyfile" \
    -- "${as_caddy[@]}" run --adapter caddyfile --config "$dir/Caddyfile"
}

# t_stop_web NAME: SIGTERM to the web server started last; asserts that it ends.
t_stop_web() {
  t_case "$1 stops"
  kill -TERM "$T_WEB_PID"
  t_wait_exit "$T_WEB_PID" 15
  t_expect "it exited (status $T_EXIT)" test "$T_EXIT" != running
  T_WEB_PID=""
}
