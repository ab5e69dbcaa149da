"""What defines a kind of platform: its capabilities, how its engine must look, and what
every container request to it carries."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from parity.platform.capabilities import CAPABILITIES
from parity.platform.facts import EngineFacts


def engine_said(facts: EngineFacts) -> str:
    """What the engine said about itself, for a contradiction's message."""
    return (
        f"OSType {facts.os_type!r}, OperatingSystem {facts.operating_system!r}, KernelVersion {facts.kernel_version!r}"
    )


@dataclass(frozen=True)
class Kind:
    """A kind of platform, defined once in its own module of ``parity.kinds``."""

    name: str  # the matrix's ``kind`` value and the pytest marker
    describes: str  # what a target of this kind is, for the marker's help
    rank: int  # report columns are ordered by rank: the reference kind first
    # why the engine cannot be of this kind (one line), or None when it can
    contradiction: Callable[[EngineFacts], str | None]
    reference: bool = False  # the kind whose behaviour is Linux's own
    # capabilities this kind lacks by default, each with why (a public source)
    missing: Mapping[str, str] = field(default_factory=dict)
    isolation: str | None = None  # HostConfig.Isolation every container gets, unless declared
    # isolation -> why this kind's engine refuses it, when a target declares it
    refused_isolation: Mapping[str, str] = field(default_factory=dict)
    platform: str | None = None  # the create's platform query, unless declared

    def __post_init__(self) -> None:
        unknown = sorted(set(self.missing) - set(CAPABILITIES))
        if unknown:
            raise ValueError(f"kind {self.name}: unknown capabilities {unknown}")

    def capabilities(self, declared: Mapping[str, bool]) -> dict[str, bool]:
        """A target's capabilities: this kind's defaults overridden by its declarations."""
        merged = {name: name not in self.missing for name in CAPABILITIES}
        merged.update(declared)
        return merged
