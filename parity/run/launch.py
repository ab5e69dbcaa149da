"""Engines a run brings up itself and takes down again (matrix key ``launch``), e.g. the
mobyvm target's VM.

Launchers run as child processes of the controller, all at once, waited for in the
calling thread with a bound: Ctrl-C or SIGTERM there stops them instead of waiting for a
boot to finish, and a launcher that overstays its bound is terminated, then killed.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

from parity.config.matrix import LaunchSpec

# The exit status of a start command that found its engine already up: the run uses it
# and leaves it up (it stops only what it brought up).
ALREADY_UP = 3


@dataclass(frozen=True)
class LaunchResult:
    ok: bool
    line: str  # one line: what the launcher said it did, or why it failed
    detail: str = ""  # the rest of its output (e.g. the tail of a guest console)
    brought_up: bool = True  # False: the engine was up before the run


def _command(spec: LaunchSpec, which: str) -> list[str]:
    return list(spec.start if which == "start" else spec.stop)


def run_all(launches: dict[str, LaunchSpec], which: str) -> dict[str, LaunchResult]:
    """Run every target's ``start`` (or ``stop``) command concurrently, each bounded by its
    timeout; the outcome per target name."""
    running: dict[str, subprocess.Popen[str]] = {}
    outcomes: dict[str, LaunchResult] = {}
    began = time.monotonic()
    try:
        for name, spec in launches.items():
            try:
                running[name] = subprocess.Popen(
                    _command(spec, which),
                    cwd=spec.folder,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            except OSError as exc:
                outcomes[name] = LaunchResult(
                    False, f"launch {which}: cannot run {_command(spec, which)[0]!r}: {exc.strerror}"
                )
        for name, process in running.items():
            spec = launches[name]
            remaining = max(0.0, spec.timeout - (time.monotonic() - began))
            try:
                out, err = process.communicate(timeout=remaining)
            except subprocess.TimeoutExpired:
                _end(process)
                outcomes[name] = LaunchResult(False, f"launch {which}: no result within {spec.timeout} s")
                continue
            outcomes[name] = _outcome(which, process.returncode, out, err)
    except BaseException:  # Ctrl-C, SIGTERM: launchers clean up after themselves on SIGTERM
        for process in running.values():
            _end(process)
        raise
    return outcomes


def _outcome(which: str, returncode: int, out: str, err: str) -> LaunchResult:
    said = [line for line in out.splitlines() if line.strip()]
    if returncode == 0 or (which == "start" and returncode == ALREADY_UP):
        return LaunchResult(True, said[-1] if said else f"{which} done", brought_up=returncode == 0)
    lines = [line for line in err.splitlines() if line.strip()] or said or [f"exit status {returncode}"]
    return LaunchResult(False, f"launch {which} failed: {lines[0]}", "\n".join(lines[1:]))


def _end(process: subprocess.Popen[str], grace: float = 30) -> None:
    """SIGTERM (the launcher stops what it started), then SIGKILL after ``grace``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.communicate(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def describe(outcomes: dict[str, LaunchResult]) -> Sequence[str]:
    return [f"{name}: {outcome.line}" for name, outcome in sorted(outcomes.items())]
