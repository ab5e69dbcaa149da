"""A target's capability declarations, probed: what matrix.yaml (or the kind's default)
says a target cannot do must really be refused, and what it says it can do must work.

A declared-missing capability turns every check that needs it into "not applicable", so
a wrong declaration would hide divergences; here it fails the target's run instead, as a
strict xfail does when a known divergence gets fixed. Each probe is one container.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable

import docker.errors
import docker.types
import pytest
import requests.exceptions

from parity.run.resources import ResourceScope
from parity.run.target import Target
from parity.workload.image import PROBE_PATH
from parity.workload.probe import ProbeError
from plugins.workload import Observe
from suites.networking.conftest import wait_until_serving

# The privileged probe asks for --privileged where the target declares it missing.
pytestmark = pytest.mark.permits("privileged")

CAP_SYS_ADMIN = 21  # capabilities(7)

# What a refusal looks like: the engine rejects the request, or the container fails.
REFUSED = (docker.errors.APIError, ProbeError, AssertionError, OSError, requests.exceptions.RequestException)


def published_ports(resources: ResourceScope, observe: Observe) -> str:
    """A TCP echo server published on 127.0.0.1 answers there, from the machine running pytest."""
    server = resources.container([PROBE_PATH, "tcp-echo-server", "7000"], publish=["7000/tcp"])
    wait_until_serving(server)
    server.reload()
    binding = server.attrs["NetworkSettings"]["Ports"]["7000/tcp"][0]
    payload = uuid.uuid4().hex.encode()
    with socket.create_connection(("127.0.0.1", int(binding["HostPort"])), timeout=10) as connection:
        connection.sendall(payload)
        connection.shutdown(socket.SHUT_WR)
        echoed = b"".join(iter(lambda: connection.recv(1 << 16), b""))
    assert echoed == payload, f"127.0.0.1:{binding['HostPort']} answered {echoed[:100]!r}"
    return f"127.0.0.1:{binding['HostPort']} echoed"


def ipv6_networks(resources: ResourceScope, observe: Observe) -> str:
    """A network created with IPv6 gives its container an address of its subnet."""
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="fd00:7061:7269:ff::/64")])
    network = resources.network(enable_ipv6=True, ipam=ipam)
    (ifaces,) = observe(("ifaces",), network=network.name)
    addresses = [a for i in ifaces["interfaces"] for a in i["ipv6"] if a.startswith("fd00:7061:7269:ff:")]
    assert addresses, f"no address of fd00:7061:7269:ff::/64 in {ifaces['interfaces']}"
    return f"got {addresses[0]}"


def host_network(resources: ResourceScope, observe: Observe) -> str:
    """A container in host network mode runs."""
    (ifaces,) = observe(("ifaces",), network_mode="host")
    return f"ran with interfaces {[i['name'] for i in ifaces['interfaces']]}"


def sysctls(resources: ResourceScope, observe: Observe) -> str:
    """A namespaced sysctl set at create is what the container reads."""
    path = "/proc/sys/net/ipv4/ip_unprivileged_port_start"
    (read,) = observe(("read", path), sysctls={"net.ipv4.ip_unprivileged_port_start": "1001"})
    assert read["data"] == "1001\n", f"{path} reads {read['data']!r}"
    return f"{path} reads 1001"


def privileged(resources: ResourceScope, observe: Observe) -> str:
    """A --privileged container runs with CAP_SYS_ADMIN, which the default set lacks
    (whether it gets every capability is a check of its own, with its known divergences)."""
    (caps,) = observe(("caps",), privileged=True)
    assert int(caps["effective"], 16) & 1 << CAP_SYS_ADMIN, f"effective set {caps['effective']} lacks CAP_SYS_ADMIN"
    return f"ran with effective set {caps['effective']}"


PROBES: dict[str, Callable[[ResourceScope, Observe], str]] = {
    "published_ports": published_ports,
    "ipv6_networks": ipv6_networks,
    "host_network": host_network,
    "sysctls": sysctls,
    "privileged": privileged,
}


@pytest.mark.parametrize("capability", sorted(PROBES))
def test_capability_declaration_holds(
    capability: str, target: Target, resources: ResourceScope, observe: Observe
) -> None:
    """The capability works exactly when the target declares it (matrix.yaml, else the
    kind's default with its source): a probe that works where the capability is declared
    missing, or fails where it is declared, fails this check.

    Source: matrix.yaml capabilities and parity/kinds/ (the declaration under test);
    Docker run reference (-p, --network host, --sysctl, --privileged); Docker docs "Use IPv6".
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    declared = target.supports(capability)
    try:
        worked: str | None = PROBES[capability](resources, observe)
        refusal = ""
    except REFUSED as exc:
        worked, refusal = None, " ".join(str(exc).split())[:300]
    if declared:
        assert worked is not None, f"target {target.name} declares {capability}, but the probe failed: {refusal}"
    else:
        assert worked is None, (
            f"target {target.name} declares {capability} unsupported ({target.spec.why_missing(capability)}), "
            f"but it works: {worked}; correct the declaration in matrix.yaml"
        )
