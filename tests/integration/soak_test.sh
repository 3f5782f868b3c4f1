#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Soak: wrk with 64 connections for a bounded time against nginx -> suwrap-cgid -> suwrap,
# a mix of PHP, a compiled CGI program, POST bodies, and requests that suwrap refuses.
# Every answer is checked by wrk's Lua script (status and body); afterwards nothing of
# the load is left: no zombie, no process of the test users, the daemon's descriptors
# back to where they were. Outcomes only: wrk's time-out is far above any answer's time,
# so a time-out counts as what it is, a request that never got its answer.
#
# SUWRAP_SOAK_SECONDS (default 30) sets how long the load runs.
source "$(dirname "$0")/../lib/common.sh" soak
source "$(dirname "$0")/../lib/cgid_site.sh"
command -v nginx >/dev/null || { echo "SKIP $T_NAME: nginx is not installed"; exit 77; }
command -v wrk >/dev/null || { echo "SKIP $T_NAME: wrk is not installed (install/deps.sh installs it)"; exit 77; }
command -v gcc >/dev/null || { echo "SKIP $T_NAME: gcc is not installed"; exit 77; }
soak_seconds=${SUWRAP_SOAK_SECONDS:-30}

t_setup
t_cgid_site
t_markers_dir

# The mix's own scripts. Each answer names what ran, so wrk's script can tell a right
# answer from a wrong one without knowing which request it belonged to.
t_file "$ALICE" 0644 "$ALICE_DOCROOT/hello.php" '<?php header("Content-Type: text/plain"); echo "php uid=", posix_getuid();'
t_cc "$T_ROOT/hello.cgi" '#include <stdio.h>
#include <unistd.h>
int main(void) {
  printf("Content-Type: text/plain\r\n\r\ncgi uid=%u", (unsigned)getuid());
  return 0;
}'
install -o "$BOB" -g "$BOB" -m 0755 "$T_ROOT/hello.cgi" "$BOB_DOCROOT/hello.cgi"
# The body starts with its own length: "post ok N" only when all N bytes arrived.
t_file "$BOB" 0644 "$BOB_DOCROOT/length.php" '<?php $b = file_get_contents("php://input"); header("Content-Type: text/plain"); echo ((int)$b === strlen($b) ? "post ok " : "post bad "), strlen($b);'
# Refused by suwrap: a group-writable script (file_perms) and a file no handler claims
# (handler). Either leaves a marker if it ever runs.
t_file "$ALICE" 0664 "$ALICE_DOCROOT/shared.php" "<?php touch('$T_MARKS/shared.php-ran'); echo 'ran';"
t_file "$BOB" 0644 "$BOB_DOCROOT/notes.txt" "<?php touch('$T_MARKS/notes.txt-ran'); echo 'ran';"

t_start_cgid
T_PORT=$(t_free_port)
t_nginx_site_with_cgi "$T_ROOT/nginx-site.conf"
t_start_nginx "$T_ROOT/nginx-site.conf"
t_warm_cgid

t_case "each request of the mix, once, with curl"
t_curl "$(t_url "$ALICE" hello.php)"
t_expect "hello.php: 200, php uid=$ALICE_UID (got $T_STATUS $T_OUT)" test "$T_STATUS $T_OUT" = "200 php uid=$ALICE_UID"
t_curl "$(t_url "$BOB" hello.cgi)"
t_expect "hello.cgi: 200, cgi uid=$BOB_UID (got $T_STATUS $T_OUT)" test "$T_STATUS $T_OUT" = "200 cgi uid=$BOB_UID"
printf '%-1000s' 1000 >"$T_ROOT/post.body"
t_curl "$(t_url "$BOB" length.php)" --data-binary @"$T_ROOT/post.body" -H 'Content-Type: application/octet-stream'
t_expect "length.php: 200, post ok 1000 (got $T_STATUS $T_OUT)" test "$T_STATUS $T_OUT" = "200 post ok 1000"
t_curl "$(t_url "$ALICE" shared.php)"
refusal_body=$T_OUT
t_expect "shared.php: 403 (got $T_STATUS $T_OUT)" test "$T_STATUS" = 403
t_curl "$(t_url "$BOB" notes.txt)"
t_expect "notes.txt: 403, the same refusal (got $T_STATUS $T_OUT)" test "$T_STATUS $T_OUT" = "403 $refusal_body"

