#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The repository's own checks of its documents and headers, one CTest test each:

  repo_checks.py spdx SOURCE-DIR        every source file carries its licence line
  repo_checks.py man-keys SOURCE-DIR    every key the configuration parser accepts is in suwrap.toml(5)
  repo_checks.py citations SOURCE-DIR   no file cites a document the repository does not have
  repo_checks.py man-render SOURCE-DIR  every manual page renders without a warning
  repo_checks.py bench-plots SOURCE-DIR docs/bench-*.svg are bench/plot.py's drawing of docs/BENCHMARKS.md

Each prints what is wrong, one line a problem, and ends with the plain summary line
("N passed, N failed"); the exit status is 1 when anything is wrong.
"""
import os
import re
import subprocess
import sys

SPDX = "SPDX-License-Identifier: Apache-2.0"
SOURCE_SUFFIXES = (".cpp", ".hpp", ".sh", ".py", ".cmake", ".in", ".service", ".socket", ".conf")
NOT_SOURCES = (".gitignore", ".clang-format", ".clang-tidy")


def tracked_files(top):
    """The files a clone has: git's list, or a walk of the tree outside build directories."""
    try:
        out = subprocess.run(["git", "-C", top, "ls-files", "-z"], check=True, capture_output=True).stdout
        names = [n for n in out.decode().split("\0") if n]
        return [n for n in names if os.path.isfile(os.path.join(top, n))]
    except (OSError, subprocess.CalledProcessError):
        names = []
        for d, dirs, files in os.walk(top):
            rel = os.path.relpath(d, top)
            dirs[:] = [x for x in dirs if not (rel == "." and (x.startswith("build") or x.startswith("obj-")))
                       and x != ".git"]
            names += [os.path.normpath(os.path.join(rel, f)) for f in files]
        return names


