"""Running the probe inside a container and reading what it observed.

One ``docker exec`` runs many operations (``probe op1 a -- op2 b``), so a check that needs
ten observations costs one exec, not ten container starts. A prober of a shared container
goes further: one exec runs the probe's serve mode, and each batch is a request on its
stdin, answered by a fresh probe process that the server forks and executes. An exec
costs tens of milliseconds on a native engine and seconds in a VM under emulation.
"""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

from docker.models.containers import Container

from parity.workload.image import PROBE_PATH

Op = Sequence[str]


class ProbeError(Exception):
    """The probe did not produce observations; the message carries its command and output."""


class Observation(Mapping[str, Any]):
    """One operation's result: ``ok``, ``errno`` (a Linux errno name) and its fields."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Observation({self._data!r})"

    @property
    def ok(self) -> bool:
        return bool(self._data.get("ok", True))

    @property
    def errno(self) -> str | None:
        value = self._data.get("errno")
        return str(value) if value is not None else None

    def raw(self, key: str) -> bytes:
        """A string field as the bytes the probe saw (it escapes every byte as latin-1)."""
        return str(self._data[key]).encode("latin-1")


def command(ops: Sequence[Op]) -> list[str]:
    """The probe's argv for a batch of operations."""
    argv = [PROBE_PATH]
    for index, op in enumerate(ops):
        if index:
            argv.append("--")
        argv.extend(op)
    return argv


def parse(stdout: bytes, ops: Sequence[Op]) -> list[Observation]:
    data = json.loads(stdout.decode("ascii"))
    if not isinstance(data, list) or len(data) != len(ops):
        raise ValueError(f"expected {len(ops)} results, got {data!r}")
    return [Observation(item) for item in data]


def run(
    container: Container,
    ops: Sequence[Op],
    *,
    user: str = "",
    environment: Mapping[str, str] | None = None,
    workdir: str | None = None,
) -> list[Observation]:
    """Run a batch of probe operations in ``container`` with one exec."""
    argv = command(ops)
    exit_code, output = container.exec_run(
        argv, user=user, environment=dict(environment or {}), workdir=workdir, demux=True
    )
    stdout, stderr = cast("tuple[bytes | None, bytes | None]", output)  # demux=True: (stdout, stderr)
    try:
        if exit_code != 0:
            raise ValueError(f"exit code {exit_code}")
        return parse(stdout or b"", ops)
    except ValueError as exc:
        raise ProbeError(
            f"{' '.join(argv)} in {container.name}: {exc}\n"
            f"stdout: {(stdout or b'')[:2000]!r}\nstderr: {(stderr or b'')[:2000]!r}"
        ) from None


RECORD_SEPARATOR = b"\x1e"  # ends a served batch's output; never in the probe's ASCII JSON
FRAME_HEADER = struct.Struct(">BxxxL")  # the engine's multiplexed stream: stream id, size


def request_line(argv: Sequence[str]) -> bytes:
    """A served batch: the arguments after the program, as hex (the engine passes an
    exec's argv as UTF-8, so do we), separated by spaces."""
    return b" ".join(arg.encode("utf-8").hex().encode("ascii") for arg in argv[1:]) + b"\n"


class ProbeServer:
    """``probe serve`` in one exec of ``container`` with stdin attached (Engine API
    ExecCreate AttachStdin, then ExecStart hijacking the connection)."""

    def __init__(self, stream: socket.socket, timeout: float, keep: object = None) -> None:
        self._socket = stream
        self._socket.settimeout(timeout)
        self._keep = keep  # what must outlive the socket (docker-py's response, a TLS wrapper)
        self._pending = bytearray()  # bytes read past the last frame
        self.closed = False

    @classmethod
    def start(cls, container: Container, timeout: float) -> ProbeServer:
        api = container.client.api  # type: ignore[union-attr]
        exec_id = api.exec_create(container.id, [PROBE_PATH, "serve"], stdin=True, stdout=True, stderr=True)["Id"]
        raw: Any = api.exec_start(exec_id, socket=True)
        # docker-py hands over the socket's file object on unix and tcp; reads need the socket
        stream: socket.socket = getattr(raw, "_sock", raw)
        return cls(stream, timeout, keep=raw)

    def _frame(self) -> tuple[int, bytes]:
        while True:
            if len(self._pending) >= FRAME_HEADER.size:
                stream, size = FRAME_HEADER.unpack_from(self._pending)
                if len(self._pending) >= FRAME_HEADER.size + size:
                    payload = bytes(self._pending[FRAME_HEADER.size : FRAME_HEADER.size + size])
                    del self._pending[: FRAME_HEADER.size + size]
                    return stream, payload
            chunk = self._socket.recv(65536)
            if not chunk:
                raise EOFError("the probe server's stream ended")
            self._pending += chunk

    def run(self, argv: Sequence[str]) -> tuple[int, bytes, bytes]:
        """Exit status (minus the signal when killed), stdout and stderr of one batch."""
        self._socket.sendall(request_line(argv))
        stdout, stderr = bytearray(), bytearray()
        while RECORD_SEPARATOR not in stdout or not stdout.endswith(b"\n"):
            stream, payload = self._frame()
            (stdout if stream == 1 else stderr).extend(payload)
        output, _, status = bytes(stdout).rpartition(RECORD_SEPARATOR)
        return int(status), output, bytes(stderr)

    def close(self) -> None:
        self.closed = True
        self._socket.close()
        close = getattr(self._keep, "close", None)
        if close is not None:
            close()


class Prober:
    """The probe bound to one container: ``prober(("uname",), ("ids",))`` runs both
    operations in one exec (or one request to the container's probe server, with
    ``serve``); ``prober.one("stat", "/etc")`` runs a single one."""

    def __init__(self, container: Container, user: str = "", *, serve: bool = False, timeout: float = 60) -> None:
        self.container = container
        self.user = user
        # serve: batches that change nothing of the exec (user, environment, working
        # directory) go to a probe server in the container; for a long-lived container
        self.serve = serve
        self.timeout = timeout
        self._server: ProbeServer | None = None

    def _served(self, ops: Sequence[Op]) -> list[Observation]:
        argv = command(ops)
        if self._server is None or self._server.closed:
            self._server = ProbeServer.start(self.container, self.timeout)
        try:
            status, stdout, stderr = self._server.run(argv)
        except (OSError, EOFError):
            self._server.close()  # a later batch starts a new server
            raise
        try:
            if status != 0:
                raise ValueError(f"exit code {status}")
            return parse(stdout, ops)
        except ValueError as exc:
            raise ProbeError(
                f"{' '.join(argv)} (served) in {self.container.name}: {exc}\n"
                f"stdout: {stdout[:2000]!r}\nstderr: {stderr[:2000]!r}"
            ) from None

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    def __call__(
        self,
        *ops: Op,
        user: str | None = None,
        environment: Mapping[str, str] | None = None,
        workdir: str | None = None,
        through_exec: bool = False,
    ) -> list[Observation]:
        """``through_exec``: a docker exec of its own even on a serving prober, for checks
        about what exec itself passes (argv, environment, limits of exec'd processes)."""
        as_user = self.user if user is None else user
        if self.serve and not through_exec and not as_user and environment is None and workdir is None:
            return self._served(ops)
        return run(self.container, ops, user=as_user, environment=environment, workdir=workdir)

    def one(self, *op: str, user: str | None = None, through_exec: bool = False) -> Observation:
        return self(op, user=user, through_exec=through_exec)[0]
