"""The flake gate: run the catalogue several times and list every check whose verdict
changed between runs, with each run's message. A check that flips is a false alarm
waiting to happen; one that fails every time is a failure, not a flake.

    python -m parity.certification flakes --runs 3 --out reports/flakes -- suites --target local -n 2
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from parity.certification import junit
from parity.certification.results import Outcome, Result, TargetRun


@dataclass(frozen=True)
class Flip:
    """A check whose verdict on a target was not the same in every run."""

    target: str
    check: str
    verdicts: tuple[Result, ...]  # run 1, run 2, ...: NOT_RUN where a run has no result

    def describe(self) -> str:
        parts = [
            f"run {n} {r.outcome}" + (f": {' '.join(r.detail.split())[:300]}" if r.detail else "")
            for n, r in enumerate(self.verdicts, 1)
        ]
        return f"{self.check} [{self.target}]: " + "; ".join(parts)


def flips(repetitions: Sequence[Sequence[TargetRun]]) -> list[Flip]:
    """Every (target, check) whose outcome differs between repetitions of one run."""
    seen: dict[tuple[str, str], dict[int, Result]] = defaultdict(dict)
    for index, runs in enumerate(repetitions):
        for run in runs:
            for check, result in run.results.items():
                seen[(run.target, check)][index] = result
    found = []
    absent = Result(Outcome.NOT_RUN, "no result in this run")
    for (target, check), results in sorted(seen.items()):
        verdicts = tuple(results.get(index, absent) for index in range(len(repetitions)))
        if len({verdict.outcome for verdict in verdicts}) > 1:
            found.append(Flip(target, check, verdicts))
    return found


def gate(runs: int, out: Path, pytest_args: Sequence[str]) -> int:
    """Run pytest ``runs`` times with its per-target reports in out/run-N; print the flips.
    Exit status 1 when a verdict flipped; else the first run's that failed (a check that
    fails every time is a failure, and the gate may be CI's only run of the catalogue);
    else 0."""
    repetitions, statuses = [], []
    for number in range(1, runs + 1):
        folder = out / f"run-{number}"
        command = [sys.executable, "-m", "pytest", *pytest_args, f"--reports={folder}", "-p", "no:cacheprovider"]
        print(f"flake gate: run {number} of {runs}: {' '.join(command[1:])}", flush=True)
        statuses.append(subprocess.run(command, check=False).returncode)
        files = sorted(folder.glob("junit-*.xml")) if folder.is_dir() else []
        repetitions.append(junit.read_all(files) if files else [])
    found = flips(repetitions)
    checks = len({(run.target, check) for runs_ in repetitions for run in runs_ for check in run.results})
    print(f"flake gate: {runs} runs (pytest exit statuses {', '.join(map(str, statuses))}), {checks} checks compared")
    for flip in found:
        print(f"FLIPPED {flip.describe()}")
    print(f"flake gate: {len(found)} checks changed their verdict between runs")
    return 1 if found else next((status for status in statuses if status), 0)
