#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The deployment pages show the very configuration the suites run: every
# "<!-- snippet: install/webservers/FILE -->" in docs/deploy-*.md is followed by a fenced
# block equal to FILE, byte for byte (less the file's licence line), and every file of
# install/webservers/ is shown by a page. A snippet changed for a test, or a page edited by
# hand, fails here.
source "$(dirname "$0")/../lib/common.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)

t_case "each deployment page shows its snippets verbatim"
set +e
T_OUT=$("$T_PYTHON" - "$repo" <<'PY'
import glob, os, re, sys
repo = sys.argv[1]
shown, problems = set(), []
pages = sorted(glob.glob(os.path.join(repo, "docs", "deploy-*.md")))
if not pages:
    problems.append("no docs/deploy-*.md page")
for page in pages:
    text = open(page).read()
    marks = list(re.finditer(r"<!-- snippet: (\S+) -->\n```[^\n]*\n(.*?)```\n", text, re.S))
    if not marks:
        problems.append("%s shows no snippet" % os.path.relpath(page, repo))
    for m in marks:
        rel, block = m.group(1), m.group(2)
        path = os.path.join(repo, rel)
        if not os.path.isfile(path):
            problems.append("%s names %s, which does not exist" % (os.path.relpath(page, repo), rel))
            continue
        shown.add(os.path.normpath(path))
        content = re.sub(r"\A# SPDX-License-Identifier: [^\n]*\n", "", open(path).read())
        if content != block:
            problems.append("%s shows %s, but not as it is" % (os.path.relpath(page, repo), rel))
for path in sorted(glob.glob(os.path.join(repo, "install", "webservers", "*"))):
    if os.path.normpath(path) not in shown:
        problems.append("%s is shown by no page" % os.path.relpath(path, repo))
print("; ".join(problems) if problems else "in sync: %d snippets on %d pages" % (len(shown), len(pages)))
sys.exit(1 if problems else 0)
PY
)
T_RC=$?
set -e
t_expect "$T_OUT" test "$T_RC" = 0
t_done
