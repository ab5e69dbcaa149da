"""Published ports, reached from the machine running pytest on 127.0.0.1."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from docker.models.containers import Container

from parity.run.target import Target
from plugins.workload import module_scope
from suites.networking.conftest import StartServer, echo_server

pytestmark = pytest.mark.requires("published_ports")


def host_port(container: Container, spec: str) -> tuple[str, int]:
    binding = container.attrs["NetworkSettings"]["Ports"][spec][0]
    return binding["HostIp"], int(binding["HostPort"])


def _send_all(connection: socket.socket, payload: bytes) -> None:
    connection.sendall(payload)
    connection.shutdown(socket.SHUT_WR)


def tcp_exchange(port: int, payload: bytes, timeout: float = 15) -> bytes:
    """Send ``payload`` while reading the echo back: the server echoes as it reads, so a
    client that sent 16 MiB before reading would stall (and time out) once the buffers on
    the way back were full (it did once here, in a serial run)."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection,
        ThreadPoolExecutor(max_workers=1) as sender,
    ):
        sent = sender.submit(_send_all, connection, payload)
        chunks = []
        while chunk := connection.recv(1 << 16):
            chunks.append(chunk)
        sent.result()
    return b"".join(chunks)


@pytest.fixture(scope="module")
def published(target: Target, request: pytest.FixtureRequest) -> Iterator[Container]:
    """One TCP echo server on 7000, publishing 7000, 7001 and 7002, for the checks below
    that only connect to it or read its bindings: the server forks a process for each
    connection, so no check sees another's bytes."""
    with module_scope(target, request.config) as scope:
        yield echo_server(scope, "tcp", 7000, publish=["7000/tcp", "7001/tcp", "7002/tcp"])


def test_published_tcp_port_is_bound_to_loopback_on_an_ephemeral_port(published: Container) -> None:
    """-p 127.0.0.1::7000/tcp publishes on 127.0.0.1 and an unprivileged host port the
    engine picks itself (the port is not the container's).

    Source: Docker run reference "-p ip::containerPort"; Docker docs "Published ports";
    moby portallocator (ephemeral range from ip_local_port_range, above 1023).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/#publish
    """
    address, port = host_port(published, "7000/tcp")
    assert address == "127.0.0.1"
    assert 1024 <= port <= 65535
    assert tcp_exchange(port, b"bound") == b"bound"


def test_published_tcp_port_echoes(published: Container) -> None:
    """Bytes sent to the published TCP port reach the container and come back intact.

    Source: Docker docs "Published ports"; tcp(7).
    Level: SHOULD, https://docs.docker.com/engine/network/#published-ports
    """
    payload = bytes(range(256)) * 16
    assert tcp_exchange(host_port(published, "7000/tcp")[1], payload) == payload


def test_published_udp_port_echoes(start_server: StartServer) -> None:
    """A datagram sent to the published UDP port comes back intact.

    Source: Docker run reference "-p 127.0.0.1::53/udp"; udp(7).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/#publish
    """
    server = start_server("udp", 7001, publish=["7001/udp"])
    payload = b"parity-udp\x00\xff" * 40
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(10)
        udp.sendto(payload, ("127.0.0.1", host_port(server, "7001/udp")[1]))
        assert udp.recvfrom(65535)[0] == payload


def test_large_payload_over_a_published_port(published: Container) -> None:
    """16 MiB through a published TCP port arrive complete and unchanged.

    Source: tcp(7) (reliable, ordered byte stream); Docker docs "Published ports".
    Level: MUST, https://man7.org/linux/man-pages/man7/tcp.7.html
    """
    payload = hashlib.shake_256(b"parity").digest(16 * 1024 * 1024)
    echoed = tcp_exchange(host_port(published, "7000/tcp")[1], payload, timeout=60)
    assert (len(echoed), hashlib.sha256(echoed).hexdigest()) == (len(payload), hashlib.sha256(payload).hexdigest())


def test_two_containers_get_distinct_host_ports(published: Container, start_server: StartServer) -> None:
    """Two containers publishing the same container port get two different host ports.

    Source: Docker run reference "-p" (host port omitted: the engine allocates a free one).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/#publish
    """
    second = start_server("tcp", 7000, publish=["7000/tcp"])
    assert host_port(published, "7000/tcp")[1] != host_port(second, "7000/tcp")[1]


def test_several_published_ports_each_get_a_host_port(published: Container) -> None:
    """Publishing several container ports maps each to its own host port on 127.0.0.1.

    Source: Docker run reference "-p" (repeatable; one binding per container port).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/#publish
    """
    ports = {spec: host_port(published, spec) for spec in ("7000/tcp", "7001/tcp", "7002/tcp")}
    assert {address for address, _ in ports.values()} == {"127.0.0.1"}
    assert len({port for _, port in ports.values()}) == 3
    assert tcp_exchange(ports["7000/tcp"][1], b"range") == b"range"
