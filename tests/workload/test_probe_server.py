"""The probe's serve mode answers a batch exactly as a fresh ``probe`` process would.

Three layers: the C server run directly on this machine (its request and answer
format), the client's reading of the engine's multiplexed stream (over a socket pair,
split at awkward places), and served against exec'd observations of the process's
context in one container on a real engine.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import docker
import pytest

from parity.workload import image as workload
from parity.workload import infra
from parity.workload.probe import FRAME_HEADER, Prober, ProbeServer, command, request_line
from tests.faults.inner import needs_engines
from tests.sensitivity.engines import SecondEngine


@pytest.fixture(scope="module")
def probe_binary() -> Path:
    return workload.build_probe(workload.docker_arch("x86_64"))


def served(binary: Path, *batches: list[str], raw: bytes = b"") -> bytes:
    requests = b"".join(request_line(command([tuple(batch)])) if batch else b"\n" for batch in batches)
    done = subprocess.run([str(binary), "serve"], input=requests + raw, capture_output=True, timeout=30, check=True)
    return done.stdout


def direct(binary: Path, batch: list[str]) -> tuple[int, bytes]:
    done = subprocess.run([str(binary), *batch], capture_output=True, timeout=30, check=False)
    return done.returncode, done.stdout


@pytest.mark.parametrize(
    "batch",
    [
        ["argv", "two words", "", "ü ∞", "--", "x"],
        ["write", "/dev/null", "O_WRONLY", "0644", ""],
        ["exit", "3"],
        ["kill-self", "SIGTERM"],
        ["no-such-op"],
        ["run", "/bin/sh", "-c", "printf 'out\\n'; printf 'err\\n' >&2; exit 3"],
    ],
    ids=["argv-spaces-empty-utf8", "empty-last-argument", "exit-status", "signal", "usage-error", "run-a-command"],
)
def test_a_served_batch_answers_as_the_program_run_directly(probe_binary: Path, batch: list[str]) -> None:
    """Output bytes, then RS and the status: the exit code, or minus the killing signal."""
    status, stdout = direct(probe_binary, batch)
    assert served(probe_binary, batch) == stdout + b"\x1e" + str(status).encode() + b"\n"


def test_requests_are_answered_in_order_and_end_of_input_stops_the_server(probe_binary: Path) -> None:
    answers = served(probe_binary, ["argv", "1"], ["argv", "2"]).split(b"\x1e0\n")
    assert [json.loads(answer)[0]["argv"] for answer in answers[:-1]] == [["1"], ["2"]]
    assert answers[-1] == b""


@pytest.mark.parametrize("line", [b"7\n", b"zz\n", b"00\n"], ids=["odd-length", "not-hex", "nul-byte"])
def test_a_malformed_request_is_refused_with_status_2(probe_binary: Path, line: bytes) -> None:
    assert served(probe_binary, raw=line) == b"\x1e2\n"


def frames(stdout: bytes, stderr: bytes) -> bytes:
    return b"".join(FRAME_HEADER.pack(stream, len(data)) + data for stream, data in ((2, stderr), (1, stdout)) if data)


def test_the_client_reads_an_answer_split_across_frames_and_packets() -> None:
    """The engine may cut stdout into frames anywhere and TCP may cut frames anywhere;
    stderr frames interleave. The answer is the status, all of stdout, all of stderr."""
    ours, theirs = socket.socketpair()
    stream = frames(b'[{"op":"a"', b"warn") + frames(b"}]\n\x1e", b"") + frames(b"-9\n", b"")
    stream += frames(b"[]\n\x1e0\n", b"")  # the next answer, already on its way

    requests: list[bytes] = []

    def engine() -> None:
        requests.append(theirs.recv(1024))
        for cut in range(0, len(stream), 5):
            theirs.sendall(stream[cut : cut + 5])

    thread = threading.Thread(target=engine)
    thread.start()
    server = ProbeServer(ours, timeout=10)
    first = server.run(["/probe", "args"])
    thread.join(10)
    second = server.run(["/probe", "next"])
    server.close()
    theirs.close()
    assert requests == [b"args".hex().encode() + b"\n"]
    assert (first, second) == ((-9, b'[{"op":"a"}]\n', b"warn"), (0, b"[]\n", b""))


def test_a_server_that_goes_away_is_an_error_not_a_hang() -> None:
    ours, theirs = socket.socketpair()
    theirs.close()
    server = ProbeServer(ours, timeout=10)
    with pytest.raises((EOFError, OSError)):
        server.run(["/probe", "uname"])
    server.close()


# Operations whose answer depends on the process's context: credentials, capabilities,
# prctl state, limits, environment, namespaces' names. pids and ppid differ by design
# (the served process is a child of the server, not of the engine's exec).
CONTEXT = [("ids",), ("caps",), ("prctl",), ("rlimits",), ("env",), ("hostname",), ("uname",), ("umask", "022")]


@pytest.fixture(scope="module")
def engine_container() -> Iterator[Any]:
    with SecondEngine([]) as engine, closing(docker.DockerClient(base_url=engine.url, timeout=60)) as client:
        built = workload.provide("amd64")
        workload.ensure_loaded(client, built)
        container = client.containers.run(built.image_id, [workload.PROBE_PATH, "idle"], detach=True)
        try:
            yield container
        finally:
            container.remove(force=True)


@needs_engines
def test_served_and_execd_batches_see_the_same_process_context(engine_container: Any) -> None:
    """Served batches replace execs in the shared containers, so the checks' observations
    of the process context must not depend on the path."""
    served_prober = Prober(engine_container, serve=True, timeout=60)
    execd = Prober(engine_container)
    try:
        by_server = [dict(o) for o in served_prober(*CONTEXT)]
        by_exec = [dict(o) for o in execd(*CONTEXT)]
    finally:
        served_prober.close()
    for observation in (*by_server, *by_exec):
        observation.pop("pid", None)
        observation.pop("ppid", None)
    assert by_server == by_exec


@needs_engines
def test_testinfra_through_the_server_answers_as_through_exec(engine_container: Any) -> None:
    """testinfra's commands go to the shared container's probe server (parity/workload/
    infra.py): the answers must be those of an exec, output, errors and status alike."""
    served_prober = Prober(engine_container, serve=True, timeout=60)
    try:
        by_server, by_exec = infra.host(engine_container, prober=served_prober), infra.host(engine_container)

        def seen(host: Any) -> list[Any]:
            ran = host.run("printf 'a\\0b'; echo oops >&2; exit 7")
            file, user = host.file("/tmp"), host.user("parity")
            return [ran.rc, ran.stdout_bytes, ran.stderr_bytes, file.mode, file.uid, user.uid, sorted(user.groups)]

        expected = [7, b"a\x00b", b"oops\n", 0o1777, 0, 1000, ["parity", "parity-extra"]]
        assert seen(by_server) == seen(by_exec) == expected
    finally:
        served_prober.close()
