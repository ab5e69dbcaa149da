"""The Windows LCOW stand-in in front of this machine's Docker engine, driven by docker-py."""

from __future__ import annotations

import io
import os
import shutil
import socket
import struct
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from docker.types import Mount

ROOT = Path(__file__).resolve().parents[2]
BACKEND = "unix:///var/run/docker.sock"
LABEL = {"parity.standin-test": "windows-lcow"}
BUSYBOX = Path("/bin/busybox")

pytestmark = pytest.mark.skipif(
    not Path("/var/run/docker.sock").exists() or not BUSYBOX.exists(),
    reason="needs the local Docker engine and /bin/busybox (busybox-static)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "standins.windows_lcow", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def backend() -> Iterator[docker.DockerClient]:
    client = docker.DockerClient(base_url=BACKEND, version="1.41", timeout=60)
    yield client
    for container in client.containers.list(all=True, filters={"label": "parity.standin-test=windows-lcow"}):
        container.remove(force=True)
    client.close()


@pytest.fixture(scope="module")
def image(backend: docker.DockerClient) -> Iterator[str]:
    """A busybox image imported from this machine's busybox-static, removed afterwards."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(str(BUSYBOX), arcname="bin/busybox")
        for applet in ("sh", "cat", "echo", "sleep", "id", "ls"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
    name = f"parity-standin-busybox:{uuid.uuid4().hex[:12]}"
    repository, tag = name.split(":")
    backend.api.import_image_from_data(
        buffer.getvalue(), repository=repository, tag=tag, changes=["LABEL parity.standin-test=windows-lcow"]
    )
    yield name
    backend.images.remove(name, force=True)


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    port = free_port()
    state = tmp_path_factory.mktemp("standin-state")
    started = cli(
        "start", "--listen", f"127.0.0.1:{port}", "--state", str(state), "--backend", BACKEND,
        "--build", "26100", "--revision", "4349", "--branch", "rs_prerelease", "--share", "C:\\parity\\=/",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("started the Windows LCOW stand-in")
    yield port, state
    cli("stop", "--listen", f"127.0.0.1:{port}", "--state", str(state))


@pytest.fixture(scope="module")
def client(standin: tuple[int, Path]) -> Iterator[docker.DockerClient]:
    port, _state = standin
    c = docker.DockerClient(base_url=f"tcp://127.0.0.1:{port}", version="1.41", timeout=60)
    yield c
    c.close()


def test_info_says_windows_with_lcow_and_the_configured_build(client: docker.DockerClient) -> None:
    info = client.info()
    assert info["OSType"] == "windows"
    assert "lcow (linux)" in info["Driver"]
    assert info["KernelVersion"].startswith("10.0 26100 (26100.4349.amd64fre.rs_prerelease.")
    assert info["OperatingSystem"].endswith("(OS Build 26100.4349)")
    assert info["Isolation"] == "hyperv"
    assert info["ExperimentalBuild"] is True
    assert info["NCPU"] == os.cpu_count()
    version = client.version()
    assert (version["Os"], version["ApiVersion"], version["MinAPIVersion"]) == ("windows", "1.41", "1.24")
    assert client.ping() is True


def test_a_hyperv_linux_container_runs_and_logs(client: docker.DockerClient, image: str) -> None:
    container = client.containers.run(
        image, ["echo", "hello from lcow"], detach=True, isolation="hyperv", platform="linux", labels=LABEL
    )
    try:
        assert container.wait(timeout=60)["StatusCode"] == 0
        assert container.logs() == b"hello from lcow\n"
        container.reload()
        assert container.attrs["HostConfig"]["Isolation"] == "hyperv"
        assert container.attrs["Platform"] == "linux"
    finally:
        container.remove(force=True)


def test_a_bind_with_a_windows_path_reaches_this_machine(
    client: docker.DockerClient, image: str, tmp_path: Path
) -> None:
    if not str(tmp_path).startswith("/"):
        pytest.skip("needs an absolute temporary folder")
    (tmp_path / "note.txt").write_text("shared\n")
    windows = "C:\\parity" + str(tmp_path).replace("/", "\\")
    container = client.containers.run(
        image, ["cat", "/shared/note.txt"], detach=True, isolation="hyperv", platform="linux", labels=LABEL,
        volumes=[f"{windows}:/Shared:ro"],
    )  # fmt: skip
    try:
        assert container.wait(timeout=60)["StatusCode"] == 0
        assert container.logs() == b"shared\n"  # destination lower-cased, as windowsSplitRawSpec does
    finally:
        container.remove(force=True)
        shutil.rmtree(tmp_path, ignore_errors=True)


def _demux(data: bytes) -> bytes:
    """stdout of a multiplexed (non-TTY) attach stream."""
    out = b""
    while len(data) >= 8:
        kind, size = data[0], struct.unpack(">I", data[4:8])[0]
        if kind == 1:
            out += data[8 : 8 + size]
        data = data[8 + size :]
    return out


def test_an_exec_with_stdin_round_trips_through_the_hijacked_socket(client: docker.DockerClient, image: str) -> None:
    container = client.containers.run(
        image, ["sleep", "60"], detach=True, isolation="hyperv", platform="linux", labels=LABEL
    )
    try:
        exec_id = client.api.exec_create(container.id, ["cat"], stdin=True)["Id"]
        sock = client.api.exec_start(exec_id, socket=True)
        raw: socket.socket = sock._sock  # type: ignore[union-attr]  # docker-py's SocketIO over TCP
        raw.settimeout(30)
        payload = b"round trip \x00\x01\xff through the stand-in\n" * 100
        raw.sendall(payload)
        raw.shutdown(socket.SHUT_WR)
        received = b""
        while True:
            piece = raw.recv(65536)
            if not piece:
                break
            received += piece
        sock.close()
        raw.close()
        assert _demux(received) == payload
        assert client.api.exec_inspect(exec_id)["ExitCode"] == 0
    finally:
        container.remove(force=True)


@pytest.mark.parametrize(
    ("options", "status", "message"),
    [
        ({"privileged": True}, 500, "Windows does not support privileged mode"),
        ({"mem_limit": "64m", "memswap_limit": "128m"}, 400, "invalid option: Windows does not support MemorySwap"),
        (
            {"mounts": [Mount(target="/scratch", source=None, type="tmpfs")]},
            400,
            'invalid mount config for type "tmpfs": mount type unknown',
        ),
        ({"isolation": "process"}, 500, "process isolation is invalid for Linux containers on Windows"),
        ({"read_only": True}, 500, "Windows does not support root filesystem in read-only mode"),
        ({"volumes": ["/tmp:/data"]}, 500, "invalid volume specification: '/tmp:/data'"),
    ],
)
def test_the_daemon_s_refusals(
    client: docker.DockerClient,
    image: str,
    options: dict[str, Any],
    status: int,
    message: str,
) -> None:
    kwargs: dict[str, Any] = {"isolation": "hyperv", "platform": "linux", "labels": LABEL, **options}
    with pytest.raises(docker.errors.APIError) as caught:
        client.containers.create(image, ["true"], **kwargs)
    assert caught.value.status_code == status
    assert caught.value.explanation == message


def test_start_twice_answers_already_up_and_stop_stops(standin: tuple[int, Path]) -> None:
    port = free_port()
    _port, state = standin
    listen = f"127.0.0.1:{port}"
    assert cli("start", "--listen", listen, "--state", str(state)).returncode == 0
    again = cli("start", "--listen", listen, "--state", str(state))
    assert again.returncode == 3
    assert "already answers" in again.stdout
    stopped = cli("stop", "--listen", listen, "--state", str(state))
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.startswith("stopped the Windows LCOW stand-in")
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
