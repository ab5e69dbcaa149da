"""The run's identity, per-check resource scopes, and cleanup that survives interruption.

pytest turns SIGINT into KeyboardInterrupt and still finishes the session; SIGTERM it
does not handle, so it is turned into the same path here. At session end the controller
removes whatever is still labelled with this run on every target (workers may have been
stopped mid-test); a run killed with SIGKILL is reaped by the next run's preparation. The
run's folder on this machine (parity/run/folder.py) goes the same ways.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Generator, Iterator
from types import FrameType
from typing import Any

import pytest

from parity.engine import guard
from parity.engine.contact import negotiate_api_version, unreachable
from parity.engine.endpoint import resolve_endpoint
from parity.engine.errors import reason
from parity.run import folder as run_folder
from parity.run.resources import ResourceScope, RunIdentity, owner_alive, sweep
from parity.run.target import Target
from plugins.state import IDENTITY, INTERRUPTED, SELECTED, STATES, close_scope, is_worker, permitted

SWEPT = pytest.StashKey[dict[str, str]]()
WORKERINPUT_KEY = "parity_identity"


def _terminate_as_interrupt(signum: int, frame: FrameType | None) -> None:
    # Only once: a second SIGTERM during cleanup must not cut the cleanup short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "permits(*hazards): the check may make requests parity otherwise refuses "
        f"({', '.join(f'{name}: {what}' for name, what in sorted(guard.HAZARDS.items()))})",
    )
    if is_worker(config):
        raw = config.workerinput[WORKERINPUT_KEY]  # type: ignore[attr-defined]
        config.stash[IDENTITY] = RunIdentity(raw["run_id"], raw["owner"], raw["started"])
    else:
        identity = config.stash[IDENTITY] = RunIdentity.new()
        # the folders of runs killed before they could remove theirs go first
        run_folder.reap(identity.run_id, lambda owner, started: owner_alive(owner, started, time.time()))
        run_folder.claim(identity.run_id, identity.owner, identity.started)
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _terminate_as_interrupt)


def pytest_unconfigure(config: pytest.Config) -> None:
    """The controller removes the run's folder: its workers and scenarios have ended."""
    if IDENTITY in config.stash and not is_worker(config):
        run_folder.remove(config.stash[IDENTITY].run_id)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    identity = node.config.stash[IDENTITY]
    node.workerinput[WORKERINPUT_KEY] = {
        "run_id": identity.run_id,
        "owner": identity.owner,
        "started": identity.started,
    }


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    """Controller: remove every resource of this run, on every target that answered.
    Runs after xdist has stopped its workers, also after Ctrl-C and SIGTERM, and also when
    the session's own teardown raised (a fixture's cleanup cut short by Ctrl-C): a wrapper
    sweeps in its finally. Inside the launch plugin's wrapper, so before launched engines stop."""
    # Before the plain hooks, which tear the fixtures of a check cut short down: pytest has
    # set the exit status of a Ctrl-C (and of SIGTERM, turned into one above) by now.
    session.config.stash[INTERRUPTED] = session.exitstatus == pytest.ExitCode.INTERRUPTED
    try:
        return (yield)
    finally:
        if not is_worker(session.config):
            _sweep_the_run(session)


def _sweep_the_run(session: pytest.Session) -> None:
    config = session.config
    run_id = config.stash[IDENTITY].run_id
    swept: dict[str, str] = {}
    for spec in config.stash.get(SELECTED, []):
        state = config.stash.get(STATES, {}).get(spec.name)
        if state is None or state.unavailable or state.facts is None:
            continue
        endpoint = resolve_endpoint(spec.engine)
        # Ask first, without leaking a socket, whether it answers at all: an engine lost
        # mid-run must cost one bounded ping here, not a timeout per listing.
        gone = unreachable(endpoint, min(spec.engine.timeout, 10))
        if gone is not None:
            swept[spec.name] = f"cleanup failed: {gone}; the next run reaps what is left"
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            continue
        try:
            client = endpoint.client(spec.engine.timeout, version=negotiate_api_version(state.facts))
            try:
                removed = sweep(client, run_id)
            finally:
                client.close()
        except Exception as exc:  # reported in the summary and the exit status, never hidden
            swept[spec.name] = f"cleanup failed: {reason(exc, spec.engine.timeout)}"
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            continue
        if removed:
            swept[spec.name] = "removed at session end: " + ", ".join(
                f"{n} {kind}" for kind, n in sorted(removed.items())
            )
    config.stash[SWEPT] = swept


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for name, what in sorted(config.stash.get(SWEPT, {}).items()):
        terminalreporter.write_line(f"parity: target {name}: {what}")


@pytest.fixture(autouse=True)
def _guard_the_engine(request: pytest.FixtureRequest) -> Iterator[None]:
    """While a check runs, its target's client permits exactly what the check's markers
    permit (parity/engine/guard.py); outside checks, nothing."""
    selected = request.getfixturevalue("target") if "target" in request.fixturenames else None
    if not isinstance(selected, Target):  # no target, or a project's own stand-in
        yield
        return
    client = selected.client.guard
    client.permitted = permitted(request.node)
    yield
    client.permitted = frozenset()


@pytest.fixture(scope="session")
def own_network_mode() -> str | None:
    """The network mode of the containers a check (or a module's fixture) creates without
    naming a network (ResourceScope.network_mode): here the engine's default; an area of
    checks that does not touch the network overrides it in its conftest.py."""
    return None


@pytest.fixture
def resources(target: Target, own_network_mode: str | None, request: pytest.FixtureRequest) -> Iterator[ResourceScope]:
    """Containers, networks and volumes for one check, removed when it ends."""
    scope = target.scope(network_mode=own_network_mode)
    yield scope
    close_scope(request.config, target, scope)
