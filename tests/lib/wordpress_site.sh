# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# One WordPress site from Debian's wordpress package on a private MariaDB, what the WordPress
# suite (tests/integration/wordpress_test.sh) and the benchmark's WordPress payload
# (bench/run.sh --payloads wp) share. Sourced, never run; needs root (MariaDB runs as mysql).
#
# Sets WPS_SOURCE (Debian's tree); wps_start_mariadb sets WPS_DB_SOCK and WPS_DB_PID.

WPS_SOURCE=/usr/share/wordpress

# wps_start_mariadb DIR ON_START: a private MariaDB server, its datadir and socket in DIR, no
# network; ON_START PID runs as soon as it is started (the caller's way to stop it at exit),
# before it is waited for. Returns 1, with the reason on standard error, if it does not start.
wps_start_mariadb() {
  local dir=$1 _
  local opts=(--datadir="$dir/data" --innodb-buffer-pool-size=32M --innodb-log-file-size=8M)
  WPS_DB_SOCK=$dir/mysqld.sock
  mkdir -p "$dir"
  chown mysql:mysql "$dir"
  chmod 0755 "$dir"
  if ! mariadb-install-db --no-defaults --user=mysql "${opts[@]}" --auth-root-authentication-method=socket \
    --skip-test-db >"$dir/install.log" 2>&1; then
    echo "mariadb-install-db: $(tail -n 5 "$dir/install.log")" >&2
    return 1
  fi
  # Descriptor 9 is the benchmark's lock: the server must not hold it.
  mariadbd --no-defaults --user=mysql "${opts[@]}" --socket="$WPS_DB_SOCK" --skip-networking \
    --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" </dev/null >/dev/null 2>&1 9>&- &
  WPS_DB_PID=$!
  "$2" "$WPS_DB_PID"
  for _ in $(seq 1 300); do
    mariadb-admin --no-defaults --socket="$WPS_DB_SOCK" -u root ping >/dev/null 2>&1 && return 0
    [ -d "/proc/$WPS_DB_PID" ] || break
    sleep 0.1
  done
  echo "mariadbd did not start: $(tail -n 5 "$dir/error.log")" >&2
  return 1
}

# wps_sql STATEMENTS: run as MariaDB's root (unix_socket authentication: we are root); the
# rows tab-separated, without column names.
wps_sql() { mariadb --no-defaults --socket="$WPS_DB_SOCK" -u root -N -B -e "$1"; }

# wps_create_user PASSWORD: the user "wp" with PASSWORD, given the database "wordpress"
# (which the caller creates).
wps_create_user() {
  wps_sql "CREATE USER 'wp'@'localhost' IDENTIFIED BY '$1'; GRANT ALL ON wordpress.* TO 'wp'@'localhost';"
}

# wps_copy_tree DOCROOT: Debian's tree links into /etc/wordpress, /var/lib/wordpress and other
# packages: copied with the links resolved, without Debian's wp-config.php (which reads
# /etc/wordpress/config-HOST.php) and .htaccess. The caller gives the files to the account.
wps_copy_tree() {
  cp -rL "$WPS_SOURCE/." "$1/"
  rm -f "$1/.htaccess" "$1/wp-config.php"
}

# wps_config PASSWORD [PHP]: a plain wp-config.php for the database "wordpress" as wps_create_user's user, PHP (more
# defines) before WordPress is loaded; on standard output.
wps_config() {
  local salts="" key
  for key in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
    salts+="define('$key', '$(head -c 48 /dev/urandom | base64 -w0)');"$'\n'
  done
  cat <<EOF
<?php
define('DB_NAME', 'wordpress');
define('DB_USER', 'wp');
define('DB_PASSWORD', '$1');
define('DB_HOST', 'localhost:$WPS_DB_SOCK');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
$salts\$table_prefix = 'wp_';
define('WP_DEBUG', false);
// No request leaves the machine; WordPress's requests to its own site still go out.
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
${2:+$2
}// Debian's install.php stores these two as the upload options (its config files set them).
\$upload_path = '';
\$upload_url_path = '';
if (!defined('ABSPATH')) {
    define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
EOF
}
