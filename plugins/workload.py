"""Fixtures over the workload image: a shared observer container, the probe, testinfra.

Starting a container is the suite's main cost, so checks that only observe a default
container share one per target (and per xdist worker); checks that need other settings
create their own through ``resources``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import testinfra.host
from docker.models.containers import Container

from parity import infra
from parity.probe import Prober
from parity.target import Target


@pytest.fixture(scope="session")
def workload(target: Target) -> Iterator[Container]:
    """A running workload container with the engine's default settings, shared by the
    checks that only observe. Checks must not change its state beyond their own files
    under /tmp."""
    scope = target.scope()
    container = scope.container()
    yield container
    scope.close()


@pytest.fixture(scope="session")
def probe(workload: Container) -> Prober:
    """The probe in the shared container: ``probe(("uname",), ("ids",))`` is one exec."""
    return Prober(workload)


@pytest.fixture(scope="session")
def host(workload: Container) -> testinfra.host.Host:
    """testinfra's host for the shared workload container."""
    return infra.host(workload)
