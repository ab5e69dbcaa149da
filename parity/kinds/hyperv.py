"""hyperv: Windows Server running Linux containers under Hyper-V isolation (LCOW), Docker
Engine 20.10 or older in experimental mode."""

from __future__ import annotations

from parity.kinds.base import Kind, engine_said
from parity.platform.facts import EngineFacts, major_version

_HOSTCONFIG_WINDOWS = "moby runconfig/hostconfig_windows.go"
# What LCOW accepts and never passes to the utility VM: createSpecLinuxFields passes only
# the root filesystem, hostname, capabilities and device cgroup rules.
_DROPPED = "a Windows daemon accepts it for Linux containers and drops it (moby 20.10 daemon/oci_windows.go createSpecLinuxFields)"


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
        "uts_host": _DROPPED,
        "ipc_modes": _DROPPED,
        "sysctls": _DROPPED,
        "devices": _DROPPED,
        "cgroupns_modes": _DROPPED,
        "init": _DROPPED,
        "oom_score_adj": _DROPPED,
        "shm_size": _DROPPED,
        "group_add": _DROPPED,
        "no_new_privileges": _DROPPED + " (SecurityOpt)",
        "seccomp": _DROPPED + " (no seccomp profile reaches the utility VM)",
        "tmpfs_mounts": 'a Windows daemon refuses type=tmpfs ("mount type unknown", moby 20.10 '
        "volume/mounts/windows_parser.go validateMountConfigReg) and drops --tmpfs (daemon/oci_windows.go)",
        "file_bind_mounts": 'a Windows daemon refuses a file as a bind source ("source path must be a '
        'directory", moby 20.10 volume/mounts/windows_parser.go; docker/for-win#1360)',
        "volume_population": "a Windows daemon never copies image content into a new volume "
        "(moby 20.10 volume/mounts/windows_parser.go DefaultCopyMode)",
        "resource_limits": 'a Windows daemon refuses swap, reservation, pids, cpuset, blkio, ulimit and OOM options ("Windows '
        'does not support ...", moby 20.10 daemon/daemon_windows.go verifyPlatformContainerResources); memory and CPU '
        "limits size the utility VM, not the container's cgroup (moby#37296)",
        "exec_user": "a Windows daemon creates the exec of a Linux container without its user (moby 20.10 daemon/exec_windows.go)",
        "any_signal": "a Windows daemon knows only KILL and TERM by name (moby 20.10 pkg/signal/signal_windows.go)",
    },
    # LCOW runs Linux containers only when asked to, and always under Hyper-V isolation
    isolation="hyperv",
    platform="linux",
    refused_isolation={
        "process": "a Windows daemon refuses process isolation for Linux containers "
        '("process isolation is invalid for Linux containers on Windows", moby 20.10 daemon/create_windows.go)',
    },
)
