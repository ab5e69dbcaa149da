"""The result model: what one check did on one target, and one target's results of a run
(a column of the conformance matrix)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

NOT_APPLICABLE = "not applicable: "  # a skip with this prefix: the target lacks what the check needs
# the output of a passed check whose divergence row was documented, not observed
UNOBSERVED_MARK = "parity: documented, not observed: "


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # setup or teardown failed: the check could not say
    DIVERGENCE = "known divergence"  # fails as divergences.yaml says it will (strict xfail)
    FIXED = "divergence fixed"  # a known divergence that passed: strict xfail, so the run fails
    # a divergence known from documents only that passed: reported, not failed
    UNOBSERVED = "documented, not observed"
    NOT_APPLICABLE = "not applicable"  # the target lacks a capability the check needs
    # fails on the reference target of the same run: the check itself is wrong, or the
    # reference is; it judges no target until fixed (gVisor's rule: pass natively first)
    BROKEN = "broken"
    NOT_RUN = "not run"  # skipped for another reason (target unavailable), or absent


CONFORMS = frozenset({Outcome.PASS, Outcome.FIXED, Outcome.UNOBSERVED})  # behaves as Linux does
DIFFERS = frozenset({Outcome.FAIL, Outcome.ERROR, Outcome.DIVERGENCE})  # does not, or could not say


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str = ""  # a failure's message, or why the check did not apply or run
    reason: str = ""  # known divergence (or a fixed one): why the platform differs
    reference: str = ""  # ... and the public reference that says so


@dataclass
class TargetRun:
    """One target's results from one run: a column of the matrix."""

    target: str
    kind: str
    build: str
    run: str
    source: Path
    timestamp: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    results: dict[str, Result] = field(default_factory=dict)  # check -> result
