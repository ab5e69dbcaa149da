"""testinfra over the Engine API: ``host.file(...)``, ``host.run(...)`` inside a container.

testinfra's own docker:// backend shells out to the docker CLI, which reaches only the
engine named by the environment and has no time bound. This backend runs the same shell
commands through the target's docker-py client, so it works for every target of a run
and every call is bounded by the target's timeout.
"""

from __future__ import annotations

from typing import Any, cast

import testinfra.host
from docker.models.containers import Container
from testinfra.backend.base import BaseBackend, CommandResult


class EngineExecBackend(BaseBackend):  # type: ignore[misc]  # testinfra ships no type hints
    NAME = "parity"

    def __init__(self, container: Container, user: str = "") -> None:
        super().__init__(container.name or container.id or "")
        self.container = container
        self.user = user
        # The workload has no Python to ask; it speaks UTF-8 (busybox, C locale bytes).
        self._encoding = "utf-8"

    def run(self, command: str, *args: str, **kwargs: Any) -> CommandResult:
        cmd = self.get_command(command, *args)
        rc, output = self.container.exec_run(["/bin/sh", "-c", cmd], user=self.user, demux=True)
        stdout, stderr = cast("tuple[bytes | None, bytes | None]", output)  # demux=True
        result: CommandResult = self.result(
            rc if rc is not None else -1, self.encode(cmd), stdout or b"", stderr or b""
        )
        return result


def host(container: Container, user: str = "") -> testinfra.host.Host:
    """A testinfra host for a running container of the workload image."""
    return testinfra.host.Host(EngineExecBackend(container, user))
