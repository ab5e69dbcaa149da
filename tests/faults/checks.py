"""A tiny suite for the fault tests' inner runs (not collected by the outer run: the
file name does not start with test_). Each check holds a container, a volume and a
network for a moment, so a signal or a dying engine finds the run with all three kinds
of resources on the engine."""

from __future__ import annotations

import pytest
from docker.types import Mount

from parity.run.resources import ResourceScope

CHECKS = 6


@pytest.mark.parametrize("n", range(CHECKS))
def test_holds_resources(resources: ResourceScope, n: int) -> None:
    """A container on a user-defined network writes to a named volume and reads it back.

    Source: Docker docs, "Volumes" (data written to a named volume persists in it).
    Level: SHOULD, https://docs.docker.com/engine/storage/volumes/
    """
    network = resources.network()
    volume = resources.volume()
    done = resources.run(
        ["/bin/sh", "-c", f"echo {n} > /data/n && sleep 1 && cat /data/n"],
        network=network.name,
        mounts=[Mount("/data", volume.name, type="volume")],
    )
    assert (done.status, done.stdout) == (0, f"{n}\n".encode())
