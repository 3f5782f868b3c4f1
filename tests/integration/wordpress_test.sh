#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# WordPress end to end: Debian's wordpress package on a private MariaDB, in one account,
# served by real nginx -> suwrap-cgid -> suwrap, on a port other than 80 (the host-port line
# of docs/deploy-nginx.md). The same walk twice on a fresh database, once per request
# (handler kind php) and once warm (kind php-fcgi, the account's pool): the installer, the
# login, a post made through the REST API, pretty permalinks, a media upload, ten wp-admin
# pages, the REST API's post list, and WP-Cron started the way WordPress starts it, by a
# request to its own wp-cron.php that it drops after 10 ms. Every step is judged by its
# effect (the database, the front page, the files), every file WordPress writes must be the
# account's, suwrap's log must hold no refusal and PHP's error log nothing. Warm, a spawn of
# wp-cron.php that is still waiting in suwrap-cgid when WordPress drops it is not started
# (docs/deploy-nginx.md, a client that goes away): the suite then visits again once
# WordPress's lock has passed, as visitors would, and prints how many spawns it took; per
# request the first must do.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/cgid_site.sh"
source "$(dirname "$0")/../lib/wordpress_site.sh"
command -v nginx >/dev/null || { echo "SKIP $T_NAME: nginx is not installed"; exit 77; }
WP_SOURCE=$WPS_SOURCE
[ -f "$WP_SOURCE/wp-settings.php" ] || { echo "SKIP $T_NAME: WordPress is not installed (Debian's wordpress package)"; exit 77; }
for tool in mariadbd mariadb-install-db mariadb mariadb-admin; do
  command -v "$tool" >/dev/null || { echo "SKIP $T_NAME: $tool is not installed (Debian's mariadb-server package)"; exit 77; }
done
"$T_PHP_CGI" -m 2>/dev/null | grep -qx mysqli || { echo "SKIP $T_NAME: php-cgi has no mysqli (Debian's php-mysql package)"; exit 77; }
t_require_warm
t_setup

t_user WP
ADMIN_PASS="pw-$RANDOM-$RANDOM-$RANDOM"
DB_PASS="db-$RANDOM-$RANDOM-$RANDOM"
PHP_ERRORS=$WP_HOME/php-errors.log
WORKERS=3
# Front-page visits, each 7 s apart at most, for WordPress to spawn the cron run (warm: see
# the WP-Cron step).
CRON_VISITS=6

# ---- MariaDB: a private server, its own datadir and socket, no network ---------------------
DB_DIR=$T_ROOT/mariadb
db_started() { t_on_cleanup "t_kill_pid $1"; }
wps_start_mariadb "$DB_DIR" db_started 2>"$T_ROOT/mariadb.why" ||
  { echo "FAIL $T_NAME: $(cat "$T_ROOT/mariadb.why")" >&2; exit 1; }
sql() { wps_sql "$@"; }
wps_create_user "$DB_PASS"
option() { sql "SELECT option_value FROM wordpress.wp_options WHERE option_name = '$1'"; }

# ---- WordPress's files, the account's own ---------------------------------------------------
wps_copy_tree "$WP_DOCROOT"
t_file "$WP" 0600 "$WP_DOCROOT/wp-config.php" "$(wps_config "$DB_PASS" "// A spawn of wp-cron.php that never ran holds cron back this long (60 s by default).
define('WP_CRON_LOCK_TIMEOUT', 5);")
"
# The cron event's callback: it outlives by two seconds the request WordPress dropped after
# 10 ms, then leaves a marker with the uid it ran as.
t_file "$WP" 0644 "$WP_DOCROOT/wp-content/mu-plugins/suwrap-test-cron.php" '<?php
add_action("suwrap_test_cron", function ($tag) {
    sleep(2);
    file_put_contents(WP_CONTENT_DIR . "/cron-" . preg_replace("/[^a-z]/", "", $tag) . ".txt",
        "uid=" . posix_getuid() . " doing_cron=" . (wp_doing_cron() ? 1 : 0));
});'
# The machine has no network: WordPress's list of translations from WordPress.org is empty
# (not a warning on every settings page).
t_file "$WP" 0644 "$WP_DOCROOT/wp-content/mu-plugins/suwrap-test-offline.php" '<?php
add_filter("pre_site_transient_available_translations", function () { return array(); });'
# schedule.php?tag=T: schedules the event for a minute ago, without starting cron itself.
t_file "$WP" 0644 "$WP_DOCROOT/schedule.php" '<?php
define("DISABLE_WP_CRON", true);
require __DIR__ . "/wp-load.php";
header("Content-Type: text/plain");
echo wp_schedule_single_event(time() - 60, "suwrap_test_cron", array((string) ($_GET["tag"] ?? ""))) ? "scheduled" : "refused";'
chown -R "$WP:$WP_GID" "$WP_DOCROOT"

