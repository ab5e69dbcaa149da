#!/usr/bin/env python3
"""Show, and check, that each target's run used the known divergences its bind mounts'
file system selects and none keyed by another file system.

    ci/rows_by_facts.py REPORTS_DIR TARGET=FSTYPE...

Reads the per-target JUnit files' ``platform.bind.fstype`` and ``divergences.applied``
properties (written by plugins/reports.py); exits 1 with one line per problem.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from parity.certification import junit


def main(folder: Path, expected: dict[str, str]) -> int:
    runs = {run.target: run for run in junit.read_all(sorted(folder.glob("junit-*.xml")))}
    problems = []
    for target, fstype in expected.items():
        run = runs.get(target)
        if run is None:
            problems.append(f"{target}: no per-target JUnit file in {folder}")
            continue
        seen = run.properties.get("platform.bind.fstype", "")
        applied = json.loads(run.properties.get("divergences.applied", "[]"))
        print(f"{target}: bind mounts are {seen or 'not observed'}; {len(applied)} rows applied")
        for row in applied:
            print(f"  {row}")
        if seen != fstype:
            problems.append(f"{target}: bind mounts are {seen!r}, expected {fstype!r}")
        for other in set(expected.values()) - {fstype}:
            problems += [
                f"{target}: a row keyed by {other} applied: {row}" for row in applied if f"fstype {other}" in row
            ]
    for problem in problems:
        print(f"ci/rows_by_facts.py: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    expected = {}
    for arg in sys.argv[2:]:
        target, _, fstype = arg.partition("=")
        expected[target] = fstype
    sys.exit(main(Path(sys.argv[1]), expected))
