"""Hostile workloads stay contained: the engine and the run outlive them.

The memory hog, the pids limit against a fork bomb and the process that ignores SIGTERM
are pinned in test_resources.py and lifecycle/test_lifecycle.py; the check here adds a
workload that attacks the engine host's log disk, and checks that the engine still
serves the shared container afterwards.
"""

from __future__ import annotations

import time

import pytest

from parity.run.ahead import Record
from parity.run.resources import Completed, ResourceScope
from parity.workload.probe import Prober

MiB = 1024 * 1024
GiB = 1024 * MiB


LOG_CONFIG = {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "2"}}
LINE = "x" * 16383  # 16 KiB lines: dockerd's largest log message, fewest messages
FLOOD_SECONDS = 30  # how long the flood may take at the engine's own log throughput


def _write_logs(scope: ResourceScope, size: int, timeout: float) -> tuple[Completed, float]:
    began = time.monotonic()
    done = scope.run(
        ["/bin/sh", "-c", f"yes {LINE} | head -c {size}; echo parity-end"], log_config=LOG_CONFIG, timeout=timeout
    )
    return done, time.monotonic() - began


def flooded_logs(scope: ResourceScope) -> Record:
    """A 16 MiB sample measures the engine's log throughput; the flood it sizes follows.
    What docker logs returned of each: exit status, size, and the last bytes."""
    sample, seconds = _write_logs(scope, 16 * MiB, timeout=600)
    throughput = 16 * MiB / max(seconds, 0.001)  # bytes per second, container start included
    size = min(GiB, max(64 * MiB, int(throughput * FLOOD_SECONDS) // MiB * MiB))
    done, _ = _write_logs(scope, size, timeout=max(600, 4 * size / throughput))
    return {
        "sample": {"status": sample.status, "tail": sample.stdout[-11:].decode("latin-1")},
        "throughput": throughput,
        "size": size,
        "status": done.status,
        "tail": done.stdout[-11:].decode("latin-1"),
        "stderr": done.stderr[:2000].decode("latin-1"),
        "kept": len(done.stdout),
    }


@pytest.mark.ahead(flooded_logs, timeout=1800)
def test_a_log_flood_is_bounded_by_rotation(ahead: Record, probe: Prober) -> None:
    """A container flooding stdout under the json-file driver with max-size 1m and
    max-file 2 keeps at most 2 MiB of log: docker logs returns the newest lines, ending
    with the last one written, and no more than 2 MiB; the engine serves the shared
    container afterwards.

    The flood is 1 GiB where the engine logs it within 30 s (native engines: 20 s here),
    and what the engine's measured log throughput writes in 30 s, at least 64 MiB (32
    times the limit), where it is slower (a VM under emulation: about 2 MB/s): the same
    rotation under a flood far beyond its limits, at a bounded cost. Mostly the engine's
    own work: its scenario runs ahead, in the background.

    Source: Docker docs "JSON File logging driver" (max-size: "maximum size of the log
    before it is rolled"; max-file: "maximum number of log files that can be present").
    Level: SHOULD, https://docs.docker.com/engine/logging/drivers/json-file/
    """
    assert (ahead["sample"]["status"], ahead["sample"]["tail"]) == (0, "parity-end\n")
    flood = f"{ahead['size'] // MiB} MiB at a measured {ahead['throughput'] / MiB:.1f} MiB/s"
    print(f"log flood: {flood}")  # in the report's output when the check fails
    assert (ahead["status"], ahead["tail"], ahead["stderr"]) == (0, "parity-end\n", ""), flood
    # the rotated file is full (1 MB of JSON: less of the lines it holds), the newest
    # anything up to full: one to two files' worth of lines kept
    assert 0.9 * MiB < ahead["kept"] <= 2 * MiB, (ahead["kept"], flood)
    assert probe.one("uname").ok
