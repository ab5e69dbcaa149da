"""Targets with ``launch`` (e.g. the mobyvm VM): opt-in selection, start before contact,
stop after the run, and a failed launch reported once with its reason. Without Docker:
the launcher is a shell script that logs what it was asked to do, and the engine it
"brings up" is a FakeEngine that answers as a Linux engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_engine import ONE_CHECK, REPO_CONFTEST, STAND_IN_CONFTEST, FakeEngine, recorded_api

pytest_plugins = ["pytester"]


LAUNCHER = """#!/bin/sh
echo "$1" >> launcher.log
if [ "$1" = start ] && [ -e fail-start ]; then
  echo "no engine on 127.0.0.1:1 after 5 s; console:" >&2
  echo "[    1.0] guest line one" >&2
  echo "[    2.0] guest line two" >&2
  exit 1
fi
if [ "$1" = start ] && [ -e already-up ]; then
  echo "running: found up"
  exit 3
fi
echo "$1: done by the launcher"
"""


def matrix(engine_url: str) -> str:
    return f"""
targets:
  - {{name: local, kind: linux, engine: {{url: '{engine_url}'}}}}
  - name: vm
    kind: mobyvm
    engine: {{url: '{engine_url}'}}
    launch: {{start: [./launcher, start], stop: [./launcher, stop], timeout: 30}}
"""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[FakeEngine]:
    info, version = recorded_api("linux-ubuntu-16.04-docker-17.12.1-ce.TRUNCATED.txt")
    with FakeEngine(tmp_path / "engine.sock", info, version) as fake:
        yield fake


@pytest.fixture
def project(pytester: pytest.Pytester, engine: FakeEngine) -> pytest.Pytester:
    pytester.makeconftest(STAND_IN_CONFTEST)
    pytester.makefile(".yaml", matrix=matrix(engine.url))
    pytester.makepyfile(test_checks=ONE_CHECK)
    launcher = pytester.path / "launcher"
    launcher.write_text(LAUNCHER)
    launcher.chmod(0o755)
    return pytester


def launcher_log(project: pytest.Pytester) -> list[str]:
    log = project.path / "launcher.log"
    return log.read_text().split() if log.exists() else []


def test_plain_run_neither_covers_nor_launches_an_opt_in_target(project: pytest.Pytester) -> None:
    result = project.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_one[[]local[]] PASSED*"])
    assert launcher_log(project) == []


def test_an_engine_that_was_up_before_the_run_is_used_and_left_up(project: pytest.Pytester) -> None:
    """The issue asks the run to shut down what it booted, and only that."""
    (project.path / "already-up").touch()
    result = project.runpytest("-v", "--target", "vm")
    result.stdout.fnmatch_lines(
        [
            "    launched: running: found up",
            "*test_one[[]vm[]] PASSED*",
            "parity: left vm running: it was up before the run",
        ]
    )
    assert (launcher_log(project), result.ret) == (["start"], 0)


@pytest.mark.parametrize("selection", [["-m", "mobyvm"], ["--target", "vm"], ["-m", "linux or mobyvm"]])
def test_selecting_the_target_starts_it_first_and_stops_it_last(project: pytest.Pytester, selection: list[str]) -> None:
    result = project.runpytest("-v", *selection)
    result.stdout.fnmatch_lines(
        ["  vm (mobyvm): unix:*", "    launched: start: done by the launcher", "*test_one[[]vm[]] PASSED*"]
    )
    result.stdout.fnmatch_lines(["*parity: stopped vm: stop: done by the launcher*"])
    assert launcher_log(project) == ["start", "stop"]
    assert result.ret == 0


def test_a_kind_under_not_does_not_opt_in(project: pytest.Pytester) -> None:
    result = project.runpytest("-v", "-m", "not mobyvm")
    result.assert_outcomes(passed=1)
    assert launcher_log(project) == []


def test_a_failed_launch_makes_the_target_unavailable_with_its_reason(project: pytest.Pytester) -> None:
    project.makeconftest(REPO_CONFTEST)  # the real target fixture: unavailable is an error
    (project.path / "fail-start").touch()
    result = project.runpytest("-v", "--target", "vm")
    result.assert_outcomes(errors=1)
    # the reason once per check, the console tail once in the header
    result.stdout.fnmatch_lines(
        [
            "  vm (mobyvm): unavailable: launch start failed: no engine on 127.0.0.1:1 after 5 s; console:",
            "*| [[]    1.0] guest line one",
            "*| [[]    2.0] guest line two",
        ]
    )
    result.stdout.fnmatch_lines(["*target vm: launch start failed: no engine on 127.0.0.1:1 after 5 s; console:"])
    assert result.stdout.str().count("guest line one") == 1
    # a failed start may leave a half-booted VM: stop runs anyway
    assert launcher_log(project) == ["start", "stop"]


def test_a_launcher_that_does_not_exist_is_one_line(project: pytest.Pytester) -> None:
    project.makeconftest(REPO_CONFTEST)
    project.makefile(".yaml", matrix=matrix("unix:///nonexistent.sock").replace("./launcher", "./nosuch"))
    result = project.runpytest("--target", "vm")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*target vm: launch start: cannot run './nosuch': No such file or directory"])


def test_launched_engines_stop_after_the_sweep_and_the_reports(pytester: pytest.Pytester) -> None:
    """The session's end is a stack of wrappers; pluggy calls the last of a hook's
    implementations first, so the launch plugin's must come after the resources and
    reports plugins': its stop then runs after the sweep (which needs the engine) and
    after the reports are written."""
    pytester.makeconftest(REPO_CONFTEST)
    pytester.makefile(
        ".yaml", matrix="targets:\n  - {name: a, kind: linux, engine: {url: 'unix:///nonexistent/a.sock'}}\n"
    )
    config = pytester.parseconfigure()
    order = [impl.plugin_name for impl in config.pluginmanager.hook.pytest_sessionfinish.get_hookimpls()]
    assert order.index("plugins.launch") > max(order.index("plugins.resources"), order.index("plugins.reports")), order