def read_text(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (UnicodeDecodeError, OSError):
        return None  # binary, or unreadable: not a document


def is_source(name, text):
    base = os.path.basename(name)
    if name.startswith("tests/fuzz/corpus/") or name.endswith(".md") or base in NOT_SOURCES:
        return False
    if base == "CMakeLists.txt" or base.endswith("Caddyfile") or name.endswith(SOURCE_SUFFIXES):
        return True
    if re.fullmatch(r"man/[^/]+\.[1-8]", name):
        return True
    return text.startswith("#!")  # a script: .ci/run, install/*, debian/rules, maintainer scripts


def check_spdx(top):
    """Line 1 carries the licence line, or line 2 after a shebang."""
    problems, checked = [], 0
    for name in tracked_files(top):
        text = read_text(os.path.join(top, name))
        if text is None or not is_source(name, text):
            continue
        checked += 1
        lines = text.splitlines()[:2]
        at = 1 if lines and lines[0].startswith("#!") else 0
        if len(lines) <= at or SPDX not in lines[at]:
            where = "line 2 (after the shebang)" if at else "line 1"
            problems.append(f"{name}: no '{SPDX}' on {where}")
    return problems, checked


def parser_source(top):
    """The configuration parser: config/src/config.cpp, or policy/src/config.cpp before it moved."""
    for rel in ("config/src/config.cpp", "policy/src/config.cpp"):
        if os.path.isfile(os.path.join(top, rel)):
            return rel
    return None


def string_literals(text):
    return re.findall(r'"((?:[^"\\]|\\.)*)"', text)


def balanced(text, start, open_char, close_char):
    """The text from text[start] (an opening bracket) to its closing one."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == open_char:
            depth += 1
        elif text[i] == close_char:
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    raise ValueError("unbalanced brackets")


def names_of(source, identifier, seen=()):
    """The key names an identifier passed to allow_only() stands for: the string literals of
    its definition, or (for a table of rows like {"cpu_seconds", ...}) each row's first one,
    or those of the table its definition is computed from."""
    if identifier in seen:
        return []
    match = re.search(r"\b" + re.escape(identifier) + r"\s*(\{|=)", source)
    if not match:
        return []
    start = match.end() - 1
    if source[start] == "=":
        brace = source.index("{", start)
        body = balanced(source, brace, "{", "}")
    else:
        body = balanced(source, start, "{", "}")
    rows = re.findall(r'\{\s*"([^"]+)"', body)
    if rows:
        return rows
    literals = string_literals(body)
    if literals:
        return literals
    names = []
    for other in re.findall(r"\b([A-Za-z_]\w*)\s*\[", body):
        names += names_of(source, other, seen + (identifier,))
    return names


def accepted_keys(source):
    """Every key the parser lets through: the arguments of its allow_only() calls."""
    keys = []
    for match in re.finditer(r"\ballow_only\s*\(", source):
        after = source[match.end():].lstrip()
        if after.startswith("std::span") or after.startswith("std::initializer_list"):
            continue  # the definition itself
        if after.startswith("{"):
            keys += string_literals(balanced(after, 0, "{", "}"))
        else:
            identifier = re.match(r"[A-Za-z_]\w*", after)
            if identifier and identifier.group(0) not in ("known",):
                found = names_of(source, identifier.group(0))
                if not found:
                    raise ValueError(f"allow_only({identifier.group(0)}): cannot tell which keys that is")
                keys += found
    return sorted(set(keys))


def roff_text(text):
    return text.replace("\\-", "-").replace("\\(dq", '"').replace("\\e", "\\")


def check_man_keys(top):
    rel = parser_source(top)
    if rel is None:
        return ["neither config/src/config.cpp nor policy/src/config.cpp exists: where does the parser live?"], 0
    with open(os.path.join(top, rel), encoding="utf-8") as f:
        keys = accepted_keys(f.read())
    if len(keys) < 20:
        return [f"{rel}: found only {len(keys)} accepted keys ({', '.join(keys)}); this test no longer "
                "understands the parser's allow_only() calls"], 0
    page_path = os.path.join(top, "man", "suwrap.toml.5")
    if not os.path.isfile(page_path):
        return ["man/suwrap.toml.5 does not exist"], 0
    with open(page_path, encoding="utf-8") as f:
        page = roff_text(f.read())
    # A key is described where a .TP paragraph's tag starts with it; a table is a heading.
    described = set()
    lines = page.splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.strip() == ".TP":
            tag = re.sub(r"^\.\w+\s+", "", lines[i + 1]).strip().strip('"')
            described.add(re.split(r"[\s\"]", tag, maxsplit=1)[0])
    tables = set(re.findall(r"\[([a-z_]+)[\].]", page))
    problems = [f"man/suwrap.toml.5 does not describe the key '{key}' that {rel} accepts "
                f"(a .TP paragraph tagged with it, or a [{key}] table)"
                for key in keys if key not in described and key not in tables]
    return problems, len(keys)


MAN_REFERENCE = re.compile(r"\b(suwrap[A-Za-z0-9_.-]*?)\s?\(([1-8])\)")
MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
DOCUMENT_NAME = re.compile(r"(?<![\w/.${}-])((?:[\w.-]+/)*[\w.-]+\.md)\b")


def check_citations(top):
    names = tracked_files(top)
    present = set(names)
    basenames = {os.path.basename(n) for n in names}
    pages = {os.path.basename(n) for n in names if re.fullmatch(r"man/[^/]+\.[1-8]", n)}
    top_dirs = {n.split("/")[0] for n in names if "/" in n}
    problems, checked = [], 0
    for name in names:
        if name.startswith("tests/fuzz/corpus/") or name == "tests/docs/repo_checks.py":
            continue
        text = read_text(os.path.join(top, name))
        if text is None:
            continue
        checked += 1
        plain = roff_text(text)
        here = os.path.dirname(name)
        for number, line in enumerate(plain.splitlines(), 1):
            # A manual page of ours: man/NAME.SECTION must exist.
            for page, section in MAN_REFERENCE.findall(line):
                if f"{page}.{section}" not in pages:
                    problems.append(f"{name}:{number}: cites {page}({section}), which is not in man/")
            # A Markdown link to a file of the repository.
            if name.endswith(".md"):
                for target in MARKDOWN_LINK.findall(line):
                    if re.match(r"[a-z]+:", target) or target.startswith("#"):
                        continue
                    path = os.path.normpath(os.path.join(here, target.split("#")[0]))
                    if path not in present and not os.path.isdir(os.path.join(top, path)):
                        problems.append(f"{name}:{number}: links to {target}, which the repository does not have")
            # A file of the repository named in a Markdown document (`tests/security/x_test.sh`).
            if name.endswith(".md"):
                for path in re.findall(r"`([\w.-]+(?:/[\w.-]+)+)`", line):
                    if path.split("/")[0] in top_dirs and path.rstrip("/") not in present \
                            and not os.path.isdir(os.path.join(top, path)):
                        problems.append(f"{name}:{number}: names {path}, which the repository does not have")
            # A document named in words (CONTRACT.md §3, docs/warm-mode.md): it must be ours.
            for document in DOCUMENT_NAME.findall(line):
                if "://" in line and re.search(r"://\S*" + re.escape(document), line):
                    continue
                candidates = {os.path.normpath(document), os.path.normpath(os.path.join(here, document))}
                if candidates & present or ("/" not in document and document in basenames):
                    continue
                problems.append(f"{name}:{number}: cites {document}, which the repository does not have")
    return problems, checked


def check_man_render(top):
    pages = sorted(n for n in tracked_files(top) if re.fullmatch(r"man/[^/]+\.[1-8]", n))
    if not pages:
        return ["man/ has no manual page"], 0
    problems = []
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MAN_KEEP_STDERR="1")
    for page in pages:
        path = os.path.join(top, page)
        result = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True, env=env)
        if result.returncode != 0 or result.stderr.strip():
            problems.append(f"{page}: man --warnings -l: exit {result.returncode}: {result.stderr.strip()}")
        elif "NAME" not in result.stdout:
            problems.append(f"{page}: rendered without a NAME section")
        # The NAME line is what whatis and apropos read.
        name = subprocess.run(["lexgrog", path], capture_output=True, text=True)
        if name.returncode != 0:
            problems.append(f"{page}: lexgrog cannot read its NAME line: {name.stdout.strip()} {name.stderr.strip()}")
    return problems, len(pages)


def check_bench_plots(top):
    """docs/bench-*.svg are what bench/plot.py draws from the report in docs/BENCHMARKS.md,
    and plot.py draws a run's own cells.tsv too."""
    import filecmp
    import tempfile
    problems = []
    plot = os.path.join(top, "bench", "plot.py")
    with tempfile.TemporaryDirectory() as out:
        result = subprocess.run([sys.executable, plot, os.path.join(top, "docs", "BENCHMARKS.md"), out],
                                capture_output=True, text=True)
        if result.returncode != 0:
            return [f"bench/plot.py docs/BENCHMARKS.md failed: {result.stderr.strip()}"], 0
        drawn = sorted(os.listdir(out))
        for name in drawn:
            committed = os.path.join(top, "docs", name)
            if not os.path.exists(committed):
                problems.append(f"docs/{name} is missing: run bench/plot.py docs/BENCHMARKS.md docs/")
            elif not filecmp.cmp(committed, os.path.join(out, name), shallow=False):
                problems.append(f"docs/{name} is not what bench/plot.py draws from docs/BENCHMARKS.md: "
                                "run bench/plot.py docs/BENCHMARKS.md docs/")
        cells = os.path.join(out, "cells.tsv")
        with open(cells, "w") as f:
            for c, rps in ((1, 100.5), (8, 250.0), (8, 260.0)):
                f.write(f"ours\tphp\t{c}\tok\t{rps}\t1000\t2000\t0\tdetail\t3.5\n")
            f.write("fpm\tphp\t8\tFAILED\t\t\t\t\tno answer\t\n")
        run = os.path.join(out, "run")
        result = subprocess.run([sys.executable, plot, cells, run], capture_output=True, text=True)
        if result.returncode != 0 or not os.path.exists(os.path.join(run, "bench-php.svg")):
            problems.append(f"bench/plot.py cannot draw a cells.tsv: {result.stderr.strip()}")
        else:
            with open(os.path.join(run, "bench-php.svg")) as f:
                svg = f.read()
            if ">255</text>" not in svg or "php-fpm" in svg:
                problems.append("bench/plot.py: a cell measured twice must show its median (255), a failed one nothing")
    return problems, len(drawn)


CHECKS = {"spdx": check_spdx, "man-keys": check_man_keys, "citations": check_citations,
          "man-render": check_man_render, "bench-plots": check_bench_plots}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in CHECKS:
        print(__doc__, file=sys.stderr)
        return 2
    problems, checked = CHECKS[sys.argv[1]](sys.argv[2])
    for problem in problems:
        print("FAIL " + problem)
    print(f"{sys.argv[1]}: {checked} checked")
    print(f"{0 if problems else 1} passed, {1 if problems else 0} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
