#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The benchmark's figures as SVG, drawn from its own results.

  plot.py RESULTS OUT-DIR

RESULTS is either a run's cells.tsv (bench/run.sh writes it: stack, payload, c, status,
req/s, p50 us, p99 us, errors, detail, CPU ms per request; a cell measured several times
counts with its median) or a report in Markdown with the table "stack | payload | c |
req/s | ... | CPU ms/request" (the report run.sh prints, docs/BENCHMARKS.md). OUT-DIR gets:

  bench-php.svg   hello.php: requests per second of each stack at each concurrency (log scale)
  bench-cgi.svg   the C CGI: the same (linear scale)
  bench-cpu.svg   CPU per request of each stack at c=8, both payloads (log scale)

Only the standard library; the same results always give the same files.
"""
import math
import os
import re
import statistics
import sys
from xml.sax.saxutils import escape

# The stacks' and payloads' labels are the report's (bench/report.py, beside this file).
from report import PAYLOAD_NAMES as PAYLOADS, STACK_NAMES as LABELS
COLOURS = ["#9ecae1", "#4292c6", "#08519c"]  # one per concurrency, light to dark
SUWRAP_COLOUR = "#d94801"


def read_cells_tsv(path):
    cells = {}
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 10 or fields[3] != "ok":
                continue
            stack, payload, c = LABELS.get(fields[0], fields[0]), PAYLOADS.get(fields[1], fields[1]), int(fields[2])
            cell = cells.setdefault((stack, payload, c), {"rps": [], "cpu": []})
            cell["rps"].append(float(fields[4]))
            if fields[9]:
                cell["cpu"].append(float(fields[9]))
    return {k: {m: statistics.median(v) if v else None for m, v in cell.items()} for k, cell in cells.items()}


def read_report(path):
    """The first Markdown table whose header starts 'stack | payload | c | req/s'."""
    cells, columns = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("|"):
                if columns and cells:
                    break
                columns = None
                continue
            row = [c.strip() for c in line.strip().strip("|").split("|")]
            if row[:4] == ["stack", "payload", "c", "req/s"]:
                columns = row
                continue
            if columns is None or set(line) <= set("|-: \n"):
                continue
            values = dict(zip(columns, row))
            number = lambda s: float(s.replace(",", "")) if re.fullmatch(r"[\d.,]+", s or "") else None
            cells[(values["stack"], values["payload"], int(values["c"]))] = {
                "rps": number(values["req/s"]), "cpu": number(values.get("CPU ms/request", ""))}
    if not cells:
        raise SystemExit(f"plot.py: {path} has no table 'stack | payload | c | req/s | ...'")
    return cells


def svg_bars(title, subtitle, groups, series, value_of, unit, log, width=900):
    """Horizontal grouped bars: one group per stack, one bar per series (concurrency)."""
    bar_h, gap, left, right, top = 14, 12, 350, 80, 70
    groups = [g for g in groups if any(value_of(g, s) is not None for s in series)]
    rows = [(g, s) for g in groups for s in series if value_of(g, s) is not None]
    if not rows:
        return None
    values = [value_of(g, s) for g, s in rows]
    height = top + len(groups) * gap + len(rows) * bar_h + 60
    plot_w = width - left - right
    if log:
        lo = 10 ** math.floor(math.log10(min(values)))
        hi = 10 ** math.ceil(math.log10(max(values)))
        scale = lambda v: plot_w * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        ticks = [10 ** e for e in range(int(math.log10(lo)), int(math.log10(hi)) + 1)]
    else:
        magnitude = 10 ** math.floor(math.log10(max(values)))
        step = next(m * magnitude for m in (0.2, 0.5, 1, 2) if max(values) / (m * magnitude) <= 6)
        hi = math.ceil(max(values) / step) * step
        scale = lambda v: plot_w * v / hi
        ticks = [i * step for i in range(int(hi / step) + 1)]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="24" font-size="16" font-weight="bold">{escape(title)}</text>',
           f'<text x="{left}" y="44" fill="#555">{escape(subtitle)}</text>']
    axis_bottom = height - 40
    for t in ticks:
        x = left + scale(t)
        label = f"{t:,g}"
        out.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{axis_bottom}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{axis_bottom + 16}" text-anchor="middle" fill="#555">{label}</text>')
    out.append(f'<text x="{left + plot_w / 2:.0f}" y="{axis_bottom + 34}" text-anchor="middle">'
               f'{escape(unit)}{" (log scale)" if log else ""}</text>')
    y = top
    for g in groups:
        present = [s for s in series if value_of(g, s) is not None]
        if not present:
            continue
        group_h = len(present) * bar_h
        colour_label = SUWRAP_COLOUR if "suwrap" in g else "#222"
        out.append(f'<text x="{left - 10}" y="{y + group_h / 2 + 4:.0f}" text-anchor="end" fill="{colour_label}">'
                   f'{escape(g)}</text>')
        for i, s in enumerate(series):
            v = value_of(g, s)
            if v is None:
                continue
            w = max(scale(v), 1.0)
            out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{COLOURS[i % len(COLOURS)]}">'
                       f'<title>{escape(g)}, {escape(str(s))}: {v:g} {escape(unit)}</title></rect>')
            shown = f"{v:,.2f}".rstrip("0").rstrip(".")
            out.append(f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 4}" fill="#333">{shown}</text>')
            y += bar_h
        y += gap
    lx = left
    for i, s in enumerate(series):
        out.append(f'<rect x="{lx}" y="52" width="10" height="10" fill="{COLOURS[i % len(COLOURS)]}"/>')
        out.append(f'<text x="{lx + 14}" y="61">{escape(str(s))}</text>')
        lx += 90
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    source, out_dir = sys.argv[1:3]
    cells = read_cells_tsv(source) if source.endswith(".tsv") else read_report(source)
    stacks = list(dict.fromkeys(k[0] for k in cells))
    concurrencies = sorted({k[2] for k in cells})
    series = [f"c={c}" for c in concurrencies]
    figures = {}
    for payload, name, log in (("hello.php", "bench-php.svg", True), ("C CGI", "bench-cgi.svg", False)):
        value = lambda g, s, p=payload: (cells.get((g, p, int(s[2:]))) or {}).get("rps")
        figures[name] = svg_bars(f"{payload}: requests per second", "more is better; one bar per concurrency (c)",
                                 stacks, series, value, "requests per second", log)
    cpu_series = [p for p in ("C CGI", "hello.php") if any(k[1] == p for k in cells)]
    at = 8 if 8 in concurrencies else concurrencies[len(concurrencies) // 2]
    cpu = lambda g, p: (cells.get((g, p, at)) or {}).get("cpu")
    figures["bench-cpu.svg"] = svg_bars(f"CPU per request at c={at}", "less is better; all the servers' processes, "
                                        "handlers included", stacks, cpu_series, cpu, "ms of CPU per request", True)
    os.makedirs(out_dir, exist_ok=True)
    for name, svg in figures.items():
        if svg is not None:
            with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
                f.write(svg)
            print(os.path.join(out_dir, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
