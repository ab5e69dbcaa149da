"""Interfaces, addresses, routes and name files of a container on the default network."""

from __future__ import annotations

import socket
import struct

import pytest
from docker.models.containers import Container

from parity.workload.probe import Prober
from plugins.workload import Observe
from suites.linux import DOCKER_DEFAULT_BRIDGE, DOCKER_DEFAULT_MTU


def default_routes(route_table: str) -> list[tuple[str, str]]:
    """(interface, gateway) of each default route in /proc/net/route (hex, host order)."""
    routes = []
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        if fields[1] == "00000000" and fields[7] == "00000000":
            gateway = socket.inet_ntoa(struct.pack("<L", int(fields[2], 16)))
            routes.append((fields[0], gateway))
    return routes


def test_loopback_interface(probe: Prober) -> None:
    """lo is up, a loopback, MTU 65536, with 127.0.0.1/8.

    Source: Docker network docs ("every container has a loopback interface"); kernel
    loopback driver (drivers/net/loopback.c: mtu 64 KiB); ip-address(8).
    Level: MUST, https://github.com/torvalds/linux/blob/master/drivers/net/loopback.c
    """
    interfaces = {i["name"]: i for i in probe.one("ifaces")["interfaces"]}
    lo = interfaces["lo"]
    assert (set(lo["flags"]) >= {"UP", "LOOPBACK", "RUNNING"}, lo["mtu"], lo["ipv4"]) == (True, 65536, ["127.0.0.1/8"])


def test_loopback_tcp_round_trip(probe: Prober) -> None:
    """A TCP listener on 0.0.0.0 accepts a connection to 127.0.0.1 inside the container.

    Source: ip(7), tcp(7); loopback is part of every network namespace.
    Level: MUST, https://man7.org/linux/man-pages/man7/ip.7.html
    """
    observed = probe.one("tcp-listen-check", "18080")
    assert (observed.ok, observed.errno) == (True, None)


def test_default_network_interfaces_are_lo_and_eth0(probe: Prober) -> None:
    """A container on the default bridge network has exactly two interfaces: lo and eth0.

    Source: Docker docs "Bridge network driver" (one veth endpoint per network, named
    eth0 in the container).
    Level: SHOULD, https://docs.docker.com/engine/network/drivers/bridge/
    """
    assert [i["name"] for i in probe.one("ifaces")["interfaces"]] == ["eth0", "lo"]


def test_consistency_eth0_address_is_the_one_the_engine_reports(probe: Prober, workload: Container) -> None:
    """Consistency: eth0 carries exactly the IPv4 address and prefix length the engine
    reports in inspect (the engine allocates them; only it can say which it chose).

    Source: Engine API GET /containers/{id}/json NetworkSettings.IPAddress and IPPrefixLen.
    Level: MUST, https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Container/operation/ContainerInspect
    """
    workload.reload()
    settings = workload.attrs["NetworkSettings"]
    eth0 = next(i for i in probe.one("ifaces")["interfaces"] if i["name"] == "eth0")
    assert eth0["ipv4"] == [f"{settings['IPAddress']}/{settings['IPPrefixLen']}"]


def test_eth0_mtu_is_dockers_default_1500(probe: Prober) -> None:
    """eth0 of a container on the default network has Docker's default MTU, 1500.

    Source: dockerd reference "--mtu" ("default 1500"); moby daemon/config
    DefaultNetworkMtu = 1500; Docker docs "Bridge network driver", options table
    (com.docker.network.driver.mtu).
    Level: SHOULD, https://docs.docker.com/reference/cli/dockerd/
    """
    eth0 = next(i for i in probe.one("ifaces")["interfaces"] if i["name"] == "eth0")
    assert eth0["mtu"] == DOCKER_DEFAULT_MTU


def test_consistency_default_route_is_the_gateway_the_engine_reports(probe: Prober, workload: Container) -> None:
    """Consistency: the container has one default route, through eth0, via the gateway the
    engine reports in inspect (the engine chooses the default network's subnet).

    Source: Docker docs "Bridge network driver"; Engine API NetworkSettings.Gateway;
    proc(5) /proc/net/route.
    Level: SHOULD, https://docs.docker.com/engine/network/drivers/bridge/
    """
    workload.reload()
    routes = default_routes(probe.one("read", "/proc/net/route")["data"])
    assert routes == [("eth0", workload.attrs["NetworkSettings"]["Gateway"])]


def test_consistency_etc_hosts_names_localhost_and_the_container(probe: Prober, workload: Container) -> None:
    """Consistency: /etc/hosts starts with "127.0.0.1<TAB>localhost" and ends with
    "<ip><TAB><hostname>", the ip being the address the engine reports in inspect.

    Source: moby libnetwork/etchosts (default content, then the container's own record);
    hosts(5).
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/vendor/github.com/docker/libnetwork/etchosts/etchosts.go
    """
    workload.reload()
    lines = probe.one("read", "/etc/hosts")["data"].splitlines()
    assert workload.id is not None
    assert (lines[0], lines[-1]) == (
        "127.0.0.1\tlocalhost",
        f"{workload.attrs['NetworkSettings']['IPAddress']}\t{workload.id[:12]}",
    )


def test_add_host_adds_a_hosts_record(observe: Observe) -> None:
    """--add-host NAME:IP appends "IP<TAB>NAME" to /etc/hosts, and the resolver returns it.

    Source: Docker run reference "--add-host: Add a custom host-to-IP mapping"; hosts(5),
    getaddrinfo(3). (192.0.2.10 is TEST-NET-1, RFC 5737: no traffic is sent.)
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/#add-host
    """
    hosts, resolved = observe(
        ("read", "/etc/hosts"), ("resolve", "parity-peer", "inet"), extra_hosts={"parity-peer": "192.0.2.10"}
    )
    assert "192.0.2.10\tparity-peer" in hosts["data"].splitlines()
    assert resolved["addresses"] == ["192.0.2.10"]


def test_network_none_has_only_loopback(observe: Observe) -> None:
    """--network none leaves the container with the loopback interface only, and no route.

    Source: Docker docs "None network driver" ("only the loopback device is created").
    Level: SHOULD, https://docs.docker.com/engine/network/drivers/none/
    """
    interfaces, routes = observe(("ifaces",), ("read", "/proc/net/route"), network_mode="none")
    assert [i["name"] for i in interfaces["interfaces"]] == ["lo"]
    assert default_routes(routes["data"]) == []


@pytest.mark.requires("host_network")
def test_host_network_shares_the_engine_hosts_interfaces(observe: Observe) -> None:
    """--network host shares the engine host's network namespace: the default bridge's
    host-side interface, docker0, is visible in the container.

    Source: Docker docs "Host network driver" ("the container's network stack is not
    isolated from the Docker host"); moby libnetwork/drivers/bridge DefaultBridgeName
    "docker0".
    Level: SHOULD, https://docs.docker.com/engine/network/drivers/host/
    """
    names = [i["name"] for i in observe(("ifaces",), network_mode="host")[0]["interfaces"]]
    assert DOCKER_DEFAULT_BRIDGE in names


@pytest.mark.requires("container_network")
def test_container_network_mode_shares_interfaces(observe: Observe, workload: Container, probe: Prober) -> None:
    """--network container:X joins X's network namespace: same interfaces and addresses.

    Source: Docker run reference "--network container:<name|id>".
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/#network
    """
    mine = probe.one("ifaces")["interfaces"]
    joined = observe(("ifaces",), network_mode=f"container:{workload.id}")[0]["interfaces"]
    assert joined == mine
