#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The demo: two hosting accounts, each with a small PHP site, served by nginx on
# 127.0.0.1 through suwrap-cgid and the set-uid suwrap, each page running as its own
# account's user: demoalice's with one php-cgi per request, demobob's warm (a pool of
# php-cgi workers of demobob's, started on the first request, ended when idle). On a
# fresh Debian 12 machine, as root:
#
#     ./install/demo.sh            # set up and start (PORT=8080 by default)
#     ./install/demo.sh stop       # stop it and remove everything it made
#
# Everything lives in its own places, never in a real installation's:
#   /opt/suwrap-demo          the programs (suwrap set-uid root:www-data 4750), nginx config, logs
#   /etc/suwrap-demo          the configuration compiled into this build of suwrap
#   /srv/suwrap-demo/www      the two accounts' docroots
#   /run/suwrap-demo          the daemon's socket
#   users demoalice, demobob
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
port="${PORT:-8080}"
prefix=/opt/suwrap-demo
confdir=/etc/suwrap-demo
www=/srv/suwrap-demo/www
rundir=/run/suwrap-demo
build="$here/build/demo"
users=(demoalice demobob)

say() { printf '%s\n' "$*"; }

stop() {
  if [ -f "$prefix/nginx/nginx.pid" ]; then
    kill "$(cat "$prefix/nginx/nginx.pid")" 2>/dev/null || true
  fi
  if [ -f "$rundir/cgid.pid" ]; then
    kill "$(cat "$rundir/cgid.pid")" 2>/dev/null || true
  fi
  for _ in $(seq 1 50); do
    pgrep -f "$prefix/sbin/suwrap-cgid" >/dev/null || pgrep -f "nginx -c $prefix/nginx/nginx.conf" >/dev/null || break
    sleep 0.1
  done
  pkill -KILL -f "$prefix/sbin/suwrap-cgid" 2>/dev/null || true
  pkill -KILL -f "$prefix/lib/suwrap/suwrap --pool" 2>/dev/null || true
  pkill -KILL -f "nginx -c $prefix/nginx/nginx.conf" 2>/dev/null || true
  for u in "${users[@]}"; do
    if id "$u" >/dev/null 2>&1; then
      pkill -KILL -u "$u" 2>/dev/null || true
      userdel "$u" 2>/dev/null || true
    fi
  done
  rm -rf "$prefix" "$confdir" /srv/suwrap-demo "$rundir"
}

if [ "$(id -u)" -ne 0 ]; then
  say "install/demo.sh: run as root: it installs a set-uid program and creates two users" >&2
  exit 2
fi

case "${1:-start}" in
  stop)
    stop
    say "The demo is stopped and everything it made is removed."
    exit 0
    ;;
  start) ;;
  *)
    say "usage: install/demo.sh [start|stop]" >&2
    exit 2
    ;;
esac

# Running twice works: the earlier demo goes first.
stop

"$here/install/deps.sh"

say "== building suwrap for the demo (prefix $prefix, configuration $confdir/suwrap.toml)"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DSUWRAP_CONFIG="$confdir/suwrap.toml" -DSUWRAP_CALLER_GROUP=www-data \
  -DSUWRAP_BUILD_TESTS=OFF -DSUWRAP_INSTALL_SYSTEM_FILES=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
cmake --install "$build" >/dev/null
ls -l "$prefix/lib/suwrap/suwrap"

