"""Network defaults a container gets: host-gateway, the sysctls Docker sets in a private
network namespace and what they allow, resolver search and options, IP fragmentation
between containers, and TCP keepalive."""

from __future__ import annotations

import math

import pytest
from docker.models.containers import Container

from parity.run.resources import ResourceScope
from parity.run.target import Target
from parity.workload.probe import Observation, Prober
from plugins.workload import Observe
from suites.networking.conftest import StartServer
from suites.networking.test_user_networks import address_on
from suites.verdicts import not_applicable

# moby PR #41030 (Docker 20.10): in a container's own network namespace the daemon sets
# net.ipv4.ping_group_range to "0 2147483647" and net.ipv4.ip_unprivileged_port_start to
# "0" (moby v20.10.24 daemon/oci_linux.go WithCommonOptions).
DEFAULT_SYSCTLS_SINCE = (
    "engine_version",
    "20.10",
    "moby#41030: default ping_group_range and ip_unprivileged_port_start",
)
NOBODY = "65534:65534"

# tcp(7), /proc interfaces: tcp_keepalive_time "default 7200" (seconds), tcp_keepalive_intvl
# "default value is 75 seconds", tcp_keepalive_probes "default value is 9". A new network
# namespace starts with these values (net/ipv4/tcp_ipv4.c tcp_sk_init), since Linux made
# them per namespace ("tcp: Namespaceify sysctl_tcp_keepalive_time", commit 13b287e8d1ca).
TCP_KEEPALIVE_DEFAULTS = {"tcp_keepalive_time": 7200, "tcp_keepalive_intvl": 75, "tcp_keepalive_probes": 9}


def require_ping_group_range_set(target: Target) -> None:
    """moby sets no ping_group_range where the container has a user namespace of its own
    (userns-remap) or the daemon runs in one (rootless): daemon/oci_linux.go."""
    rootless = any(o == "name=rootless" or o.startswith("name=rootless,") for o in target.facts.security_options)
    if target.facts.userns_remapped or rootless:
        not_applicable(f"target {target.name} runs containers in a user namespace, where moby sets no ping_group_range")


def resolv_conf_lines(observation: Observation) -> list[str]:
    return [line for line in observation["data"].splitlines() if line and not line.startswith("#")]


@pytest.mark.since("engine_version", "20.10", "moby#40007: --add-host NAME:host-gateway (Docker 20.10)")
def test_consistency_host_gateway_is_the_default_bridge_gateway(observe: Observe, workload: Container) -> None:
    """Consistency: --add-host NAME:host-gateway writes "IP<TAB>NAME" to /etc/hosts with IP
    the default bridge's gateway, as the engine reports it for a container on that network
    (the engine chooses the subnet; dockerd --host-gateway-ip, unset, "defaults to the IP
    address of the default bridge"), and the resolver returns it. Nothing is sent to it.

    Source: Docker run reference "--add-host" (host-gateway); dockerd --host-gateway-ip;
    moby v20.10.24 daemon/daemon_unix.go (HostGatewayIP from the "bridge" network's IPAM
    gateway) and daemon/container_operations.go; moby#40007; hosts(5).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/#add-host
    """
    workload.reload()
    gateway = workload.attrs["NetworkSettings"]["Gateway"]
    hosts, resolved = observe(
        ("read", "/etc/hosts"), ("resolve", "parity-host", "inet"), extra_hosts={"parity-host": "host-gateway"}
    )
    assert gateway
    assert [line for line in hosts["data"].splitlines() if line.endswith("\tparity-host")] == [
        f"{gateway}\tparity-host"
    ]
    assert resolved["addresses"] == [gateway]


@pytest.mark.requires("sysctls")
@pytest.mark.since(*DEFAULT_SYSCTLS_SINCE)
@pytest.mark.since(
    "kernel",
    "4.11",
    "Linux 4.11 added net.ipv4.ip_unprivileged_port_start; moby sets it only where it exists",
    params={"sysctl": "ip_unprivileged_port_start"},
)
@pytest.mark.parametrize(
    ("sysctl", "value"), [("ip_unprivileged_port_start", "0\n"), ("ping_group_range", "0\t2147483647\n")]
)
def test_default_network_sysctls(probe: Prober, target: Target, sysctl: str, value: str) -> None:
    """In its own network namespace a container has net.ipv4.ip_unprivileged_port_start 0
    and net.ipv4.ping_group_range "0 2147483647" (the kernel's defaults are 1024 and "1 0"),
    unless --sysctl says otherwise; the engine sets no ping_group_range where containers run
    in a user namespace (userns-remap, rootless).

    Source: moby#41030 (Docker 20.10); moby v20.10.24 daemon/oci_linux.go WithCommonOptions;
    ip(7) ip_unprivileged_port_start; icmp(7) ping_group_range (read back tab-separated).
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/daemon/oci_linux.go
    """
    if sysctl == "ping_group_range":
        require_ping_group_range_set(target)
    assert probe.one("read", f"/proc/sys/net/ipv4/{sysctl}")["data"] == value


