"""Contacting targets once per run, the terminal header, and the ``target`` fixture.

The controller contacts every selected target before the run (in parallel, bounded) and
hands the outcome to xdist workers, which therefore never block on a dead engine.
A target that does not answer is skipped with its reason, unless it was named with
``--target``: then each of its tests errors with that one-line reason.
"""

from __future__ import annotations

import subprocess
from collections.abc import Generator, Iterator
from typing import Any

import docker.errors
import filelock
import pytest
import requests.exceptions

from parity.certification.results import NOT_APPLICABLE
from parity.engine import guard
from parity.engine.contact import unreachable
from parity.engine.endpoint import resolve_endpoint
from parity.engine.errors import connection_failed, reason
from parity.platform.capabilities import CAPABILITIES
from parity.platform.fact_table import VERSION_FACTS, version_tuple
from parity.run.target import KindMismatch, Target, TargetState, contact_all
from parity.workload.image import WorkloadError
from plugins.state import (
    IDENTITY,
    LAUNCHED,
    LOST,
    MATRIX_PATH,
    REFERENCE,
    SELECTED,
    STATES,
    WORKLOAD,
    explicitly_selected,
    is_worker,
    new_target,
    not_applicable,
    spec_of,
    target_of,
)

WORKERINPUT_KEY = "parity_targets"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    specs = config.stash[SELECTED]
    if is_worker(config):
        raw: list[dict[str, Any]] = config.workerinput[WORKERINPUT_KEY]  # type: ignore[attr-defined]
        states = [TargetState.from_json(item) for item in raw]
    elif config.option.collectonly:
        states = [TargetState(s.name, "", unavailable="not contacted under --collect-only") for s in specs]
    else:
        launched = config.stash.get(LAUNCHED, {})
        failed = {name: outcome.line for name, outcome in launched.items() if not outcome.ok}
        try:
            contacted = contact_all([s for s in specs if s.name not in failed], config.stash[IDENTITY])
        except KindMismatch as exc:
            raise pytest.UsageError(f"{config.stash[MATRIX_PATH]}: {exc}") from None
        by_name = {state.name: state for state in contacted}
        states = [by_name.get(s.name) or TargetState(s.name, "", unavailable=failed[s.name]) for s in specs]
    config.stash[STATES] = {state.name: state for state in states}


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: give each worker what the controller learned, so it contacts no engine first."""
    states = node.config.stash[STATES]
    node.workerinput[WORKERINPUT_KEY] = [state.to_json() for state in states.values()]


def pytest_report_header(config: pytest.Config) -> list[str]:
    states = config.stash.get(STATES, {})
    lines = [f"parity run {config.stash[IDENTITY].run_id}: {config.stash[MATRIX_PATH]}"]
    for spec in config.stash[SELECTED]:
        state = states.get(spec.name)
        if state is None:
            continue
        launched = config.stash.get(LAUNCHED, {}).get(spec.name)
        if state.unavailable:
            lines.append(f"  {spec.name} ({spec.kind}): unavailable: {state.unavailable}")
            if launched is not None:
                lines.extend(f"    | {line}" for line in launched.detail.splitlines())
            continue
        assert state.facts is not None
        f = state.facts
        lines.append(
            f"  {spec.name} ({spec.kind}): {state.address}: {f.operating_system}, "
            f"engine {f.server_version} (API {f.api_version}), {f.os_type}/{f.architecture}, "
            f"kernel {f.kernel_version}, build {f.build()}"
            + (f", isolation {f.isolation}" if f.isolation else "")
            + (f", cgroup v{f.cgroup_version}" if f.cgroup_version else "")
            + (f" ({f.cgroup_driver})" if f.cgroup_driver else "")
            + (f", storage {f.storage_driver}" if f.storage_driver else "")
        )
        seen = state.observed
        if seen.unobserved:
            lines.append(f"    containers: {seen.unobserved}")
        else:
            mounts = "; ".join(f"{kind} {mount}" for kind, mount in seen.storage.items())
            lines.append(f"    containers see: kernel {seen.kernel}; {mounts}")
        if launched is not None:
            lines.append(f"    launched: {launched.line}")
        if state.reaped:
            debris = ", ".join(f"{count} {kind}" for kind, count in sorted(state.reaped.items()))
            lines.append(f"    reaped from runs that were killed: {debris}")
    if not config.stash[SELECTED]:
        lines.append("  no target selected")
    return lines


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The reference first: a check must pass natively before it judges another platform.
    # A stable sort keeps pytest's grouping of items by target.
    reference = config.stash.get(REFERENCE, None)
    if reference is not None:
        items.sort(key=lambda item: target_of(item) != reference)
    for item in items:
        for mark in item.iter_markers("requires"):
            for name in mark.args:
                if name not in CAPABILITIES:
                    raise pytest.UsageError(f"{item.nodeid}: requires({name!r}): unknown capability")
        for mark in item.iter_markers("since"):
            if len(mark.args) != 3 or mark.args[0] not in VERSION_FACTS or version_tuple(str(mark.args[1])) is None:
                raise pytest.UsageError(
                    f"{item.nodeid}: since{mark.args!r}: write since(fact, version, source) with fact one of "
                    f"{', '.join(sorted(VERSION_FACTS))} and a version like '6.6'"
                )
        for mark in item.iter_markers("permits"):
            for name in mark.args:
                if name not in guard.HAZARDS:
                    raise pytest.UsageError(
                        f"{item.nodeid}: permits({name!r}): unknown hazard (known: {', '.join(sorted(guard.HAZARDS))})"
                    )


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    """Say in one line when a marker expression left no target at all (e.g. -m hyperv)."""
    if items or not config.getoption("markexpr"):
        return []
    kinds = sorted({spec.kind for spec in config.stash[SELECTED]})
    return [
        f"no test matches -m {config.getoption('markexpr')!r}: the selected targets are of kind "
        f"{', '.join(kinds) or 'none'} (see {config.stash[MATRIX_PATH]})"
    ]


def _provisioned(config: pytest.Config, name: str) -> Target:
    """A usable Target for a selected, available target: its workload built and loaded;
    fails the requesting check in one line when that cannot be done."""
    selected = new_target(config, name)
    try:
        selected.provision()
    except (
        WorkloadError,
        docker.errors.DockerException,
        requests.exceptions.RequestException,
        subprocess.SubprocessError,
        filelock.Timeout,
    ) as exc:
        selected.close()
        pytest.fail(f"target {name}: workload: {reason(exc, selected.timeout)}", pytrace=False)
    return selected


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The target under test (parametrized from matrix.yaml; ids are target names)."""
    name: str = request.param
    config = request.config
    state = config.stash[STATES][name]
    if state.unavailable:
        if explicitly_selected(config):
            pytest.fail(f"target {name}: {state.unavailable}", pytrace=False)
        pytest.skip(f"target {name} is not available: {state.unavailable}")
    selected = _provisioned(config, name)
    yield selected
    selected.close()


