"""The conformance matrix: a row per check (grouped by area), a column per target run,
the reference kind's columns first."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from parity import kinds
from parity.certification.junit import area
from parity.certification.results import Outcome, Result, TargetRun

ABSENT = Result(Outcome.NOT_RUN, "no result in this target's report")


def natural(text: str) -> list[int | str]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


@dataclass(frozen=True)
class Column:
    id: str  # the target's name, qualified with the build where a target has several columns
    run: TargetRun

    @property
    def reference(self) -> bool:
        kind = kinds.KINDS.get(self.run.kind)
        return kind is not None and kind.reference


@dataclass
class ConformanceMatrix:
    columns: list[Column]
    areas: dict[str, list[str]]  # area -> its checks, sorted

    def cell(self, check: str, column: Column) -> Result:
        return column.run.results.get(check, ABSENT)

    def counts(self, column: Column) -> dict[Outcome, int]:
        found = Counter(self.cell(check, column).outcome for checks in self.areas.values() for check in checks)
        return {outcome: found[outcome] for outcome in Outcome}

    def top_divergences(
        self, column: Column, limit: int = 3, outcome: Outcome = Outcome.DIVERGENCE
    ) -> list[tuple[str, str, int]]:
        """(reason, reference, checks) of a column's known divergences (or of another
        outcome with a row: fixed, documented but not observed), most checks first."""
        found = Counter(
            (result.reason, result.reference) for result in column.run.results.values() if result.outcome == outcome
        )
        ranked = sorted(found.items(), key=lambda item: (-item[1], item[0]))
        return [(reason, reference, count) for (reason, reference), count in ranked[:limit]]


def _column_key(run: TargetRun) -> tuple[int, str, list[int | str], str]:
    known = kinds.KINDS.get(run.kind)
    rank = known.rank if known is not None else len(kinds.KINDS)
    return rank, run.target, natural(run.build), run.timestamp


def build_matrix(runs: Sequence[TargetRun]) -> ConformanceMatrix:
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
    for check in sorted({check for run in runs for check in run.results}, key=natural):
        areas.setdefault(area(check), []).append(check)
    return ConformanceMatrix(columns, dict(sorted(areas.items())))
