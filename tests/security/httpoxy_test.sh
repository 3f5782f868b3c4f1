#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# httpoxy (CVE-2016-5385 and kin): a request header "Proxy:" becomes HTTP_PROXY in the CGI
# environment, which HTTP client libraries take as their outgoing proxy; "Redirect-Status:"
# becomes HTTP_REDIRECT_STATUS, which php-cgi accepts for cgi.force_redirect. Neither may
# reach the handler, in a PHP script (getenv, $_SERVER) or in a CGI program's environment,
# while ordinary headers still do.
source "$(dirname "$0")/../lib/common.sh" security
t_setup ALICE
t_config

t_file "$ALICE" 0755 "$ALICE_DOCROOT/env.cgi" '#!/bin/sh
printf "Content-Type: text/plain\r\n\r\n"
env
'
t_file "$ALICE" 0644 "$ALICE_DOCROOT/env.php" '<?php
foreach (["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "HTTP_REDIRECT_STATUS", "HTTP_X_PROXY_OK"] as $n) {
  echo "getenv:$n=", var_export(getenv($n), true), "\n";
  echo "server:$n=", var_export($_SERVER[$n] ?? null, true), "\n";
}
echo "REDIRECT_STATUS=", getenv("REDIRECT_STATUS"), "\n";'

proxy_env=(HTTP_PROXY=http://evil.invalid:3128 http_proxy=http://evil.invalid:3128
  HTTPS_PROXY=http://evil.invalid:3128 HTTP_REDIRECT_STATUS=302 HTTP_X_PROXY_OK=kept)

t_case "httpoxy: a CGI program's environment has no proxy variable"
t_attack_script "$ALICE_DOCROOT/env.cgi" "${proxy_env[@]}"
t_ran_only
body=$(t_body)
t_expect "an ordinary header still reaches it (HTTP_X_PROXY_OK=kept)" t_contains "$body" "HTTP_X_PROXY_OK=kept"
t_expect "no HTTP_PROXY" eval '! printf "%s\n" "$body" | grep -q "^HTTP_PROXY="'
t_expect "no http_proxy" eval '! printf "%s\n" "$body" | grep -q "^http_proxy="'
t_expect "no HTTPS_PROXY" eval '! printf "%s\n" "$body" | grep -q "^HTTPS_PROXY="'
t_expect "no HTTP_REDIRECT_STATUS" eval '! printf "%s\n" "$body" | grep -q "^HTTP_REDIRECT_STATUS="'
t_expect "the proxy address appears nowhere" eval '! t_contains "$body" "evil.invalid"'

t_case "httpoxy: PHP sees no proxy variable in getenv() or \$_SERVER"
t_attack_script "$ALICE_DOCROOT/env.php" "${proxy_env[@]}"
t_ran_only
body=$(t_body)
t_expect "an ordinary header still reaches PHP" t_contains "$body" "server:HTTP_X_PROXY_OK='kept'"
for name in HTTP_PROXY http_proxy HTTPS_PROXY HTTP_REDIRECT_STATUS; do
  t_expect "getenv('$name') is false" t_contains "$body" "getenv:$name=false"
  t_expect "\$_SERVER['$name'] is unset" t_contains "$body" "server:$name=NULL"
done
t_expect "REDIRECT_STATUS is suwrap's own 200, not the request's 302" t_contains "$body" "REDIRECT_STATUS=200"
t_expect "the proxy address appears nowhere" eval '! t_contains "$body" "evil.invalid"'

t_case "httpoxy: through action-handler mode (PATH_TRANSLATED) too"
t_attack_script "$T_SUWRAP" PATH_TRANSLATED="$ALICE_DOCROOT/env.cgi" PATH_INFO=/env.cgi "${proxy_env[@]}"
t_ran_only
body=$(t_body)
t_expect "no proxy variable and no HTTP_REDIRECT_STATUS" \
  eval '! printf "%s\n" "$body" | grep -Eq "^(HTTP_PROXY|http_proxy|HTTPS_PROXY|HTTP_REDIRECT_STATUS)="'
t_expect "the ordinary header is there" t_contains "$body" "HTTP_X_PROXY_OK=kept"

t_done
