"""Resource limits enforced through cgroups, and what a container sees of the machine."""

from __future__ import annotations

import json
import math
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from docker.models.containers import Container

from parity.run.resources import ResourceScope
from parity.run.target import Target
from parity.run.together import Request, Together
from parity.workload.image import PROBE_PATH
from parity.workload.probe import Op, Prober, ProbeServer
from plugins.workload import Observe, together
from suites.verdicts import not_applicable

MiB = 1024 * 1024


def cgroup_file(version: str, v1: str, v2: str) -> str:
    """The path of a cgroup control file inside the container, by the cgroup version it has."""
    return f"/sys/fs/cgroup/{v2}" if version == "2" else f"/sys/fs/cgroup/{v1}"


def test_consistency_cgroup_version_is_the_engines(target: Target, request: pytest.FixtureRequest) -> None:
    """Consistency: a container's /sys/fs/cgroup is the hierarchy of the cgroup version the
    engine reports: cgroup2 on v2, a tmpfs of per-controller cgroup v1 mounts on v1. The
    version legitimately differs between platforms (Docker Desktop and current
    distributions run v2), so the cgroup checks follow what the container has; this check
    says whether that agrees with the engine.

    Source: cgroups(7); statfs(2) f_type (include/uapi/linux/magic.h CGROUP2_SUPER_MAGIC,
    TMPFS_MAGIC); Engine API GET /info CgroupVersion (API 1.40 and later).
    Level: MUST, https://man7.org/linux/man-pages/man7/cgroups.7.html
    """
    if not target.facts.cgroup_version:
        not_applicable(f"the engine of {target.name} reports no CgroupVersion (GET /info)")
    assert request.getfixturevalue("cgroup_version") == target.facts.cgroup_version


@pytest.fixture(scope="module")
def limited(
    target: Target, cgroup_version: str, own_network_mode: str | None, request: pytest.FixtureRequest
) -> Iterator[Together]:
    """One container with the limits of the checks below that only read what their limit
    set (each its own file; they are independent settings of the engine), instead of one
    container each: a check observes alone where the limits do not run together."""
    quota_files = (
        ["/sys/fs/cgroup/cpu.max"]
        if cgroup_version == "2"
        else ["/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us"]
    )

    def reads(*paths: str) -> list[Op]:
        return [("read", path) for path in paths]

    requests: dict[str, Request] = {
        "memory": (
            reads(cgroup_file(cgroup_version, "memory/memory.limit_in_bytes", "memory.max")),
            {"mem_limit": "64m", "memswap_limit": "64m"},
        ),
        "quota": (reads(*quota_files), {"nano_cpus": 500_000_000}),
        "shares": (reads(cgroup_file(cgroup_version, "cpu/cpu.shares", "cpu.weight")), {"cpu_shares": 512}),
        "reservation": (
            reads(cgroup_file(cgroup_version, "memory/memory.soft_limit_in_bytes", "memory.low")),
            {"mem_reservation": "32m"},
        ),
        "mems": (reads(cgroup_file(cgroup_version, "cpuset/cpuset.mems", "cpuset.mems")), {"cpuset_mems": "0"}),
    }
    with together(target, request.config, requests, own_network_mode) as shared:
        yield shared


@pytest.mark.requires("resource_limits")
def test_memory_limit_is_written_to_the_cgroup(limited: Together, observe: Observe) -> None:
    """--memory 64m sets the container cgroup's memory limit to exactly 67108864 bytes.

    Source: Docker docs "Resource constraints" (--memory); cgroup v1 memory.limit_in_bytes,
    cgroup v2 memory.max (Documentation/admin-guide/cgroup-v2.rst).
    Level: SHOULD, https://docs.docker.com/engine/containers/resource_constraints/
    """
    assert limited.observe("memory", observe)[0]["data"] == f"{64 * MiB}\n"


@pytest.mark.requires("resource_limits")
def test_memory_hog_is_oom_killed(resources: ResourceScope) -> None:
    """A container whose process touches 128 MiB under a 64 MiB limit (no swap) is
    OOM-killed: it exits with 137 and prints nothing.

    The engine's OOMKilled is checked by the next test, where the container outlives the
    kill: when the killed process is the container's only one, its cgroup is removed
    right away, and containerd's cgroup v1 OOM watcher drops a notification whose cgroup
    is already deleted (containerd pkg/oom/v1 epoller.process), so the engine may never
    learn of the kill; seen here about once in six runs under load.

    Source: Docker docs "Resource constraints" ("... the kernel kills processes in the
    container"); exit status 128 + SIGKILL(9).
    Level: SHOULD, https://docs.docker.com/engine/containers/resource_constraints/
    """
    done = resources.run([PROBE_PATH, "alloc", "128"], mem_limit="64m", memswap_limit="64m")
    assert (done.status, done.stdout) == (137, b""), done.state


