"""A run stopped mid-way by a signal leaves nothing behind on its engine, or, killed
outright, leaves debris that the next run reaps and reports.

Each test starts an engine of its own (tests/sensitivity/engines.py) and a whole inner
run of tests/faults/checks.py against it, and strikes once a container of the run has started.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.faults.inner import EMPTY, InnerRun, labelled, needs_engines, wait_for_a_container, write_matrix
from tests.sensitivity.engines import SecondEngine

pytestmark = needs_engines

WORKERS = [pytest.param((), id="serial"), pytest.param(("-n", "2"), id="n2")]


@pytest.mark.parametrize("workers", WORKERS)
@pytest.mark.parametrize(
    ("signum", "to_group"),
    # Ctrl-C in a terminal signals the whole foreground process group (xdist workers
    # too); a supervisor's SIGTERM goes to the process it started.
    [pytest.param(signal.SIGINT, True, id="SIGINT-group"), pytest.param(signal.SIGTERM, False, id="SIGTERM")],
)
def test_interrupted_run_removes_everything(
    tmp_path: Path, workers: tuple[str, ...], signum: signal.Signals, to_group: bool
) -> None:
    """After SIGINT or SIGTERM mid-run, nothing labelled parity.run remains on the engine
    and the run ends as interrupted (exit status 2)."""
    with SecondEngine([]) as engine:
        with InnerRun.start(tmp_path, write_matrix(tmp_path / "matrix.yaml", {"local": engine.url}), *workers) as run:
            wait_for_a_container(engine.url, run)
            if to_group:
                os.killpg(run.process.pid, signum)
            else:
                run.process.send_signal(signum)
            status = run.wait(120)
        left = labelled(engine.url)
    assert (status, left) == (pytest.ExitCode.INTERRUPTED, EMPTY), run.text()[-3000:]


@pytest.mark.parametrize("workers", WORKERS)
def test_killed_run_is_reaped_by_the_next_and_said_so(tmp_path: Path, workers: tuple[str, ...]) -> None:
    """After SIGKILL mid-run the run's resources stay; the next run removes them before
    it starts and its header says how many of each kind."""
    with SecondEngine([]) as engine:
        matrix = write_matrix(tmp_path / "matrix.yaml", {"local": engine.url})
        with InnerRun.start(tmp_path, matrix, *workers) as killed:
            wait_for_a_container(engine.url, killed)
            os.killpg(killed.process.pid, signal.SIGKILL)
            killed.wait(60)
        debris = labelled(engine.url)
        with InnerRun.start(tmp_path, matrix, "-k", "holds_resources and 0") as following:
            status = following.wait(120)
        left = labelled(engine.url)
    assert all(debris.values()), debris
    counts = ", ".join(f"{len(debris[kind])} {kind}" for kind in ("containers", "networks", "volumes"))
    assert "    reaped from runs that were killed: " + counts in following.lines(), following.text()
    assert (status, left) == (pytest.ExitCode.OK, EMPTY), following.text()[-3000:]
