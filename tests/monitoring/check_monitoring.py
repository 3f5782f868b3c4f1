#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The shipped monitoring files: contrib/prometheus/suwrap.rules.yml and
contrib/grafana/suwrap.json.

  check_monitoring.py rules TOP       promtool check rules, then promtool test rules on
                                      tests/monitoring/suwrap.rules.test.yml
  check_monitoring.py dashboard TOP   valid JSON; every panel has a query; every query,
                                      with Grafana's variables given values, parses with
                                      promtool (as the expression of a recording rule)
  check_monitoring.py exprs TOP       prints every query of the dashboard and the rules,
                                      one per line, variables given values (for a test
                                      that sends them to a real Prometheus)

Every metric a query names must be one suwrap-cgid renders (cgid/src/metrics.cpp).
Exit 77 (skip) without promtool (Debian's prometheus package).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

RULES = "contrib/prometheus/suwrap.rules.yml"
RULES_TEST = "tests/monitoring/suwrap.rules.test.yml"
DASHBOARD = "contrib/grafana/suwrap.json"
METRICS_SOURCE = "cgid/src/metrics.cpp"
# What Grafana puts in place of its variables before a query reaches Prometheus.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
    "$instance": ".*",
    "${instance}": ".*",
}


def promtool():
    path = shutil.which("promtool")
    if path is None:
        print("skip: promtool is not installed (Debian package prometheus)")
        sys.exit(77)
    return path


def run(*args):
    done = subprocess.run(args, capture_output=True, text=True)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done.returncode


def with_values(expr):
    for name in sorted(GRAFANA_VARIABLES, key=len, reverse=True):
        expr = expr.replace(name, GRAFANA_VARIABLES[name])
    return expr


def dashboard_queries(top):
    """(panel title, expression) for every query of every panel; problems found on the way."""
    with open(os.path.join(top, DASHBOARD), encoding="utf-8") as f:
        dashboard = json.load(f)
    queries, problems = [], []
    panels = dashboard.get("panels", [])
    if not panels:
        problems.append("the dashboard has no panels")
    for panel in panels:
        title = panel.get("title", "?")
        targets = panel.get("targets", [])
        if not targets:
            problems.append(f"panel {title!r} has no query")
        for target in targets:
            expr = target.get("expr", "")
            if not expr.strip():
                problems.append(f"panel {title!r}: a target without expr")
            queries.append((title, with_values(expr)))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable.get("query", {})
            text = query.get("query", "") if isinstance(query, dict) else query
            match = re.fullmatch(r"label_values\((\w+),\s*\w+\)", text)
            if not match:
                problems.append(f"variable {variable.get('name')}: not label_values(metric, label): {text!r}")
            else:
                queries.append((f"variable {variable.get('name')}", match.group(1)))
    return queries, problems


def rule_queries(top):
    """The expr of every rule, read without a YAML library: `expr:` lines of the rules file."""
    queries = []
    with open(os.path.join(top, RULES), encoding="utf-8") as f:
        for line in f:
            match = re.match(r"\s*expr:\s*(.+?)\s*$", line)
            if match:
                queries.append(("rule", match.group(1)))
    return queries


def unknown_metrics(top, queries):
    """Metric names the queries use that suwrap-cgid does not render."""
    with open(os.path.join(top, METRICS_SOURCE), encoding="utf-8") as f:
        source = f.read()
    rendered = set(re.findall(r'"(suwrap_cgid_[a-z_]+)', source))
    problems = []
    for title, expr in queries:
        for name in re.findall(r"\bsuwrap_cgid_[a-z_]+", expr):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if name not in rendered and base not in rendered:
                problems.append(f"{title}: {name} is not a metric of suwrap-cgid")
    return problems


def check_rules(top):
    tool = promtool()
    status = run(tool, "check", "rules", os.path.join(top, RULES))
    status |= run(tool, "test", "rules", os.path.join(top, RULES_TEST))
    problems = unknown_metrics(top, rule_queries(top))
    for p in problems:
        print(p)
    return 1 if status or problems else 0


def check_dashboard(top):
    tool = promtool()
    queries, problems = dashboard_queries(top)
    problems += unknown_metrics(top, queries)
    # Each query as the expression of a recording rule: promtool parses it as Prometheus would.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dashboard_queries.yml")
        with open(path, "w", encoding="utf-8") as f:
            f.write("groups:\n  - name: dashboard\n    rules:\n")
            for i, (_, expr) in enumerate(queries):
                f.write(f"      - record: dashboard:query_{i}\n        expr: {json.dumps(expr)}\n")
        status = run(tool, "check", "rules", path)
    for p in problems:
        print(p)
    print(f"{len(queries)} queries of {DASHBOARD}")
    return 1 if status or problems else 0


def print_exprs(top):
    queries, problems = dashboard_queries(top)
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        return 1
    for _, expr in queries + rule_queries(top):
        print(expr)
    return 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("rules", "dashboard", "exprs"):
        print(__doc__, file=sys.stderr)
        return 2
    top = sys.argv[2]
    return {"rules": check_rules, "dashboard": check_dashboard, "exprs": print_exprs}[sys.argv[1]](top)


if __name__ == "__main__":
    sys.exit(main())
