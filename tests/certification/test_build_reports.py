"""Per-build JUnit reports of a hyperv target: file name, suite name and properties."""

from __future__ import annotations

from pathlib import Path

import pytest
from junitparser import JUnitXml

from tests.fake_engine import ONE_CHECK, STAND_IN_CONFTEST, FakeEngine, recorded_api

pytest_plugins = ["pytester"]


def test_hyperv_report_is_named_and_labelled_with_the_windows_build(pytester: pytest.Pytester, tmp_path: Path) -> None:
    info, version = recorded_api("windows-server-lcow-17134-docker-18.09.1.txt")
    with FakeEngine(tmp_path / "engine.sock", info, version) as engine:
        pytester.makeconftest(STAND_IN_CONFTEST)
        pytester.makefile(
            ".yaml", matrix=f"targets:\n  - {{name: winsrv, kind: hyperv, engine: {{url: '{engine.url}'}}}}\n"
        )
        pytester.makepyfile(test_checks=ONE_CHECK)
        result = pytester.runpytest("-m", "hyperv", f"--reports={tmp_path / 'out'}")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK, "the end-of-run sweep must work with an engine that gives no API version"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "coverage.html", "coverage.json", "coverage.md",
        "junit-winsrv-17134.1.xml", "matrix.html", "matrix.json", "matrix.md",
    ]  # fmt: skip
    (suite,) = JUnitXml.fromfile(str(tmp_path / "out" / "junit-winsrv-17134.1.xml"))
    assert suite.name == "parity.winsrv.17134.1"
    properties = {p.name: p.value for p in suite.properties()}  # type: ignore[no-untyped-call]
    assert {key: properties.get(key) for key in ("build", "windows.build", "windows.revision", "windows.branch")} == {
        "build": "17134.1",
        "windows.build": "17134",
        "windows.revision": "1",
        "windows.branch": "rs4_release",
    }
    # the engine's default is process isolation; LCOW containers run under Hyper-V
    assert (properties["engine.version"], properties["engine.isolation"], properties["isolation"]) == (
        "18.09.1",
        "process",
        "hyperv",
    )
    assert properties["windows.insider"] == "false"
