"""testinfra over the Engine API: ``host.file(...)``, ``host.run(...)`` inside a container.

testinfra's own docker:// backend shells out to the docker CLI, which reaches only the
engine named by the environment and has no time bound. This backend runs the same shell
commands through the target's docker-py client, so it works for every target of a run
and every call is bounded by the target's timeout.
"""

from __future__ import annotations

import signal
from typing import Any, cast

import testinfra.host
from docker.models.containers import Container
from testinfra.backend.base import BaseBackend, CommandResult

from parity.workload.probe import ProbeError, Prober


class EngineExecBackend(BaseBackend):  # type: ignore[misc]  # testinfra ships no type hints
    """Runs testinfra's commands in the container: through the probe server of a
    ``prober`` when one is given and no other user is asked for (a request to the running
    server, not an exec: an exec costs seconds on an emulated VM), else by an exec."""

    NAME = "parity"

    def __init__(self, container: Container, user: str = "", prober: Prober | None = None) -> None:
        super().__init__(container.name or container.id or "")
        self.container = container
        self.user = user
        self.prober = prober if not user else None
        # The workload has no Python to ask; it speaks UTF-8 (busybox, C locale bytes).
        self._encoding = "utf-8"

    def run(self, command: str, *args: str, **kwargs: Any) -> CommandResult:
        cmd = self.get_command(command, *args)
        if self.prober is not None:
            ran = self.prober.one("run", "/bin/sh", "-c", cmd)
            if not ran.ok or ran["truncated"]:
                raise ProbeError(f"{cmd!r} through the probe server: {ran!r}")
            status = ran["exit_code"] if "exit_code" in ran else 128 + signal_number(str(ran["signal"]))
            stdout, stderr = bytes.fromhex(ran["stdout"]), bytes.fromhex(ran["stderr"])
        else:
            rc, output = self.container.exec_run(["/bin/sh", "-c", cmd], user=self.user, demux=True)
            status = rc if rc is not None else -1
            stdout, stderr = (part or b"" for part in cast("tuple[bytes | None, bytes | None]", output))  # demux=True
        result: CommandResult = self.result(status, self.encode(cmd), stdout, stderr)
        return result


def signal_number(name: str) -> int:
    """The number of a signal the probe names ("SIGKILL"), as a shell's 128 + n uses it."""
    return int(signal.Signals[name])


def host(container: Container, user: str = "", prober: Prober | None = None) -> testinfra.host.Host:
    """A testinfra host for a running container of the workload image; its commands go
    through ``prober``'s server when given (see EngineExecBackend)."""
    return testinfra.host.Host(EngineExecBackend(container, user, prober))
