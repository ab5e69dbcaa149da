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
