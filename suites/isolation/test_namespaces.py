"""Namespaces: what a container shares with its siblings and with the engine host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from docker.models.containers import Container

from parity.run.resources import ResourceScope
from parity.run.target import Target
from parity.workload.image import PROBE_PATH
from parity.workload.probe import Prober
from plugins.workload import Observe, serving_container

NAMESPACES = ["pid", "mnt", "uts", "ipc", "net"]


def namespace_ids(prober: Prober, names: list[str]) -> dict[str, str]:
    links = prober(*(("readlink", f"/proc/self/ns/{name}") for name in names))
    return {name: link["target"] for name, link in zip(names, links, strict=True)}


@pytest.fixture(scope="module")
def sibling(target: Target, request: pytest.FixtureRequest) -> Iterator[Prober]:
    """A second default container beside the shared one: one container (and one exec) for
    every check here that compares two default containers. Checks read it and write
    only their own files under /dev/shm. On the engine's default network, not in this
    area's network mode none: its net namespace is compared with the shared container's,
    and two containers on the default network must not share one."""
    with serving_container(target, request.config) as prober:
        yield prober


def test_pid_1_is_the_containers_own_process(probe: Prober) -> None:
    """In its own PID namespace, a container's PID 1 is its main process (the workload's
    idle command), not the host's init.

    Source: pid_namespaces(7); Docker run reference "PID settings (--pid)".
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    cmdline = probe.one("read", "/proc/1/cmdline")["data"]
    assert cmdline == f"{PROBE_PATH}\x00idle\x00"


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_sibling_containers_have_separate_namespaces(probe: Prober, sibling: Prober, namespace: str) -> None:
    """Two containers with default settings are in different namespaces of this type.

    Source: namespaces(7); Docker overview, "The underlying technology" (pid, net, ipc,
    mnt, uts namespaces per container).
    Level: SHOULD, https://docs.docker.com/get-started/docker-overview/
    """
    assert namespace_ids(probe, [namespace]) != namespace_ids(sibling, [namespace])


@pytest.mark.requires("cgroupns_modes")
def test_cgroup_namespace_follows_the_engine_default(probe: Prober, sibling: Prober, cgroup_version: str) -> None:
    """The default cgroup namespace mode is private on cgroup v2 and host on cgroup v1:
    two default containers share it exactly when containers are given cgroup v1 (as their
    /sys/fs/cgroup shows; test_resources.py::test_consistency_cgroup_version_is_the_engines
    ties that to the engine's CgroupVersion).

    Source: dockerd reference "--default-cgroupns-mode" ("private" on cgroup v2 hosts,
    "host" on cgroup v1); cgroup_namespaces(7); cgroups(7).
    Level: SHOULD, https://docs.docker.com/reference/cli/dockerd/
    """
    shared = namespace_ids(probe, ["cgroup"]) == namespace_ids(sibling, ["cgroup"])
    assert shared == (cgroup_version == "1")


@pytest.mark.requires("cgroupns_modes")
def test_private_cgroup_namespace_shows_root_cgroup(observe: Observe) -> None:
    """With --cgroupns private, /proc/self/cgroup shows the container's cgroup as "/".

    Source: cgroup_namespaces(7) ("the cgroup namespace root ... appears as /"); Docker
    run reference "--cgroupns".
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    lines = observe(("read", "/proc/self/cgroup"), cgroupns="private")[0]["data"].splitlines()
    assert {line.rsplit(":", 1)[1] for line in lines} == {"/"}


def test_consistency_user_namespace_mapping_matches_engine_userns_remap(probe: Prober, target: Target) -> None:
    """Consistency: where the engine reports no userns-remap, uid_map is the identity over
    the whole range; where it reports userns-remap, root maps to a subordinate range of
    65536 ids. Remapping is the engine's configuration, which only the engine reports.

    Source: user_namespaces(7) (/proc/pid/uid_map); dockerd reference "--userns-remap";
    GET /info SecurityOptions "name=userns".
    Level: SHOULD, https://docs.docker.com/reference/cli/dockerd/
    """
    rows = [line.split() for line in probe.one("read", "/proc/self/uid_map")["data"].splitlines()]
    if target.facts.userns_remapped:
        assert len(rows) == 1
        assert (rows[0][0], rows[0][1] != "0", rows[0][2]) == ("0", True, "65536")
    else:
        assert rows == [["0", "0", "4294967295"]]


def test_shm_of_one_container_is_not_seen_by_another(sibling: Prober, probe: Prober) -> None:
    """A file in one container's /dev/shm is not in a sibling's /dev/shm (separate IPC
    namespaces, private shm mounts). The two are the module's sibling and the shared
    container, both default; no check writes to the shared container's /dev/shm.

    Source: ipc_namespaces(7); Docker run reference "IPC settings (--ipc)" (default
    "private" for API >= 1.32, "shareable" before).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    first, second = sibling, probe
    written, own = first(
        ("write", "/dev/shm/parity-private", "O_WRONLY|O_CREAT", "0600", "00"), ("readdir", "/dev/shm")
    )
    assert (written.ok, own["names"]) == (True, ["parity-private"])
    assert second.one("readdir", "/dev/shm")["names"] == []


@pytest.mark.requires("ipc_modes")
def test_ipc_container_mode_shares_the_ipc_namespace(resources: ResourceScope) -> None:
    """--ipc container:X (X created with --ipc shareable) shares X's IPC namespace and /dev/shm.

    Source: Docker run reference "IPC settings (--ipc)".
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    owner = Prober(resources.container(ipc_mode="shareable"))
    written, owners = owner(
        ("write", "/dev/shm/shared", "O_WRONLY|O_CREAT", "0600", b"hello".hex()), ("readlink", "/proc/self/ns/ipc")
    )
    joined = Prober(resources.container(ipc_mode=f"container:{owner.container.id}"))
    joiners, shared = joined(("readlink", "/proc/self/ns/ipc"), ("read", "/dev/shm/shared"))
    assert (written.ok, joiners["target"], shared["data"]) == (True, owners["target"], "hello")


def test_pid_container_mode_sees_the_other_containers_processes(workload: Container, resources: ResourceScope) -> None:
    """--pid container:X joins X's PID namespace: PID 1 is X's main process.

    Source: Docker run reference "PID settings (--pid)" ("container:<name|id>").
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    joined = Prober(resources.container(pid_mode=f"container:{workload.id}"))
    assert joined.one("read", "/proc/1/cmdline")["data"] == f"{PROBE_PATH}\x00idle\x00"


@pytest.mark.requires("pid_host")
def test_pid_host_mode_sees_containers_as_host_processes(workload: Container, resources: ResourceScope) -> None:
    """--pid host shares the engine host's PID namespace: another container's main
    process is visible under its host pid (State.Pid).

    Source: Docker run reference "--pid=host"; Engine API ContainerInspect State.Pid.
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    workload.reload()
    host_pid = workload.attrs["State"]["Pid"]
    joined = Prober(resources.container(pid_mode="host"))
    assert joined.one("read", f"/proc/{host_pid}/cmdline")["data"] == f"{PROBE_PATH}\x00idle\x00"
