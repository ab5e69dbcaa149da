"""The guard on every engine request (parity/engine/guard.py), and the catalogue under it."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from parity.engine.endpoint import Endpoint
from parity.engine.guard import GuardedClient, Refused, container_refusals
from tests.fake_engine import FakeEngine

SUITES = Path(__file__).resolve().parents[2] / "suites"
OWN = "/tmp/parity-engine-x/docker.sock"


def refusals(host_config: dict[str, Any], *permitted: str) -> list[str]:
    return container_refusals({"HostConfig": host_config}, permitted, (OWN,))


@pytest.mark.parametrize(
    ("host_config", "expected"),
    [
        ({"Privileged": True}, ["privileged container: the check does not permit privileged"]),
        (
            {"Binds": ["/var/run/docker.sock:/var/run/docker.sock:rw"]},
            [
                "bind mount of '/var/run/docker.sock' exposes the engine socket /var/run/docker.sock: "
                "the check does not permit docker_socket"
            ],
        ),
        (
            {"Mounts": [{"Type": "bind", "Source": "/run/", "Target": "/host-run"}]},
            [
                "bind mount of '/run/' exposes the engine socket /run/docker.sock: the check does not permit docker_socket"
            ],
        ),
        (
            {"Mounts": [{"Type": "bind", "Source": "/", "Target": "/host"}]},
            [
                "bind mount of '/' exposes the engine socket /var/run/docker.sock: the check does not permit docker_socket"
            ],
        ),
        (
            {"Mounts": [{"Type": "bind", "Source": "/tmp/parity-engine-x", "Target": "/e"}]},
            [
                f"bind mount of '/tmp/parity-engine-x' exposes the engine socket {OWN}: the check does not permit docker_socket"
            ],
        ),
        (
            {"PortBindings": {"7000/tcp": [{"HostIp": "", "HostPort": ""}]}},
            ["port 7000/tcp published on 0.0.0.0: publish on 127.0.0.1 only"],
        ),
        (
            {"PortBindings": {"7000/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "53/udp": None}},
            [
                "port 7000/tcp published on 0.0.0.0: publish on 127.0.0.1 only",
                "port 53/udp published on 0.0.0.0: publish on 127.0.0.1 only",
            ],
        ),
        ({"PublishAllPorts": True}, ["publish-all binds every host address: publish ports on 127.0.0.1 only"]),
        # what the catalogue does: loopback ports, named volumes, binds of its own folders
        ({"PortBindings": {"7000/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}}, []),
        ({"Mounts": [{"Type": "volume", "Source": "parity-x", "Target": "/data"}]}, []),
        ({"Mounts": [{"Type": "bind", "Source": "/tmp/pytest-of-root/x", "Target": "/data"}]}, []),
        ({"Binds": ["/var/run/parity:/data:ro"]}, []),
    ],
)
def test_container_refusals(host_config: dict[str, Any], expected: list[str]) -> None:
    assert refusals(host_config) == expected


def test_permits_lift_exactly_their_hazard() -> None:
    both = {"Privileged": True, "Binds": ["/var/run/docker.sock:/s"]}
    assert refusals(both, "privileged", "docker_socket") == []
    assert refusals(both, "privileged") == [
        "bind mount of '/var/run/docker.sock' exposes the engine socket /var/run/docker.sock: "
        "the check does not permit docker_socket"
    ]
    # nothing permits a port on another address
    assert refusals({"PublishAllPorts": True}, "privileged", "docker_socket") != []


def test_every_parity_client_is_guarded_and_refuses_before_sending(tmp_path: Path) -> None:
    with FakeEngine(tmp_path / "engine.sock") as engine:
        client = Endpoint(engine.url, "matrix").client(5, version="1.41")
        try:
            assert isinstance(client, GuardedClient)
            with pytest.raises(Refused, match=r"^refused to create container x: privileged container: "):
                client.containers.create("parity-workload", name="x", privileged=True)
            with pytest.raises(Refused, match=r"exposes the engine socket /var/run/docker.sock"):
                client.containers.create("parity-workload", volumes=["/var/run:/r"])
            with pytest.raises(Refused, match=r"^refused to create container x: port 80/tcp published on 0.0.0.0"):
                client.containers.create("parity-workload", name="x", ports={"80/tcp": None})
            with pytest.raises(Refused, match=r"^refused to create a privileged exec: "):
                client.api.exec_create("c0ffee", ["true"], privileged=True)
            client.guard.permitted = frozenset({"privileged"})
            with pytest.raises(Refused, match=r"exposes the engine socket " + str(engine.socket_path)):
                client.containers.create("parity-workload", privileged=True, volumes=[f"{tmp_path}:/e"])
        finally:
            client.close()
        assert engine.requests == []  # nothing reached the engine


def _marks(function: ast.FunctionDef, module: ast.Module) -> set[tuple[str, str]]:
    """(marker, argument) of requires/permits on the function and the module's pytestmark."""
    nodes: list[ast.expr] = list(function.decorator_list)
    nodes += [n.value for n in module.body if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "pytestmark"]
    marks = set()
    for node in nodes:
        for call in (c for c in ast.walk(node) if isinstance(c, ast.Call)):
            name = ast.unparse(call.func)
            if name in ("pytest.mark.requires", "pytest.mark.permits"):
                marks |= {(name.rsplit(".", 1)[1], str(a.value)) for a in call.args if isinstance(a, ast.Constant)}
    return marks


def test_catalogue_asks_for_hazards_only_where_its_markers_permit_them() -> None:
    """Statically, over every check: privileged=True only under requires/permits("privileged"),
    and no check builds an engine client of its own (which the guard would not cover)."""
    offenders, asking = [], set()
    for path in sorted(SUITES.rglob("*.py")):
        module = ast.parse(path.read_text(), str(path))
        for node in ast.walk(module):
            if isinstance(node, ast.Attribute) and node.attr in ("DockerClient", "APIClient", "from_env"):
                offenders.append(f"{path.name}:{node.lineno}: builds its own engine client ({node.attr})")
        for function in (n for n in ast.walk(module) if isinstance(n, ast.FunctionDef)):
            asks = any(
                isinstance(k, ast.keyword) and k.arg == "privileged" and ast.unparse(k.value) == "True"
                for k in ast.walk(function)
            )
            asking |= {function.name} if asks else set()
            marks = _marks(function, module)
            if asks and not ({("requires", "privileged"), ("permits", "privileged")} & marks):
                offenders.append(f"{path.name}:{function.lineno}: {function.name} asks for privileged unmarked")
    assert offenders == []
    # the walk sees what the catalogue asks for today
    assert asking == {
        "privileged",  # suites/platform/test_declarations.py's probe
        "test_privileged_gets_every_capability_and_no_seccomp",
    }
