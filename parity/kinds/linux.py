"""linux: a native Docker Engine on a Linux host, the reference every other kind is judged
against."""

from __future__ import annotations

from parity.kinds.base import Kind, engine_said
from parity.platform.facts import EngineFacts


def _contradiction(facts: EngineFacts) -> str | None:
    if facts.is_windows:
        return f"declared kind linux, but the engine is a Windows engine ({engine_said(facts)})"
    if facts.is_docker_desktop:
        return f"declared kind linux, but the engine is Docker Desktop ({engine_said(facts)}): declare kind mobyvm"
    return None


KIND = Kind(
    name="linux",
    describes="a native Docker Engine on a Linux host (the reference)",
    rank=0,
    reference=True,
    contradiction=_contradiction,
)
