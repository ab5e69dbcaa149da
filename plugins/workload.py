"""Fixtures over the workload image: a shared observer container, the probe, testinfra.

Starting a container is the suite's main cost, so checks that only observe a default
container share one per target (and per xdist worker); checks that need other settings
create their own through ``resources``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

import pytest
import testinfra.host
from docker.models.containers import Container

from parity.run.observe import main_process
from parity.run.resources import ResourceScope
from parity.run.target import Target
from parity.run.together import Request, Together
from parity.workload import infra
from parity.workload.probe import Observation, Op, Prober
from plugins.state import close_scope

Observe = Callable[..., list[Observation]]


@pytest.fixture(scope="session")
def workload(target: Target, request: pytest.FixtureRequest) -> Iterator[Container]:
    """A running workload container with the engine's default settings, shared by the
    checks that only observe. Checks must not change its state beyond their own files
    under /tmp."""
    with module_scope(target, request.config) as scope:
        yield scope.container()


@contextmanager
def module_scope(target: Target, config: pytest.Config, own_network_mode: str | None = None) -> Iterator[ResourceScope]:
    """A resource scope on ``target`` whose resources are removed on exit (unless the
    target was lost, see close_scope): for a module's or the session's fixture, whose
    checks share what it creates. ``own_network_mode``: see ResourceScope.network_mode
    (a module's fixture passes the ``own_network_mode`` fixture of its checks)."""
    scope = target.scope(network_mode=own_network_mode)
    try:
        yield scope
    finally:
        close_scope(config, target, scope)


@contextmanager
def serving_container(
    target: Target, config: pytest.Config, own_network_mode: str | None = None, **options: Any
) -> Iterator[Prober]:
    """A container of its own, created with ``options``, its probe serving; removed on
    exit. For a module's fixture: the checks that need the same settings share it."""
    with module_scope(target, config, own_network_mode) as scope:
        prober = Prober(scope.container(**options), serve=True, timeout=target.timeout)
        try:
            yield prober
        finally:
            prober.close()


@contextmanager
def together(
    target: Target, config: pytest.Config, requests: Mapping[str, Request], own_network_mode: str | None = None
) -> Iterator[Together]:
    """For a module's fixture: checks that observe containers of their own whose options
    go together share one (parity/run/together.py); removed on exit."""
    shared = Together(partial(target.scope, network_mode=own_network_mode), requests, target.timeout)
    try:
        yield shared
    finally:
        if shared.scope is not None:
            close_scope(config, target, shared.scope)


@pytest.fixture(scope="session")
def probe(workload: Container, target: Target) -> Iterator[Prober]:
    """The probe in the shared container: ``probe(("uname",), ("ids",))`` is one request
    to its probe server (one exec when the batch sets a user, environment or workdir)."""
    prober = Prober(workload, serve=True, timeout=target.timeout)
    yield prober
    prober.close()


@pytest.fixture(scope="session")
def reference_probe(reference: Target | None, request: pytest.FixtureRequest) -> Iterator[Prober | None]:
    """The probe in a default container on the run's reference target, for differential
    checks; None without a reference (see the ``reference`` fixture)."""
    if reference is None:
        yield None
        return
    with serving_container(reference, request.config) as prober:
        yield prober


@pytest.fixture(scope="session")
def host(workload: Container, probe: Prober) -> testinfra.host.Host:
    """testinfra's host for the shared workload container; its commands are requests to
    the container's probe server."""
    return infra.host(workload, prober=probe)


@pytest.fixture
def observe(resources: ResourceScope) -> Observe:
    """``observe(("caps",), cap_drop=["ALL"])``: a fresh container created with these
    options runs the probe batch as its main process; one container start per call."""

    def run(*ops: Op, **options: Any) -> list[Observation]:
        return main_process(resources, ops, **options)[0]

    return run
