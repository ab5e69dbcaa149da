"""What the nightly CI jobs ask of a finished run: the title of its published test run.

``python -m parity.nightly title DIR`` reads the per-target JUnit files in DIR and prints
one line naming each target with its build, e.g. ``parity winsrv-insider 26100.1``, for
the CI systems' test-run title, so each night's results are listed by Windows build.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from xml.etree import ElementTree

from parity.certification import properties as schema

COMMANDS = ("title",)


def targets_and_builds(folder: Path) -> list[tuple[str, str]]:
    """(target, build) of each per-target JUnit file (junit-*.xml) in ``folder``, from the
    suite properties the reports plugin writes."""
    found = []
    for path in sorted(folder.glob("junit-*.xml")):
        root = ElementTree.parse(path).getroot()
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        for suite in suites:
            properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
            target, build = properties.get(schema.TARGET), properties.get(schema.BUILD)
            if target and build:
                found.append((target, build))
    return found


def title(folder: Path) -> str:
    pairs = targets_and_builds(folder)
    if not pairs:
        return "parity (no per-target report)"
    return "parity " + ", ".join(f"{target} {build}" for target, build in pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parity.nightly", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    named = commands.add_parser(COMMANDS[0], help="print the test-run title for the JUnit files in DIR")
    named.add_argument("folder", type=Path, metavar="DIR")
    args = parser.parse_args(argv)
    print(title(args.folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