@pytest.mark.requires("sysctls", "exec_user")
@pytest.mark.since(*DEFAULT_SYSCTLS_SINCE)
@pytest.mark.since("kernel", "4.11", "Linux 4.11 added net.ipv4.ip_unprivileged_port_start")
def test_non_root_process_binds_a_port_below_1024(probe: Prober) -> None:
    """A process of an unprivileged user, with no capability at all, binds and accepts on
    TCP port 1023 in the container (ip_unprivileged_port_start 0), over loopback.

    Source: moby#41030 ("allow opening any port less than 1024 without
    CAP_NET_BIND_SERVICE"); ip(7) ip_unprivileged_port_start; capabilities(7)
    CAP_NET_BIND_SERVICE.
    Level: SHOULD, https://github.com/moby/moby/pull/41030
    """
    caps, listened = probe(("caps",), ("tcp-listen-check", "1023"), user=NOBODY)
    assert caps["effective"] == "0" * 16
    assert (listened.ok, listened.errno, listened.get("port")) == (True, None, 1023)


@pytest.mark.requires("sysctls", "exec_user")
@pytest.mark.since(*DEFAULT_SYSCTLS_SINCE)
def test_non_root_process_opens_an_icmp_datagram_socket(probe: Prober, target: Target) -> None:
    """A process of an unprivileged user, with no capability at all, opens an ICMP
    datagram socket (unprivileged ping), as ping_group_range "0 2147483647" allows. No
    packet is sent.

    Source: moby#41030 ("allow unprivileged ICMP echo sockets without CAP_NET_RAW");
    icmp(7) ping_group_range; socket(2).
    Level: SHOULD, https://github.com/moby/moby/pull/41030
    """
    require_ping_group_range_set(target)
    caps, opened = probe(("caps",), ("ping-socket",), user=NOBODY)
    assert caps["effective"] == "0" * 16
    assert (opened.ok, opened.errno) == (True, None)


