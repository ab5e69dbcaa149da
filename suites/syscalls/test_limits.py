"""Resource limits as set by --ulimit."""

from __future__ import annotations

import pytest
from docker.types import Ulimit

from plugins.workload import Observe


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
