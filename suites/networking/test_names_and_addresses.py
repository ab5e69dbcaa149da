"""Name files and addresses the engine writes as asked: DNS options, hostname, static
and additional addresses, and networking modes a target does not declare."""

from __future__ import annotations

import docker.errors
import pytest
from docker.types import EndpointConfig, IPAMConfig, IPAMPool

from parity.run.resources import ResourceScope
from parity.run.target import Target
from parity.workload.probe import Observation, Prober
from plugins.workload import Observe
from suites.verdicts import not_applicable


def interfaces(ifaces: Observation) -> dict[str, list[str]]:
    """Each interface's IPv4 addresses, from the probe's ifaces."""
    return {i["name"]: i["ipv4"] for i in ifaces["interfaces"]}


def test_dns_options_are_written_to_resolv_conf(observe: Observe) -> None:
    """--dns, --dns-search and --dns-option become exactly the nameserver, search and
    options directives of /etc/resolv.conf, and the only ones (192.0.2.53 is TEST-NET-1:
    nothing is queried). Their order and comment lines vary between engine releases.

    Source: Docker run reference "--dns", "--dns-search", "--dns-option"; resolv.conf(5).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    content = observe(("read", "/etc/resolv.conf"), dns=["192.0.2.53"], dns_search=["parity.test"], dns_opt=["ndots:3"])
    directives = sorted(line for line in content[0]["data"].splitlines() if line and not line.startswith("#"))
    assert directives == ["nameserver 192.0.2.53", "options ndots:3", "search parity.test"]


def test_hostname_is_written_to_etc_hostname_and_hosts(observe: Observe) -> None:
    """--hostname is the content of /etc/hostname and the name of the container's own
    /etc/hosts record.

    Source: Docker run reference "--hostname"; hostname(5), hosts(5).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    hostname, hosts = observe(("read", "/etc/hostname"), ("read", "/etc/hosts"), hostname="parity-named")
    assert hostname["data"] == "parity-named\n"
    assert hosts["data"].splitlines()[-1].split("\t")[1] == "parity-named"


def test_static_address_on_a_user_network(resources: ResourceScope, observe: Observe) -> None:
    """--ip on a network with a configured subnet gives the container exactly that address.

    Source: Docker run reference "--ip"; docker network create --subnet.
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    # outside Docker's default address pools, as test_user_networks.py's SUBNET says why
    ipam = IPAMConfig(pool_configs=[IPAMPool(subnet="10.213.213.0/24")])
    network = resources.network(ipam=ipam)
    assert network.name is not None
    endpoint = EndpointConfig(resources.client.api.api_version, ipv4_address="10.213.213.45")
    [ifaces] = observe(("ifaces",), network=network.name, networking_config={network.name: endpoint})
    assert interfaces(ifaces)["eth0"] == ["10.213.213.45/24"]


def test_connecting_a_second_network_adds_an_interface(resources: ResourceScope) -> None:
    """docker network connect --ip adds an interface (eth1) with exactly the address it
    was given, on the network's declared subnet; docker network disconnect removes it again.

    Source: docker network connect reference (--ip: "IPv4 address"), docker network
    disconnect reference; docker network create --subnet.
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/network/connect/
    """
    first = resources.network()
    second = resources.network(ipam=IPAMConfig(pool_configs=[IPAMPool(subnet="10.213.214.0/24")]))
    container = resources.container(network=first.name)
    second.connect(container, ipv4_address="10.213.214.46")
    prober = Prober(container)
    connected = interfaces(prober.one("ifaces"))
    second.disconnect(container)
    assert (sorted(connected), connected["eth1"]) == (["eth0", "eth1", "lo"], ["10.213.214.46/24"])
    assert sorted(interfaces(prober.one("ifaces"))) == ["eth0", "lo"]


def test_host_network_is_refused_where_not_declared(resources: ResourceScope, target: Target) -> None:
    """A target that does not declare host_network refuses --network host.

    Source: matrix.yaml capabilities (declared); moby#38166 ("network host not found" on
    Windows daemons).
    Level: SHOULD, https://github.com/moby/moby/issues/38166
    """
    if target.supports("host_network"):
        not_applicable(f"target {target.name} declares host_network")
    with pytest.raises(docker.errors.APIError):
        resources.container(network_mode="host")
