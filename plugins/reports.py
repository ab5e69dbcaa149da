"""The run's reports: one JUnit file per target under ``reports/``, named with the
engine's build, then the conformance matrix built from them, and a per-target summary in
the terminal.

The per-target files are written by the controller from the reports it receives (so it
works under xdist); each test's target and workload image travel as attributes of its
reports, not as ``user_properties``: pytest's own ``--junitxml`` would write those as
per-test ``<properties>``, which the xunit2 dialect does not allow. pytest's own
``--junitxml`` file gets the suite properties ``parity.targets`` and ``parity.run``, so it
can be read back target by target too. The matrix is built from the per-target files
(as ``python -m parity.certification`` builds it from a folder) and written next to them
as matrix.html, matrix.md and matrix.json.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from _pytest.junitxml import xml_key
from junitparser import Error, Failure, Skipped, TestCase

from parity.certification import junit, properties
from parity.certification.cli import write_matrix
from parity.certification.matrix import ConformanceMatrix, build_matrix
from parity.certification.requirements import Level
from parity.certification.results import UNOBSERVED_MARK, Outcome
from parity.certification.writer import empty_case, report_name, write_suite, xml_text
from parity.run.target import shaping_for
from plugins.state import (
    GENERATED,
    IDENTITY,
    LEVEL,
    REFERENCE,
    SELECTED,
    STATES,
    WORKLOAD,
    facts_of,
    is_worker,
    rows_applying,
    target_of,
)

MATRIX = pytest.StashKey[tuple[ConformanceMatrix, list[Path]]]()
INTERRUPTED = "not run: the run was interrupted before this check finished"
COLLECTOR = pytest.StashKey["TargetReports"]()  # the controller's collector of test reports


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("parity").addoption(
        "--reports",
        metavar="DIR",
        default=None,
        help="folder for the per-target JUnit files (default: reports/ in the rootdir)",
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """The controller collects and writes the per-target files, and adds the suite
    properties to pytest's own JUnit file: it is the one that writes it
    (record_testsuite_property does not work under xdist); trylast: after junitxml's own."""
    if is_worker(config):
        return
    collector = config.stash[COLLECTOR] = TargetReports(config)
    config.pluginmanager.register(collector, "parity-target-reports")
    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    kinds = {spec.name: spec.kind for spec in config.stash[SELECTED]}
    xml.add_global_property(properties.TARGETS, json.dumps(kinds))
    xml.add_global_property(properties.RUN_OF_ALL, config.stash[IDENTITY].run_id)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Put the target and workload image on each report; xdist carries report attributes
    to the controller (TestReport keeps extra keyword arguments)."""
    report = yield
    name = target_of(item)
    if name is not None:
        report.parity_target = name  # type: ignore[attr-defined]
        report.parity_workload = item.stash.get(WORKLOAD, "")  # type: ignore[attr-defined]
    return report


def _skipped(report: pytest.TestReport) -> Skipped:
    xfail = getattr(report, "wasxfail", None)
    if xfail is not None:
        return Skipped(xml_text(str(xfail)[:1000]), "pytest.xfail")
    return Skipped(xml_text(_skip_reason(report)[:1000]), "pytest.skip")


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


class TargetReports:
    """Controller-side collector and writer of the per-target JUnit files."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.cases: dict[str, dict[str, TestCase]] = defaultdict(dict)
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)  # (target, nodeid) -> time
        self.images: dict[str, str] = {}  # target -> workload image id, as the checks saw it
        # (target, nodeid) of checks that came to a verdict: their call ran, or set-up
        # failed or skipped them; an interrupted check has none and must not read as a pass
        self.finished: set[tuple[str, str]] = set()
        self.written: list[Path] = []
        # check function -> its requirement as JSON, as the checks' reports carried it
        self.requirements: dict[str, dict[str, str]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Fold setup/call/teardown into one testcase, as pytest's junitxml does."""
        name: str | None = getattr(report, "parity_target", None)
        if name is None:
            return
        image: str = getattr(report, "parity_workload", "")
        if image:
            self.images[name] = image
        case = self.cases[name].get(report.nodeid)
        if case is None:
            case = self.cases[name][report.nodeid] = empty_case(report.nodeid)
        self.seconds[(name, report.nodeid)] += report.duration
        requirement: str = getattr(report, "parity_requirement", "")
        if requirement:
            data = self.requirements[report.nodeid.split("[", 1)[0]] = json.loads(requirement)
            case._elem.set("group", data["level"])  # xunit2 allows these two attributes
            case._elem.set("url", data["link"])
        if report.when == "call" or not report.passed:
            self.finished.add((name, report.nodeid))
        case.time = round(self.seconds[(name, report.nodeid)], 3)
        text = report.longreprtext.strip()
        message = text.splitlines()[-1] if text else ""
        if report.failed:
            kind = Failure if report.when == "call" else Error
            case.result = [*case.result, kind(xml_text(message[:1000]), f"{report.when} failed")]
            case.system_out = xml_text(report.longreprtext[-20000:])
        elif report.skipped:
            case.result = [_skipped(report)]
        elif report.when == "call" and getattr(report, "wasxfail", None) is not None:
            # passed under a non-strict xfail: a row known from documents only
            case.system_out = xml_text(f"{UNOBSERVED_MARK}{report.wasxfail}\n")

    def broken_checks(self) -> dict[str, str]:
        """Checks whose own assertion failed on the run's reference target: {check: message}.
        An error (set-up, a lost engine) judged nothing, and a fixed known divergence is a
        wrong row, not a wrong check: neither counts."""
        reference = self.config.stash.get(REFERENCE, None)
        broken: dict[str, str] = {}
        for case in self.cases.get(reference, {}).values() if reference else ():
            failed = next((r for r in case.result if isinstance(r, Failure)), None)
            name = junit.strip_target(case.name or "", reference or "")
            message = (failed.message or "") if failed is not None else ""
            if failed is None or name is None or message.startswith((junit.XPASS_STRICT, f"target {reference}: ")):
                continue
            broken[junit.check_name(case.classname or "", name)] = message
        return broken

    def write(self) -> list[Path]:
        """Write one JUnit file per target that ran checks; the files written."""
        broken = self.broken_checks()
        generated = self.config.stash.get(GENERATED, None) or {}
        verdicts = (
            {properties.REFERENCE: self.config.stash[REFERENCE] or "", properties.BROKEN: json.dumps(broken)}
            if broken
            else {}
        )
        option = self.config.getoption("--reports")
        folder = Path(option) if option else self.config.rootpath / "reports"
        states = self.config.stash.get(STATES, {})
        timestamp = datetime.now(UTC).isoformat(timespec="seconds")
        for spec in self.config.stash[SELECTED]:
            cases = self.cases.get(spec.name)
            if not cases:
                continue
            state = states.get(spec.name)
            facts = state.facts if state else None
            build = facts.build() if facts else "unavailable"
            # what the target's containers run under (LCOW: always Hyper-V)
            isolation = shaping_for(spec, facts.api_version or "1.24").isolation if facts else None
            suite_properties = properties.suite_properties(
                target=spec.name,
                kind=spec.kind,
                run=self.config.stash[IDENTITY].run_id,
                build=build,
                address=state.address if state else "",
                unavailable=(state.unavailable or "") if state else "",
                workload_image=self.images.get(spec.name, ""),
                facts=facts,
                isolation=isolation or "",
                platform={
                    **properties.platform_properties(
                        facts_of(self.config, spec.name), state.observed.unobserved if state else ""
                    ),
                    properties.DIVERGENCES_APPLIED: json.dumps(
                        [row.describe() for row in rows_applying(self.config, spec.name)]
                    ),
                    **verdicts,
                    **generated,
                    properties.LEVEL: self.config.stash[LEVEL].value,
                    properties.REQUIREMENTS: json.dumps(dict(sorted(self.requirements.items()))),
                },
            )
            for nodeid, case in cases.items():
                if (spec.name, nodeid) not in self.finished:
                    case.result = [Skipped(INTERRUPTED, "pytest.skip")]
            path = folder / report_name(spec.name, build)
            seconds = sum(self.seconds[(spec.name, nodeid)] for nodeid in cases)
            write_suite(
                path,
                name=f"parity.{spec.name}.{build}",
                properties=suite_properties,
                cases=cases.values(),
                seconds=seconds,
                timestamp=timestamp,
            )
            self.written.append(path)
        return self.written

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        for path in self.written:
            terminalreporter.write_line(f"parity: report {path}")


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    """The per-target files, then the matrix from them: after every plain sessionfinish
    and before the terminal summary (which runs after the terminal reporter's own
    wrapper). In a finally: a session whose own teardown raised (Ctrl-C cutting a
    fixture's cleanup short) still gets its reports."""
    try:
        return (yield)
    finally:
        collector = session.config.stash.get(COLLECTOR, None)
        files = collector.write() if collector is not None else []
        if files:
            built = build_matrix(junit.read_all(files))
            session.config.stash[MATRIX] = (built, write_matrix(built, files[0].parent))


def _counts(counts: dict[Outcome, int]) -> str:
    return ", ".join(f"{count} {outcome}" for outcome, count in counts.items() if count) or "no checks"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    found = config.stash.get(MATRIX, None)
    if found is None:
        return
    built, written = found
    terminalreporter.section("parity certification")
    broken = sorted(
        {check for column in built.columns for check, r in column.run.results.items() if r.outcome == Outcome.BROKEN}
    )
    if broken:
        reference = config.stash.get(REFERENCE, None)
        terminalreporter.write_line(
            f"broken: {len(broken)} checks fail on the reference {reference}, so they judge no target "
            "(fix the check, or the reference):",
            red=True,
        )
        for check in broken:
            terminalreporter.write_line(f"  {check}")
    for column in built.columns:
        run = column.run
        terminalreporter.write_line(f"{column.id} ({run.kind}, build {run.build}): {_counts(built.counts(column))}")
        verdict = built.verdict(column)
        if verdict.level is not None:
            terminalreporter.write_line(f"  certified at {verdict.level} (checked at {verdict.checked})", green=True)
        else:
            # not certified at MUST: MUST checks block it, or no check came to a verdict
            blocking = len(verdict.blocking[Level.MUST])
            why = f"{blocking} MUST checks failed or have no verdict" if blocking else "no check ran"
            terminalreporter.write_line(f"  not certified: {why}", red=True)
        excluded = built.counts(column).get(Outcome.BROKEN, 0)
        if excluded and column.run.target != config.stash.get(REFERENCE, None):
            terminalreporter.write_line(f"  excludes {excluded} broken checks from its verdict")
        for outcome in (Outcome.DIVERGENCE, Outcome.UNOBSERVED):
            for reason, reference, count in built.top_divergences(column, outcome=outcome):
                checks = "check" if count == 1 else "checks"
                terminalreporter.write_line(f"  {outcome}, {count} {checks}: {reason} ({reference})")
    for path in written:
        terminalreporter.write_line(f"parity: report {path}")
