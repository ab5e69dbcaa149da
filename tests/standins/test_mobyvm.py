"""standins/mobyvm.py, the mobyvm target's VM: network confinement, bounded boots, and stops
that also end a hung guest. The boot tests start real qemu VMs (about a minute in all)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.standins.vm_script import SCRIPT, free_port, load

mobyvm = load()


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_the_guest_reaches_nothing_but_its_forwarded_port_on_loopback(tmp_path: Path) -> None:
    """qemu user networking with restrict=on isolates the guest from the host and the
    outside (qemu(1), -netdev user,restrict=on); the engine's port binds to 127.0.0.1."""
    command = mobyvm.qemu_command(tmp_path, 23999, tmp_path, 1024, 1)
    (netdev,) = [command[i + 1] for i, arg in enumerate(command) if arg == "-netdev"]
    options = netdev.split(",")
    assert options[0] == "user"
    assert "restrict=on" in options
    assert [o for o in options if o.startswith("hostfwd=")] == ["hostfwd=tcp:127.0.0.1:23999-:2375"]
    assert "-nic" not in command


def test_engine_answers_only_to_an_ok_ping() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert not mobyvm.engine_answers(free_port(), timeout=1)  # nothing listens
        # a listener that never answers is bounded by the timeout
        began = time.monotonic()
        assert not mobyvm.engine_answers(port, timeout=1)
        assert time.monotonic() - began < 5


def test_a_first_container_that_gets_no_answer_says_where_within_its_bound() -> None:
    """A boot is ready once a first container has run: an engine that accepts and never
    answers makes the check say which request got no answer, within its bound."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        began = time.monotonic()
        why = mobyvm.first_container(silent.getsockname()[1], timeout=1.5)
        elapsed = time.monotonic() - began
    assert (why, elapsed < 5) == ("POST /images/create: no answer within 1.5 s", True)


def test_a_first_container_that_gets_no_http_says_so() -> None:
    """Bytes that are not HTTP end the check with its reason, never with a traceback."""
    with socket.socket() as garbled:
        garbled.bind(("127.0.0.1", 0))
        garbled.listen(8)

        def answer() -> None:
            connection, _ = garbled.accept()
            with connection:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65536)
                head, _, body = request.partition(b"\r\n\r\n")
                length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
                while len(body) < length:  # the whole request first: no broken pipe
                    body += connection.recv(65536)
                connection.sendall(b"HELLO\r\n\r\n")

        replier = threading.Thread(target=answer, daemon=True)
        replier.start()
        why = mobyvm.first_container(garbled.getsockname()[1], timeout=5)
        replier.join(5)
    assert why == "POST /images/create: not an HTTP answer (BadStatusLine: 'HELLO')"


def test_start_refuses_a_port_in_use_in_one_line() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        done = cli("start", "--port", str(port))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"standins/mobyvm.py start: 127.0.0.1:{port} is in use by another program; choose another --port"
    )


def test_stop_without_a_vm_says_so() -> None:
    done = cli("stop", "--port", str(free_port()))
    assert (done.returncode, done.stdout.strip()) == (0, "not running")


def qemu_processes() -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"qemu-system" in (entry / "cmdline").read_bytes().split(b"\0")[0]:
                found.add(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture
def port() -> Iterator[int]:
    chosen = free_port()
    before = qemu_processes()
    yield chosen
    cli("stop", "--port", str(chosen))
    assert qemu_processes() - before == set(), "a qemu process was left behind"


def test_a_boot_that_misses_its_bound_fails_with_the_console_tail_and_leaves_no_vm(port: int) -> None:
    """A boot is bounded: no engine within --wait kills the VM and shows the guest's console."""
    before = qemu_processes()
    done = cli("start", "--port", str(port), "--wait", "3")
    assert done.returncode == 1
    # a fresh machine first installs the VM's Debian packages, and says so
    lines = [
        line for line in done.stderr.strip().splitlines() if not line.startswith("standins/mobyvm.py: installing ")
    ]
    first, *console = lines
    assert first == f"standins/mobyvm.py start: no engine on 127.0.0.1:{port} after 3 s; console:"
    assert console, "the console tail is missing"
    assert qemu_processes() == before


def test_a_hung_guest_is_killed_by_its_recorded_pid(port: int) -> None:
    """A guest that answers nothing (here: qemu stopped with SIGSTOP) still goes: QMP gets
    no answer, so stop kills the recorded pid."""
    booted = cli("start", "--port", str(port))
    assert booted.returncode == 0, booted.stderr
    assert booted.stdout.startswith("booted in ")
    again = cli("start", "--port", str(port))
    assert (again.returncode, again.stdout.startswith("running: ")) == (mobyvm.ALREADY_UP, True), (
        "a second start must reuse the running VM and say so"
    )
    pid = mobyvm.recorded_pid(port)
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    stopped = cli("stop", "--port", str(port), timeout=120)
    # a stopped qemu takes no key either: no post-mortem is claimed
    assert stopped.stdout.strip() == f"killed (pid {pid}); the engine did not answer"
    assert not Path(f"/proc/{pid}").exists()
