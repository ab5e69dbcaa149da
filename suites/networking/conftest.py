"""Echo servers for the networking checks: a workload container serving one port."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from docker.models.containers import Container

from parity.run.resources import ResourceScope
from parity.workload.image import PROBE_PATH
from suites.lifecycle.waiting import pause

StartServer = Callable[..., Container]


@pytest.fixture(scope="session")
def own_network_mode() -> str | None:
    """The networking checks' own containers are on the engine's default network unless a
    check names another (overrides suites/conftest.py)."""
    return None


def wait_until_serving(container: Container, timeout: float = 30) -> None:
    """The probe's server prints one JSON line when it listens; wait for it (bounded)."""
    began = time.monotonic()
    while time.monotonic() < began + timeout:
        for line in container.logs(stdout=True, stderr=False).decode("latin-1").splitlines():
            if line.startswith("{") and json.loads(line).get("ok") is True:
                return
        container.reload()
        if container.status not in ("created", "running"):
            break
        pause(time.monotonic() - began)
    logs = container.logs().decode("latin-1")[-2000:]
    raise AssertionError(f"echo server in {container.name} not serving within {timeout} s: {logs}")


def echo_server(scope: ResourceScope, protocol: str, port: int, **options: Any) -> Container:
    """A running echo server of ``protocol`` on ``port``, created with ``options``."""
    container = scope.container([PROBE_PATH, f"{protocol}-echo-server", str(port)], **options)
    wait_until_serving(container)
    container.reload()
    return container


@pytest.fixture
def start_server(resources: ResourceScope) -> StartServer:
    """``start_server("tcp", 7000, network=..., publish=[...])``: a running echo server."""
    return partial(echo_server, resources)
