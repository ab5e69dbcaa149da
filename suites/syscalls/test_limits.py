"""Resource limits as set by --ulimit."""

from __future__ import annotations

import pytest
from docker.types import Ulimit

from parity.workload.probe import Prober
from plugins.workload import Observe


@pytest.mark.requires("resource_limits")
@pytest.mark.parametrize(
    ("name", "soft", "hard"),
    [
        ("nofile", 1024, 2048),
        ("nproc", 64, 128),
        ("core", 0, 0),
        ("stack", 8388608, 16777216),
        ("memlock", 65536, 65536),
    ],
)
def test_ulimit_sets_soft_and_hard_exactly(observe: Observe, name: str, soft: int, hard: int) -> None:
    """--ulimit NAME=SOFT:HARD gives the container's process exactly those limits.

    Source: Docker run reference, "--ulimit"; getrlimit(2).
    """
    limits = observe(("rlimits",), ulimits=[Ulimit(name=name, soft=soft, hard=hard)])[0]["limits"]
    assert limits[name] == {"soft": soft, "hard": hard}


def test_default_limits_are_the_same_for_main_and_exec_processes(probe: Prober, observe: Observe) -> None:
    """Without --ulimit, every process of every container of an engine gets the same
    resource limits: the main process of a new container and a process exec'd into
    another one agree on all of them.

    Source: Docker run reference "--ulimit" (defaults from dockerd --default-ulimit, else
    the daemon's own); runc applies the container's rlimits to exec'd processes too.
    """
    assert observe(("rlimits",))[0]["limits"] == probe.one("rlimits", through_exec=True)["limits"]
