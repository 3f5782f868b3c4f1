#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# import-suphp on a corpus of suphp.conf files in the forms suPHP's documentation and its
# packagings give them, each result checked against what suPHP 0.7.2 did with that file:
# nothing widened, each difference noted. (suPHP: values split at unquoted ':', the first
# piece read; umask with leading zeros; defaults min_uid = min_gid = 1, the webserver user it
# was built with; without PHPRC, php-cgi reads its own compiled-in php.ini.)
source "$(dirname "$0")/../lib/common.sh" panel
t_setup
CORPUS="$T_ROOT/corpus"
mkdir -p "$CORPUS"

# imported NAME TEXT: writes CORPUS/NAME.conf, runs import-suphp; T_OUT the TOML, T_ERR the notes.
imported() {
  printf '%s\n' "$2" >"$CORPUS/$1.conf"
  t_case "$1"
  t_policy import-suphp "$CORPUS/$1.conf"
  t_policy_exit 0
  printf '%s' "$T_OUT" >"$CORPUS/$1.toml"
}
# toml_is EXPRESSION VALUE: a Python expression over the result (named t) prints VALUE.
toml_is() {
  [ "$("$T_PYTHON" -c 'import sys, tomllib; t = tomllib.load(open(sys.argv[1], "rb"))
v = eval(sys.argv[2]); print(v)' "$CORPUS/$T_CASE.toml" "$1" 2>&1)" = "$2" ]
}

imported suphp-example '[global]
logfile=/var/log/suphp.log
loglevel=info
webserver_user=wwwrun
docroot=/var/www:${HOME}/public_html
env_path=/bin:/usr/bin
umask=0077
min_uid=100
min_gid=100
allow_file_group_writeable=false
allow_directory_group_writeable=false
check_vhost_docroot=false
errors_to_browser=false

[handlers]
;Handler for php-scripts
x-httpd-php="php:/usr/bin/php-cgi"
;Handler for CGI-scripts
x-suphp-cgi="execute:!self"'
t_expect "caller wwwrun, min ids 100" toml_is '[t["global"]["caller"], t["global"]["min_uid"], t["global"]["min_gid"]]' "['wwwrun', 100, 100]"
t_expect "unquoted env_path: suPHP ran PATH=/bin only, and that is carried over" toml_is 't["global"]["safe_path"]' /bin
t_expect "with a note" t_contains "$T_ERR" 'suPHP used only "/bin"'
t_expect "docroots: /var/www and /home/*/public_html, no more" toml_is 't["global"]["docroots"]' "['/var/www', '/home/*/public_html']"
t_expect "umask 077" toml_is 't["global"]["umask"]' 077
t_expect "/usr/bin/php-cgi: the machine's ini_dir, with a note to check it" t_contains "$T_ERR" "is not known from its path"

imported debian-package '[global]
webserver_user=www-data
docroot=/
umask=00022
[handlers]
application/x-httpd-suphp="php:/usr/bin/php-cgi7.4"
application/x-httpd-php5.6="php:/usr/lib/cgi-bin/php5.6"'
t_expect "umask=00022 is 022" toml_is 't["global"]["umask"]' 022
t_expect "docroot / (anywhere): nothing can be carried over, and nothing is allowed instead" toml_is 't["global"]["docroots"]' "[]"
t_expect "noted" t_contains "$T_ERR" "docroots = [] is written"
t_expect "php-cgi7.4 reads 7.4's php.ini, not the machine's newest" toml_is 't["handlers"]["php"]["ini_dir"]' /etc/php/7.4/cgi
t_expect "a MIME type with a dot imports (handler php5-6) with 5.6's ini_dir" toml_is 't["handlers"]["php5-6"]["ini_dir"]' /etc/php/5.6/cgi
t_expect "min_uid missing: suwrap's 1000 (narrower), noted" t_contains "$T_ERR" "suPHP's default was 1"

imported cpanel-ea4 '[global]
webserver_user=nobody
docroot=/home
[handlers]
application/x-httpd-ea-php74="php:/opt/cpanel/ea-php74/root/usr/bin/php-cgi"
application/x-httpd-ea-php81="php:/opt/cpanel/ea-php81/root/usr/bin/php-cgi"'
t_expect "each EA4 handler reads its own etc" toml_is '[h["ini_dir"] for h in t["handlers"].values()]' \
  "['/opt/cpanel/ea-php74/root/etc', '/opt/cpanel/ea-php81/root/etc']"
t_expect "webserver_user missing? no: nobody is the caller" toml_is 't["global"]["caller"]' nobody

imported fork-phprc-file '[global]
docroot=/srv/www
[handlers]
application/x-httpd-php="php:/usr/bin/php-cgi8.2"
application/x-httpd-php74="php:/usr/bin/php-cgi7.4"
[phprc_paths]
application/x-httpd-php=/etc/php/8.2/cgi/php.ini
application/x-httpd-php74=/srv/conf/php74-custom.ini'
t_expect "a phprc path naming php.ini: its directory" toml_is 't["handlers"]["php"]["ini_dir"]' /etc/php/8.2/cgi
t_expect "one naming another file: its directory, and a note that PHPRC is php.ini there" t_contains "$T_ERR" "suwrap cannot name"
t_expect "webserver_user missing: noted" t_contains "$T_ERR" "webserver_user: not set"

imported unquoted-handler '[global]
docroot=/var/www
[handlers]
x-httpd-php=php:/usr/bin/php-cgi8.2
x-suphp-cgi="execute:!self"'
t_expect "unquoted php:PATH: suPHP refused it (interpreter \"php\"), so no PHP handler" toml_is '"php" in t.get("handlers", {})' False
t_expect "noted" t_contains "$T_ERR" "unknown interpreter"
t_expect "the CGI handler stays" toml_is 't["handlers"]["cgi"]["kind"]' cgi

imported pattern-inside-component '[global]
docroot=/home/*/www*
[handlers]
x-httpd-php="php:/usr/bin/php-cgi8.2"'
t_expect "'*' inside a component is not widened: nothing allowed" toml_is 't["global"]["docroots"]' "[]"

t_case "every result loads: config check parses each (as root's file)"
for f in "$CORPUS"/*.toml; do
  install -o root -g root -m 0644 "$f" "$T_CONF_DIR/$(basename "$f")"
  t_policy config check --json --config "$T_CONF_DIR/$(basename "$f")"
  t_expect "$(basename "$f") parses (not a syntax or key error)" eval '! t_contains "$T_OUT" "unknown key" && ! t_contains "$T_OUT" "expected"'
done
t_done