def test_dns_search_and_options_keep_their_order(observe: Observe) -> None:
    """Several --dns-search domains become one "search" line, and several --dns-option
    values one "options" line, each in the order given (the resolver tries the search
    list in order). 192.0.2.53 is TEST-NET-1: nothing is queried.

    Source: Docker run reference "--dns-search", "--dns-option"; resolv.conf(5) (search
    list tried in order; options); moby libnetwork resolvconf.Build (v20.10.24).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    (content,) = observe(
        ("read", "/etc/resolv.conf"),
        dns=["192.0.2.53"],
        dns_search=["zz.parity.test", "aa.parity.test", "mm.parity.test"],
        dns_opt=["timeout:1", "ndots:2", "attempts:3"],
    )
    lines = resolv_conf_lines(content)
    assert sorted(line for line in lines if line.split()[0] in ("search", "domain", "options")) == [
        "options timeout:1 ndots:2 attempts:3",
        "search zz.parity.test aa.parity.test mm.parity.test",
    ], lines


def test_dns_search_dot_sets_no_search_domain(observe: Observe) -> None:
    """--dns-search=. leaves /etc/resolv.conf without a search (or domain) line, the
    nameserver still written. 192.0.2.53 is TEST-NET-1: nothing is queried.

    Source: Docker run reference ("--dns-search=." if you don't wish to set the search
    domain: moby#8839, moby#6720); moby libnetwork resolvconf.Build (v20.10.24); resolv.conf(5).
    Level: SHOULD, https://github.com/moby/moby/pull/8839
    """
    (content,) = observe(("read", "/etc/resolv.conf"), dns=["192.0.2.53"], dns_search=["."])
    lines = resolv_conf_lines(content)
    assert [line for line in lines if line.split()[0] in ("search", "domain", "nameserver")] == [
        "nameserver 192.0.2.53"
    ], lines


def ip_counters(snmp: str) -> dict[str, int]:
    """The "Ip:" counters of /proc/net/snmp, by name (a header line, then a value line)."""
    header, values = (line.split()[1:] for line in snmp.splitlines() if line.startswith("Ip:"))
    return dict(zip(header, map(int, values), strict=True))


def test_udp_datagram_larger_than_the_mtu_crosses_an_internal_network(
    resources: ResourceScope, start_server: StartServer, observe: Observe
) -> None:
    """A 4000-byte UDP datagram to a container on an internal network, larger than the
    link MTU, is fragmented, reassembled and echoed intact: the sender's namespace counts
    one datagram fragmented into ceil(4008 / (MTU - 20, rounded down to 8)) fragments, and
    one reassembled reply of as many fragments.

    Source: ip(7) IP_MTU_DISCOVER (IP_PMTUDISC_WANT, the default for datagram sockets with
    ip_no_pmtu_disc 0, "will fragment a datagram if needed"); RFC 791 (fragment offsets in
    8-byte units); RFC 4293 IP-MIB ipSystemStatsOutFragOKs/OutFragCreates/ReasmReqds/
    ReasmOKs, /proc/net/snmp "Ip:" FragOKs, FragCreates, ReasmReqds, ReasmOKs; udp(7).
    Level: MUST, https://man7.org/linux/man-pages/man7/ip.7.html
    """
    payload = bytes(i % 251 for i in range(4000))
    network = resources.network()
    server = start_server("udp", 7002, network=network.name)
    # a fresh client: nothing else has sent or received a packet in its network namespace
    interfaces, echoed, snmp = observe(
        ("ifaces",),
        ("udp-send", address_on(server.attrs, network.name), "7002", payload.hex(), "10000"),
        ("read", "/proc/net/snmp"),
        network=network.name,
    )
    mtu = next(i["mtu"] for i in interfaces["interfaces"] if i["name"] == "eth0")
    fragments = math.ceil((len(payload) + 8) / ((mtu - 20) // 8 * 8))
    assert fragments > 1, f"MTU {mtu}: a {len(payload)}-byte datagram is not larger than it"
    assert (echoed.ok, echoed.errno, echoed.get("received_hex")) == (True, None, payload.hex())
    counters = ip_counters(snmp["data"])
    assert {k: counters[k] for k in ("FragOKs", "FragCreates", "ReasmReqds", "ReasmOKs", "ReasmFails")} == {
        "FragOKs": 1,
        "FragCreates": fragments,
        "ReasmReqds": fragments,
        "ReasmOKs": 1,
        "ReasmFails": 0,
    }


@pytest.mark.since("kernel", "4.6", "Linux 4.6 made tcp_keepalive_* per network namespace (commit 13b287e8d1ca)")
def test_tcp_keepalive_sysctls_are_the_kernel_defaults(probe: Prober) -> None:
    """A container's network namespace has the kernel's TCP keepalive defaults, whatever
    the engine host tuned in its own: time 7200 s, interval 75 s, 9 probes.

    Source: tcp(7) tcp_keepalive_time ("default 7200", i.e. 2 hours), tcp_keepalive_intvl
    ("default value is 75 seconds"), tcp_keepalive_probes ("default value is 9"); a new
    network namespace starts with the kernel's defaults (net/ipv4/tcp_ipv4.c tcp_sk_init);
    Docker sets none of them (moby v20.10.24 daemon/oci_linux.go).
    Level: SHOULD, https://man7.org/linux/man-pages/man7/tcp.7.html
    """
    names = list(TCP_KEEPALIVE_DEFAULTS)
    read = probe(*(("read", f"/proc/sys/net/ipv4/{name}") for name in names))
    assert {name: int(r["data"]) for name, r in zip(names, read, strict=True)} == TCP_KEEPALIVE_DEFAULTS


def test_new_tcp_socket_keepalive_follows_the_namespace_sysctls(probe: Prober) -> None:
    """A new TCP socket has SO_KEEPALIVE off, and TCP_KEEPIDLE, TCP_KEEPINTVL and
    TCP_KEEPCNT equal to the namespace's tcp_keepalive_time, _intvl and _probes; setting
    SO_KEEPALIVE turns it on.

    Source: tcp(7) TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT (per-socket overrides of the
    tcp_keepalive_* sysctls, which are the defaults; "keep-alives are sent only when the
    SO_KEEPALIVE socket option is enabled"); socket(7) SO_KEEPALIVE.
    Level: MUST, https://man7.org/linux/man-pages/man7/tcp.7.html
    """
    socket, *read = probe(("tcp-keepalive",), *(("read", f"/proc/sys/net/ipv4/{n}") for n in TCP_KEEPALIVE_DEFAULTS))
    time, intvl, probes = (int(r["data"]) for r in read)
    assert (socket.ok, socket.errno) == (True, None)
    assert {k: socket[k] for k in ("keepalive", "idle", "intvl", "cnt", "keepalive_after_set")} == {
        "keepalive": 0,
        "idle": time,
        "intvl": intvl,
        "cnt": probes,
        "keepalive_after_set": 1,
    }
