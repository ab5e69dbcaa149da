"""Certification reports from JUnit files: the conformance matrix, and comparisons.

The matrix has a row per check (grouped by area) and a column per target run; a
comparison sets two runs of a target side by side (e.g. Windows builds 16237 and 16251)
and lists what regressed, what was fixed, and the checks that came and went. Both are
rendered by ``parity.render`` as HTML (for people), Markdown (for CI summaries) and JSON
(for tools). From the command line::

    python -m parity.certification reports/                  # matrix.{html,md,json}
    python -m parity.certification compare OLD NEW           # comparison.{html,md,json}
    python -m parity.certification validate reports/*.xml    # xunit2 schema problems
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from parity import junit
from parity.junit import CONFORMS, DIFFERS, JUnitError, Outcome, Result, TargetRun

KIND_ORDER = ("linux", "mobyvm", "hyperv")  # the reference kind first
ABSENT = Result(Outcome.NOT_RUN, "no result in this target's report")


class CertificationError(Exception):
    """Inputs that cannot be compared; the message is one line."""


def _natural(text: str) -> list[int | str]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


@dataclass(frozen=True)
class Column:
    id: str  # the target's name, qualified with the build where a target has several columns
    run: TargetRun

    @property
    def reference(self) -> bool:
        return self.run.kind == "linux"


@dataclass
class Matrix:
    columns: list[Column]
    areas: dict[str, list[str]]  # area -> its checks, sorted

    def cell(self, check: str, column: Column) -> Result:
        return column.run.results.get(check, ABSENT)

    def counts(self, column: Column) -> dict[Outcome, int]:
        found = Counter(self.cell(check, column).outcome for checks in self.areas.values() for check in checks)
        return {outcome: found[outcome] for outcome in Outcome}

    def top_divergences(self, column: Column, limit: int = 3) -> list[tuple[str, str, int]]:
        """(reason, reference, checks) of a column's known divergences, most checks first."""
        found = Counter(
            (result.reason, result.reference)
            for result in column.run.results.values()
            if result.outcome == Outcome.DIVERGENCE
        )
        ranked = sorted(found.items(), key=lambda item: (-item[1], item[0]))
        return [(reason, reference, count) for (reason, reference), count in ranked[:limit]]


def _column_key(run: TargetRun) -> tuple[int, str, list[int | str], str]:
    kind = KIND_ORDER.index(run.kind) if run.kind in KIND_ORDER else len(KIND_ORDER)
    return kind, run.target, _natural(run.build), run.timestamp


def build_matrix(runs: Sequence[TargetRun]) -> Matrix:
    ordered = sorted(runs, key=_column_key)
    names = Counter(run.target for run in ordered)
    builds = Counter((run.target, run.build) for run in ordered)
    columns = []
    for index, run in enumerate(ordered):
        column_id = run.target
        if names[run.target] > 1:
            column_id = f"{run.target}@{run.build}"
            if builds[(run.target, run.build)] > 1:
                column_id = f"{column_id}#{index}"
        columns.append(Column(column_id, run))
    areas: dict[str, list[str]] = {}
    for check in sorted({check for run in runs for check in run.results}, key=_natural):
        areas.setdefault(junit.area(check), []).append(check)
    return Matrix(columns, dict(sorted(areas.items())))


@dataclass(frozen=True)
class Change:
    check: str
    old: Result | None
    new: Result | None


@dataclass
class Comparison:
    """One target's results in two runs, e.g. two Windows builds."""

    old: TargetRun
    new: TargetRun
    regressed: list[Change] = field(default_factory=list)  # behaved as Linux does, no longer
    fixed: list[Change] = field(default_factory=list)  # did not, now does (incl. strict xfail that passed)
    added: list[Change] = field(default_factory=list)  # checks only in the new run
    removed: list[Change] = field(default_factory=list)  # checks only in the old run
    changed: list[Change] = field(default_factory=list)  # any other change of outcome
    unchanged: int = 0


def compare_runs(old: TargetRun, new: TargetRun) -> Comparison:
    comparison = Comparison(old, new)
    for check in sorted(old.results.keys() | new.results.keys(), key=_natural):
        before, after = old.results.get(check), new.results.get(check)
        change = Change(check, before, after)
        if before is None:
            comparison.added.append(change)
        elif after is None:
            comparison.removed.append(change)
        elif before.outcome in CONFORMS and after.outcome in DIFFERS:
            comparison.regressed.append(change)
        elif before.outcome in DIFFERS and after.outcome in CONFORMS:
            comparison.fixed.append(change)
        elif before.outcome != after.outcome:
            comparison.changed.append(change)
        else:
            comparison.unchanged += 1
    return comparison


