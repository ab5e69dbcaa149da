"""Resource limits as set by --ulimit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from docker.types import Ulimit

from parity.run.target import Target
from parity.run.together import Together
from parity.workload.probe import Prober
from plugins.workload import Observe, together
from suites.linux import KERNEL_DEFAULT_RLIMITS

ULIMITS = [
    ("nofile", 1024, 2048),
    ("nproc", 64, 128),
    ("core", 0, 0),
    ("stack", 8388608, 16777216),
    ("memlock", 65536, 65536),
]


@pytest.fixture(scope="module")
def ulimited(target: Target, own_network_mode: str | None, request: pytest.FixtureRequest) -> Iterator[Together]:
    """Every --ulimit of ULIMITS on one container, where the engine takes them together;
    else each on its own."""
    requests = {
        name: ([("rlimits",)], {"ulimits": [Ulimit(name=name, soft=soft, hard=hard)]}) for name, soft, hard in ULIMITS
    }
    with together(target, request.config, requests, own_network_mode) as shared:
        yield shared


@pytest.mark.requires("resource_limits")
@pytest.mark.parametrize(("name", "soft", "hard"), ULIMITS)
def test_ulimit_sets_soft_and_hard_exactly(
    ulimited: Together, observe: Observe, name: str, soft: int, hard: int
) -> None:
    """--ulimit NAME=SOFT:HARD gives the container's process exactly those limits.

    Source: Docker run reference, "--ulimit"; getrlimit(2).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    limits = ulimited.observe(name, observe)[0]["limits"]
    assert limits[name] == {"soft": soft, "hard": hard}


def test_default_limits_are_the_kernel_defaults_in_main_and_exec_processes(probe: Prober, observe: Observe) -> None:
    """Without --ulimit (and without dockerd --default-ulimit), Docker sets no resource
    limit: the main process of a new container and a process exec'd into another one
    both have the kernel's boot-time limits for cpu, fsize, data, stack (8 MiB soft,
    unlimited hard), rss, as, locks, msgqueue (819200), nice (0), rtprio (0) and rttime.
    nofile, nproc, core, memlock and sigpending are left out: correct Linux hosts set them
    differently (suites/linux.py KERNEL_DEFAULT_RLIMITS says why, with sources).

    Source: dockerd reference "Default ulimit settings" (without --default-ulimit, limits
    are inherited from the daemon); moby daemon/oci_linux.go WithRlimits;
    include/asm-generic/resource.h INIT_RLIMITS; getrlimit(2).
    Level: SHOULD, https://docs.docker.com/reference/cli/dockerd/
    """
    main = observe(("rlimits",))[0]["limits"]
    executed = probe.one("rlimits", through_exec=True)["limits"]
    assert {name: main[name] for name in KERNEL_DEFAULT_RLIMITS} == KERNEL_DEFAULT_RLIMITS
    assert {name: executed[name] for name in KERNEL_DEFAULT_RLIMITS} == KERNEL_DEFAULT_RLIMITS
