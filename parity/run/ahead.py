"""Scenarios started ahead: waiting overlaps with other work instead of holding a worker.

A check that mostly waits (a stop timeout, a restart back-off, a health timer, a log
flood at the engine's own throughput) splits into a scenario, which does the container
work and records what it observed, and the check, which judges that record. One process
of the run (the only one, or xdist's first worker) starts every selected scenario in a
background thread as soon as collection ends; the checks run last, on any worker, and
read the records from the run's folder (parity/run/folder.py). A record is JSON: a worker may be another
process.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import traceback
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

Record = dict[str, Any]  # what a scenario observed, JSON-serialisable
POLL_SECONDS = 0.05
# The process that runs the scenarios names itself in this file of the run's folder, so
# that a check stops waiting for a record once that process is gone (a crashed worker).
STARTER_FILE = "starter.json"
LIVENESS_SECONDS = 1.0  # how often a waiting check asks whether that process still lives


class ScenarioFailed(Exception):
    """The scenario raised, or never recorded within its bound; the message says which,
    with the scenario's traceback when there is one."""


def record_name(scenario: str, target: str) -> str:
    """The file name of a scenario's record on a target."""
    return re.sub(r"[^A-Za-z0-9_.@-]", "_", f"{scenario}@{target}") + ".json"


def scenario_name(scenario: Callable[..., Any]) -> str:
    return f"{scenario.__module__}.{scenario.__qualname__}"


def write_record(folder: Path, name: str, outcome: Record) -> None:
    """Write atomically: a reader sees no file or a whole one."""
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{name}.{os.getpid()}.{threading.get_ident()}"
    partial.write_text(json.dumps(outcome), encoding="utf-8")
    partial.replace(folder / name)


def starter_of(folder: Path) -> str | None:
    """The owner (``host:pid:start``) of the process running the run's scenarios, once it
    has named itself."""
    try:
        return str(json.loads((folder / STARTER_FILE).read_text(encoding="utf-8"))["owner"])
    except (OSError, ValueError, KeyError):
        return None


def read_record(folder: Path, name: str, timeout: float, starter_gone: Callable[[str], bool] | None = None) -> Record:
    """The record a scenario left, waiting for it up to ``timeout`` seconds, and no longer
    than the process running the scenarios lives (``starter_gone(owner)`` says it ended)."""
    path = folder / name
    now = time.monotonic()
    deadline, next_look = now + timeout, now + LIVENESS_SECONDS
    while not path.exists():
        now = time.monotonic()
        if now >= deadline:
            raise ScenarioFailed(f"scenario {name[:-5]} recorded nothing within {timeout:.0f} s")
        if starter_gone is not None and now >= next_look:
            next_look = now + LIVENESS_SECONDS
            owner = starter_of(folder)
            if owner is not None and starter_gone(owner) and not path.exists():
                raise ScenarioFailed(
                    f"scenario {name[:-5]} recorded nothing: the process running the run's scenarios"
                    f" ({owner}) has ended"
                )
        time.sleep(POLL_SECONDS)
    outcome: Record = json.loads(path.read_text(encoding="utf-8"))
    if "error" in outcome:
        raise ScenarioFailed(f"scenario {name[:-5]} failed after {outcome['seconds']:.1f} s:\n{outcome['error']}")
    return dict(outcome["observed"])


class Starter:
    """Runs scenarios in daemon threads (a Ctrl-C is not held up by a timer; the run's
    sweep removes what an interrupted scenario left) and records each outcome. At most
    ``at_once`` run together: on an emulated engine a scenario's containers cost CPU, and
    a scenario's own time bounds must not pay for a crowd of others."""

    def __init__(self, folder: Path, at_once: int = 2, owner: str = "") -> None:
        self.folder = folder
        self._threads: list[tuple[threading.Thread, str]] = []  # and the scenario's target
        self._slots = threading.Semaphore(at_once)
        if owner:  # this process's host:pid:start, for the checks waiting on its records
            write_record(folder, STARTER_FILE, {"owner": owner})

    def start(self, name: str, scenario: Callable[[], Record], target: str = "") -> None:
        def run() -> None:
            with self._slots:
                began = time.monotonic()
                try:
                    outcome: Record = {"observed": scenario()}
                except BaseException:  # recorded for the check, which reports it as an error
                    outcome = {"error": traceback.format_exc(limit=-8)}
                outcome["seconds"] = time.monotonic() - began
            write_record(self.folder, name, outcome)

        thread = threading.Thread(target=run, name=f"parity-ahead-{name}", daemon=True)
        self._threads.append((thread, target))
        thread.start()

    def join(self, timeout: float, lost: Collection[str] = ()) -> list[str]:
        """Wait for every scenario, ``timeout`` seconds in all, but not for those on a
        ``lost`` target (each of their calls would wait out the engine's timeout); the
        names still running."""
        deadline = time.monotonic() + timeout
        for thread, target in self._threads:
            if target not in lost:
                thread.join(max(0.0, deadline - time.monotonic()))
        return [thread.name for thread, _ in self._threads if thread.is_alive()]
