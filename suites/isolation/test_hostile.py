"""Hostile workloads stay contained: the engine and the run outlive them.

The memory hog, the pids limit against a fork bomb and the process that ignores SIGTERM
are pinned in test_resources.py and lifecycle/test_lifecycle.py; the check here adds a
workload that attacks the engine host's log disk, and checks that the engine still
serves the shared container afterwards.
"""

from __future__ import annotations

from parity.run.resources import ResourceScope
from parity.workload.probe import Prober

MiB = 1024 * 1024
GiB = 1024 * MiB


def test_a_gigabyte_of_logs_is_bounded_by_rotation(resources: ResourceScope, probe: Prober) -> None:
    """A container writing 1 GiB to stdout under the json-file driver with max-size 10m
    and max-file 2 keeps at most 20 MiB of log: docker logs returns the newest lines,
    ending with the last one written, and no more than 20 MiB.

    Source: Docker docs "JSON File logging driver" (max-size: "maximum size of the log
    before it is rolled"; max-file: "maximum number of log files that can be present").
    """
    line = "x" * 16383  # 16 KiB lines: dockerd's largest log message, fewest messages
    done = resources.run(
        ["/bin/sh", "-c", f"yes {line} | head -c {GiB}; echo parity-end"],
        log_config={"Type": "json-file", "Config": {"max-size": "10m", "max-file": "2"}},
        timeout=600,
    )
    assert (done.status, done.stdout[-11:], done.stderr) == (0, b"parity-end\n", b"")
    # the newest file is full or nearly so; the rotated one is full: 10 to 20 MiB kept
    assert 9 * MiB < len(done.stdout) <= 20 * MiB, len(done.stdout)
    assert probe.one("uname").ok
