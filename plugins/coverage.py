"""What the run covered: reports/coverage.{json,md,html} (parity/certification/coverage.py).

Every process records its guarded clients' requests from its configure to its unconfigure
(parity/engine/guard.py). An xdist worker reduces its recording to counters when its
session ends and sends them with its ``workeroutput``; the controller adds them to its
own (first contact, the end-of-run sweep) and writes the tables next to the per-target
JUnit files. A run in which no check ran on a target writes nothing, as the reports
plugin writes no JUnit file for it.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from parity.certification.coverage import (
    ENGINE_API,
    Area,
    Usage,
    measured_areas,
    read_engine_api,
    summary,
    usage_of,
    write_coverage,
)
from parity.engine.guard import RequestRecording, start_recording, stop_recording
from plugins.state import is_worker

WORKEROUTPUT_KEY = "parity_coverage"
RUN = pytest.StashKey["CoverageRun"]()


class CoverageRun:
    """This process's recording; on the controller also the workers' usage, and whether a
    check ran on a target."""

    def __init__(self) -> None:
        self.recording = RequestRecording()
        self.workers = Usage()
        self.checked = False  # a check ran on a target: there is something to report
        self.written: list[Path] = []
        self.areas: list[Area] = []

    def usage(self) -> Usage:
        return usage_of(self.recording, read_engine_api(ENGINE_API.read_text(encoding="utf-8")))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A check's reports carry its target's name (plugins/reports.py); others do not."""
        if getattr(report, "parity_target", None) is not None:
            self.checked = True


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """First, so that the first contact with the targets is recorded too."""
    run = config.stash[RUN] = CoverageRun()
    config.pluginmanager.register(run, "parity-coverage")
    start_recording(run.recording)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is not None:
        stop_recording(run.recording)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist, controller: add a finished worker's usage (a crashed worker sends none)."""
    sent = getattr(node, "workeroutput", {}).get(WORKEROUTPUT_KEY)
    run = node.config.stash.get(RUN, None)
    if sent and run is not None:
        run.workers = run.workers + Usage.from_json(json.loads(sent))


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    """Around the reports' and the sweep's own wrappers (trylast), so that the end-of-run
    sweep is counted too; inside xdist's worker wrapper and the terminal reporter's (both
    registered after the conftest's plugins), so that a worker's usage leaves with its
    workeroutput and the controller's tables exist before the summary. In a finally, as
    the reports plugin writes its files."""
    try:
        return (yield)
    finally:
        config = session.config
        run = config.stash.get(RUN, None)
        if run is not None and is_worker(config):
            config.workeroutput[WORKEROUTPUT_KEY] = json.dumps(run.usage().as_json())  # type: ignore[attr-defined]
        elif run is not None and run.checked:
            option = config.getoption("--reports")
            folder = Path(option) if option else config.rootpath / "reports"
            run.areas = measured_areas(run.usage() + run.workers)
            run.written = write_coverage(folder, run.areas)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is None or not run.written:
        return
    covered = "; ".join(f"{area.title} {summary(area)}" for area in run.areas)
    terminalreporter.write_line(f"parity: coverage {run.written[1]}: {covered}")