# ---- PHP and suwrap: one account, a per-request and a warm handler -------------------------
t_site_ini "memory_limit = 256M
post_max_size = 16M
upload_max_filesize = 16M
display_errors = Off
log_errors = On
error_log = $PHP_ERRORS
"
T_CONFIG_TABLES="$(t_php_handler php php "ini_dir=\"$T_ROOT/etc/php\"")

$(t_php_handler php-warm php-fcgi "ini_dir=\"$T_ROOT/etc/php\"" "workers=$WORKERS" max_requests=500 idle_seconds=60 'extensions=[]')"
t_config
# account_with HANDLER: the account's file, its PHP run by HANDLER.
account_with() {
  t_account wp "user = \"$WP\"
docroots = [\"$WP_DOCROOT\"]
php_handler = \"$1\""
}

# ---- nginx: the documented server block, the host-port line, WordPress's try_files ----------
T_PORT=$(t_free_port)
WP_URL="http://127.0.0.1:$T_PORT"
t_on_cleanup "pkill -KILL -f '^$T_SUWRAP --pool\$'"
# WORDPRESS_KEEP_LOGS=DIR: the logs (suwrap's, the daemon's, nginx's, PHP's, MariaDB's) are
# copied there before the clean-up removes them, to be read after a failure.
if [ -n "${WORDPRESS_KEEP_LOGS:-}" ]; then
  t_on_cleanup "mkdir -p '$WORDPRESS_KEEP_LOGS'; cp -r '$T_ROOT/log' '$T_ROOT/run/cgid.log' '$T_ROOT/nginx/access.log' \
'$T_ROOT/nginx/error.log' '$PHP_ERRORS' '$DB_DIR/error.log' '$WORDPRESS_KEEP_LOGS/'"
fi
account_with php
t_start_cgid --config "$SUWRAP_CONFIG_PATH" --pool-dir "$T_ROOT/run/pools"
t_fill_template "$T_WEBSERVERS_DIR/nginx-suwrap.conf" "$T_ROOT/nginx-site.conf" \
  LISTEN="127.0.0.1:$T_PORT" SERVER_NAME=127.0.0.1 DOCROOT="$WP_DOCROOT" SOCKET="$T_CGID_SOCK"
sed -i "\\|include /etc/nginx/fastcgi_params;|r $T_WEBSERVERS_DIR/nginx-suwrap-host-port.conf" "$T_ROOT/nginx-site.conf"
# Pretty permalinks: what is not a file or directory is WordPress's to route.
sed -i 's|^\( *\)index index.php index.html;|&\n\1location / { try_files $uri $uri/ /index.php?$args; }|' \
  "$T_ROOT/nginx-site.conf"
grep -q 'try_files' "$T_ROOT/nginx-site.conf" || { echo "FAIL $T_NAME: no try_files in the server block" >&2; exit 1; }
t_start_nginx "$T_ROOT/nginx-site.conf"

# ---- helpers ----------------------------------------------------------------------------------
JAR=$T_ROOT/cookies
# wp PATH [CURL ARGS...]: t_curl for WP_URL/PATH with the cookie jar; headers in curl.headers.
wp() {
  local path=$1
  shift
  t_curl "$WP_URL/$path" -b "$JAR" -c "$JAR" -D "$T_ROOT/curl.headers" "$@"
}
header() { sed -n "s/^$1: *\(.*\)\r$/\1/Ip" "$T_ROOT/curl.headers" | sed -n 1p; }
# json EXPR: a value of the last JSON answer, EXPR Python on `d` (e.g. d["id"]).
json() { "$T_PYTHON" -c "import json, sys; d = json.load(open(sys.argv[1])); print($1)" "$T_ROOT/curl.body" 2>/dev/null; }
# not_the_accounts: paths under the account's home that are not owned by its user.
not_the_accounts() { find "$WP_HOME" ! -user "$WP" -printf '%p\n' | sed -n 1,5p; }
refusals() { t_log_new | awk '$1 == "decision" && $2 != "allow"' | sed -n 1,3p; }
others() { t_log_new | awk -v u="$WP" '$1 == "decision" && $4 != u' | sed -n 1,3p; }
php_errors() { if [ -f "$PHP_ERRORS" ]; then sed -n 1,5p "$PHP_ERRORS"; fi; }

# walk MODE: the whole walk on a fresh database; MODE names it ("php" or "warm").
walk() {
  local mode=$1 start=$SECONDS nonce id slug link file page structure
  sql "DROP DATABASE IF EXISTS wordpress; CREATE DATABASE wordpress"
  rm -rf "$WP_DOCROOT/wp-content/uploads" "$WP_DOCROOT"/wp-content/cron-*.txt "$PHP_ERRORS" "$JAR"
  t_log_mark

  t_case "$mode: the installer (wp-admin/install.php, step 2)"
  wp wp-admin/install.php?step=2 --data-urlencode "weblog_title=suwrap $mode" -d user_name=admin \
    --data-urlencode "admin_password=$ADMIN_PASS" --data-urlencode "admin_password2=$ADMIN_PASS" -d pw_weak=on \
    -d admin_email=admin@example.com -d blog_public=0 -d language=
  t_expect "200 (got $T_STATUS)" test "$T_STATUS" = 200
  t_expect "the installer says Success" t_contains "$T_OUT" "Success!"
  t_expect "the site's address carries its port (siteurl $(option siteurl))" test "$(option siteurl)" = "$WP_URL"
  t_expect "the blog's name is stored" test "$(option blogname)" = "suwrap $mode"
  t_expect "the admin user exists" test "$(sql "SELECT user_login FROM wordpress.wp_users")" = admin
  # The installer turns pretty permalinks on when its own request for the first post's pretty
  # address (through nginx, as the account) answers as WordPress within 5 s; it tries
  # /index.php/... (PATH_INFO) next. Either shows its request to its own site came back.
  structure=$(option permalink_structure)
  t_expect "the installer's request to its own site came back: permalinks on ($structure)" \
    eval '[[ "$structure" =~ ^(/index\.php)?/%year%/%monthnum%/%day%/%postname%/$ ]]'

  t_case "$mode: the login (wp-login.php, cookies)"
  wp wp-login.php
  t_expect "the login form: 200 (got $T_STATUS)" test "$T_STATUS" = 200
  wp wp-login.php -d log=admin --data-urlencode "pwd=$ADMIN_PASS" -d wp-submit=Log+In -d testcookie=1 \
    --data-urlencode "redirect_to=$WP_URL/wp-admin/"
  t_expect "302 to the dashboard (got $T_STATUS, Location: $(header Location))" \
    test "$T_STATUS $(header Location)" = "302 $WP_URL/wp-admin/"
  t_expect "a logged-in cookie" grep -q 'wordpress_logged_in_' "$JAR"
  wp wp-admin/
  t_expect "the dashboard: 200 (got $T_STATUS)" test "$T_STATUS" = 200
  t_expect "the dashboard greets its user" t_contains "$T_OUT" "Howdy, <span class=\"display-name\">admin"

  t_case "$mode: a post through the REST API (cookie and nonce)"
  wp "wp-admin/admin-ajax.php?action=rest-nonce"
  nonce=$T_OUT
  t_expect "a nonce (got: $nonce)" eval '[[ "$nonce" =~ ^[0-9a-f]{10}$ ]]'
  wp "?rest_route=/wp/v2/posts" -H "X-WP-Nonce: $nonce" --data-urlencode "title=Hello from $mode" \
    --data-urlencode "content=<p>Written by suwrap's $mode handler.</p>" -d status=publish
  t_expect "201 (got $T_STATUS)" test "$T_STATUS" = 201
  id=$(json 'd["id"]')
  slug=$(json 'd["slug"]')
  link=$(json 'd["link"]')
  t_expect "its address is the site's, with the port (got $link)" \
    test "$link" = "$WP_URL${structure%%/%year%*}/$(date -u +%Y/%m/%d)/$slug/"
  t_expect "the post is in the database, published" \
    test "$(sql "SELECT post_status FROM wordpress.wp_posts WHERE ID = ${id:-0}")" = publish
  wp ""
  t_expect "the front page: 200 (got $T_STATUS)" test "$T_STATUS" = 200
  t_expect "the front page shows the post" t_contains "$T_OUT" "Hello from $mode"
  t_expect "and links to it" t_contains "$T_OUT" "href=\"$link\""

  t_case "$mode: pretty permalinks (options-permalink.php; nginx try_files to index.php)"
  wp wp-admin/options-permalink.php
  local form_nonce
  form_nonce=$(printf '%s' "$T_OUT" | sed -n 's/.*name="_wpnonce" value="\([0-9a-f]*\)".*/\1/p' | sed -n 1p)
  t_expect "the form has its nonce" test -n "$form_nonce"
  t_expect "WordPress sees nginx: it offers structures without index.php" \
    t_contains "$T_OUT" 'type="radio" value="/%year%/%monthnum%/%day%/%postname%/"'
  wp wp-admin/options-permalink.php -d "_wpnonce=$form_nonce" -d _wp_http_referer=/wp-admin/options-permalink.php \
    --data-urlencode 'selection=/%postname%/' --data-urlencode 'permalink_structure=/%postname%/' -d submit=Save
  t_expect "302 back to the form (got $T_STATUS, Location: $(header Location))" \
    test "$T_STATUS $(header Location)" = "302 $WP_URL/wp-admin/options-permalink.php?settings-updated=true"
  # As a browser does: the form again, which writes the new rewrite rules.
  wp "wp-admin/options-permalink.php?settings-updated=true"
  t_expect "the form says the structure is updated" t_contains "$T_OUT" "Permalink structure updated."
  t_expect "permalink_structure is /%postname%/ (got $(option permalink_structure))" \
    test "$(option permalink_structure)" = "/%postname%/"
  wp "$slug/"
  t_expect "/$slug/: 200 (got $T_STATUS)" test "$T_STATUS" = 200
  t_expect "/$slug/ is the post" t_contains "$T_OUT" "Written by suwrap&#8217;s $mode handler."
  wp "no-such-page-$RANDOM/"
  t_expect "an unknown path is WordPress's 404 (got $T_STATUS)" \
    eval 'test "$T_STATUS" = 404 && t_contains "$T_OUT" "wp-content/themes"'

  t_case "$mode: a media upload (REST /wp/v2/media)"
  wp wp-json/wp/v2/media -H "X-WP-Nonce: $nonce" -H 'Content-Type: image/png' \
    -H "Content-Disposition: attachment; filename=suwrap-$mode.png" --data-binary @"$WP_SOURCE/wp-admin/images/w-logo-blue.png"
  t_expect "201 (got $T_STATUS)" test "$T_STATUS" = 201
  file=$WP_DOCROOT/wp-content/uploads/$(json 'd["media_details"]["file"]')
  t_expect "the file is in wp-content/uploads (${file#"$WP_DOCROOT"/})" \
    eval 'test -f "$file" && cmp -s "$file" "$WP_SOURCE/wp-admin/images/w-logo-blue.png"'
  t_expect "owned by the account's user ($(stat -c %U "$file" 2>/dev/null))" test "$(stat -c %U "$file" 2>/dev/null)" = "$WP"
  t_expect "its uploads directory too" test "$(stat -c %U "$WP_DOCROOT/wp-content/uploads")" = "$WP"
  t_curl "$(json 'd["source_url"]')"
  t_expect "nginx serves it (got $T_STATUS)" eval 'test "$T_STATUS" = 200 && cmp -s "$T_ROOT/curl.body" "$file"'

  t_case "$mode: ten wp-admin pages answer 200 without PHP errors"
  local bad=""
  for page in index.php edit.php post-new.php "edit.php?post_type=page" upload.php edit-comments.php themes.php \
    plugins.php users.php options-general.php; do
    wp "wp-admin/$page"
    if [ "$T_STATUS" != 200 ] || ! t_contains "$T_OUT" '</html>' || t_contains "$T_OUT" 'Fatal error' \
      || t_contains "$T_OUT" 'Warning</b>:'; then
      bad+=" $page($T_STATUS)"
    fi
  done
  t_expect "all ten whole and 200${bad:+ (not:$bad)}" test -z "$bad"
  t_expect "PHP's error log is empty ($(php_errors))" test -z "$(php_errors)"

  t_case "$mode: the REST API (/wp-json/wp/v2/posts)"
  wp wp-json/wp/v2/posts
  t_expect "200 (got $T_STATUS)" test "$T_STATUS" = 200
  t_expect "it lists the post" test "$(json '[p["id"] for p in d if p["slug"] == "'"$slug"'"][0]')" = "$id"
  link=$(json 'd[0]["link"]')
  t_expect "its link is the pretty one, with the port (got $link)" test "$link" = "$WP_URL/$slug/"

  t_case "$mode: WP-Cron: WordPress's own request to wp-cron.php, dropped after 10 ms, runs the event"
  # The events the installer scheduled are due at once, so the first visits spawned cron
  # already; a spawn leaves WordPress's lock for WP_CRON_LOCK_TIMEOUT (5 s here) unless its
  # run ends first. Until then no visit spawns.
  local _ spawns found=0 visits=0 lock
  for _ in $(seq 1 50); do
    lock=$(option _transient_doing_cron)
    [ -z "$lock" ] || [ $(($(date +%s) - ${lock%%.*})) -gt 5 ] && break
    sleep 0.2
  done
  wp "schedule.php?tag=$mode"
  t_expect "the event is scheduled, due a minute ago (got $T_STATUS $T_OUT)" test "$T_OUT" = scheduled
  local seen
  seen=$(wc -l <"$T_ROOT/nginx/access.log")
  # Per request, the first visit's spawn runs the event: suwrap has started the script before
  # its client leaves, and the daemon then only closes the script's output. Warm, a spawn
  # whose client has left before a php-cgi worker accepted the gate's connection is ended by
  # the gate without running (php-fpm would still run it from its listen queue): then the
  # lock holds for its 5 s and a later visit spawns again, as it would on a real site.
  while [ "$found" = 0 ] && [ "$visits" -lt "$CRON_VISITS" ]; do
    visits=$((visits + 1))
    wp ""
    [ "$T_STATUS" = 200 ] || break
    for _ in $(seq 1 70); do
      [ -s "$WP_DOCROOT/wp-content/cron-$mode.txt" ] && { found=1; break; }
      sleep 0.1
    done
  done
  # nginx's status of each spawn since the visits began (499: its client, WordPress, left).
  spawns=$(tail -n +"$((seen + 1))" "$T_ROOT/nginx/access.log" | awk '$7 ~ /^\/wp-cron\.php\?doing_wp_cron=/ { print $9 }' |
    tr '\n' ' ')
  echo "     ($mode: $visits front-page visits; nginx's statuses of WordPress's spawns of wp-cron.php: $spawns)"
  t_expect "the visits answer 200 (last: $T_STATUS)" test "$T_STATUS" = 200
  t_expect "the callback ran to its end as the account (marker: $(cat "$WP_DOCROOT/wp-content/cron-$mode.txt" 2>/dev/null))" \
    test "$(cat "$WP_DOCROOT/wp-content/cron-$mode.txt" 2>/dev/null)" = "uid=$WP_UID doing_cron=1"
  if [ "$mode" = php ]; then
    t_expect "on the first visit ($visits visits)" test "$visits" = 1
  fi
  t_expect "WordPress spawned wp-cron.php and dropped each request: nginx logged 499 ($spawns)" \
    eval '[[ "$spawns" =~ ^(499 )+$ ]]'
  t_expect "the event is no longer scheduled" eval '! option cron | grep -q suwrap_test_cron'

  t_case "$mode: every PHP request ran as the account"
  t_expect "no refusal in suwrap's log ($(refusals))" test -z "$(refusals)"
  t_expect "no decision for another user ($(others))" test -z "$(others)"
  t_expect "at least one allow line for the account" eval 't_log_new | grep -q "^decision allow null $WP "'
  t_expect "everything under the account's home is its user's ($(not_the_accounts))" test -z "$(not_the_accounts)"
  t_expect "PHP's error log is empty ($(php_errors))" test -z "$(php_errors)"
  echo "     ($mode: the walk took $((SECONDS - start)) s)"
}

walk php
t_stop_cgid
account_with php-warm
t_start_cgid --config "$SUWRAP_CONFIG_PATH" --pool-dir "$T_ROOT/run/pools"
walk warm
t_case "warm: the account's pool served it"
t_expect "its socket is there" test -S "$T_ROOT/run/pools/$WP_UID-php-warm.sock"
t_stop_cgid
t_stop_web nginx
t_done
