"""A scope's network mode for containers that name no network (ResourceScope.network_mode),
on the wire to a stand-in engine: set where a create names no network, never over a
network the check names or a port it publishes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docker
import pytest

from parity.run.resources import ResourceScope, RunIdentity
from tests.fake_engine import FakeEngine, recorded_api

RECORDED = "linux-ubuntu-17.10-docker-18.03.1-ce.txt"


@pytest.mark.parametrize(
    ("scope_mode", "options", "sent"),
    [
        (None, {}, "default"),  # docker-py's name for the engine's default network
        ("none", {}, "none"),
        ("none", {"network_mode": "host"}, "host"),
        ("none", {"network": "parity-net"}, "parity-net"),
        ("none", {"publish": ["7000/tcp"]}, "default"),
    ],
)
def test_network_mode_sent(tmp_path: Path, scope_mode: str | None, options: dict[str, Any], sent: str) -> None:
    info, version = recorded_api(RECORDED)
    with FakeEngine(tmp_path / "engine.sock", info, version) as engine:
        client = docker.DockerClient(base_url=engine.url, version="1.40", timeout=5)
        scope = ResourceScope(client, "t", RunIdentity.new(), "sha256:" + "ab" * 32, network_mode=scope_mode)
        scope.container(["/usr/local/bin/probe", "idle"], start=False, **options)
        scope.close()
        client.close()
    (create,) = engine.created()
    assert create.body["HostConfig"]["NetworkMode"] == sent
