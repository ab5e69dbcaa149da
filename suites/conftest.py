"""Fixtures checks of several areas share: the cgroup version containers of a target are
given, as a container sees it."""

from __future__ import annotations

import pytest

from parity.workload.probe import Prober
from suites.linux import CGROUP_VERSION_BY_MAGIC


@pytest.fixture(scope="session")  # a target's containers all have the same
def cgroup_version(probe: Prober) -> str:
    """The cgroup version a container has: "2" where its /sys/fs/cgroup is the unified
    hierarchy, "1" where it is a tmpfs of per-controller hierarchies. Checks read the control files of that version and
    expect what Docker documents for it; test_resources.py::
    test_consistency_cgroup_version_is_the_engines (suites/isolation) ties it to what the
    engine reports."""
    magic = probe.one("statfs", "/sys/fs/cgroup")["type"]
    assert magic in CGROUP_VERSION_BY_MAGIC, f"/sys/fs/cgroup is neither cgroup2 nor tmpfs (f_type {magic:#x})"
    return CGROUP_VERSION_BY_MAGIC[magic]


@pytest.fixture(scope="session")
def own_network_mode() -> str | None:
    """A check's own containers run with network mode "none" (only a loopback) unless the
    check names a network or publishes a port: the syscall, isolation, lifecycle and
    volume checks observe nothing of the network, and a default-bridge endpoint costs the
    engine a veth pair, an address and its iptables rules at each start and removal
    (about 70 ms a container on the CI machine: 30 ms more to start, 40 ms more to
    remove). The shared workload container keeps the engine's default network, and the
    networking and platform checks override this (their conftest.py). Source: Docker
    docs "None network driver" (a container of network mode none has only a loopback
    device); moby's Windows daemon creates the "none" network too (daemon_windows.go
    initNetworkController, the "null" driver)."""
    return "none"
