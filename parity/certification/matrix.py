"""The conformance matrix: a row per check (grouped by area), a column per target run,
the reference kind's columns first."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from parity import kinds
from parity.certification import properties
from parity.certification.junit import area
from parity.certification.requirements import COVERS, Level, Requirement, from_property, function_of
from parity.certification.results import Outcome, Result, TargetRun

ABSENT = Result(Outcome.NOT_RUN, "no result in this target's report")
# what keeps a target from a level: a difference no row explains, a fixed row (strict
# xfail: the row is wrong now), or a check without a verdict; a known divergence and a
# capability the target lacks (with its reason) do not
BLOCKS = frozenset({Outcome.FAIL, Outcome.ERROR, Outcome.FIXED, Outcome.NOT_RUN})


@dataclass(frozen=True)
class Verdict:
    """A target run's certification: the highest level it is certified at, if any."""

    level: Level | None  # None: not certified
    checked: Level  # the level the run checked (--level): it cannot certify above it
    blocking: dict[Level, list[str]]  # level -> the checks that keep the target from it

    @property
    def certified(self) -> bool:
        return self.level is not None


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

    def requirement(self, check: str) -> Requirement | None:
        """What a check requires, as the first report that states it says."""
        for column in self.columns:
            found = _requirements(column.run).get(function_of(check))
            if found is not None:
                return found
        return None

    def level_of(self, check: str) -> Level:
        """A check's level; one no report states (an older report) counts as MUST, so it
        can only keep a target from certification, never help it there."""
        found = self.requirement(check)
        return found.level if found is not None else Level.MUST

    def verdict(self, column: Column) -> Verdict:
        checked = Level(column.run.properties.get(properties.LEVEL, Level.SHOULD.value))
        blocking: dict[Level, list[str]] = {level: [] for level in Level}
        # the column's own checks: whether its run missed any of the catalogue is the
        # bundle verifier's question (it knows the catalogue), not the matrix's
        for check, result in sorted(column.run.results.items()):
            if result.outcome in BLOCKS:
                for level in Level:
                    if self.level_of(check) in COVERS[level]:
                        blocking[level].append(check)
        certified = None
        if column.run.results:
            for level in (Level.MUST, Level.SHOULD):
                if not blocking[level] and COVERS[level] <= COVERS[checked]:
                    certified = level
        return Verdict(certified, checked, blocking)

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


def _requirements(run: TargetRun) -> dict[str, Requirement]:
    return _parsed(run.properties.get(properties.REQUIREMENTS, ""))


@cache
def _parsed(text: str) -> dict[str, Requirement]:
    return from_property(text)


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
