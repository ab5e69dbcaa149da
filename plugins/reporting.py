"""One JUnit file per target under ``reports/``, named with the engine's build.

Written by the controller from the reports it receives (so it works under xdist);
each test's target and workload image travel as attributes of its reports, not as
``user_properties``: pytest's own ``--junitxml`` would write those as per-test
``<properties>``, which the xunit2 dialect (Jenkins, Azure DevOps) does not allow.
The files are xunit2 too: times in seconds with three decimals, skips typed as pytest
types them (``pytest.skip``, ``pytest.xfail``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from parity.engine import EngineFacts
from parity.shaping import Shaping
from plugins import matrix
from plugins.resources import IDENTITY, is_worker
from plugins.targets import STATES, WORKLOAD

WRITTEN = pytest.StashKey[list[Path]]()  # the per-target JUnit files of this run


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("parity").addoption(
        "--reports",
        metavar="DIR",
        default=None,
        help="folder for the per-target JUnit files (default: reports/ in the rootdir)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not is_worker(config):
        config.pluginmanager.register(TargetReports(config), "parity-target-reports")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Put the target and workload image on each report; xdist carries report attributes
    to the controller (TestReport keeps extra keyword arguments)."""
    report = yield
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "target" in callspec.params:
        report.parity_target = str(callspec.params["target"])  # type: ignore[attr-defined]
        report.parity_workload = item.stash.get(WORKLOAD, "")  # type: ignore[attr-defined]
    return report


def report_name(target: str, build: str) -> str:
    """junit-<target>-<build>.xml, with the build made safe for a file name."""
    return f"junit-{target}-{re.sub(r'[^A-Za-z0-9._-]+', '_', build)}.xml"


def build_properties(facts: EngineFacts) -> dict[str, str]:
    """Suite properties naming a Windows engine's build: number, revision, branch."""
    windows = facts.windows
    if windows is None:
        return {}
    return {
        "windows.build": windows.build,
        "windows.revision": windows.revision,
        "windows.branch": windows.branch,
        "windows.insider": "true" if windows.insider else "false",
    }


def _case(nodeid: str) -> TestCase:
    path, _, rest = nodeid.partition("::")
    parts = rest.split("::")
    classname = ".".join([path.removesuffix(".py").replace("/", "."), *parts[:-1]])
    return TestCase(parts[-1], classname=classname)


def _skipped(report: pytest.TestReport) -> Skipped:
    xfail = getattr(report, "wasxfail", None)
    if xfail is not None:
        return Skipped(str(xfail)[:1000], "pytest.xfail")
    return Skipped(_skip_reason(report)[:1000], "pytest.skip")


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
        self.written: list[Path] = []

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
            case = self.cases[name][report.nodeid] = _case(report.nodeid)
        self.seconds[(name, report.nodeid)] += report.duration
        case.time = round(self.seconds[(name, report.nodeid)], 3)
        text = report.longreprtext.strip()
        message = text.splitlines()[-1] if text else ""
        if report.failed:
            kind = Failure if report.when == "call" else Error
            case.result = [*case.result, kind(message[:1000], f"{report.when} failed")]
            case.system_out = report.longreprtext[-20000:]
        elif report.skipped:
            case.result = [_skipped(report)]

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        option = self.config.getoption("--reports")
        folder = Path(option) if option else self.config.rootpath / "reports"
        states = self.config.stash.get(STATES, {})
        self.config.stash[WRITTEN] = self.written
        timestamp = datetime.now(UTC).isoformat(timespec="seconds")
        for spec in self.config.stash[matrix.SELECTED]:
            cases = self.cases.get(spec.name)
            if not cases:
                continue
            state = states.get(spec.name)
            facts = state.facts if state else None
            build = facts.build() if facts else "unavailable"
            suite = TestSuite(f"parity.{spec.name}.{build}")
            properties = {
                "target": spec.name,
                "kind": spec.kind,
                "run": self.config.stash[IDENTITY].run_id,
                "build": build,
                "address": state.address if state else "",
                "unavailable": (state.unavailable or "") if state else "",
                "workload.image": self.images.get(spec.name, ""),
            }
            if facts is not None:
                properties.update(
                    {
                        "engine.version": facts.server_version,
                        "engine.api_version": facts.api_version,
                        "engine.os_type": facts.os_type,
                        "engine.operating_system": facts.operating_system,
                        "engine.kernel": facts.kernel_version,
                        "engine.architecture": facts.architecture,
                        "engine.isolation": facts.isolation,
                        "engine.cgroup_version": facts.cgroup_version,
                        **build_properties(facts),
                    }
                )
                # what the target's containers run under (LCOW: always Hyper-V)
                isolation = Shaping.for_target(spec, facts, facts.api_version or "1.24").isolation
                properties["isolation"] = isolation or facts.isolation
            for key, value in properties.items():
                if value:
                    suite.add_property(key, value)
            for case in cases.values():
                suite.add_testcase(case)
            suite.update_statistics()  # type: ignore[no-untyped-call]
            suite.time = round(sum(self.seconds[(spec.name, nodeid)] for nodeid in cases), 3)
            suite.timestamp = timestamp
            document = JUnitXml()
            document.add_testsuite(suite)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / report_name(spec.name, build)
            document.write(str(path), pretty=True)
            self.written.append(path)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        for path in self.written:
            terminalreporter.write_line(f"parity: report {path}")
