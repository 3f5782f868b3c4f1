#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# suwrap-cgid --metrics-listen, scraped for real: the text passes `promtool check metrics`,
# carries the labels suwrap-cgid(8) METRICS promises (mode, check, account name), only GET
# /metrics is answered, and Debian's Prometheus — a private one, with its own port,
# configuration and data directory, never the system service — scrapes the daemon and
# gives a value back through its HTTP API. Every query of the shipped dashboard and alert
# rules is then accepted by that Prometheus.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/cgid_site.sh"
PROMETHEUS=/usr/bin/prometheus
PROMTOOL=/usr/bin/promtool
if [ ! -x "$PROMETHEUS" ] || [ ! -x "$PROMTOOL" ]; then
  echo "SKIP $T_NAME: Debian's prometheus package is not installed (install/deps.sh)"
  exit 77
fi
t_setup
t_cgid_site
METRICS_PORT=$(t_free_port)
t_start_cgid --metrics-listen "127.0.0.1:$METRICS_PORT" --timeout 30 --max-children 7
t_wait_port "$METRICS_PORT" "$T_CGID_PID" || { echo "FAIL $T_NAME: --metrics-listen does not accept" >&2; exit 1; }

# scrape [CURL ARGS...]: GET /metrics; the body in $T_ROOT/metrics.txt, the status in T_STATUS.
scrape() {
  T_STATUS=$(curl -sS -o "$T_ROOT/metrics.txt" -w '%{http_code}' "$@" "http://127.0.0.1:$METRICS_PORT/metrics" 2>"$T_ROOT/stderr") || T_STATUS=curl-failed
  T_OUT=$(cat "$T_ROOT/metrics.txt" 2>/dev/null || true)
}
has_line() { grep -qxF "$1" "$T_ROOT/metrics.txt"; }

t_case "requests and a refusal through the daemon"
t_site_env "$ALICE" whoami.php
t_fcgi "${T_ENV[@]}"
t_expect "alice's request runs (status $T_STATUS)" test "$T_STATUS" = 200
t_fcgi SCRIPT_FILENAME=/etc/passwd
t_expect "a script outside the docroots: 403 (got $T_STATUS)" test "$T_STATUS" = 403
t_expect "suwrap's refusal line stays in the daemon: the web server's stderr does not get it" \
  eval '! t_contains "$T_ERR" "refused by check"'

t_case "GET /metrics: Prometheus text that promtool finds clean"
scrape
t_expect "200 (got $T_STATUS)" test "$T_STATUS" = 200
lint=$("$PROMTOOL" check metrics <"$T_ROOT/metrics.txt" 2>&1) && lint_rc=0 || lint_rc=$?
t_expect "promtool check metrics: exit 0 and nothing to say (got $lint_rc: $lint)" eval 'test "$lint_rc" = 0 && test -z "$lint"'
t_expect "build_info" eval 'grep -q "^suwrap_cgid_build_info{version=\"[^\"]*\"} 1$" "$T_ROOT/metrics.txt"'
t_expect "max_children is the configured 7" has_line "suwrap_cgid_max_children 7"
t_expect "max_pools gauge" grep -q '^suwrap_cgid_max_pools [0-9]' "$T_ROOT/metrics.txt"
t_expect "the refusal by its check's name" has_line 'suwrap_cgid_refusals_total{mode="cgi",check="docroot"} 1'
t_expect "latency of per-request runs: the last bucket is --timeout" \
  grep -q '^suwrap_cgid_response_seconds_bucket{mode="cgi",le="30"} [1-9]' "$T_ROOT/metrics.txt"
t_expect "no bucket beyond --timeout" eval '! grep -q "le=\"60\"" "$T_ROOT/metrics.txt"'
t_expect "the configuration loads" has_line "suwrap_cgid_config_loaded 1"
t_expect "no series by uid" eval '! grep -q "uid=" "$T_ROOT/metrics.txt"'

t_case "accounts by name: a series from the scrape that named it on"
t_fcgi "${T_ENV[@]}"
t_site_env "$BOB" whoami.php
t_fcgi "${T_ENV[@]}"
scrape
t_expect "alice's request since her series began (got: $(grep 'account="' "$T_ROOT/metrics.txt" | head -n 6 | tr '\n' ' '))" \
  has_line "suwrap_cgid_account_requests_total{account=\"$ALICE\"} 1"
