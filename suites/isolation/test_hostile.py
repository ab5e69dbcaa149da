"""Hostile workloads stay contained: the engine and the run outlive them.

The memory hog, the pids limit against a fork bomb and the process that ignores SIGTERM
are pinned in test_resources.py and lifecycle/test_lifecycle.py; the check here adds a
workload that attacks the engine host's log disk, and checks that the engine still
serves the shared container afterwards.
"""

from __future__ import annotations

import re
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


BLOCK = "/tmp/parity-block"
TIMING = re.compile(r"parity-uptime (\d+\.\d+) (\d+\.\d+)\n\Z")


def _write_logs(scope: ResourceScope, size: int, timeout: float) -> tuple[Completed, str, float]:
    """``size`` bytes of LINE lines on stdout, then ``parity-end``: a 1 MiB block (64 whole
    lines) written once, then copied ``size / 1 MiB`` times by one cat. The same bytes as
    ``yes | head -c size``, at about a third of its CPU (a native engine here: 7 instead
    of 24 CPU seconds for 1 GiB): the pipeline wrote in small pieces, so every process on
    the way to the log file worked per piece.

    Returns the run, its stderr without the timing line, and the seconds the writing took
    by the container's own clock (/proc/uptime): the writer blocks while the engine has
    not read, so this is the engine's log throughput without the container's start."""
    assert size % MiB == 0, size
    blocks = " ".join([BLOCK] * (size // MiB))
    write = f"yes {LINE} | head -c {MiB} > {BLOCK} && cat {blocks}; echo parity-end"
    timed = f'read a _ < /proc/uptime; {write}; read b _ < /proc/uptime; echo "parity-uptime $a $b" >&2'
    began = time.monotonic()
    done = scope.run(["/bin/sh", "-c", timed], log_config=LOG_CONFIG, timeout=timeout)
    seconds = time.monotonic() - began  # the client's wall time, when the container reported none
    stderr = done.stderr.decode("latin-1")
    if found := TIMING.search(stderr):
        seconds = float(found.group(2)) - float(found.group(1))
        stderr = stderr[: found.start()]
    return done, stderr, seconds


def flooded_logs(scope: ResourceScope) -> Record:
    """A 16 MiB sample measures the engine's log throughput; the flood it sizes follows.
    What docker logs returned of each: exit status, size, and the last bytes."""
    sample, sample_stderr, seconds = _write_logs(scope, 16 * MiB, timeout=600)
    throughput = 16 * MiB / max(seconds, 0.01)  # bytes per second; /proc/uptime counts hundredths
    size = min(GiB, max(64 * MiB, int(throughput * FLOOD_SECONDS) // MiB * MiB))
    done, stderr, flood_seconds = _write_logs(scope, size, timeout=max(600, 4 * size / throughput))
    return {
        "sample": {"status": sample.status, "tail": sample.stdout[-11:].decode("latin-1"), "stderr": sample_stderr},
        "throughput": throughput,
        "size": size,
        "seconds": flood_seconds,
        "status": done.status,
        "tail": done.stdout[-11:].decode("latin-1"),
        "stderr": stderr[:2000],
        "kept": len(done.stdout),
    }


@pytest.mark.ahead(flooded_logs, timeout=1800)
def test_a_log_flood_is_bounded_by_rotation(ahead: Record, probe: Prober) -> None:
    """A container flooding stdout under the json-file driver with max-size 1m and
    max-file 2 keeps at most 2 MiB of log: docker logs returns the newest lines, ending
    with the last one written, and no more than 2 MiB; the engine serves the shared
    container afterwards.

    The flood is 1 GiB where the engine logs it within 30 s (native engines: about 5 s
    here), and what the engine's measured log throughput writes in 30 s, at least 64 MiB
    (32 times the limit), where it is slower (a VM under emulation): the same
    rotation under a flood far beyond its limits, at a bounded cost. Mostly the engine's
    own work: its scenario runs ahead, in the background.

    Source: Docker docs "JSON File logging driver" (max-size: "maximum size of the log
    before it is rolled"; max-file: "maximum number of log files that can be present").
    Level: SHOULD, https://docs.docker.com/engine/logging/drivers/json-file/
    """
    sample = ahead["sample"]
    assert (sample["status"], sample["tail"], sample["stderr"]) == (0, "parity-end\n", "")
    flood = (
        f"{ahead['size'] // MiB} MiB in {ahead['seconds']:.1f} s, "
        f"sized from a measured {ahead['throughput'] / MiB:.1f} MiB/s"
    )
    print(f"log flood: {flood}")  # in the report's output when the check fails
    assert (ahead["status"], ahead["tail"], ahead["stderr"]) == (0, "parity-end\n", ""), flood
    # the rotated file is full (1 MB of JSON: less of the lines it holds), the newest
    # anything up to full: one to two files' worth of lines kept
    assert 0.9 * MiB < ahead["kept"] <= 2 * MiB, (ahead["kept"], flood)
    assert probe.one("uname").ok