def _by_target(runs: Sequence[TargetRun], side: str) -> dict[str, TargetRun]:
    found: dict[str, TargetRun] = {}
    for run in runs:
        if run.target in found:
            builds = ", ".join(sorted({found[run.target].build, run.build}))
            raise CertificationError(
                f"{side} holds more than one run of target {run.target} (builds {builds}); name one JUnit file"
            )
        found[run.target] = run
    return found


def compare(old: Sequence[TargetRun], new: Sequence[TargetRun]) -> list[Comparison]:
    """Compare target by target; two single runs are compared whatever their names."""
    if len(old) == 1 and len(new) == 1:
        return [compare_runs(old[0], new[0])]
    before, after = _by_target(old, "OLD"), _by_target(new, "NEW")
    common = [name for name in before if name in after]
    if not common:
        raise CertificationError(
            f"no target in common: OLD has {', '.join(sorted(before)) or 'none'}, "
            f"NEW has {', '.join(sorted(after)) or 'none'}"
        )
    return [compare_runs(before[name], after[name]) for name in sorted(common)]


def write_matrix(matrix: Matrix, folder: Path, stem: str = "matrix") -> list[Path]:
    from parity import render

    return _write(folder, stem, render.matrix_html(matrix), render.matrix_markdown(matrix), render.matrix_json(matrix))


def write_comparisons(comparisons: list[Comparison], folder: Path, stem: str = "comparison") -> list[Path]:
    from parity import render

    return _write(
        folder,
        stem,
        render.comparison_html(comparisons),
        render.comparison_markdown(comparisons),
        render.comparison_json(comparisons),
    )


def _write(folder: Path, stem: str, html: str, markdown: str, json_text: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, text in ((".html", html), (".md", markdown), (".json", json_text)):
        path = folder / f"{stem}{suffix}"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _folder_of(path: Path) -> Path:
    return path if path.is_dir() else path.parent


COMMANDS = ("matrix", "compare", "validate")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m parity.certification",
        description="Certification reports from parity's JUnit files (folders or files).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    matrix = commands.add_parser("matrix", help="the conformance matrix (the default command)")
    matrix.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="JUnit files or folders of them")
    matrix.add_argument("--out", type=Path, help="folder for matrix.{html,md,json} (default: the first PATH's)")
    comparison = commands.add_parser("compare", help="regressions, fixes, new and removed checks from OLD to NEW")
    comparison.add_argument("old", type=Path, metavar="OLD", help="a JUnit file or folder: the earlier run or build")
    comparison.add_argument("new", type=Path, metavar="NEW", help="a JUnit file or folder: the later one")
    comparison.add_argument("--out", type=Path, help="folder for comparison.{html,md,json} (default: NEW's)")
    validate = commands.add_parser("validate", help="check JUnit files against the xunit2 schema")
    validate.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="JUnit files or folders of them")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in and args_in[0] not in COMMANDS and not args_in[0].startswith("-"):
        args_in.insert(0, "matrix")
    args = _parser().parse_args(args_in)
    try:
        if args.command == "matrix":
            matrix = build_matrix(junit.read_all(args.paths))
            written = write_matrix(matrix, args.out or _folder_of(args.paths[0]))
        elif args.command == "compare":
            comparisons = compare(junit.read_all([args.old]), junit.read_all([args.new]))
            written = write_comparisons(comparisons, args.out or _folder_of(args.new))
            for item in comparisons:
                print(
                    f"{item.old.target} {item.old.build} -> {item.new.target} {item.new.build}: "
                    f"{len(item.regressed)} regressed, {len(item.fixed)} fixed, {len(item.added)} new, "
                    f"{len(item.removed)} removed, {len(item.changed)} changed otherwise"
                )
        else:
            found = [
                problem for given in args.paths for path in junit.junit_files(given) for problem in junit.problems(path)
            ]
            for problem in found:
                print(problem)
            return 1 if found else 0
    except (JUnitError, CertificationError) as exc:
        print(f"parity.certification: error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
