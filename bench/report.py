#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The benchmark's report in Markdown, from the results bench/run.sh recorded.

  report.py cells RESULTS FLOOR CONCURRENCIES FLOOR-RUNS CLOCK-TICKS
  report.py idle IDLE-TSV PROGRAMS-TSV ACCOUNTS WORKERS
  report.py first FIRST-TSV WORKERS

cells: the tables of requests per second and latency, the ratios, the CPU by program, the
floor, the targets and the daemons' memory. RESULTS is the run's results directory
(cells.tsv: stack, payload, c, status, req/s, p50 us, p99 us, errors, detail, CPU ms per
request; programs.tsv: stack, payload, c, measurement, requests, role, own ticks, reaped
ticks; rss-STACK-idle and rss-STACK-PAYLOAD-c32: kB), FLOOR the directory of hyperfine's
JSON exports (owner/PAYLOAD.N.json, caller/PAYLOAD.N.json), CONCURRENCIES the measured
ones (space-separated), FLOOR-RUNS how many runs each side of the floor must have had,
CLOCK-TICKS the ticks a second of /proc/PID/stat (getconf CLK_TCK).

idle: the idle-memory table from idle.tsv (set-up, state, processes, PSS kB, RSS kB, the
daemon's processes, PSS kB and RSS kB, note), for ACCOUNTS accounts of WORKERS workers, and
the memory per active account from it and idle-programs.tsv (set-up, state, program,
processes, PSS kB).

first: the first request to an idle account from first.tsv (set-up, request number, time of
the first request in seconds, of the next one, status), pools of WORKERS workers.

Only the standard library; it writes to standard output.
"""
import glob
import json
import os
import statistics
import sys


# Every stack bench/run.sh measures (its ALL_STACKS), in the order of the tables, with its
# label; bench/plot.py draws them with the same labels. The last two are parts of a stack,
# not stacks to deploy: what a design without relays could reach.
STACKS = [
    ("ours", "nginx → suwrap-cgid → suwrap"),
    ("fcgiwrap", "nginx → fcgiwrap (no uid switch)"),
    ("apache", "Apache event + mod_cgid + suEXEC"),
    ("fpm", "nginx → php-fpm pool (warm)"),
    ("warm", "nginx → suwrap-cgid → pool: gate → php-cgi (warm)"),
    ("direct", "nginx → suwrap-cgid → direct pool: php-cgi checks (warm)"),
    ("site", "nginx → the account's site socket → php-cgi checks (warm)"),
    ("cgi", "part: nginx → php-cgi as the owner, unchecked (floor)"),
    ("guarded", "part: nginx → php-cgi as the owner + guard, no relay"),
    ("checked", "part: nginx → php-cgi + guard making the per-request check"),
]
STACK_NAMES = dict(STACKS)
PAYLOAD_NAMES = {"php": "hello.php", "cgi": "C CGI", "wp": "WordPress front page"}
# The stacks whose CPU is recorded process by process (bench/run.sh's front_pid).
BY_PROGRAM = ("ours", "fpm", "warm", "direct", "site", "cgi", "guarded", "checked")


def cells_report(results, floor_dir, concurrencies, expected_floor_runs, clock_ticks):
    names = STACK_NAMES
    payload_names = PAYLOAD_NAMES
    runs = {}
    try:
        with open(os.path.join(results, "cells.tsv")) as f:
            for line in f:
                stack, payload, c, status, rps, p50, p99, errors, detail, cpu = line.rstrip("\n").split("\t")
                runs.setdefault((stack, payload, int(c)), []).append(
                    dict(status=status, rps=float(rps or 0), p50=int(p50 or 0), p99=int(p99 or 0), errors=int(errors or 0),
                         detail=detail, cpu=float(cpu) if cpu else None))
    except FileNotFoundError:
        pass
    # A cell measured more than once (--repeat): the median of each figure, the errors of all
    # runs; one failed run fails the cell.
    cells = {}
    for key, rs in runs.items():
        failed = [r for r in rs if r["status"] != "ok"]
        if failed:
            cells[key] = dict(status="FAILED", rps=0, p50=0, p99=0, errors=0, detail=failed[0]["detail"], cpu=None)
            continue
        errs = [r for r in rs if r["errors"]]
        cpus = [r["cpu"] for r in rs if r["cpu"] is not None]
        cells[key] = dict(status="ok", rps=statistics.median(r["rps"] for r in rs),
                          cpu=statistics.median(cpus) if cpus else None,
                          p50=statistics.median(r["p50"] for r in rs), p99=statistics.median(r["p99"] for r in rs),
                          errors=sum(r["errors"] for r in rs), detail="; ".join(r["detail"] for r in errs))

    def ms(us):
        return "%.1f" % (us / 1000.0) if us >= 10000 else "%.2f" % (us / 1000.0)

    print("### Requests per second and latency\n")
    print("| stack | payload | c | req/s | p50 ms | p99 ms | errors | CPU ms/request |")
    print("|---|---|--:|--:|--:|--:|--:|--:|")
    for payload in ("cgi", "php", "wp"):
        for stack in names:
            for c in concurrencies:
                cell = cells.get((stack, payload, c))
                if cell is None:
                    continue
                if cell["status"] != "ok":
                    print("| %s | %s | %d | FAILED | | | %s | |" % (names[stack], payload_names[payload], c, cell["detail"]))
                    continue
                err = str(cell["errors"]) if cell["errors"] == 0 else "%d (%s)" % (cell["errors"], cell["detail"])
                cpu = "–" if cell["cpu"] is None else "%.2f" % cell["cpu"]
                # A WordPress page per request takes a good part of a second: tenths show the rate.
                rps = "%.0f" % cell["rps"] if cell["rps"] >= 100 else "%.1f" % cell["rps"]
                print("| %s | %s | %d | %s | %s | %s | %s | %s |" % (names[stack], payload_names[payload], c, rps,
                                                                      ms(cell["p50"]), ms(cell["p99"]), err, cpu))

    def ratio(payload, c, peer, mine="ours"):
        a, b = cells.get((mine, payload, c)), cells.get((peer, payload, c))
        if not a or not b or a["status"] != "ok" or b["status"] != "ok" or b["rps"] == 0:
            return None
        return a["rps"] / b["rps"]

    def cpu_ratio(payload, c, peer, mine="ours"):
        """Peer's CPU per request over ours: what our req/s over the peer's would be if the
        servers had the CPU to themselves (above 1: ours costs less)."""
        a, b = cells.get((mine, payload, c)), cells.get((peer, payload, c))
        if not a or not b or a["status"] != "ok" or b["status"] != "ok" or not a["cpu"] or not b["cpu"]:
            return None
        return b["cpu"] / a["cpu"]

    def fmt(r):
        return "–" if r is None else "%.2f×" % r

    print("\n### Ours / peer: measured req/s, and (in brackets) the peer's CPU per request over ours\n")
    print("| payload | c | / fcgiwrap | / Apache+suEXEC | / php-fpm |")
    print("|---|--:|--:|--:|--:|")
    def both(payload, c, peer, mine="ours"):
        r, q = ratio(payload, c, peer, mine), cpu_ratio(payload, c, peer, mine)
        return fmt(r) + ("" if q is None else " (%s)" % fmt(q))
    for payload in ("cgi", "php", "wp"):
        for c in concurrencies:
            if ("ours", payload, c) not in cells:
                continue
            print("| %s | %d | %s | %s | %s |" % (payload_names[payload], c, both(payload, c, "fcgiwrap"),
                                                  both(payload, c, "apache"),
                                                  both(payload, c, "fpm") if payload != "cgi" else "–"))

    # A table per PHP payload measured warm.
    for payload in ("php", "wp"):
        if not any(stack == "warm" and p == payload for stack, p, _ in cells):
            continue
        print("\n### Warm mode / peer (%s): measured req/s, and (in brackets) the peer's CPU per request over warm's\n"
              % payload_names[payload])
        print("| c | / php-fpm | / ours, per request | / fcgiwrap | / Apache+suEXEC |")
        print("|--:|--:|--:|--:|--:|")
        for c in concurrencies:
            if ("warm", payload, c) not in cells:
                continue
            print("| %d | %s | %s | %s | %s |" % (c, both(payload, c, "fpm", "warm"), both(payload, c, "ours", "warm"),
                                                 both(payload, c, "fcgiwrap", "warm"), both(payload, c, "apache", "warm")))

    # Direct pools, per PHP payload: through suwrap-cgid, and straight to the site socket.
    for payload in ("php", "wp"):
        if not any(stack in ("direct", "site") and p == payload for stack, p, _ in cells):
            continue
        print("\n### Direct pools / php-fpm (%s): measured req/s, and (in brackets) php-fpm's CPU per request over "
              "theirs\n" % payload_names[payload])
        print("| c | direct (through suwrap-cgid) | site (the account's own socket) | warm, relaying gate |")
        print("|--:|--:|--:|--:|")
        for c in concurrencies:
            if ("direct", payload, c) not in cells and ("site", payload, c) not in cells:
                continue
            print("| %d | %s | %s | %s |" % (c, both(payload, c, "fpm", "direct"), both(payload, c, "fpm", "site"),
                                            both(payload, c, "fpm", "warm")))

    if any(stack in ("cgi", "guarded", "checked") for stack, _, _ in cells):
        print("\n### A direct design's ceiling (hello.php): parts, not stacks to deploy\n")
        print("nginx → php-cgi's own FastCGI workers as the owner, with nothing in front: unchecked (no check of the "
              "request at all: the floor), and with suwrap's PHP guard loaded as warm mode loads it (nginx hands it "
              "the checked script's identity, as the gate does after its check), and with the guard making the "
              "per-request check itself (the policy's checks and the pool's rule, in the worker: what a direct pool's "
              "worker does). What a design without relays could reach; none is deployable as it is. Measured req/s over php-fpm's, and (in brackets) php-fpm's CPU "
              "per request over theirs; the last column is warm mode over the guarded part.\n")
        print("| c | unchecked / php-fpm | guarded / php-fpm | checked / php-fpm | warm / php-fpm | warm / guarded |")
        print("|--:|--:|--:|--:|--:|--:|")
        for c in concurrencies:
            if all((st, "php", c) not in cells for st in ("cgi", "guarded", "checked")):
                continue
            print("| %d | %s | %s | %s | %s | %s |" % (c, both("php", c, "fpm", "cgi"), both("php", c, "fpm", "guarded"),
                                                      both("php", c, "fpm", "checked"), both("php", c, "fpm", "warm"),
                                                      both("php", c, "guarded", "warm")))

    def pooled(side, payload):
        """Median wall time and mean CPU time (ms) over every round of one side, or None."""
        times, cpu, n = [], 0.0, 0
        for path in sorted(glob.glob(os.path.join(floor_dir, side, payload + ".*.json"))):
            try:
                with open(path) as f:
                    r = json.load(f)["results"][0]
            except (OSError, ValueError, KeyError, IndexError):
                return None
            times += r["times"]
            cpu += (r["user"] + r["system"]) * len(r["times"])
            n += len(r["times"])
        if n == 0 or n < expected_floor_runs:
            return None
        return statistics.median(times) * 1000.0, cpu / n * 1000.0

    floor = {payload: (pooled("owner", payload), pooled("caller", payload)) for payload in ("cgi", "php")}

    # Where a request's CPU goes, by program: the cells' per-process CPU times (run_cell), summed
    # over repetitions and divided by the requests served.
    programs = {}
    try:
        with open(os.path.join(results, "programs.tsv")) as f:
            for line in f:
                stack, payload, c, seq, requests, role, own, reaped = line.rstrip("\n").split("\t")
                key = (stack, payload, int(c))
                entry = programs.setdefault(key, {"requests": {}, "own": {}, "reaped": {}})
                entry["requests"][seq] = int(requests)  # one value per measurement of the cell
                entry["own"][role] = entry["own"].get(role, 0) + int(own)
                entry["reaped"][role] = entry["reaped"].get(role, 0) + int(reaped)
    except FileNotFoundError:
        pass
    if programs:
        print("\n### Where a request's CPU goes, by program (ms per request)\n")
        print("Own user + system time of each program's processes over the cell (`/proc/PID/stat`, %d ticks a second), "
              "and what they reaped: the per-request `suwrap` and its handler once they ended (PHP workers that "
              "ended and were replaced count with the PHP workers). The cgroup total also holds what ended unreaped "
              "and the kernel's work for no process.\n" % clock_ticks)
        print("| stack | payload | c | nginx | suwrap-cgid, php-fpm master or php-cgi parent |"
              " reaped (per-request suwrap + handler) | pool supervisor | gate | PHP workers | sum | cgroup total |")
        print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for payload in ("cgi", "php", "wp"):
            for stack in BY_PROGRAM:
                for c in concurrencies:
                    entry = programs.get((stack, payload, c))
                    if not entry:
                        continue
                    n = sum(entry["requests"].values())
                    def per(ticks):
                        return ticks * 1000.0 / clock_ticks / n
                    own, reaped = entry["own"], entry["reaped"]
                    cols = [own.get("nginx", 0), own.get("front", 0), sum(reaped.values()) - reaped.get("php", 0),
                            own.get("supervisor", 0), own.get("gate", 0), own.get("php", 0) + reaped.get("php", 0)]
                    total = sum(cols) + own.get("other", 0)
                    cell = cells.get((stack, payload, c))
                    cg = "–" if not cell or cell["cpu"] is None else "%.2f" % cell["cpu"]
                    print("| %s | %s | %d | %s | %.2f | %s |" % (
                        names[stack], payload_names[payload], c,
                        " | ".join("%.2f" % per(v) for v in cols), per(total), cg))

    def cell(v):
        return "FAILED" if v is None else "%.2f (%.2f)" % v
    floor_rows = []
    for payload in ("cgi", "php"):
        bare, wrapped = floor[payload]
        if not glob.glob(os.path.join(floor_dir, "*", payload + ".*.json")) and bare is None and wrapped is None:
            continue
        adds = "%.2f (%.2f)" % (wrapped[0] - bare[0], wrapped[1] - bare[1]) if bare and wrapped else "–"
        floor_rows.append("| %s | %s | %s | %s |" % (payload_names[payload], cell(bare), cell(wrapped), adds))
    # A run of WordPress alone measures no floor: no empty table.
    if floor_rows:
        print("\n### The floor: one fork+exec, bare and through suwrap (hyperfine, alternating rounds)\n")
        print("| payload | bare exec: median ms (CPU ms) | through suwrap: median ms (CPU ms) | suwrap adds: median ms (CPU ms) |")
        print("|---|--:|--:|--:|")
        print("\n".join(floor_rows))

    def verdict(value, goal):
        if value is None:
            return "–"
        return "met" if (value >= goal if goal >= 0 else value <= -goal) else "**missed**"

    def target(label, value, goal, cpu_value=None):
        if value is None:
            return "| %s | not measured | – | | |" % label
        return "| %s | %.2f× | %s | %s | %s |" % (label, value, verdict(value, goal), fmt(cpu_value), verdict(cpu_value, goal))

    print("\n### Targets\n")
    print("| target | req/s ratio | | CPU-per-request ratio | |")
    print("|---|--:|---|--:|---|")
    for label, payload, peer, goal in (("C CGI, c=8: ours ≥ 0.8× fcgiwrap", "cgi", "fcgiwrap", 0.8),
                                       ("C CGI, c=8: ours ≥ 1.5× Apache+suEXEC", "cgi", "apache", 1.5),
                                       ("hello.php, c=8: ours ≥ 1.0× Apache+suEXEC", "php", "apache", 1.0),
                                       ("hello.php, c=8: ours ≥ 0.9× fcgiwrap", "php", "fcgiwrap", 0.9)):
        print(target(label, ratio(payload, 8, peer), goal, cpu_ratio(payload, 8, peer)))
    print(target("hello.php, c=8: warm ≥ 0.8× php-fpm", ratio("php", 8, "fpm", "warm"), 0.8,
                 cpu_ratio("php", 8, "fpm", "warm")))
    print(target("WordPress front page, c=8: warm ≥ 0.95× php-fpm", ratio("wp", 8, "fpm", "warm"), 0.95,
                 cpu_ratio("wp", 8, "fpm", "warm")))
    for stack, how in (("direct", "through suwrap-cgid"), ("site", "its site socket")):
        if any(st == stack for st, _, _ in cells):
            print(target("hello.php, c=8: a direct pool, %s, ≥ 0.8× php-fpm" % how, ratio("php", 8, "fpm", stack), 0.8,
                         cpu_ratio("php", 8, "fpm", stack)))
            print(target("WordPress front page, c=8: a direct pool, %s, ≥ 0.95× php-fpm" % how,
                         ratio("wp", 8, "fpm", stack), 0.95, cpu_ratio("wp", 8, "fpm", stack)))
    print(target("WordPress front page, c=8: ours ≥ 1.0× Apache+suEXEC", ratio("wp", 8, "apache"), 1.0,
                 cpu_ratio("wp", 8, "apache")))
    bare, wrapped = floor["cgi"]
    if bare and wrapped:
        print("| suwrap alone adds ≤ 0.5 ms to a bare exec (C CGI, median) | %.2f ms | %s | %.2f ms CPU | %s |"
              % (wrapped[0] - bare[0], verdict(wrapped[0] - bare[0], -0.5), wrapped[1] - bare[1],
                 verdict(wrapped[1] - bare[1], -0.5)))
    else:
        print("| suwrap alone adds ≤ 0.5 ms to a bare exec (C CGI, median) | not measured | – | | |")

    def rss(stack, name):
        try:
            with open(os.path.join(results, name)) as f:
                v = int(f.read().strip() or 0)
                return "%.1f MiB" % (v / 1024.0) if v else "–"
        except OSError:
            return "–"

    print("\n### Memory of the daemons (VmRSS, summed over the daemon's processes)\n")
    print("| daemon | idle | peak at c=32, C CGI | peak at c=32, hello.php |")
    print("|---|--:|--:|--:|")
    for stack, label in (("ours", "suwrap-cgid (1 process)"), ("fcgiwrap", "fcgiwrap (parent + workers)"),
                         ("fpm", "php-fpm (master + workers)"),
                         ("warm", "warm: suwrap-cgid + the pool (supervisor, gate, php-cgi parent + workers)"),
                         ("cgi", "part: php-cgi unchecked (parent + workers)"),
                         ("guarded", "part: php-cgi + guard (parent + workers)"),
                         ("checked", "part: php-cgi + guard with the check (parent + workers)")):
        if not os.path.exists(os.path.join(results, "rss-%s-idle" % stack)):
            continue
        print("| %s | %s | %s | %s |" % (label, rss(stack, "rss-%s-idle" % stack), rss(stack, "rss-%s-cgi-c32" % stack),
                                         rss(stack, "rss-%s-php-c32" % stack)))


# The state of idle.tsv whose rows give the memory per active account.
ACTIVE_STATE = "after one request to each account"


def idle_report(path, programs_path, accounts, workers):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                setup, state, n, pss, rss, fn, fpss, frss, note = line.rstrip("\n").split("\t")
                rows.append((setup, state, int(n), int(pss), int(rss), int(fn), int(fpss), int(frss), note))
    except FileNotFoundError:
        pass

    def mib(kb):
        return "%.1f" % (kb / 1024.0)

    print("\n### Idle memory: %d configured accounts, %d workers each\n" % (accounts, workers))
    if not rows:
        print("Not measured.")
        return
    print("PSS sums each process's proportional share of the pages it maps (a page shared by n processes counts 1/n "
          "in each), so a sum over processes is the memory they take; summed RSS counts a shared page once per "
          "process. The daemon in front is suwrap-cgid or the php-fpm master. Below it: in warm mode every pool "
          "(root's supervisor `suwrap --pool`, the gate, php-cgi's parent and its workers), under php-fpm the "
          "workers.\n")
    print("| set-up | state | processes below the daemon | their PSS MiB | their RSS MiB, summed | the daemon's PSS MiB |"
          " in all: processes, PSS MiB |")
    print("|---|---|--:|--:|--:|--:|--:|")
    for setup, state, n, pss, rss, fn, fpss, frss, note in rows:
        label = "warm mode (suwrap-cgid)" if setup == "warm" else setup
        print("| %s | %s | %d | %s | %s | %s | %d, %s |" % (label, state, n, mib(pss), mib(rss), mib(fpss), n + fn,
                                                           mib(pss + fpss)))
    notes = [(setup, state, note) for setup, state, *_, note in rows if note]
    if notes:
        print()
        for setup, state, note in notes:
            print("- %s, %s: %s" % ("warm mode" if setup == "warm" else setup, state, note))
    active_report(rows, programs_path, accounts)


def active_report(rows, programs_path, accounts):
    """Pool memory per active account: the rows of ACTIVE_STATE divided by the accounts."""
    active = [row for row in rows if row[1] == ACTIVE_STATE]
    if not active:
        return
    programs = {}
    try:
        with open(programs_path) as f:
            for line in f:
                setup, state, program, n, pss = line.rstrip("\n").split("\t")
                if state == ACTIVE_STATE:
                    programs.setdefault(setup, []).append((program, int(n), int(pss)))
    except FileNotFoundError:
        pass

    def per(kb):
        return "%.1f" % (kb / 1024.0 / accounts)

    print("\n### Pool memory per active account: after one request to each of the %d accounts\n" % accounts)
    print("What one account that has just been served costs: the processes below the daemon in front and their "
          "PSS, divided by the accounts, program by program; the daemon in front (shared by all accounts) "
          "apart, also divided.\n")
    print("| set-up | processes | PSS MiB | by program: processes, PSS MiB | the daemon's PSS MiB |")
    print("|---|--:|--:|---|--:|")
    for setup, _, n, pss, _, _, fpss, _, _ in active:
        label = "warm mode (suwrap-cgid)" if setup == "warm" else setup
        by_program = "; ".join("%s: %.1f, %s" % (program, pn / accounts, per(ppss))
                               for program, pn, ppss in sorted(programs.get(setup, [])))
        print("| %s | %.1f | %s | %s | %s |" % (label, n / accounts, per(pss), by_program or "–", per(fpss)))


def percentile(values, p):
    """The nearest-rank percentile P of VALUES: the smallest that P % of them do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * p // 100) - 1)]


def first_report(path, workers):
    setups = {}
    try:
        with open(path) as f:
            for line in f:
                setup, _, first, following, status = line.rstrip("\n").split("\t")
                entry = setups.setdefault(setup, {"first": [], "next": [], "failed": []})
                if status != "ok":
                    entry["failed"].append(status[len("FAILED: "):] if status.startswith("FAILED: ") else status)
                    continue
                entry["first"].append(float(first) * 1000.0)
                entry["next"].append(float(following) * 1000.0)
    except FileNotFoundError:
        pass
    print("\n### First request to an idle account (hello.php, pools of %d workers)\n" % workers)
    if not setups:
        print("Not measured.")
        return
    print("Each request goes to an account with nothing running for it: in warm mode suwrap-cgid starts the "
          "account's pool (`suwrap --pool`, the gate, php-cgi and its workers) and passes the request on; "
          "php-fpm's `pm = ondemand` master forks a worker. Timed by curl through nginx, from the connection to "
          "the last byte; the next request goes to what the first one started. p99 is the nearest rank: with "
          "fewer than 100 requests, the slowest.\n")
    print("| set-up | requests | first request: p50 ms | p99 ms | next request: p50 ms | failed |")
    print("|---|--:|--:|--:|--:|--:|")
    labels = {"warm": "warm mode: suwrap-cgid starts the account's pool",
              "direct": "a direct pool (`direct = true`): suwrap-cgid starts it",
              "fpm-ondemand": "php-fpm pm = ondemand: the master forks a worker"}
    for setup in ("warm", "direct", "fpm-ondemand"):
        entry = setups.get(setup)
        if entry is None:
            continue
        if not entry["first"]:
            print("| %s | 0 | FAILED | | | %d (%s) |" % (labels[setup], len(entry["failed"]), entry["failed"][0]))
            continue
        failed = str(len(entry["failed"])) if not entry["failed"] else "%d (%s)" % (len(entry["failed"]),
                                                                                  entry["failed"][0])
        print("| %s | %d | %.1f | %.1f | %.2f | %s |" % (labels[setup], len(entry["first"]),
                                                         percentile(entry["first"], 50),
                                                         percentile(entry["first"], 99),
                                                         percentile(entry["next"], 50), failed))
    print("\n| target | measured | |")
    print("|---|--:|---|")
    warm = setups.get("warm", {}).get("first")
    if warm:
        p50 = percentile(warm, 50)
        print("| first request to an idle account, warm: p50 < 50 ms | %.1f ms | %s |"
              % (p50, "met" if p50 < 50 else "**missed**"))
    else:
        print("| first request to an idle account, warm: p50 < 50 ms | not measured | – |")
    direct = setups.get("direct", {}).get("first")
    if direct:
        p50 = percentile(direct, 50)
        print("| first request to an idle account, a direct pool: p50 < 50 ms | %.1f ms | %s |"
              % (p50, "met" if p50 < 50 else "**missed**"))


def main(argv):
    if len(argv) == 6 and argv[0] == "cells":
        cells_report(argv[1], argv[2], [int(c) for c in argv[3].split()], int(argv[4]), int(argv[5]))
    elif len(argv) == 5 and argv[0] == "idle":
        idle_report(argv[1], argv[2], int(argv[3]), int(argv[4]))
    elif len(argv) == 3 and argv[0] == "first":
        first_report(argv[1], int(argv[2]))
    else:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
