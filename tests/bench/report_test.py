#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bench/report.py on a recorded run (tests/bench/run: the files bench/run.sh writes under
$S/results and $S/floor, idle.tsv, idle-programs.tsv and first.tsv): the report it prints,
whole (expected-*.md) and the figures that matter one by one.

  report_test.py SOURCE-DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SOURCE_DIR = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else
                             os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.join(SOURCE_DIR, "tests", "bench")
RUN = os.path.join(HERE, "run")


def report(*args):
    result = subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "bench", "report.py"), *args],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError("report.py %s: exit %d: %s" % (" ".join(args), result.returncode, result.stderr))
    return result.stdout


def cells(concurrencies="1 8 32", floor_runs="6", ticks="100"):
    return report("cells", os.path.join(RUN, "results"), os.path.join(RUN, "floor"), concurrencies, floor_runs, ticks)


def expected(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return f.read()


class CellsReport(unittest.TestCase):
    def test_whole_report(self):
        self.assertEqual(cells(), expected("expected-cells.md"))

    def test_cell_measured_twice_shows_medians_and_every_error(self):
        self.assertIn("| nginx → suwrap-cgid → suwrap | C CGI | 8 | 4100 | 2.00 | 13.0 | 2 (connect 0, read 2, "
                      "write 0, non-2xx 0, timeout 0, wrong body 0) | 1.10 |", cells())

    def test_failed_cell_shows_its_reason_and_no_ratio(self):
        out = cells()
        self.assertIn("| Apache event + mod_cgid + suEXEC | C CGI | 1 | FAILED | | | GET http://127.0.0.1:1/uid.cgi "
                      "answered '', expected '1001' | |", out)
        self.assertIn("| C CGI | 1 | 0.80× (0.82×) | – | – |", out)

    def test_targets_met_and_missed(self):
        out = cells()
        self.assertIn("| C CGI, c=8: ours ≥ 0.8× fcgiwrap | 0.93× | met | 0.82× | met |", out)
        self.assertIn("| hello.php, c=8: ours ≥ 1.0× Apache+suEXEC | 0.86× | **missed** | – | – |", out)
        self.assertIn("| suwrap alone adds ≤ 0.5 ms to a bare exec (C CGI, median) | 0.35 ms | met | 0.30 ms CPU | met |",
                      out)

    def test_wordpress_cells_their_ratios_and_targets(self):
        wp = [("warm", 1, "20.0", "0.95"), ("warm", 8, "57.0", "0.90"), ("fpm", 8, "60.0", "1.00"),
              ("ours", 8, "6.0", "10.00"), ("apache", 8, "5.0", "")]
        with tempfile.TemporaryDirectory() as results:
            shutil.copytree(os.path.join(RUN, "results"), results, dirs_exist_ok=True)
            with open(os.path.join(results, "cells.tsv"), "a", encoding="utf-8") as f:
                for stack, c, rps, cpu in wp:
                    f.write("%s\twp\t%d\tok\t%s\t50000\t90000\t0\tconnect 0, read 0, write 0, non-2xx 0, "
                            "timeout 0, wrong body 0\t%s\n" % (stack, c, rps, cpu))
            out = report("cells", results, os.path.join(RUN, "floor"), "1 8 32", "6", "100")
        self.assertIn("| nginx → php-fpm pool (warm) | WordPress front page | 8 | 60.0 | 50.0 | 90.0 | 0 | 1.00 |", out)
        self.assertIn("### Warm mode / peer (WordPress front page)", out)
        self.assertIn("| WordPress front page | 8 | – | 1.20× | 0.10× (0.10×) |", out)
        self.assertIn("| WordPress front page, c=8: warm ≥ 0.95× php-fpm | 0.95× | met | 1.11× | met |", out)
        self.assertIn("| WordPress front page, c=8: ours ≥ 1.0× Apache+suEXEC | 1.20× | met | – | – |", out)

    def test_floor_short_of_its_runs_is_failed(self):
        self.assertIn("| hello.php | 12.00 (11.00) | FAILED | – |", cells())
        self.assertIn("| C CGI | FAILED | FAILED | – |", cells(floor_runs="7"))

    def test_cpu_by_program_uses_the_clock_ticks(self):
        self.assertIn("| nginx → suwrap-cgid → suwrap | C CGI | 8 | 0.07 | 0.12 | 0.77 | 0.00 | 0.00 | 0.00 | 0.97 | 1.10 |",
                      cells())
        self.assertIn("| nginx → suwrap-cgid → suwrap | C CGI | 8 | 0.01 | 0.01 | 0.08 | 0.00 | 0.00 | 0.00 | 0.10 | 1.10 |",
                      cells(ticks="1000"))

    def test_only_the_given_concurrencies(self):
        out = cells(concurrencies="8")
        self.assertNotIn("| C CGI | 1 |", out)
        self.assertIn("| C CGI | 8 | 0.93× (0.82×) | 2.05× | – |", out)

    def test_daemons_memory(self):
        self.assertIn("| warm: suwrap-cgid + the pool (supervisor, gate, php-cgi parent + workers) | 40.0 MiB | – | 50.0 MiB |",
                      cells())

    def test_direct_design_ceiling_is_labelled_as_parts(self):
        out = cells()
        self.assertIn("### A direct design's ceiling (hello.php): parts, not stacks to deploy", out)
        self.assertIn("| 8 | 1.04× (1.03×) | 0.96× (0.94×) | – | 0.92× (0.89×) | 0.96× (0.94×) |", out)
        self.assertIn("| part: nginx → php-cgi as the owner, unchecked (floor) | hello.php | 8 | 2600 |", out)

    def test_nothing_recorded(self):
        with tempfile.TemporaryDirectory() as empty:
            out = report("cells", empty, empty, "1 8", "300", "100")
        self.assertIn("| C CGI, c=8: ours ≥ 0.8× fcgiwrap | not measured | – | | |", out)
        self.assertNotIn("### Where a request's CPU goes", out)
        self.assertNotIn("### Warm mode", out)
        self.assertNotIn("### A direct design's ceiling", out)


def idle(accounts="20"):
    return report("idle", os.path.join(RUN, "idle.tsv"), os.path.join(RUN, "idle-programs.tsv"), accounts, "5")


class IdleReport(unittest.TestCase):
    def test_whole_report(self):
        self.assertEqual(idle(), expected("expected-idle.md"))

    def test_memory_per_active_account_by_program(self):
        out = idle()
        self.assertIn("| warm mode (suwrap-cgid) | 8.0 | 6.5 | php-cgi8.2: 6.0, 5.2; suwrap --pool: 1.0, 0.3; "
                      "suwrap-gate: 1.0, 1.0 | 0.1 |", out)
        self.assertIn("| php-fpm static | 5.0 | 4.5 | php-fpm8.2: 5.0, 4.5 | 0.4 |", out)
        self.assertIn("| php-fpm static | 2.5 | 2.2 | php-fpm8.2: 2.5, 2.2 | 0.2 |", idle(accounts="40"))

    def test_not_measured(self):
        with tempfile.TemporaryDirectory() as empty:
            out = report("idle", os.path.join(empty, "idle.tsv"), os.path.join(empty, "idle-programs.tsv"), "3", "2")
        self.assertEqual(out, "\n### Idle memory: 3 configured accounts, 2 workers each\n\nNot measured.\n")


class FirstRequestReport(unittest.TestCase):
    def test_whole_report(self):
        self.assertEqual(report("first", os.path.join(RUN, "first.tsv"), "5"), expected("expected-first.md"))

    def test_percentiles_are_nearest_ranks_of_the_answered_requests(self):
        out = report("first", os.path.join(RUN, "first.tsv"), "5")
        self.assertIn("| warm mode: suwrap-cgid starts the account's pool | 3 | 41.2 | 52.5 | 1.00 | "
                      "1 (answered '', expected 'hello 1001') |", out)
        self.assertIn("| first request to an idle account, warm: p50 < 50 ms | 41.2 ms | met |", out)

    def test_target_missed(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "first.tsv")
            with open(path, "w") as f:
                f.write("warm\t1\t0.080\t0.001\tok\nwarm\t2\t0.070\t0.001\tok\n")
            out = report("first", path, "5")
        self.assertIn("| first request to an idle account, warm: p50 < 50 ms | 70.0 ms | **missed** |", out)
        self.assertNotIn("the master forks a worker |", out)

    def test_not_measured(self):
        with tempfile.TemporaryDirectory() as empty:
            out = report("first", os.path.join(empty, "first.tsv"), "5")
        self.assertEqual(out, "\n### First request to an idle account (hello.php, pools of 5 workers)\n\nNot measured.\n")


class Usage(unittest.TestCase):
    def test_wrong_arguments(self):
        result = subprocess.run([sys.executable, os.path.join(SOURCE_DIR, "bench", "report.py"), "cells", "x"],
                                capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, "")


if __name__ == "__main__":
    unittest.main()
