"""Running the probe inside a container and reading what it observed.

One ``docker exec`` runs many operations (``probe op1 a -- op2 b``), so a check that needs
ten observations costs one exec, not ten container starts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

from docker.models.containers import Container

from parity.workload import PROBE_PATH

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


class Prober:
    """The probe bound to one container: ``prober(("uname",), ("ids",))`` runs both
    operations in one exec; ``prober.one("stat", "/etc")`` runs a single one."""

    def __init__(self, container: Container, user: str = "") -> None:
        self.container = container
        self.user = user

    def __call__(
        self,
        *ops: Op,
        user: str | None = None,
        environment: Mapping[str, str] | None = None,
        workdir: str | None = None,
    ) -> list[Observation]:
        return run(
            self.container, ops, user=self.user if user is None else user, environment=environment, workdir=workdir
        )

    def one(self, *op: str, user: str | None = None) -> Observation:
        return self(op, user=user)[0]