# How long the engine may take to report an OOM kill as an event: seconds, however
# loaded; kept below the engine call timeout (60 s by default) so the stream ends first.
OOM_EVENT_SECONDS = 30


def engine_seconds(timestamp: str) -> int:
    """Whole seconds since the epoch of an engine timestamp (RFC 3339, UTC): event
    queries are in the engine's clock, which in a VM need not be the client's."""
    return int(datetime.fromisoformat(timestamp[:19]).replace(tzinfo=UTC).timestamp())


def oom_event_seen(container: Container, running_for: float) -> bool:
    """Whether the engine emits an "oom" event for ``container``, started ``running_for``
    seconds ago, before ``OOM_EVENT_SECONDS`` from now (the stream ends then at the
    latest)."""
    started = engine_seconds(container.attrs["State"]["StartedAt"])
    assert container.client is not None
    stream = container.client.events(
        since=started - 1,
        until=started + math.ceil(running_for) + OOM_EVENT_SECONDS,
        filters={"container": str(container.id), "event": "oom"},
        decode=True,
    )
    try:
        return any(event.get("Action", event.get("status")) == "oom" for event in stream)
    finally:
        stream.close()


@pytest.mark.requires("resource_limits")
def test_oom_kill_in_a_running_container_is_reported(resources: ResourceScope, cgroup_version: str) -> None:
    """In a running container under a 64 MiB limit (no swap), an exec'd process that
    touches 128 MiB is killed with SIGKILL while PID 1 lives on; the container's cgroup
    counts exactly one OOM kill; the engine emits the container's "oom" event; and once
    the container has stopped (PID 1 exits 0 on SIGTERM), inspect reports OOMKilled true,
    which the Engine API defines as "a process within this container has been killed
    because it ran out of memory since the container was last started".

    Source: Docker docs "Resource constraints"; Engine API ContainerState.OOMKilled;
    Docker docs "docker events" (container event oom); cgroup v1 memory.oom_control
    oom_kill (Documentation/admin-guide/cgroup-v1/memory.rst), cgroup v2 memory.events
    oom_kill (Documentation/admin-guide/cgroup-v2.rst).
    Level: MUST, https://docs.docker.com/reference/api/engine/version/v1.41/
    """
    began = time.monotonic()
    container = resources.container([PROBE_PATH, "idle"], mem_limit="64m", memswap_limit="64m")
    counter_file = cgroup_file(cgroup_version, "memory/memory.oom_control", "memory.events")
    server = ProbeServer.start(container, timeout=60)
    try:
        hog_status, hog_stdout, _ = server.run([PROBE_PATH, "alloc", "128"])
        read_status, read_stdout, _ = server.run([PROBE_PATH, "read", counter_file])
    finally:
        server.close()
    counters = json.loads(read_stdout)[0].get("data", "") if read_status == 0 else ""
    oom_kills = [line.split()[1] for line in counters.splitlines() if line.startswith("oom_kill ")]
    event = oom_event_seen(container, time.monotonic() - began)
    container.stop(timeout=10)
    state = container.wait(timeout=60)
    container.reload()
    observed = (hog_status, hog_stdout, oom_kills, event, state["StatusCode"], container.attrs["State"]["OOMKilled"])
    assert observed == (-signal.SIGKILL, b"", ["1"], True, 0, True)


