"""User-defined networks: embedded DNS, names and aliases, traffic between containers, internal, IPv6."""

from __future__ import annotations

import ipaddress
from typing import Any

import docker.types
import pytest
from docker.types import EndpointConfig

from parity.run.ahead import Record
from parity.run.resources import ResourceScope
from parity.workload.probe import Observation, Prober
from plugins.workload import Observe
from suites.networking.conftest import StartServer, echo_server

PAYLOAD = b"parity\x00\xff\r\n" * 100
# A user network's declared subnet and a peer's --ip. Declared subnets lie outside Docker's
# default address pools (172.17-31.0.0/16, 192.168.0.0/16): an engine that already has
# many networks has handed out 172.30.0.0/16, and a declared subnet inside it is refused.
SUBNET, PEER_ADDRESS = "10.213.215.0/24", "10.213.215.47"


def address_on(container_attrs: dict[str, Any], network: str | None) -> str:
    assert network is not None
    return str(container_attrs["NetworkSettings"]["Networks"][network]["IPAddress"])


def test_user_network_uses_the_embedded_dns_server(resources: ResourceScope, observe: Observe) -> None:
    """On a user-defined network, /etc/resolv.conf points at the embedded DNS server
    127.0.0.11 only, with "options ndots:0".

    Source: Docker docs "Networking overview", DNS services ("containers that use a custom
    network use Docker's embedded DNS server ... 127.0.0.11"); moby libnetwork resolvconf.
    Level: SHOULD, https://docs.docker.com/engine/network/#dns-services
    """
    network = resources.network()
    lines = observe(("read", "/etc/resolv.conf"), network=network.name)[0]["data"].splitlines()
    assert [line for line in lines if line.startswith("nameserver")] == ["nameserver 127.0.0.11"]
    assert "options ndots:0" in lines


def test_container_names_and_aliases_resolve_on_a_user_network(resources: ResourceScope) -> None:
    """Containers on the same user-defined network resolve each other by name and by
    network alias to their address on that network (here the address the peer was given
    with --ip on the network's declared subnet).

    Source: Docker docs "Networking overview" / "Bridge network driver" ("containers can
    resolve each other by name or alias"); docker network connect --alias; docker run --ip.
    Level: SHOULD, https://docs.docker.com/engine/network/
    """
    network = resources.network(ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=SUBNET)]))
    endpoint = EndpointConfig(resources.client.api.api_version, aliases=["parity-alias"], ipv4_address=PEER_ADDRESS)
    peer = resources.container(network=network.name, networking_config={network.name: endpoint})
    client = resources.container(network=network.name)
    assert peer.name is not None
    by_name, by_alias = Prober(client)(("resolve", peer.name, "inet"), ("resolve", "parity-alias", "inet"))
    assert (by_name["addresses"], by_alias["addresses"]) == ([PEER_ADDRESS], [PEER_ADDRESS])


def test_tcp_between_containers_on_a_user_network(resources: ResourceScope, start_server: StartServer) -> None:
    """A container reaches another's TCP port over a user-defined network, bytes intact.

    Source: Docker docs "Bridge network driver" ("containers connected to the same
    user-defined bridge network effectively expose all ports to each other"); tcp(7).
    Level: SHOULD, https://docs.docker.com/engine/network/drivers/bridge/
    """
    network = resources.network()
    server = start_server("tcp", 7000, network=network.name)
    client = resources.container(network=network.name)
    echoed = Prober(client).one("tcp-connect", address_on(server.attrs, network.name), "7000", PAYLOAD.hex(), "10000")
    assert (echoed.ok, echoed["received_hex"]) == (True, PAYLOAD.hex())


def test_udp_between_containers_on_a_user_network(resources: ResourceScope, start_server: StartServer) -> None:
    """A UDP datagram to another container on a user-defined network is echoed intact.

    Source: Docker docs "Bridge network driver"; udp(7).
    Level: SHOULD, https://docs.docker.com/engine/network/drivers/bridge/
    """
    network = resources.network()
    server = start_server("udp", 7001, network=network.name)
    client = resources.container(network=network.name)
    echoed = Prober(client).one("udp-send", address_on(server.attrs, network.name), "7001", PAYLOAD[:512].hex(), "5000")
    assert (echoed.ok, echoed["received_hex"]) == (True, PAYLOAD[:512].hex())


def isolated_attempt(scope: ResourceScope, client: Prober, address: str) -> dict[str, Any]:
    """A TCP connection to the echo port with a 2 s timeout, as the probe saw it, tried
    while this run creates no network on the target: an engine before 28.0 lifts its
    isolation rules for a moment at each network creation (parity/run/network_creations.py),
    and the check judges the isolation, not the run's own concurrency."""
    with scope.network_creations.held_still():
        return dict(client.one("tcp-connect", address, "7000", PAYLOAD[:16].hex(), "2000"))


