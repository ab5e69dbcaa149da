"""Hostile workloads stay contained: the engine and the run outlive them.

The memory hog, the pids limit against a fork bomb and the process that ignores SIGTERM
are pinned in test_resources.py and lifecycle/test_lifecycle.py; the check here adds a
workload that attacks the engine host's log disk, and checks that the engine still
serves the shared container afterwards.
"""

from __future__ import annotations

import time

from parity.run.resources import Completed, ResourceScope
from parity.workload.probe import Prober

MiB = 1024 * 1024
GiB = 1024 * MiB


LOG_CONFIG = {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "2"}}
LINE = "x" * 16383  # 16 KiB lines: dockerd's largest log message, fewest messages
FLOOD_SECONDS = 120  # how long the flood may take at the engine's own log throughput


def _write_logs(resources: ResourceScope, size: int, timeout: float) -> tuple[Completed, float]:
    began = time.monotonic()
    done = resources.run(
        ["/bin/sh", "-c", f"yes {LINE} | head -c {size}; echo parity-end"], log_config=LOG_CONFIG, timeout=timeout
    )
    return done, time.monotonic() - began


def test_a_gigabyte_of_logs_is_bounded_by_rotation(resources: ResourceScope, probe: Prober) -> None:
    """A container flooding stdout under the json-file driver with max-size 10m and
    max-file 2 keeps at most 20 MiB of log: docker logs returns the newest lines, ending
    with the last one written, and no more than 20 MiB.

    The flood is 1 GiB where the engine logs fast enough to write it in two minutes
    (native engines), and what the engine's measured log throughput writes in two minutes,
    at least 128 MiB (six times the limit), where it is slower (a VM under emulation:
    about 2 MB/s): the same rotation under a flood far beyond its limits, at a bounded cost.

    Source: Docker docs "JSON File logging driver" (max-size: "maximum size of the log
    before it is rolled"; max-file: "maximum number of log files that can be present").
    Level: SHOULD, https://docs.docker.com/engine/logging/drivers/json-file/
    """
    sample, seconds = _write_logs(resources, 16 * MiB, timeout=600)
    assert (sample.status, sample.stdout[-11:]) == (0, b"parity-end\n")
    throughput = 16 * MiB / max(seconds, 0.001)  # bytes per second, container start included
    size = min(GiB, max(128 * MiB, int(throughput * FLOOD_SECONDS) // MiB * MiB))
    flood = f"{size // MiB} MiB at a measured {throughput / MiB:.1f} MiB/s"
    print(f"log flood: {flood}")  # in the report's output when the check fails
    done, _ = _write_logs(resources, size, timeout=max(600, 4 * size / throughput))
    assert (done.status, done.stdout[-11:], done.stderr) == (0, b"parity-end\n", b""), flood
    # the newest file is full or nearly so; the rotated one is full: 10 to 20 MiB kept
    assert 9 * MiB < len(done.stdout) <= 20 * MiB, (len(done.stdout), flood)
    assert probe.one("uname").ok