def test_consistency_meminfo_is_the_engine_memory_under_a_limit(observe: Observe, target: Target) -> None:
    """Consistency: /proc/meminfo is not virtualised: under --memory 64m, MemTotal is still
    the engine host's memory as the engine reports it (GET /info MemTotal); the memory of
    an engine host legitimately differs between platforms (a VM's size).

    Source: Docker docs "Resource constraints" (limits are cgroup limits); proc(5)
    /proc/meminfo; GET /info MemTotal (read from the host's /proc/meminfo).
    Level: MUST, https://man7.org/linux/man-pages/man5/proc.5.html
    """
    meminfo = observe(("read", "/proc/meminfo"), mem_limit="64m")[0]["data"]
    total_kib = next(int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:"))
    assert total_kib * 1024 == target.facts.mem_total


@pytest.mark.requires("resource_limits")
def test_cpu_quota_is_written_to_the_cgroup(limited: Together, observe: Observe, cgroup_version: str) -> None:
    """--cpus 0.5 sets a CFS quota of 50000 us per 100000 us period.

    Source: Docker docs "Resource constraints", "Configure the default CFS scheduler"
    (--cpus = quota/period, period 100000); cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us,
    cgroup v2 cpu.max.
    Level: SHOULD, https://docs.docker.com/engine/containers/resource_constraints/
    """
    observed = [read["data"] for read in limited.observe("quota", observe)]
    assert observed == (["50000 100000\n"] if cgroup_version == "2" else ["50000\n", "100000\n"])


@pytest.mark.requires("resource_limits")
def test_pids_limit_stops_a_fork_bomb(observe: Observe, cgroup_version: str) -> None:
    """Under --pids-limit 32, a process can fork 31 children (32 tasks) and the next fork
    fails with EAGAIN.

    Source: Docker run reference "--pids-limit"; cgroup pids controller (pids.max);
    fork(2) EAGAIN.
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    path = cgroup_file(cgroup_version, "pids/pids.max", "pids.max")
    limit, bomb = observe(("read", path), ("fork-bomb", "100", "2000"), pids_limit=32)
    assert (limit["data"], bomb["forked"], bomb.errno) == ("32\n", 31, "EAGAIN")


def cpus_in(cpu_list: str) -> int:
    """How many CPUs a kernel cpu list ("0-3,6") names."""
    count = 0
    for part in cpu_list.strip().split(","):
        first, _, last = part.partition("-")
        count += int(last or first) - int(first) + 1
    return count


def test_consistency_all_engine_cpus_are_online_and_usable(probe: Prober, target: Target) -> None:
    """Consistency: without a cpuset, the kernel's online CPU list and the affinity mask
    both hold all the CPUs the engine reports (GET /info NCPU); the CPU count of an engine
    host legitimately differs between platforms (a VM's size).

    Source: sysfs cpu hotplug ABI /sys/devices/system/cpu/online; sched_getaffinity(2);
    GET /info NCPU.
    Level: SHOULD, https://docs.docker.com/engine/containers/resource_constraints/
    """
    online, nproc = probe(("read", "/sys/devices/system/cpu/online"), ("nproc",))
    assert (cpus_in(online["data"]), nproc["affinity"]) == (target.facts.ncpu, target.facts.ncpu)


@pytest.fixture(scope="module")
def on_cpu_0(target: Target, own_network_mode: str | None, request: pytest.FixtureRequest) -> Iterator[Together]:
    """One container with --cpuset-cpus 0 for the two checks below."""
    options = {"cpuset_cpus": "0"}
    requests: dict[str, Request] = {
        "affinity": ([("nproc",)], options),
        "online": ([("read", "/sys/devices/system/cpu/online")], options),
    }
    with together(target, request.config, requests, own_network_mode) as shared:
        yield shared


@pytest.mark.requires("resource_limits")
def test_cpuset_restricts_the_affinity_mask(on_cpu_0: Together, observe: Observe) -> None:
    """--cpuset-cpus 0 leaves exactly one CPU in the affinity mask.

    Source: Docker docs "Resource constraints" (--cpuset-cpus); cpuset(7);
    sched_getaffinity(2).
    Level: SHOULD, https://docs.docker.com/engine/containers/resource_constraints/
    """
    assert on_cpu_0.observe("affinity", observe)[0]["affinity"] == 1


@pytest.mark.requires("resource_limits")
def test_consistency_cpuset_leaves_every_engine_cpu_online(
    on_cpu_0: Together, observe: Observe, target: Target
) -> None:
    """Consistency: --cpuset-cpus 0 restricts affinity only: the kernel's online CPU list
    still names every CPU the engine reports (GET /info NCPU).

    Source: Docker docs "Resource constraints" (--cpuset-cpus); cpuset(7); sysfs cpu
    hotplug ABI /sys/devices/system/cpu/online; GET /info NCPU.
    Level: MUST, https://man7.org/linux/man-pages/man7/cpuset.7.html
    """
    online = on_cpu_0.observe("online", observe)[0]
    assert cpus_in(online["data"]) == target.facts.ncpu


@pytest.mark.requires("read_only_rootfs")
def test_read_only_rootfs_refuses_writes(observe: Observe) -> None:
    """--read-only makes the root filesystem refuse file creation with EROFS, in / and
    in /tmp; /dev/shm stays writable.

    Source: Docker run reference "--read-only: Mount the container's root filesystem as
    read only"; open(2) EROFS.
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    root, tmp, shm = observe(
        ("open", "/parity", "O_WRONLY|O_CREAT", "0644"),
        ("open", "/tmp/parity", "O_WRONLY|O_CREAT", "0644"),
        ("open", "/dev/shm/parity", "O_WRONLY|O_CREAT", "0644"),
        read_only=True,
    )
    assert [(o.ok, o.errno) for o in (root, tmp, shm)] == [(False, "EROFS"), (False, "EROFS"), (True, None)]


def test_cgroup_filesystem_is_read_only(probe: Prober, cgroup_version: str) -> None:
    """A non-privileged container cannot create cgroups: /sys/fs/cgroup is read-only (EROFS).

    Source: moby oci/defaults.go (cgroup mount "ro"); mkdir(2) EROFS.
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/oci/defaults.go
    """
    path = cgroup_file(cgroup_version, "memory/parity", "parity")
    made = probe.one("mkdir", path, "755")
    assert (made.ok, made.errno) == (False, "EROFS")


def test_devices_cgroup_refuses_other_devices(probe: Prober) -> None:
    """A block device node made with CAP_MKNOD cannot be opened: the devices cgroup only
    allows the default devices (EPERM), while a node for /dev/null's numbers opens.

    Source: OCI runtime spec config-linux.md "Device allowlist"; moby oci/defaults.go;
    cgroup v1 devices controller / v2 BPF device program; open(2) EPERM.
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/oci/defaults.go
    """
    folder = "/tmp/parity-devices"
    _, _, _, disk, null = probe(
        ("mkdir", folder, "755"),
        ("mknod", f"{folder}/disk", "b", "8", "0", "0600"),
        ("mknod", f"{folder}/null", "c", "1", "3", "0600"),
        ("open", f"{folder}/disk", "O_RDONLY", "0"),
        ("open", f"{folder}/null", "O_RDONLY", "0"),
    )
    assert [(o.ok, o.errno) for o in (disk, null)] == [(False, "EPERM"), (True, None)]


@pytest.mark.requires("devices")
def test_device_option_adds_a_device(observe: Observe) -> None:
    """--device /dev/null:/dev/parity-null adds a character device 1:3 that opens read-write.

    Source: Docker run reference "--device".
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    stat, opened = observe(
        ("stat", "/dev/parity-null"),
        ("open", "/dev/parity-null", "O_RDWR", "0"),
        devices=["/dev/null:/dev/parity-null:rwm"],
    )
    assert (stat["type"], stat["rdev_major"], stat["rdev_minor"], opened.ok) == ("chr", 1, 3, True)


@pytest.mark.requires("privileged")
def test_privileged_gets_every_capability_and_no_seccomp(observe: Observe) -> None:
    """--privileged grants every capability the kernel knows (0..cap_last_cap) and runs
    without a seccomp filter.

    Source: Docker run reference "Runtime privilege and Linux capabilities"
    ("--privileged gives all capabilities to the container"); capabilities(7)
    /proc/sys/kernel/cap_last_cap.
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    last, caps, prctl = observe(("read", "/proc/sys/kernel/cap_last_cap"), ("caps",), ("prctl",), privileged=True)
    full = f"{(1 << (int(last['data']) + 1)) - 1:016x}"
    assert (caps["effective"], caps["bounding"], prctl["seccomp"]) == (full, full, 0)


@pytest.mark.requires("oom_score_adj")
def test_oom_score_adj_option(observe: Observe) -> None:
    """--oom-score-adj 500 sets the process's oom_score_adj to exactly 500.

    Source: Docker run reference "--oom-score-adj"; proc(5) /proc/pid/oom_score_adj.
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    assert observe(("read", "/proc/self/oom_score_adj"), oom_score_adj=500)[0]["data"] == "500\n"


@pytest.mark.requires("resource_limits")
def test_cpu_shares_are_written_to_the_cgroup(limited: Together, observe: Observe, cgroup_version: str) -> None:
    """--cpu-shares 512 gives cpu.shares 512 on cgroup v1, and cpu.weight 20 on cgroup v2
    (runc maps shares to weight as 1 + (shares - 2) * 9999 / 262142).

    Source: Docker docs "Resource constraints" (--cpu-shares); runc
    libcontainer/cgroups ConvertCPUSharesToCgroupV2Value.
    Level: SHOULD, https://docs.docker.com/engine/containers/resource_constraints/
    """
    expected = "20\n" if cgroup_version == "2" else "512\n"
    assert limited.observe("shares", observe)[0]["data"] == expected


@pytest.mark.requires("resource_limits")
def test_memory_reservation_is_the_soft_limit(limited: Together, observe: Observe) -> None:
    """--memory-reservation 32m sets the cgroup's soft limit (v1 memory.soft_limit_in_bytes,
    v2 memory.low) to 33554432.

    Source: Docker docs "Resource constraints" (--memory-reservation); cgroup-v2.rst memory.low.
    Level: SHOULD, https://docs.docker.com/engine/containers/resource_constraints/
    """
    assert limited.observe("reservation", observe)[0]["data"] == f"{32 * MiB}\n"


@pytest.mark.requires("resource_limits")
def test_cpuset_mems_is_written_to_the_cgroup(limited: Together, observe: Observe) -> None:
    """--cpuset-mems 0 restricts the container to memory node 0.

    Source: Docker docs "Resource constraints" (--cpuset-mems); cpuset(7) cpuset.mems.
    Level: SHOULD, https://docs.docker.com/engine/containers/resource_constraints/
    """
    assert limited.observe("mems", observe)[0]["data"] == "0\n"


@pytest.mark.requires("shm_size")
def test_shm_size_option(observe: Observe) -> None:
    """--shm-size 8m gives a /dev/shm tmpfs of exactly 8 MiB.

    Source: Docker run reference "--shm-size"; tmpfs(5).
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    statfs = observe(("statfs", "/dev/shm"), shm_size="8m")[0]
    assert statfs["blocks"] * statfs["bsize"] == 8 * MiB


def test_a_container_sees_only_its_own_processes(observe: Observe) -> None:
    """A fresh container's /proc lists its own processes only: the probe alone, as PID 1.

    Source: pid_namespaces(7) (a PID namespace's /proc shows the namespace's processes).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    pids, processes = observe(("pids",), ("zombies",))
    assert (pids["pid"], processes["processes"]) == (1, 1)


@pytest.mark.requires("uts_host")
def test_consistency_uts_host_hostname_is_the_engine_name(observe: Observe, target: Target) -> None:
    """Consistency: --uts host shares the engine host's UTS namespace: the hostname is the
    engine host's as the engine reports it (GET /info Name); only the engine can say what
    its host is called.

    Source: Docker run reference "UTS settings (--uts)"; GET /info Name (the host's hostname).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    assert observe(("uname",), uts_mode="host")[0]["nodename"] == target.facts.name


def engine_block_device(probe: Prober) -> tuple[str, str]:
    """A block device of the engine host, as /sys/block shows it: (/dev/name, major:minor)."""
    names = [n for n in probe.one("readdir", "/sys/block")["names"] if not n.startswith(("loop", "ram", "zram"))]
    if not names:
        not_applicable("the engine host shows no disk in /sys/block to throttle")
    return f"/dev/{names[0]}", probe.one("read", f"/sys/block/{names[0]}/dev")["data"].strip()


@pytest.mark.requires("resource_limits")
def test_block_io_throttles_are_written_to_the_cgroup(probe: Prober, observe: Observe, cgroup_version: str) -> None:
    """--device-read-bps and --device-write-iops set the blkio throttles of that device
    (cgroup v1 blkio.throttle.*, cgroup v2 io.max).

    Source: Docker run reference "--device-read-bps", "--device-write-iops"; cgroup v1
    blkio-controller.rst; cgroup-v2.rst "io.max".
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    device, numbers = engine_block_device(probe)
    options = {
        "device_read_bps": [{"Path": device, "Rate": 1048576}],
        "device_write_iops": [{"Path": device, "Rate": 100}],
    }
    if cgroup_version == "2":
        assert (
            observe(("read", "/sys/fs/cgroup/io.max"), **options)[0]["data"]
            == f"{numbers} rbps=1048576 wbps=max riops=max wiops=100\n"
        )
    else:
        read_bps, write_iops = observe(
            ("read", "/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device"),
            ("read", "/sys/fs/cgroup/blkio/blkio.throttle.write_iops_device"),
            **options,
        )
        assert (read_bps["data"], write_iops["data"]) == (f"{numbers} 1048576\n", f"{numbers} 100\n")