t_expect "her CPU is counted" grep -q "^suwrap_cgid_account_cpu_seconds_total{account=\"$ALICE\"} " "$T_ROOT/metrics.txt"
t_expect "root, the owner of /etc/passwd, is no account" eval '! grep -q "account=\"root\"" "$T_ROOT/metrics.txt"'
t_expect "the rest under (other)" grep -q '^suwrap_cgid_account_requests_total{account="(other)"} ' "$T_ROOT/metrics.txt"

t_case "only GET /metrics is served"
T_STATUS=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$METRICS_PORT/" 2>/dev/null) || true
t_expect "/ is 404 (got $T_STATUS)" test "$T_STATUS" = 404
T_STATUS=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$METRICS_PORT/metrics" 2>/dev/null) || true
t_expect "POST is 405 (got $T_STATUS)" test "$T_STATUS" = 405
T_STATUS=$(curl -sS -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 5000 /dev/zero | tr '\0' a)" \
  "http://127.0.0.1:$METRICS_PORT/metrics" 2>/dev/null) || true
t_expect "a head over 4 KiB is 431 (got $T_STATUS)" test "$T_STATUS" = 431

t_case "a client that connects and sends nothing does not hold the daemon"
exec {idle}<>/dev/tcp/127.0.0.1/"$METRICS_PORT"
t_fcgi "${T_ENV[@]}"
t_expect "FastCGI requests are served meanwhile (status $T_STATUS)" test "$T_STATUS" = 200
scrape
t_expect "and other scrapes too (status $T_STATUS)" test "$T_STATUS" = 200
exec {idle}>&-

# ---- a real Prometheus --------------------------------------------------------------------
t_case "Debian's Prometheus scrapes the daemon and answers with its values"
PROM_DIR=$T_ROOT/prometheus
PROM_PORT=$(t_free_port)
mkdir -p "$PROM_DIR/data"
cat >"$PROM_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: suwrap-cgid
    static_configs:
      - targets: ["127.0.0.1:$METRICS_PORT"]
YML
"$PROMETHEUS" --config.file="$PROM_DIR/prometheus.yml" --storage.tsdb.path="$PROM_DIR/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$PROM_DIR/prometheus.log" 2>&1 &
PROM_PID=$!
t_on_cleanup "t_kill_pid $PROM_PID"
t_wait_port "$PROM_PORT" "$PROM_PID" || { echo "FAIL $T_NAME: Prometheus did not start: $(tail -n 5 "$PROM_DIR/prometheus.log")" >&2; exit 1; }

# prom_query EXPR: the API's answer in T_OUT.
prom_query() {
  T_OUT=$(curl -sS -G --data-urlencode "query=$1" "http://127.0.0.1:$PROM_PORT/api/v1/query" 2>"$T_ROOT/stderr") || T_OUT=""
}
# prom_value EXPR: the first sample's value, or nothing.
prom_value() {
  prom_query "$1"
  printf '%s' "$T_OUT" | "$T_PYTHON" -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")'
}
value=""
for _ in $(seq 1 300); do
  value=$(prom_value 'suwrap_cgid_max_children{job="suwrap-cgid"}')
  [ -n "$value" ] && break
  sleep 0.1
done
t_expect "max_children read back through the API is 7 (got '$value')" test "$value" = 7
t_expect "the target is up" test "$(prom_value 'up{job="suwrap-cgid"}')" = 1
t_expect "the docroot refusal, by check" \
  test "$(prom_value 'suwrap_cgid_refusals_total{job="suwrap-cgid",mode="cgi",check="docroot"}')" = 1

t_case "every query of the shipped dashboard and alert rules runs on that Prometheus"
bad=""
count=0
while IFS= read -r expr; do
  count=$((count + 1))
  prom_query "$expr"
  t_contains "$T_OUT" '"status":"success"' || bad+="$expr => $T_OUT; "
done < <("$T_PYTHON" "$SUWRAP_SOURCE_DIR/tests/monitoring/check_monitoring.py" exprs "$SUWRAP_SOURCE_DIR")
t_expect "$count queries, all accepted${bad:+ (not: $bad)}" eval 'test "$count" -gt 20 && test -z "$bad"'

t_case "Prometheus stops and leaves nothing behind"
kill -TERM "$PROM_PID"
t_wait_exit "$PROM_PID" 30
t_expect "it exited (status $T_EXIT)" test "$T_EXIT" != running
rm -rf "$PROM_DIR"
t_expect "its directory is gone" test ! -e "$PROM_DIR"

t_stop_cgid
t_expect "the metrics port is closed" eval '! (exec 3<>/dev/tcp/127.0.0.1/'"$METRICS_PORT"') 2>/dev/null'
t_done
