"""Linux and Docker reference values that checks compare against, with their sources."""

from __future__ import annotations

from collections.abc import Iterable

# capabilities(7): capability numbers.
CAPABILITY_NUMBERS = {
    "CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "FSETID": 4, "KILL": 5,
    "SETGID": 6, "SETUID": 7, "SETPCAP": 8, "LINUX_IMMUTABLE": 9, "NET_BIND_SERVICE": 10,
    "NET_BROADCAST": 11, "NET_ADMIN": 12, "NET_RAW": 13, "IPC_LOCK": 14, "IPC_OWNER": 15,
    "SYS_MODULE": 16, "SYS_RAWIO": 17, "SYS_CHROOT": 18, "SYS_PTRACE": 19, "SYS_PACCT": 20,
    "SYS_ADMIN": 21, "SYS_BOOT": 22, "SYS_NICE": 23, "SYS_RESOURCE": 24, "SYS_TIME": 25,
    "SYS_TTY_CONFIG": 26, "MKNOD": 27, "LEASE": 28, "AUDIT_WRITE": 29, "AUDIT_CONTROL": 30,
    "SETFCAP": 31, "MAC_OVERRIDE": 32, "MAC_ADMIN": 33, "SYSLOG": 34, "WAKE_ALARM": 35,
    "BLOCK_SUSPEND": 36, "AUDIT_READ": 37, "PERFMON": 38, "BPF": 39, "CHECKPOINT_RESTORE": 40,
}  # fmt: skip

# The 14 capabilities a container gets by default: Docker run reference, "Runtime
# privilege and Linux capabilities"; moby oci/caps/defaults.go DefaultCapabilities.
DOCKER_DEFAULT_CAPABILITIES = (
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
    "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
)  # fmt: skip


def capability_mask(names: Iterable[str]) -> str:
    """The /proc/<pid>/status form (16 lowercase hex digits) of a set of capabilities."""
    mask = 0
    for name in names:
        mask |= 1 << CAPABILITY_NUMBERS[name]
    return f"{mask:016x}"


# uname(2) "machine" of each architecture the workload is built for, by its OCI/Go name
# (matrix.yaml `platform: os/arch`): the kernel's UTS_MACHINE (arch/x86/Makefile for a
# 64-bit build: x86_64; arch/arm64/Makefile: aarch64).
UNAME_MACHINE = {"amd64": "x86_64", "arm64": "aarch64"}

# statfs(2) f_type of what is mounted at /sys/fs/cgroup (include/uapi/linux/magic.h): the
# unified hierarchy on cgroup v2, a tmpfs holding one mount per controller on cgroup v1
# (and in systemd's hybrid layout, which Docker runs as v1). Source: cgroups(7),
# "Cgroups version 1" and "Cgroups version 2"; Docker docs "Runtime metrics", "Control groups".
CGROUP2_SUPER_MAGIC = 0x63677270
TMPFS_MAGIC = 0x01021994
CGROUP_VERSION_BY_MAGIC = {CGROUP2_SUPER_MAGIC: "2", TMPFS_MAGIC: "1"}

# Resource limits a container's processes get without --ulimit and without dockerd
# --default-ulimit: Docker sets none, so they are inherited from the daemon (dockerd
# reference, "Default ulimit settings"; moby daemon/oci_linux.go WithRlimits passes only
# HostConfig.Ulimits merged with the daemon's default-ulimits), which has the kernel's
# boot-time limits (include/asm-generic/resource.h INIT_RLIMITS; _STK_LIM = 8 MiB in
# include/uapi/linux/resource.h; MQ_BYTES_MAX = 819200 in include/uapi/linux/mqueue.h)
# for every limit below. Left out, because they differ between correct Linux hosts by
# design: nofile, nproc and core (set by the daemon's service: moby
# contrib/init/systemd/docker.service LimitNOFILE, LimitNPROC, LimitCORE; systemd
# DefaultLimitNOFILE), memlock (MLOCK_LIMIT: 64 KiB before Linux 5.16, 8 MiB since; systemd
# DefaultLimitMEMLOCK) and sigpending (like nproc, sized from the host's memory at boot:
# kernel/fork.c fork_init). "unlimited" is RLIM_INFINITY, as the probe prints it.
KERNEL_DEFAULT_RLIMITS: dict[str, dict[str, int | str]] = {
    "as": {"soft": "unlimited", "hard": "unlimited"},
    "cpu": {"soft": "unlimited", "hard": "unlimited"},
    "data": {"soft": "unlimited", "hard": "unlimited"},
    "fsize": {"soft": "unlimited", "hard": "unlimited"},
    "locks": {"soft": "unlimited", "hard": "unlimited"},
    "msgqueue": {"soft": 819200, "hard": 819200},
    "nice": {"soft": 0, "hard": 0},
    "rss": {"soft": "unlimited", "hard": "unlimited"},
    "rtprio": {"soft": 0, "hard": 0},
    "rttime": {"soft": "unlimited", "hard": "unlimited"},
    "stack": {"soft": 8 * 1024 * 1024, "hard": "unlimited"},
}

# The network settings Docker gives the default bridge network unless dockerd is told
# otherwise: MTU 1500 (dockerd reference `--mtu`, "default 1500"; moby daemon/config
# DefaultNetworkMtu = 1500) on a host interface named docker0 (moby
# libnetwork/drivers/bridge DefaultBridgeName = "docker0", unless dockerd --bridge names
# another; Docker docs "Bridge network driver", default bridge network).
DOCKER_DEFAULT_MTU = 1500
DOCKER_DEFAULT_BRIDGE = "docker0"
