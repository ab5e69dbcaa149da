"""Certification reports from JUnit files: the conformance matrix, and comparisons.

The matrix has a row per check (grouped by area) and a column per target run; a
comparison sets two runs of a target side by side (e.g. Windows builds 16237 and 16251)
and lists what regressed, what was fixed, and the checks that came and went. Both are
rendered by ``parity.certification.render`` as HTML (for people), Markdown (for CI summaries) and JSON
(for tools). From the command line::

    python -m parity.certification reports/                  # matrix.{html,md,json}
    python -m parity.certification compare OLD NEW           # comparison.{html,md,json}
    python -m parity.certification validate reports/*.xml    # xunit2 schema problems
    python -m parity.certification flakes --runs 3 -- suites --target local -n 2
                                                             # verdicts that flip between runs
    python -m parity.certification bundle reports/ --log run.log --out result.tar.gz
                                                             # a run packed with what judged it
    python -m parity.certification verify result.tar.gz      # numbered reasons to refuse it, or none
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from parity.certification import bundle, flakes, history, junit, render
from parity.certification.comparison import CertificationError, Comparison, compare
from parity.certification.junit import JUnitError
from parity.certification.matrix import ConformanceMatrix, build_matrix


def write_matrix(matrix: ConformanceMatrix, folder: Path, stem: str = "matrix") -> list[Path]:
    return _write(folder, stem, render.matrix_html(matrix), render.matrix_markdown(matrix), render.matrix_json(matrix))


def write_comparisons(comparisons: list[Comparison], folder: Path, stem: str = "comparison") -> list[Path]:
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


COMMANDS = ("matrix", "compare", "validate", "flakes", "bundle", "verify", "history")


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
    flaky = commands.add_parser("flakes", help="run pytest N times and list every check whose verdict changed")
    flaky.add_argument("--runs", type=int, default=3, help="how many runs (at least 2; default 3)")
    flaky.add_argument("--out", type=Path, default=Path("reports/flakes"), help="folder for each run's reports")
    flaky.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="-- PYTEST ARGS", help="what pytest runs")
    packing = commands.add_parser("bundle", help="pack a run's reports with what judged them, and a SHA-256 manifest")
    packing.add_argument("reports", nargs="?", type=Path, default=Path("reports"), help="the run's reports folder")
    packing.add_argument("--out", type=Path, default=Path("parity-bundle.tar.gz"), help="the bundle to write")
    packing.add_argument("--log", type=Path, help="the run's terminal output (pytest's, tee'd to a file)")
    packing.add_argument("--root", type=Path, default=Path(), help="the suite's folder (its suites/ and git commit)")
    packing.add_argument("--matrix", type=Path, help="the targets file the run used (default: ROOT/matrix.yaml)")
    packing.add_argument(
        "--divergences", type=Path, help="the divergences the run used (default: ROOT/divergences.yaml)"
    )
    checking = commands.add_parser("verify", help="check a bundle: hashes, required checks, verdicts, divergences")
    checking.add_argument("bundle", type=Path, metavar="BUNDLE", help="a bundle (.tar.gz) or its unpacked folder")
    past = commands.add_parser("history", help="one target over many builds: pass rate and regressions per build")
    past.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="JUnit files or folders, a run per build")
    past.add_argument("--target", help="the target to follow (needed when the runs are of several targets)")
    past.add_argument("--out", type=Path, help="folder for history.{html,md} (default: the first PATH's)")
    return parser


def _bundle(args: argparse.Namespace) -> int:
    manifest = bundle.create(
        args.reports,
        args.out,
        root=args.root,
        targets_file=args.matrix or args.root / "matrix.yaml",
        divergences_file=args.divergences or args.root / "divergences.yaml",
        log=args.log,
    )
    suite = manifest["suite"]
    targets = ", ".join(item["target"] for item in manifest["targets"])
    print(f"wrote {args.out}: {len(manifest['files'])} files, targets {targets}, suite commit {suite['commit']}")
    if "note" in suite:
        print(f"  the suite's commit is unknown: {suite['note']}")
    elif suite["dirty"]:
        print("  the suite's checkout has uncommitted changes: its commit does not name the suite that ran")
    print(f"  sha256 {bundle.sha256(args.out.read_bytes())} (publish it: the manifest detects change, not forgery)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    verification = bundle.verify(args.bundle)
    for number, problem in enumerate(verification.problems, 1):
        print(problem.line(number))
    if verification.problems:
        return 1
    print(verification.summary())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in and args_in[0] not in COMMANDS and not args_in[0].startswith("-"):
        args_in.insert(0, "matrix")
    parser = _parser()
    args = parser.parse_args(args_in)
    if args.command == "flakes":
        if args.runs < 2:
            parser.error(f"flakes: --runs {args.runs}: a flip needs at least 2 runs")
        given = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
        return flakes.gate(args.runs, args.out, given or ["suites"])
    try:
        if args.command == "bundle":
            return _bundle(args)
        if args.command == "verify":
            return _verify(args)
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
        elif args.command == "history":
            points = history.history(junit.read_all(args.paths), args.target)
            written = history.write_history(points, args.out or _folder_of(args.paths[0]))
        else:
            found = [
                problem for given in args.paths for path in junit.junit_files(given) for problem in junit.problems(path)
            ]
            for problem in found:
                print(problem)
            return 1 if found else 0
    except (JUnitError, CertificationError, bundle.BundleError) as exc:
        print(f"parity.certification: error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0
