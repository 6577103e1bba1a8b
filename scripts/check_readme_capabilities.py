#!/usr/bin/env python3
"""The README's provider table against the registry's capability matrix.

The matrix comes from test/expected/validation.out, which pg_regress checks
against sms_ir.provider_capabilities() (the build's ops tables); this script
checks that README.md's "Providers" table says "no" exactly where the matrix
says unsupported.  Exit status 1 and one line per disagreement otherwise.
"""
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
expected = (root / "test/expected/validation.out").read_text(encoding="utf-8")
readme = (root / "README.md").read_text(encoding="utf-8")

# " sms_send_bulk             | mediapayamak+ smsafzar+ smsir+ smsir_legacy+"
matrix = {}
for m in re.finditer(r"^ (sms_\w+)\s+\| ((?:\w+[+-] ?)+)$", expected, re.M):
    matrix[m.group(1)] = {p[:-1]: p[-1] == "+" for p in m.group(2).split()}
if not matrix:
    sys.exit("check_readme_capabilities: no capability matrix in test/expected/validation.out")

header = re.search(r"^\| function \|(.*)\|$", readme, re.M)
if header is None:
    sys.exit("check_readme_capabilities: no provider table in README.md")
providers = [c.strip().strip("`") for c in header.group(1).split("|")]

problems = []
for fn, support in sorted(matrix.items()):
    row = re.search(r"^\| `%s` \|(.*)\|$" % re.escape(fn), readme, re.M)
    if row is None:
        problems.append("%s: no row in README.md's provider table" % fn)
        continue
    cells = [c.strip() for c in row.group(1).split("|")]
    for provider, cell in zip(providers, cells):
        if provider not in support:
            problems.append("%s: README names provider %s, the registry does not" % (fn, provider))
            continue
        says = not cell.startswith("no")
        if says != support[provider]:
            problems.append("%s on %s: README says %r, the registry says %s"
                            % (fn, provider, cell[:40], "supported" if support[provider] else "unsupported"))
for p in problems:
    print("README.md provider table:", p)
sys.exit(1 if problems else 0)
