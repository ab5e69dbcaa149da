"""What a target can be asked to do: the capability vocabulary.

A check asks for a capability (``@pytest.mark.requires("host_network")``), never for a
target name or kind. Each kind (``parity.kinds``) says which it lacks and why; ``matrix.yaml``
may override any default per target; a name that is not listed here is a configuration
error, so a typo cannot silently skip checks.
"""

from __future__ import annotations

from collections.abc import Mapping

# name -> what declaring it promises (shown in skip reasons and in --help output).
CAPABILITIES: Mapping[str, str] = {
    "privileged": "runs containers with --privileged",
    "host_network": "runs containers with --network host",
    "container_network": "joins a container to another's network namespace (--network container:X)",
    "read_only_rootfs": "runs containers with --read-only",
    "bind_mounts": "bind-mounts folders of the machine running pytest into containers",
    "published_ports": "publishes container ports on 127.0.0.1 of the machine running pytest",
    "ipv6_networks": "creates user-defined networks with IPv6 enabled",
    "pid_host": "shares the host PID namespace (--pid host)",
    "uts_host": "shares the host UTS namespace (--uts host)",
    "ipc_modes": "shares IPC namespaces between containers (--ipc container:X, shareable)",
    "sysctls": "sets namespaced sysctls (--sysctl)",
    "devices": "passes device nodes into containers (--device)",
    "tmpfs_mounts": "mounts a tmpfs into containers (--mount type=tmpfs, --tmpfs)",
    "file_bind_mounts": "bind-mounts a single file of the machine running pytest into a container",
    "volume_population": "fills a new named volume with the image's content at its mount point",
    "resource_limits": "limits a container's own memory, CPU, swap, pids, cpusets, block I/O and "
    "rlimits (--memory, --cpus, --pids-limit, --cpuset-*, --blkio-*, --ulimit ...)",
    "cgroupns_modes": "chooses the container's cgroup namespace (--cgroupns host|private)",
    "init": "runs the engine's init as PID 1 (--init)",
    "oom_score_adj": "sets the main process's OOM score adjustment (--oom-score-adj)",
    "shm_size": "sizes the container's /dev/shm (--shm-size)",
    "group_add": "adds supplementary groups to the main process (--group-add)",
    "seccomp": "applies a seccomp profile to containers (the default one, --security-opt seccomp=...)",
    "no_new_privileges": "sets no_new_privs on the main process (--security-opt no-new-privileges)",
    "exec_user": "runs an exec as the user it names (docker exec --user)",
    "any_signal": "sends any signal by name to a container (docker kill -s, --stop-signal)",
}
