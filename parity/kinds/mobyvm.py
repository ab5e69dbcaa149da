"""mobyvm: Docker Desktop's engine inside its Linux VM (LinuxKit/Moby VM or WSL2), reached
over a forwarded socket, host folders shared into the VM."""

from __future__ import annotations

from parity.kinds.base import Kind, engine_said
from parity.platform.facts import EngineFacts


def _contradiction(facts: EngineFacts) -> str | None:
    if facts.is_windows:
        return f"declared kind mobyvm, but the engine is a Windows engine ({engine_said(facts)})"
    return None


KIND = Kind(
    name="mobyvm",
    describes="Docker Desktop's engine in its Linux VM, host folders shared into it",
    rank=1,
    contradiction=_contradiction,
)
