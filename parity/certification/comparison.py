"""Two runs of one target side by side (e.g. Windows builds 16237 and 16251): what
regressed, what was fixed, and the checks that came and went."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from parity.certification.matrix import natural
from parity.certification.results import CONFORMS, DIFFERS, Result, TargetRun


class CertificationError(Exception):
    """Inputs that cannot be compared; the message is one line."""


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
    for check in sorted(old.results.keys() | new.results.keys(), key=natural):
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
