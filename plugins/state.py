"""Run state the plugins share, in one place (as pytest-xdist keeps its controller state):
the stash keys, worker detection, the target a test item runs on and the spec of a
target. Plugins import shared state from here, never from each other."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.certification.requirements import Level
from parity.config.divergences import Divergence, applying
from parity.config.matrix import TargetSpec
from parity.engine import guard
from parity.platform.fact_table import FactValue, unmet_precondition
from parity.run.launch import LaunchResult
from parity.run.resources import ResourceScope, RunIdentity
from parity.run.target import Target, TargetState, fact_table_of

MATRIX_PATH = pytest.StashKey[Path]()  # the matrix file of this run
SELECTED = pytest.StashKey[list[TargetSpec]]()  # the targets this run covers, in order
REFERENCE = pytest.StashKey[str | None]()  # the matrix's reference target, when this run covers it
IDENTITY = pytest.StashKey[RunIdentity]()  # the run id that labels every resource
LAUNCHED = pytest.StashKey[dict[str, LaunchResult]]()  # target -> how its launch went
STATES = pytest.StashKey[dict[str, TargetState]]()  # target -> what first contact found
# target name -> why its engine stopped answering mid-run (per process: each xdist
# worker finds out for itself, at the cost of one bounded ping)
LOST = pytest.StashKey[dict[str, str]]()
# set when Ctrl-C or SIGTERM stopped the run: what checks left behind is the sweep's
INTERRUPTED = pytest.StashKey[bool]()
ROWS = pytest.StashKey[tuple[Divergence, ...]]()  # the known divergences of this run (divergences.yaml)
# what replays the run's generated examples (hypothesis profile and seed), for the reports
GENERATED = pytest.StashKey[dict[str, str]]()
WORKLOAD = pytest.StashKey[str]()  # on an item: the workload image the check ran on
LEVEL = pytest.StashKey[Level]()  # the requirement level this run certifies (--level)


def is_worker(config: pytest.Config) -> bool:
    """Whether this process is an xdist worker (the controller has no workerinput)."""
    return hasattr(config, "workerinput")


def explicitly_selected(config: pytest.Config) -> bool:
    """Targets named with --target must answer; unnamed ones may be skipped."""
    return bool(config.getoption("--target"))


def target_of(item: pytest.Item) -> str | None:
    """The name of the target a test item runs on; None for a test without one."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or "target" not in callspec.params:
        return None
    return str(callspec.params["target"])


def check_function(item: pytest.Item) -> str:
    """'suites/<file>.py::<function>' of a test item, independent of its parameters."""
    path = item.nodeid.split("::", 1)[0]
    return f"{path}::{getattr(item, 'originalname', item.name)}"


def spec_of(config: pytest.Config, name: str) -> TargetSpec:
    """The matrix entry of a selected target."""
    return next(spec for spec in config.stash[SELECTED] if spec.name == name)


def new_target(config: pytest.Config, name: str) -> Target:
    """A Target of a selected, available target, not yet provisioned."""
    return Target(spec_of(config, name), config.stash[STATES][name], config.stash[IDENTITY])


def not_applicable(item: pytest.Item) -> str | None:
    """Why a check does not apply to its target (a required capability the target does
    not declare, a since(...) precondition its facts do not meet), or None."""
    name = target_of(item)
    if name is None:
        return None
    spec = spec_of(item.config, name)
    declared = spec.capability_set()
    for needed in (cap for mark in item.iter_markers("requires") for cap in mark.args):
        if not declared[needed]:
            return spec.why_missing(needed)
    params = item.callspec.params  # type: ignore[attr-defined]  # an item with a target is parametrized
    for mark in item.iter_markers("since"):
        wanted: dict[str, object] = mark.kwargs.get("params", {})
        if all(params.get(key) == value for key, value in wanted.items()):
            unmet = unmet_precondition(facts_of(item.config, name), *mark.args)
            if unmet is not None:
                return f"target {name}: {unmet}"
    return None


def permitted(item: pytest.Item) -> frozenset[str]:
    """The hazards a check's markers permit: requires(...) of a hazard's capability, and
    permits(...)."""
    marks = [*item.iter_markers("requires"), *item.iter_markers("permits")]
    return frozenset(name for mark in marks for name in mark.args if name in guard.HAZARDS)


def close_scope(config: pytest.Config, target: Target, scope: ResourceScope) -> None:
    """Remove what a scope created, unless the target's engine was lost: its resources
    are then left to the next run's reaping (the session summary says so), rather than
    costing a failed call, and a traceback, per check. After Ctrl-C or SIGTERM the
    session's sweep removes everything of the run instead: a check cut short may have
    made a container its scope never heard of, which keeps the scope's volume in use."""
    if target.name not in config.stash.get(LOST, {}) and not config.stash.get(INTERRUPTED, False):
        scope.close()


def facts_of(config: pytest.Config, name: str) -> dict[str, FactValue]:
    """The platform facts of a selected target: empty before contact, only its declared
    kind when its engine did not answer."""
    state = config.stash.get(STATES, {}).get(name)
    return {} if state is None else fact_table_of(spec_of(config, name), state)


def rows_applying(config: pytest.Config, name: str) -> tuple[Divergence, ...]:
    """The known divergences whose facts hold on a target: the only rows its run uses."""
    return applying(config.stash.get(ROWS, ()), facts_of(config, name))
