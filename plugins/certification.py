"""The conformance matrix at the end of a run, and a per-target summary in the terminal.

On the controller, once plugins/reporting.py has written this run's per-target JUnit
files, the matrix is built from those files (as ``python -m parity.certification``
builds it from a folder) and written next to them as matrix.html, matrix.md and
matrix.json. pytest's own ``--junitxml`` file gets the suite properties
``parity.targets`` and ``parity.run``, so it can be read back target by target too.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path

import pytest
from _pytest.junitxml import xml_key

from parity import certification, junit
from parity.certification import Matrix
from parity.junit import Outcome
from plugins import matrix
from plugins.reporting import WRITTEN
from plugins.resources import IDENTITY, is_worker

MATRIX = pytest.StashKey[tuple[Matrix, list[Path]]]()


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Suite properties for pytest's own JUnit file: added on the controller, which is
    the one that writes it (record_testsuite_property does not work under xdist)."""
    xml = config.stash.get(xml_key, None)
    if xml is None or is_worker(config):
        return
    kinds = {spec.name: spec.kind for spec in config.stash[matrix.SELECTED]}
    xml.add_global_property(junit.TARGETS_PROPERTY, json.dumps(kinds))
    xml.add_global_property(junit.RUN_PROPERTY, config.stash[IDENTITY].run_id)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    """After every plain sessionfinish (so after the JUnit files are written) and before
    the terminal summary (which runs after the terminal reporter's own wrapper)."""
    yield
    config = session.config
    files = config.stash.get(WRITTEN, [])
    if files and not is_worker(config):
        built = certification.build_matrix(junit.read_all(files))
        config.stash[MATRIX] = (built, certification.write_matrix(built, files[0].parent))


def _counts(counts: dict[Outcome, int]) -> str:
    return ", ".join(f"{count} {outcome}" for outcome, count in counts.items() if count) or "no checks"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    found = config.stash.get(MATRIX, None)
    if found is None:
        return
    built, written = found
    terminalreporter.section("parity certification")
    for column in built.columns:
        run = column.run
        terminalreporter.write_line(f"{column.id} ({run.kind}, build {run.build}): {_counts(built.counts(column))}")
        for reason, reference, count in built.top_divergences(column):
            checks = "check" if count == 1 else "checks"
            terminalreporter.write_line(f"  known divergence, {count} {checks}: {reason} ({reference})")
    for path in written:
        terminalreporter.write_line(f"parity: report {path}")