def times_out(attempt: dict[str, Any]) -> None:
    seen = Observation(attempt)
    observed = (seen.ok, seen.get("connected"), seen.get("stage"), seen.errno)
    assert observed == (False, False, "timeout", "ETIMEDOUT"), seen


def tried_from_an_internal_network(scope: ResourceScope) -> Record:
    """An echo server on the default bridge, tried from a container beside it and from one
    on an internal network."""
    server = echo_server(scope, "tcp", 7000)
    address = str(server.attrs["NetworkSettings"]["IPAddress"])
    reached = Prober(scope.container()).one("tcp-connect", address, "7000", PAYLOAD[:16].hex(), "5000")
    isolated = scope.container(network=scope.network(internal=True).name)
    return {"reached": dict(reached), "isolated": isolated_attempt(scope, Prober(isolated), address)}


@pytest.mark.ahead(tried_from_an_internal_network, timeout=900, first=True)
def test_internal_network_cannot_reach_other_networks(ahead: Record) -> None:
    """From an --internal network, a container on the default bridge is unreachable:
    the engine drops the packets, so the connection times out (while a container on the
    server's own network reaches it). Mostly waits (a 2 s connection timeout): its
    scenario runs ahead, in the background.

    Source: docker network create reference, "--internal: Restrict external access to the
    network"; Docker docs "Packet filtering and firewalls" (DROP rules for internal
    networks).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/network/create/#internal
    """
    reached = Observation(ahead["reached"])
    assert (reached.ok, reached.get("received_hex")) == (True, PAYLOAD[:16].hex()), reached
    times_out(ahead["isolated"])


def tried_across_user_networks(scope: ResourceScope) -> Record:
    """An echo server on one user-defined bridge network, tried from a container on another."""
    first, second = scope.network(internal=False), scope.network(internal=False)
    server = echo_server(scope, "tcp", 7000, network=first.name)
    client = scope.container(network=second.name)
    return {"attempt": isolated_attempt(scope, Prober(client), address_on(server.attrs, first.name))}


@pytest.mark.ahead(tried_across_user_networks, timeout=900, first=True)
def test_user_networks_are_isolated_from_each_other(ahead: Record) -> None:
    """A container on one user-defined bridge network cannot connect to a container on
    another: the engine drops the traffic between bridges. Mostly waits (a 2 s connection
    timeout): its scenario runs ahead, in the background.

    Source: Docker docs "Bridge network driver" ("containers on different bridge
    networks can't communicate directly"); "Packet filtering and firewalls"
    (DOCKER-ISOLATION chains).
    Level: SHOULD, https://docs.docker.com/engine/network/drivers/bridge/
    """
    times_out(ahead["attempt"])


@pytest.mark.requires("ipv6_networks")
def test_ipv6_on_a_v6_enabled_network(resources: ResourceScope) -> None:
    """On a network created with IPv6 and a ULA subnet, eth0 gets exactly one global IPv6
    address, allocated in that subnet with its /64 prefix (besides its fe80::/64
    link-local one).

    Source: Docker docs "Use IPv6" (docker network create --ipv6 --subnet); RFC 4193 ULA;
    RFC 4291 (fe80::/10 link-local).
    Level: SHOULD, https://docs.docker.com/engine/daemon/ipv6/
    """
    subnet = ipaddress.ip_network("fd00:7061:7269::/64")
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=str(subnet))])
    network = resources.network(enable_ipv6=True, ipam=ipam)
    container = resources.container(network=network.name)
    eth0 = next(i for i in Prober(container).one("ifaces")["interfaces"] if i["name"] == "eth0")
    addresses = [ipaddress.ip_interface(a) for a in eth0["ipv6"]]
    assert [a.network for a in addresses if not a.is_link_local] == [subnet], eth0["ipv6"]


def test_network_mtu_option_sets_the_interface_mtu(resources: ResourceScope, observe: Observe) -> None:
    """A network created with com.docker.network.driver.mtu=1400 gives its containers an
    eth0 with MTU 1400.

    Source: Docker docs "Bridge network driver", options (com.docker.network.driver.mtu).
    Level: SHOULD, https://docs.docker.com/engine/network/drivers/bridge/
    """
    network = resources.network(options={"com.docker.network.driver.mtu": "1400"})
    eth0 = next(i for i in observe(("ifaces",), network=network.name)[0]["interfaces"] if i["name"] == "eth0")
    assert eth0["mtu"] == 1400
