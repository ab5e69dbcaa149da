"""Checks whose waiting overlaps with the rest of the run (parity/run/ahead.py).

``@pytest.mark.ahead(scenario, timeout=s)`` on a check: ``scenario(scope)`` does the
container work in a resource scope of the check's target and returns what it observed;
the check receives that record as its ``ahead`` fixture. One process starts every
selected scenario when collection ends (the only process, or xdist's worker gw0, so each
runs once per target); such checks are collected last, so their records are mostly
waiting for them. A scenario that raised, or recorded nothing within ``timeout`` seconds
of its check asking (or before the process running it ended: a crashed gw0), is an error
of the check's set-up: a known divergence never hides it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from parity.run.ahead import Record, ScenarioFailed, Starter, read_record, record_name, scenario_name
from parity.run.folder import folder_of
from parity.run.resources import ResourceScope, owner_alive, process_owner
from parity.run.target import Target
from plugins.state import (
    IDENTITY,
    INTERRUPTED,
    LOST,
    STATES,
    close_scope,
    is_worker,
    new_target,
    not_applicable,
    permitted,
    target_of,
)

STARTER = pytest.StashKey[Starter]()
JOIN_TIMEOUT = 900  # seconds the session's end waits for scenarios still running
Scenario = Callable[[ResourceScope], Record]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ahead(scenario, timeout=seconds, first=False): run scenario(scope) from the start of "
        "the run, in the background; the check judges its record (the ahead fixture); first: "
        "before the other scenarios (it holds what other checks wait for)",
    )


def _scenario(item: pytest.Item) -> tuple[Scenario, float] | None:
    mark = item.get_closest_marker("ahead")
    if mark is None:
        return None
    # timeout is required: pytest takes a mark called with one callable alone for a decorator
    if len(mark.args) != 1 or not callable(mark.args[0]) or "timeout" not in mark.kwargs:
        raise pytest.UsageError(f"{item.nodeid}: ahead{mark.args!r}: write ahead(scenario, timeout=seconds)")
    return mark.args[0], float(mark.kwargs["timeout"])


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Such checks last (a stable sort, the same in every worker, as xdist requires)."""
    items.sort(key=lambda item: _scenario(item) is not None)


def _starts_scenarios(config: pytest.Config) -> bool:
    if config.option.collectonly:
        return False
    if is_worker(config):
        return bool(config.workerinput["workerid"] == "gw0")  # type: ignore[attr-defined]
    return config.pluginmanager.get_plugin("dsession") is None  # xdist's controller runs no check


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if not _starts_scenarios(config):
        return
    starter = config.stash[STARTER] = Starter(folder_of(config.stash[IDENTITY].run_id), owner=process_owner())
    started: set[str] = set()
    for item in sorted(session.items, key=_not_first):
        found, name = _scenario(item), target_of(item)
        if found is None or name is None:
            continue
        state = config.stash[STATES].get(name)
        if state is None or state.unavailable or name in config.stash.get(LOST, {}) or not_applicable(item):
            continue  # the check itself says why: skipped, or failed in one line
        record = record_name(scenario_name(found[0]), name)
        if record not in started:
            started.add(record)
            starter.start(record, _runner(config, item, name, found[0]), target=name)


def _not_first(item: pytest.Item) -> bool:
    """False for a scenario marked first. Such a scenario holds something other checks
    wait for (the network isolation attempts hold the run's network creations): started
    first, it holds it while the run's first checks, which need it less, run."""
    mark = item.get_closest_marker("ahead")
    return not (mark is not None and mark.kwargs.get("first", False))


@contextmanager
def scenario_scope(config: pytest.Config, item: pytest.Item, name: str) -> Iterator[ResourceScope]:
    """A resource scope on target ``name`` with what the check's markers permit; a target
    of its own, as a client is not shared between threads."""
    selected = new_target(config, name)
    try:
        selected.provision()
        selected.client.guard.permitted = permitted(item)
        scope = selected.scope()
        try:
            yield scope
        finally:
            close_scope(config, selected, scope)
    finally:
        selected.close()


def _runner(config: pytest.Config, item: pytest.Item, name: str, scenario: Scenario) -> Callable[[], Record]:
    def run() -> Record:
        with scenario_scope(config, item, name) as scope:
            return scenario(scope)

    return run


def _gone(owner: str) -> bool:
    # started "now": an owner on another host counts as alive (its age is not known here)
    return not owner_alive(owner, int(time.time()), time.time())


@pytest.fixture
def ahead(request: pytest.FixtureRequest, target: Target) -> Record:
    """What the check's scenario observed on its target (see the ahead marker); through
    ``target``, a target that is not available skips or fails the check as any other."""
    found = _scenario(request.node)
    if found is None:
        raise pytest.UsageError(f"{request.node.nodeid}: the ahead fixture needs @pytest.mark.ahead(scenario)")
    scenario, timeout = found
    try:
        return read_record(
            folder_of(request.config.stash[IDENTITY].run_id),
            record_name(scenario_name(scenario), str(target_of(request.node))),
            timeout,
            starter_gone=_gone,
        )
    except ScenarioFailed as exc:
        pytest.fail(str(exc), pytrace=False)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The starter waits for its scenarios (a scenario is bounded by its engine calls);
    the run's folder, with the records, goes with the run (plugins/resources.py)."""
    config = session.config
    starter = config.stash.get(STARTER, None)
    # After Ctrl-C or SIGTERM nothing waits: the scenarios' threads end with the process
    # and the run's sweep removes their containers.
    if starter is not None and not config.stash.get(INTERRUPTED, False):
        # A target lost mid-run has failed its checks already; its scenarios are left to
        # end with the process, and the controller's sweep reports its cleanup.
        lost: dict[str, str] = config.stash.get(LOST, {})
        running = starter.join(timeout=JOIN_TIMEOUT, lost=set(lost))
        if running:
            print(f"parity: scenarios still running at the end of the run: {', '.join(running)}")