say "== two accounts and their sites"
mkdir -p "$www" "$prefix/log" "$prefix/nginx" "$rundir"
chmod 0755 /srv/suwrap-demo "$www" "$prefix" "$prefix/log"
chown www-data:www-data "$rundir"
php_ini_dir=$(ls -d /etc/php/*/cgi | sort -V | tail -n 1)
for u in "${users[@]}"; do
  useradd --user-group --no-create-home --home-dir "$www/$u" --shell /usr/sbin/nologin "$u"
  mkdir -p "$www/$u"
  cat >"$www/$u/index.php" <<'PHP'
<?php
$me = posix_getpwuid(posix_geteuid());
header('Content-Type: text/html; charset=utf-8');
echo "<h1>Hello from {$me['name']}</h1>\n";
echo "<p>This page runs as uid " . posix_getuid() . " (" . htmlspecialchars($me['name']) . "), not as the web server.</p>\n";
echo "<p><a href=\"form.php\">A form that posts back</a></p>\n";
PHP
  cat >"$www/$u/form.php" <<'PHP'
<?php
$me = posix_getpwuid(posix_geteuid())['name'];
header('Content-Type: text/html; charset=utf-8');
echo "<h1>{$me}'s form</h1>\n";
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    echo "<p>You posted: <b>" . htmlspecialchars($_POST['message'] ?? '') . "</b>, received by {$me}.</p>\n";
}
echo '<form method="post"><input name="message" value="hello"><button>Send</button></form>';
PHP
  chown -R "$u:$u" "$www/$u"
  chmod 0755 "$www/$u"
  chmod 0644 "$www/$u"/*.php
done
# A page that is refused: group-writable, which another member of the group could change.
cp "$www/demoalice/index.php" "$www/demoalice/refused.php"
chown demoalice:demoalice "$www/demoalice/refused.php"
chmod 0664 "$www/demoalice/refused.php"

cat >"$confdir/suwrap.toml" <<EOF
[global]
caller   = "www-data"
docroots = ["$www/*"]
log      = "$prefix/log/suwrap.log"

[handlers.php]
kind = "php"
path = "/usr/bin/php-cgi"
ini_dir = "$php_ini_dir"
extensions = [".php"]

# Warm mode (docs/warm-mode.md): for the accounts whose php_handler names it.
[handlers.php-warm]
kind = "php-fcgi"
path = "/usr/bin/php-cgi"
ini_dir = "$php_ini_dir"
workers = 2
idle_seconds = 60
extensions = []
EOF
chown root:root "$confdir/suwrap.toml"
chmod 0644 "$confdir/suwrap.toml"
mkdir -p "$confdir/accounts.d"
chmod 0755 "$confdir/accounts.d"
printf 'user = "demobob"\ndocroots = ["%s"]\nphp_handler = "php-warm"\n' "$www/demobob" >"$confdir/accounts.d/demobob.toml"
chmod 0644 "$confdir/accounts.d/demobob.toml"
"$prefix/bin/suwrap-policy" config check

say "== suwrap-cgid (as www-data) and nginx on 127.0.0.1:$port"
setpriv --reuid=www-data --regid=www-data --init-groups \
  "$prefix/sbin/suwrap-cgid" --listen "$rundir/cgid.sock" --wrapper "$prefix/lib/suwrap/suwrap" \
  --status-path /suwrap-status --log-file "$rundir/cgid.log" --pool-dir "$rundir/pools" \
  </dev/null >/dev/null 2>&1 &
echo $! >"$rundir/cgid.pid"
for _ in $(seq 1 50); do [ -S "$rundir/cgid.sock" ] && break; sleep 0.1; done

cat >"$prefix/nginx/nginx.conf" <<EOF
user www-data;
worker_processes 1;
pid $prefix/nginx/nginx.pid;
error_log $prefix/nginx/error.log;
events { worker_connections 256; }
http {
    access_log $prefix/nginx/access.log;
    client_body_temp_path $prefix/nginx/body;
    fastcgi_temp_path $prefix/nginx/fastcgi;
    proxy_temp_path $prefix/nginx/proxy;
    uwsgi_temp_path $prefix/nginx/uwsgi;
    scgi_temp_path $prefix/nginx/scgi;
    server {
        listen 127.0.0.1:$port;
        root $www;
        index index.php;
        location = /suwrap-status {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_NAME /suwrap-status;
            fastcgi_pass unix:$rundir/cgid.sock;
        }
        location ~ \.php\$ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_pass unix:$rundir/cgid.sock;
        }
    }
}
EOF
nginx -c "$prefix/nginx/nginx.conf"

for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/demoalice/index.php" >/dev/null 2>&1 && break; sleep 0.1; done

say ""
say "== the demo runs. Open:"
for u in "${users[@]}"; do
  say "   http://127.0.0.1:$port/$u/index.php   ($(curl -s "http://127.0.0.1:$port/$u/index.php" | sed -n 's/.*<p>\(This page runs as uid [0-9]*\).*/\1/p'))"
  say "   http://127.0.0.1:$port/$u/form.php"
done
say "   http://127.0.0.1:$port/suwrap-status   (the daemon's metrics)"
say ""
say "== demobob is served warm: its first request started a pool of demobob's php-cgi workers"
curl -s "http://127.0.0.1:$port/suwrap-status" | grep -E '^suwrap_cgid_(pools_running|pool_starts_total) ' | sed 's/^/   /' || true
ps -o user=,pid=,args= -u demobob | sed 's/^/   /' || true
say ""
say "== a refused request: $www/demoalice/refused.php is writable by its group"
say "   \$ curl -i http://127.0.0.1:$port/demoalice/refused.php"
curl -s -i "http://127.0.0.1:$port/demoalice/refused.php" | sed -n 1p | sed 's/^/   /'
say "   the reason, from $prefix/log/suwrap.log:"
grep '"decision":"deny"' "$prefix/log/suwrap.log" | tail -n 1 | sed 's/^/   /'
say "   and as suwrap-policy explains it:"
say "   \$ $prefix/bin/suwrap-policy check $www/demoalice/refused.php"
"$prefix/bin/suwrap-policy" check "$www/demoalice/refused.php" | grep -E '^FAIL' | sed 's/^/   /' || true
say ""
say "== to stop it all and remove what it made:"
say "   $here/install/demo.sh stop"