# wrk's script: a fixed rotation of ten requests (4 hello.php, 2 hello.cgi, 2 POST of
# 1 000 and 100 000 bytes, 2 refused) on every connection; each response is classified by
# status and body. Counters live in each thread; done() adds them up and prints
# "name value" lines for this suite to read.
cat >"$T_ROOT/mix.lua" <<'LUA'
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local alice, bob, alice_uid, bob_uid, refusal = args[1], args[2], args[3], args[4], args[5]
  local function body_of(n)
    local head = tostring(n)
    return head .. string.rep("x", n - #head)
  end
  local post = { ["Content-Type"] = "application/octet-stream" }
  local php = wrk.format("GET", "/" .. alice .. "/public_html/hello.php")
  local cgi = wrk.format("GET", "/" .. bob .. "/public_html/hello.cgi")
  rotation = {
    php, cgi, wrk.format("POST", "/" .. bob .. "/public_html/length.php", post, body_of(1000)),
    php, wrk.format("GET", "/" .. alice .. "/public_html/shared.php"),
    php, cgi, wrk.format("POST", "/" .. bob .. "/public_html/length.php", post, body_of(100000)),
    php, wrk.format("GET", "/" .. bob .. "/public_html/notes.txt"),
  }
  expected = {
    ["200 php uid=" .. alice_uid] = "php",
    ["200 cgi uid=" .. bob_uid] = "cgi",
    ["200 post ok 1000"] = "post",
    ["200 post ok 100000"] = "post",
    ["403 " .. refusal] = "refused",
  }
  next_request = 0
  sent_ok, sent_refused = 0, 0
  php_ok, cgi_ok, post_ok, refused_ok = 0, 0, 0, 0
  status_200, status_403, status_other = 0, 0, 0
  unexpected = 0
  first_unexpected = ""
end

function request()
  next_request = next_request % #rotation + 1
  if next_request == 5 or next_request == 10 then
    sent_refused = sent_refused + 1
  else
    sent_ok = sent_ok + 1
  end
  return rotation[next_request]
end

function response(status, headers, body)
  if status == 200 then
    status_200 = status_200 + 1
  elseif status == 403 then
    status_403 = status_403 + 1
  else
    status_other = status_other + 1
  end
  -- suwrap's refusal body ends with a line break; the scripts' answers do not.
  body = (body or ""):gsub("%s+$", "")
  local kind = expected[status .. " " .. body]
  if kind == "php" then php_ok = php_ok + 1
  elseif kind == "cgi" then cgi_ok = cgi_ok + 1
  elseif kind == "post" then post_ok = post_ok + 1
  elseif kind == "refused" then refused_ok = refused_ok + 1
  else
    unexpected = unexpected + 1
    if first_unexpected == "" then
      first_unexpected = (status .. " " .. string.sub(body, 1, 200)):gsub("%s", " ")
    end
  end
end

function done(summary, latency, requests)
  local names = { "sent_ok", "sent_refused", "php_ok", "cgi_ok", "post_ok", "refused_ok",
                  "status_200", "status_403", "status_other", "unexpected" }
  local total = {}
  for _, name in ipairs(names) do total[name] = 0 end
  local sample = ""
  for _, thread in ipairs(threads) do
    for _, name in ipairs(names) do total[name] = total[name] + thread:get(name) end
    if sample == "" then sample = thread:get("first_unexpected") end
  end
  for _, name in ipairs(names) do io.write(name, " ", total[name], "\n") end
  io.write("completed ", summary.requests, "\n")
  io.write("errors_connect ", summary.errors.connect, "\n")
  io.write("errors_read ", summary.errors.read, "\n")
  io.write("errors_write ", summary.errors.write, "\n")
  io.write("errors_timeout ", summary.errors.timeout, "\n")
  io.write("first_unexpected ", sample, "\n")
end
LUA

t_case "wrk -t2 -c64 for ${soak_seconds} s: PHP, CGI, POST and refused requests"
# The daemon's descriptors now, with no connection open: t_nothing_left compares with it.
t_cgid_baseline
set +e
wrk -t2 -c64 -d"${soak_seconds}s" --timeout 60s -s "$T_ROOT/mix.lua" "http://127.0.0.1:$T_PORT" -- \
  "$ALICE" "$BOB" "$ALICE_UID" "$BOB_UID" "$refusal_body" >"$T_ROOT/wrk.out" 2>&1
wrk_rc=$?
set -e
sed 's/^/     wrk: /' "$T_ROOT/wrk.out"
result() { awk -v n="$1" '$1 == n { print $2; found = 1 } END { if (!found) print "missing" }' "$T_ROOT/wrk.out"; }
t_expect "wrk ran to its end (exit $wrk_rc)" test "$wrk_rc" = 0
completed=$(result completed)
t_expect "a real load: more than 64 answers ($completed)" eval '[[ "$completed" =~ ^[0-9]+$ ]] && ((completed > 64))'
for name in errors_connect errors_read errors_write errors_timeout; do
  t_expect "no socket error: $name = $(result "$name")" test "$(result "$name")" = 0
done
t_expect "no status but 200 and 403 (others: $(result status_other))" test "$(result status_other)" = 0
t_expect "every answer is one the mix expects ($(result unexpected) not; first: $(result first_unexpected))" \
  test "$(result unexpected)" = 0
for name in php_ok cgi_ok post_ok refused_ok; do
  t_expect "each kind was answered: $name = $(result "$name")" eval '(( $(result "$name") > 0 ))'
done
# wrk stops with up to one request in flight per connection, never answered; and it asks
# the first thread's script for one request before the load, only to check it, and never
# sends it. So sent and answered differ by at most 64 + 1, and no 403 answers a request
# of the mix that should run (nor a 200 a refused one).
sent_ok=$(result sent_ok) sent_refused=$(result sent_refused)
got_ok=$(($(result php_ok) + $(result cgi_ok) + $(result post_ok))) got_refused=$(result refused_ok)
unanswered_max=65
t_expect "200s: $got_ok answers of $sent_ok sent, at most $unanswered_max unanswered" \
  eval '((got_ok <= sent_ok && sent_ok - got_ok <= unanswered_max))'
t_expect "403s: $got_refused answers of $sent_refused sent, at most $unanswered_max unanswered" \
  eval '((got_refused <= sent_refused && sent_refused - got_refused <= unanswered_max))'
t_expect "all unanswered together at most $unanswered_max ($((sent_ok + sent_refused - got_ok - got_refused)))" \
  eval '((sent_ok + sent_refused - got_ok - got_refused <= unanswered_max))'
t_expect "no refused script ever ran (markers: $(t_markers))" t_no_marker '*'

t_case "after the load: nothing is left"
t_nothing_left "$ALICE" "$BOB"
zombies=$(t_zombies_of_test "$ALICE" "$BOB")
t_expect "no zombie of the test's processes on the machine${zombies:+ (found: $zombies)}" test -z "$zombies"
t_expect "suwrap's log is whole JSON Lines" t_log_valid
t_expect "nginx logged no upstream error" eval '! grep -E "\[(error|crit|alert|emerg)\]" "$T_ROOT/nginx/error.log"'
t_expect "the daemon logged no warning or error" eval '! grep -E " (warning|error|critical): " "$T_CGID_LOG"'

t_case "and the daemon still serves"
t_curl "$(t_url "$ALICE" hello.php)"
t_expect "hello.php: 200, php uid=$ALICE_UID (got $T_STATUS $T_OUT)" test "$T_STATUS $T_OUT" = "200 php uid=$ALICE_UID"
t_stop_web nginx
t_stop_cgid
t_done
