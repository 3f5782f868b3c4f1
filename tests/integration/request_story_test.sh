#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One story per request: through real nginx and suwrap-cgid (--log-format json), a request's
# id is in suwrap-cgid's line about it, in suwrap's decision and exit lines (per request) and
# in the decision line of a refusal by the account's gate (warm) — nginx's own $request_id
# (install/webservers/nginx-suwrap-request-id.conf, --request-id-param HTTP_X_REQUEST_ID),
# else one suwrap-cgid makes; never one a client sent. The exit line alone says whose run it was (account, user, handler,
# script, host) and how it went. suwrap run directly takes Apache's UNIQUE_ID, or makes one.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/cgid_site.sh"
command -v nginx >/dev/null || { echo "SKIP $T_NAME: nginx is not installed"; exit 77; }
t_require_warm
t_setup

t_user ALICE
t_user BOB
mkdir -p "$T_ROOT/etc/php"
chmod 0755 "$T_ROOT/etc" "$T_ROOT/etc/php"
t_file root 0644 "$T_ROOT/etc/php/php.ini" 'display_errors = stderr
'
T_CONFIG_TABLES="[handlers.php]
kind = \"php\"
path = \"$T_PHP_CGI\"
ini_dir = \"$T_ROOT/etc/php\"
extensions = [\".php\"]

[handlers.php-warm]
kind = \"php-fcgi\"
path = \"$T_PHP_CGI\"
ini_dir = \"$T_ROOT/etc/php\"
workers = 1
max_requests = 500
idle_seconds = 60
extensions = []"
t_config
t_account bob-shop "user = \"$BOB\"
docroots = [\"$BOB_DOCROOT\"]
php_handler = \"php-warm\""
for user in "$ALICE" "$BOB"; do
  t_file "$user" 0644 "$T_ROOT/home/$user/public_html/hello.php" '<?php header("Content-Type: text/plain"); echo "uid=", posix_getuid();'
done
# The account's code trying to write a record on the pool's record pipe, the gate's stderr:
# php-cgi's own stderr is /dev/null, and the gate's /proc/<pid>/fd/2 is closed to the
# account's user (the gate is not dumpable: set-uid exec).
t_file "$BOB" 0644 "$BOB_DOCROOT/odd.php" '<?php
$stat = file_get_contents("/proc/" . posix_getppid() . "/stat");
$gate = explode(" ", substr($stat, strrpos($stat, ")") + 2))[1];
$n = @file_put_contents("/proc/$gate/fd/2", "suwrap-gate\tdeny\tpath\t403\t/old/format\tr\n");
echo $n === false ? "not written" : "written";'
# Group-writable: the gate refuses it (check file_perms) in bob's warm pool.
t_file "$BOB" 0664 "$BOB_DOCROOT/open.php" '<?php echo "never";'

t_start_cgid --config "$SUWRAP_CONFIG_PATH" --pool-dir "$T_ROOT/run/pools" --log-format json --log-level debug \
  --request-id-param HTTP_X_REQUEST_ID
T_PORT=$(t_free_port)
t_fill_template "$T_WEBSERVERS_DIR/nginx-suwrap.conf" "$T_ROOT/nginx-site.conf" \
  LISTEN="127.0.0.1:$T_PORT" SERVER_NAME=localhost DOCROOT="$T_ROOT/home" SOCKET="$T_CGID_SOCK"
sed -i "\\|include /etc/nginx/fastcgi_params;|r $T_WEBSERVERS_DIR/nginx-suwrap-request-id.conf" "$T_ROOT/nginx-site.conf"
t_start_nginx "$T_ROOT/nginx-site.conf"
# nginx_id: the X-Request-ID of the last answer (nginx's $request_id).
nginx_id() { sed -n 's/^X-Request-ID: \([^[:space:]]*\).*/\1/Ip' "$T_ROOT/headers"; }

# story ID: what the logs say of the request ID, one line a fact:
#   cgid <level> <message>                 each line of suwrap-cgid's log with that id
#   decision <decision> <check> <account> <user> <host>
#   exit <account> <user> <handler> <script> <host> <status> <signal>
story() {
  "$T_PYTHON" -I -S - "$T_CGID_LOG" "$T_LOG" "$1" <<'PY'
import json, sys
cgid_log, suwrap_log, wanted = sys.argv[1:4]
s = lambda v: "null" if v is None else str(v)
for path in (cgid_log, suwrap_log):
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except FileNotFoundError:
        continue
    for raw in lines:
        rec = json.loads(raw)
        if rec.get("request_id") != wanted:
            continue
        if rec["event"] == "cgid":
            print("cgid", rec["level"], rec["message"])
        elif rec["event"] == "decision":
            print("decision", rec["decision"], s(rec["check"]), s(rec["account"]), s(rec["user"]), s(rec["host"]))
        elif rec["event"] == "exit":
            print("exit", s(rec["account"]), s(rec["user"]), s(rec["handler"]), s(rec["script"]), s(rec["host"]),
                  s(rec["status"]), s(rec["signal"]))
PY
}
# ids_of FIELD-SOURCE: every request_id in suwrap's log (suwrap) or cgid's (cgid), one a line.
ids_in() {
  local file=$T_LOG
  [ "$1" = cgid ] && file=$T_CGID_LOG
  "$T_PYTHON" -I -S -c 'import json, sys
for raw in open(sys.argv[1], encoding="utf-8"):
    i = json.loads(raw).get("request_id")
    if i is not None: print(i)' "$file" | sort -u
}
# The host as nginx passes it: HTTP_HOST is $host (Debian's fastcgi_params), without the port.
HOST=127.0.0.1

t_case "per request: every line of the story carries nginx's \$request_id, not the client's X-Request-ID"
t_curl "$(t_url "$ALICE" hello.php)" -H "X-Request-ID: client-picked-1" -D "$T_ROOT/headers"
t_expect "200 as alice (got $T_STATUS: $T_OUT)" test "$T_STATUS $T_OUT" = "200 uid=$ALICE_UID"
id=$(nginx_id)
t_expect "nginx named its id (got: $id)" eval '[[ "$id" =~ ^[0-9a-f]{32}$ ]]'
t_expect "the client's id is nowhere" eval '! grep -q "client-picked-1" "$T_LOG" "$T_CGID_LOG"'
T_STORY=$(story "$id")
t_expect "suwrap-cgid's line (story: $T_STORY)" \
  t_contains "$T_STORY" "cgid debug $T_ROOT/home/$ALICE/public_html/hello.php ended: status 200, suwrap exit 0"
t_expect "suwrap's allow line: no account file, alice, the host" \
  t_contains "$T_STORY" "decision allow null null $ALICE $HOST"
t_expect "the exit line says whose run it was and how it ended" \
  t_contains "$T_STORY" "exit null $ALICE php $T_ROOT/home/$ALICE/public_html/hello.php $HOST 0 null"
t_expect "three lines in all" test "$(printf '%s\n' "$T_STORY" | wc -l)" = 3

t_case "without an id from the web server, suwrap-cgid makes one, and each request has its own"
cgid_before=$(ids_in cgid)
t_fcgi SCRIPT_FILENAME="$T_ROOT/home/$ALICE/public_html/hello.php"
t_fcgi SCRIPT_FILENAME="$T_ROOT/home/$ALICE/public_html/hello.php" HTTP_X_REQUEST_ID='not an id'
new_ids=$(comm -13 <(printf '%s\n' "$cgid_before") <(ids_in cgid))
t_expect "two new ids, 32 hex digits each (got: $(echo $new_ids))" \
  eval 'test "$(printf "%s\n" "$new_ids" | grep -cE "^[0-9a-f]{32}$")" = 2'
for id in $new_ids; do
  T_STORY=$(story "$id")
  t_expect "$id: cgid's line, suwrap's allow and exit lines (story: $T_STORY)" \
    eval 't_contains "$T_STORY" "cgid debug" && t_contains "$T_STORY" "decision allow" && t_contains "$T_STORY" "exit null $ALICE php"'
done

t_case "a param that is not an id is not taken, nor any part of it"
t_fcgi SCRIPT_FILENAME="$T_ROOT/home/$ALICE/public_html/hello.php" HTTP_X_REQUEST_ID='a b"}{"event":"forged'
t_expect "200 (got $T_STATUS)" test "$T_STATUS" = 200
t_expect "no line carries any part of it" eval '! grep -q "forged" "$T_LOG" "$T_CGID_LOG"'

t_case "a client cannot set SUWRAP_REQUEST_ID itself"
t_fcgi SCRIPT_FILENAME="$T_ROOT/home/$ALICE/public_html/hello.php" SUWRAP_REQUEST_ID=forged-by-client \
  HTTP_X_REQUEST_ID=given-by-lb
t_expect "200 (got $T_STATUS)" test "$T_STATUS" = 200
t_expect "the forged id is nowhere" eval '! grep -q "forged-by-client" "$T_LOG" "$T_CGID_LOG"'
t_expect "the id of the param --request-id-param names is used" \
  t_contains "$(story given-by-lb)" "exit null $ALICE php"

t_case "warm: the pool's first request, and a later one the gate refuses, each in its own story"
t_curl "$(t_url "$BOB" hello.php)" -D "$T_ROOT/headers"
t_expect "200 as bob (got $T_STATUS: $T_OUT)" test "$T_STATUS $T_OUT" = "200 uid=$BOB_UID"
T_STORY=$(story "$(nginx_id)")
t_expect "the pool was started for it: suwrap's allow line names the account (story: $T_STORY)" \
  t_contains "$T_STORY" "decision allow null bob-shop $BOB $HOST"
t_expect "suwrap-cgid's line says it ended warm" t_contains "$T_STORY" "hello.php ended (warm): status 200"
t_curl "$(t_url "$BOB" open.php)" -D "$T_ROOT/headers"
t_expect "403 (got $T_STATUS)" test "$T_STATUS" = 403
T_STORY=$(story "$(nginx_id)")
t_expect "the gate's refusal is logged under the refused request's id (story: $T_STORY)" \
  t_contains "$T_STORY" "decision deny file_perms bob-shop $BOB $HOST"
t_expect "suwrap-cgid's lines have the same id" \
  eval 't_contains "$T_STORY" "cgid info $BOB_DOCROOT/open.php refused by its account'"'"'s gate: check file_perms, status 403" &&
        t_contains "$T_STORY" "open.php ended (warm): status 403"'

t_case "warm: the account's code cannot write on its pool's record pipe"
t_curl "$(t_url "$BOB" odd.php)"
t_expect "200, the line not written (got $T_STATUS: $T_OUT)" test "$T_STATUS $T_OUT" = "200 not written"
t_expect "and no line of it in the log" eval '! grep -q "/old/format" "$T_LOG"'

t_case "suwrap-cgid's log is JSON Lines with the fields of its format"
t_expect "every line an object with ts, event, level, pid, request_id, message" "$T_PYTHON" -I -S -c '
import json, sys
for raw in open(sys.argv[1], encoding="utf-8"):
    rec = json.loads(raw)
    assert list(rec) == ["ts", "event", "level", "pid", "request_id", "message"], rec
    assert rec["event"] == "cgid" and isinstance(rec["pid"], int), rec' "$T_CGID_LOG"

t_case "suwrap run directly (no suwrap-cgid) takes Apache's UNIQUE_ID, or makes its own id"
t_log_mark
t_request SCRIPT_FILENAME="$T_ROOT/home/$ALICE/public_html/hello.php" UNIQUE_ID=ZDcxOGFk@-ZGQ3N2Ew HTTP_HOST=www.example
t_expect "200 (got $T_STATUS)" test "$T_STATUS" = 200
t_expect "its lines carry UNIQUE_ID" \
  t_contains "$(story ZDcxOGFk@-ZGQ3N2Ew)" "exit null $ALICE php $T_ROOT/home/$ALICE/public_html/hello.php www.example 0"
suwrap_before=$(ids_in suwrap)
t_request SCRIPT_FILENAME="$T_ROOT/home/$ALICE/public_html/hello.php"
made=$(comm -13 <(printf '%s\n' "$suwrap_before") <(ids_in suwrap))
t_expect "without one, its decision and exit lines share an id it made (got: $made)" \
  eval '[[ "$made" =~ ^[0-9a-f]{32}$ ]] && test "$(story "$made" | wc -l)" = 2'

t_stop_web nginx
t_stop_cgid
t_case "a pool's exit line belongs to no request"
t_expect "bob's pool ended with an exit line with no request id, host or script" "$T_PYTHON" -I -S -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
pool = [l for l in lines if l["event"] == "exit" and l["user"] == sys.argv[2] and l["handler"] == "php-warm"]
assert pool, "no exit line of the pool"
assert all(l["request_id"] is None and l["host"] is None and l["script"] is None and l["account"] == "bob-shop" for l in pool), pool' "$T_LOG" "$BOB"
t_done
