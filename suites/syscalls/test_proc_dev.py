"""What /proc, /sys and /dev expose: masked and read-only paths, default devices, sysctls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from parity.run.target import Target
from parity.run.together import Together
from parity.workload.probe import Prober
from plugins.workload import Observe, together


@pytest.mark.parametrize("path", ["/proc/keys", "/proc/timer_list"])
def test_masked_proc_files_are_dev_null(probe: Prober, path: str) -> None:
    """Masked /proc files are covered by /dev/null: a character device 1:3 that reads empty.

    Source: moby oci/defaults.go MaskedPaths; OCI runtime spec "maskedPaths" (runc bind
    mounts /dev/null over masked files).
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/oci/defaults.go
    """
    stat, content = probe(("stat", path), ("read", path))
    assert (stat["type"], stat["rdev_major"], stat["rdev_minor"]) == ("chr", 1, 3)
    assert (content["data"], content["size"]) == ("", 0)


@pytest.mark.parametrize("path", ["/proc/acpi", "/sys/firmware"])
def test_masked_folders_are_empty(probe: Prober, path: str) -> None:
    """Masked folders are covered by an empty read-only tmpfs.

    Source: moby oci/defaults.go MaskedPaths; OCI runtime spec "maskedPaths" (runc mounts
    a read-only tmpfs over masked directories).
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/oci/defaults.go
    """
    listing, made = probe(("readdir", path), ("mkdir", f"{path}/parity", "755"))
    assert listing["names"] == []
    assert (made.ok, made.errno) == (False, "EROFS")


@pytest.mark.parametrize(
    "path", ["/proc/sys/kernel/hostname", "/proc/sys/vm/overcommit_memory", "/proc/irq/default_smp_affinity"]
)
def test_readonly_proc_paths_refuse_writes(probe: Prober, path: str) -> None:
    """/proc/sys and /proc/irq (like /proc/bus and /proc/fs) are read-only: opening a
    writable file there for write fails with EROFS.

    Source: moby oci/defaults.go ReadonlyPaths; OCI runtime spec "readonlyPaths"; open(2) EROFS.
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/oci/defaults.go
    """
    opened = probe.one("open", path, "O_WRONLY", "0")
    assert (opened.ok, opened.errno) == (False, "EROFS")


def test_sys_is_mounted_read_only(probe: Prober) -> None:
    """/sys is sysfs mounted read-only in a non-privileged container (statfs has ST_RDONLY).

    Source: moby oci/defaults.go DefaultLinuxSpec mounts (sysfs "ro"); statfs(2) ST_RDONLY = 1.
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/oci/defaults.go
    """
    statfs = probe.one("statfs", "/sys")
    sysfs_magic = 0x62656572
    assert (statfs["type"], statfs["flags"] & 1) == (sysfs_magic, 1)


# OCI runtime spec "Default Devices": these character devices, with these numbers
# (devices.txt of the kernel: mem 1:3, 1:5, 1:7, 1:8, 1:9; tty 5:0), mode 0666.
DEFAULT_DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9), "tty": (5, 0)}


def test_dev_holds_exactly_the_default_devices(probe: Prober) -> None:
    """/dev of a container without --device or a terminal holds exactly the OCI default
    character devices (null, zero, full, random, urandom, tty), mode 0666, and no others.

    Source: OCI runtime spec config-linux.md "Default Devices"; Docker run reference
    ("by default, Docker containers ... not allowed to access any devices").
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    names = probe.one("readdir", "/dev")["names"]
    stats = probe(*(("lstat", f"/dev/{name}") for name in names))
    devices = {
        name: (stat["rdev_major"], stat["rdev_minor"], stat["perm"])
        for name, stat in zip(names, stats, strict=True)
        if stat["type"] in ("chr", "blk")
    }
    assert devices == {name: (*numbers, 0o666) for name, numbers in DEFAULT_DEVICES.items()}


@pytest.mark.parametrize(
    ("link", "destination"),
    [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ],
)
def test_dev_symlinks(probe: Prober, link: str, destination: str) -> None:
    """/dev/fd, /dev/stdin, /dev/stdout, /dev/stderr and /dev/ptmx are the symlinks the
    runtime spec requires.

    Source: OCI runtime spec runtime-linux.md "Dev symbolic links"; devpts (ptmx -> pts/ptmx).
    Level: MUST, https://github.com/opencontainers/runtime-spec/blob/v1.0.2/runtime-linux.md
    """
    assert probe.one("readlink", f"/dev/{link}")["target"] == destination


SYSCTLS = [
    ("net.core.somaxconn", "1024"),
    ("kernel.shm_rmid_forced", "1"),
    ("net.ipv4.ip_unprivileged_port_start", "80"),
]


@pytest.fixture(scope="module")
def with_sysctls(target: Target, own_network_mode: str | None, request: pytest.FixtureRequest) -> Iterator[Together]:
    """Every --sysctl of SYSCTLS on one container, where the engine and kernel take them
    together; else each on its own."""
    requests = {
        sysctl: ([("read", "/proc/sys/" + sysctl.replace(".", "/"))], {"sysctls": {sysctl: value}})
        for sysctl, value in SYSCTLS
    }
    with together(target, request.config, requests, own_network_mode) as shared:
        yield shared


@pytest.mark.requires("sysctls")
@pytest.mark.parametrize(("sysctl", "value"), SYSCTLS)
def test_namespaced_sysctl_option(with_sysctls: Together, observe: Observe, sysctl: str, value: str) -> None:
    """--sysctl sets a namespaced kernel parameter in the container only.

    Source: Docker run reference "Configure namespaced kernel parameters (sysctls) at
    runtime" (kernel.shm*, net.* are namespaced); proc(5) /proc/sys.
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    assert with_sysctls.observe(sysctl, observe)[0]["data"] == f"{value}\n"


def test_dev_shm_is_a_64_mib_tmpfs(probe: Prober) -> None:
    """/dev/shm is a tmpfs of 64 MiB with mode 1777 unless --shm-size says otherwise.

    Source: Docker run reference "--shm-size: Size of /dev/shm. ... If you omit the unit,
    the system uses bytes. If you omit the size entirely, the system uses 64m"; tmpfs(5).
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    stat, statfs = probe(("stat", "/dev/shm"), ("statfs", "/dev/shm"))
    tmpfs_magic = 0x01021994
    assert (stat["perm"], statfs["type"], statfs["blocks"] * statfs["bsize"]) == (0o1777, tmpfs_magic, 64 * 1024 * 1024)
