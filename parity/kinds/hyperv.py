"""hyperv: Windows Server running Linux containers under Hyper-V isolation (LCOW), Docker
Engine 20.10 or older in experimental mode."""

from __future__ import annotations

from parity.kinds.base import Kind, engine_said
from parity.platform.facts import EngineFacts, major_version

_HOSTCONFIG_WINDOWS = "moby runconfig/hostconfig_windows.go"


def _contradiction(facts: EngineFacts) -> str | None:
    if not facts.is_windows:
        return f"declared kind hyperv, but the engine is not a Windows engine ({engine_said(facts)})"
    if not facts.has_lcow:
        removed = major_version(facts.server_version) >= 23
        return (
            "declared kind hyperv, but the Windows engine has no Linux containers support "
            f"(storage driver {facts.storage_driver!r} lists no 'lcow (linux)'; "
            + (
                f"engine {facts.server_version}: LCOW was removed in Docker Engine 23.0)"
                if removed
                else "LCOW needs dockerd --experimental <= 20.10)"
            )
        )
    return None


KIND = Kind(
    name="hyperv",
    describes="Windows Server running Linux containers under Hyper-V isolation (LCOW)",
    rank=2,
    contradiction=_contradiction,
    # A Windows daemon rejects these under Hyper-V isolation.
    missing={
        "privileged": f"a Windows daemon rejects --privileged ({_HOSTCONFIG_WINDOWS})",
        "host_network": f"a Windows daemon has no host network ({_HOSTCONFIG_WINDOWS}; moby#38166)",
        "container_network": f"a Windows daemon rejects --network container:X under Hyper-V isolation ({_HOSTCONFIG_WINDOWS})",
        "read_only_rootfs": f"a Windows daemon rejects --read-only ({_HOSTCONFIG_WINDOWS})",
        "pid_host": f"a Windows daemon does not share the host PID namespace ({_HOSTCONFIG_WINDOWS})",
    },
    # LCOW runs Linux containers only when asked to, and always under Hyper-V isolation
    isolation="hyperv",
    platform="linux",
    refused_isolation={
        "process": "a Windows daemon refuses process isolation for Linux containers "
        '("process isolation is invalid for Linux containers on Windows", moby 20.10 daemon/create_windows.go)',
    },
)