@pytest.fixture(scope="session")
def reference(request: pytest.FixtureRequest, target: Target) -> Iterator[Target | None]:
    """The run's reference target, to compare the target under test with (differential
    checks); None when the reference is not in the run, did not answer, or is the
    target under test itself: such checks then compare with their Linux model."""
    name = request.config.stash.get(REFERENCE, None)
    state = request.config.stash[STATES].get(name) if name else None
    if name is None or name == target.name or state is None or state.unavailable:
        yield None
        return
    selected = _provisioned(request.config, name)
    yield selected
    selected.close()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip, as not applicable, a check whose required capabilities its target does not
    declare; before any fixture, so the engine is not even contacted for it. Fail at
    once, in one line, a check whose target's engine was lost earlier in the run."""
    name = target_of(item)
    if name is None:
        return
    why = not_applicable(item)
    if why is not None:
        pytest.skip(f"{NOT_APPLICABLE}{why}")
    lost = item.config.stash.get(LOST, {}).get(name)
    if lost is not None:
        pytest.fail(f"target {name}: engine lost mid-run: {lost}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A check that failed because its engine's connection failed: if one bounded ping
    confirms the engine is gone, remember it for the target's remaining checks and
    report this one in the same single line instead of a transport traceback."""
    report = yield
    name = target_of(item)
    lost = item.config.stash.setdefault(LOST, {})
    if name is None or name in lost or call.excinfo is None or report.passed or report.skipped:
        return report
    if not connection_failed(call.excinfo.value):
        return report
    spec = spec_of(item.config, name)
    gone = unreachable(resolve_endpoint(spec.engine), min(spec.engine.timeout, 10))
    if gone is not None:
        lost[name] = gone
        report.longrepr = f"target {name}: engine lost mid-run: {gone}"
    return report


@pytest.fixture(autouse=True)
def _record_workload(request: pytest.FixtureRequest) -> None:
    """Note the workload image a check ran on; its report carries it to the per-target JUnit."""
    if "target" in request.fixturenames:
        selected: Target = request.getfixturevalue("target")
        request.node.stash[WORKLOAD] = selected.image
