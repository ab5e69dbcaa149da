"""Scenarios started ahead (plugins/ahead.py): each runs once per target, from the end of
collection, in one process also under xdist; its checks run last and judge its record; a
scenario that raised is an error that no known divergence hides; the records go at the end."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from parity.run.ahead import ScenarioFailed, Starter, read_record, record_name, starter_of, write_record
from parity.run.resources import owner_alive, process_owner
from tests.fake_engine import STAND_IN_CONFTEST, FakeEngine, recorded_api

pytest_plugins = ["pytester"]

# Against a stand-in engine there is no workload to build: a scenario's "scope" here is
# the name of its target, and the target fixture is that name.
CONFTEST = (
    STAND_IN_CONFTEST
    + """
import contextlib


@contextlib.contextmanager
def _scope(config, item, name):
    yield name


def pytest_configure(config):
    config.pluginmanager.get_plugin("plugins.ahead").scenario_scope = _scope
"""
)

CHECKS = """
import os
import time

import pytest

LOG = os.environ["AHEAD_LOG"]


def note(line):
    with open(LOG, "a") as log:
        log.write(line + "\\n")


def waited(scope):
    note(f"scenario {scope} {os.getpid()}")
    time.sleep(0.5)
    note(f"scenario {scope} done {os.getpid()}")
    return {"target": scope, "slept": 0.5}


def refused(scope):
    raise RuntimeError(f"the engine of {scope} refused")


@pytest.mark.ahead(waited, timeout=30)
def test_waits(ahead, target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    note(f"check waits {target}")
    assert ahead == {"target": target, "slept": 0.5}


@pytest.mark.ahead(waited, timeout=30)
def test_waits_too(ahead, target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    note(f"check waits_too {target}")
    assert ahead["target"] == "nowhere"


@pytest.mark.ahead(refused, timeout=30)
def test_refused(ahead, target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    assert False


def test_plain(target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    note(f"check plain {target}")
    time.sleep(1)
"""

# test_refused fails its assertion on b as a known divergence says; the scenario's error
# must stay an error all the same.
ROWS = """
divergences:
  - check: test_checks.py::test_refused
    when: {kind: linux}
    reason: a self-test's known divergence
    reference: moby/moby#1
    observed: a test host, 2026-12-04
"""


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_scenarios_run_once_per_target_ahead_of_their_checks(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    log = tmp_path / "log"
    monkeypatch.setenv("AHEAD_LOG", str(log))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the records go: seen empty at the end
    info, version = recorded_api("linux-ubuntu-17.10-docker-18.03.1-ce.txt")
    with FakeEngine(tmp_path / "a.sock", info, version) as a, FakeEngine(tmp_path / "b.sock", info, version) as b:
        pytester.makeconftest(CONFTEST)
        pytester.makefile(
            ".yaml",
            matrix=f"targets:\n  - {{name: a, kind: linux, engine: {{url: '{a.url}'}}}}\n"
            f"  - {{name: b, kind: linux, engine: {{url: '{b.url}'}}}}\n",
            divergences=ROWS,
        )
        pytester.makepyfile(test_checks=CHECKS)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE", *xdist)
    # waits_too asserts a record it cannot have: the check judges what the scenario saw
    result.assert_outcomes(passed=4, failed=2, errors=2)
    result.stdout.fnmatch_lines(
        [
            "ERROR test_checks.py::test_refused[[]a[]] - Failed: scenario test_checks.refused@*",
            "ERROR test_checks.py::test_refused[[]b[]] - Failed: scenario test_checks.refused@*",
        ]
    )
    result.stdout.fnmatch_lines(
        ["scenario test_checks.refused@a failed after *", "RuntimeError: the engine of a refused"]
    )
    lines = log.read_text().splitlines()
    scenarios = [line.split() for line in lines if line.startswith("scenario")]
    # once per target, whatever number of checks share it, and in one process
    assert sorted(" ".join(words[:-1]) for words in scenarios) == [
        "scenario a",
        "scenario a done",
        "scenario b",
        "scenario b done",
    ]
    assert len({words[-1] for words in scenarios}) == 1
    if not xdist:  # one process: a scenario started before any check ran, and they run last
        checks = [line.split()[1] for line in lines if line.startswith("check")]
        assert (lines[0].split()[0], checks[:2]) == ("scenario", ["plain"] * 2)
    assert list(tmp_path.glob("parity-run-*")) == []


def test_a_record_is_read_whole_and_errors_are_named(tmp_path: Path) -> None:
    name = record_name("suites.x.stopped", "vm 9p")
    assert name == "suites.x.stopped@vm_9p.json"
    write_record(tmp_path, name, {"observed": {"elapsed": 10.2}, "seconds": 10.3})
    assert read_record(tmp_path, name, timeout=0) == {"elapsed": 10.2}
    write_record(tmp_path, name, {"error": "Traceback: boom", "seconds": 1.25})
    with pytest.raises(ScenarioFailed, match=r"suites.x.stopped@vm_9p failed after 1.2 s:\nTraceback: boom"):
        read_record(tmp_path, name, timeout=0)
    with pytest.raises(ScenarioFailed, match="recorded nothing within 0 s"):
        read_record(tmp_path, "other.json", timeout=0)


def test_the_starter_records_what_each_scenario_returned_or_raised(tmp_path: Path) -> None:
    starter = Starter(tmp_path)
    starter.start("good.json", lambda: {"value": 1})
    starter.start("bad.json", lambda: {"value": 1 // 0})
    assert starter.join(timeout=10) == []
    assert read_record(tmp_path, "good.json", timeout=0) == {"value": 1}
    with pytest.raises(ScenarioFailed, match="ZeroDivisionError"):
        read_record(tmp_path, "bad.json", timeout=0)


def test_the_end_of_a_run_does_not_wait_for_the_scenarios_of_a_lost_target(tmp_path: Path) -> None:
    """A scenario on a target whose engine was lost mid-run would wait out the engine's
    timeout at each call: the run's end leaves it; it waits for the others."""
    release = threading.Event()
    starter = Starter(tmp_path, at_once=2)
    starter.start("stuck@gone.json", lambda: {"released": release.wait(30)}, target="gone")
    starter.start("quick@here.json", lambda: {"value": 1}, target="here")
    began = time.monotonic()
    assert starter.join(timeout=10, lost={"gone"}) == ["parity-ahead-stuck@gone.json"]
    assert time.monotonic() - began < 2
    assert read_record(tmp_path, "quick@here.json", timeout=0) == {"value": 1}
    release.set()
    assert starter.join(timeout=10) == []


def test_the_starter_runs_at_most_its_bound_at_once(tmp_path: Path) -> None:
    running, most = [0], [0]
    lock = threading.Lock()

    def scenario() -> dict[str, int]:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return {}

    starter = Starter(tmp_path, at_once=2)
    for n in range(5):
        starter.start(f"{n}.json", scenario)
    assert (starter.join(timeout=10), most[0]) == ([], 2)


def test_a_check_stops_waiting_when_the_process_running_scenarios_is_gone(tmp_path: Path) -> None:
    """A crashed gw0 took its scenarios with it: the check says so within about a second,
    instead of waiting out the scenario's timeout (up to 30 min)."""
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    owner = f"{socket.gethostname()}:{ended.stdout.strip()}:1"  # that pid, with a start it no longer has
    Starter(tmp_path, owner=owner)
    assert starter_of(tmp_path) == owner
    began = time.monotonic()
    with pytest.raises(
        ScenarioFailed, match=rf"recorded nothing: the process running the run's scenarios \({owner}\) has ended"
    ):
        read_record(tmp_path, "x@local.json", timeout=60, starter_gone=lambda o: not owner_alive(o, 0, time.time()))
    assert time.monotonic() - began < 5


def test_a_check_waits_while_the_process_running_scenarios_lives(tmp_path: Path) -> None:
    Starter(tmp_path, owner=process_owner())
    gone = lambda o: not owner_alive(o, 0, time.time())  # noqa: E731
    with pytest.raises(ScenarioFailed, match=r"recorded nothing within 2 s"):
        read_record(tmp_path, "x@local.json", timeout=2, starter_gone=gone)
    write_record(tmp_path, "y@local.json", {"observed": {"v": 1}, "seconds": 0.1})
    assert read_record(tmp_path, "y@local.json", timeout=0, starter_gone=gone) == {"v": 1}


CRASHING = """
import os
import time

import pytest


def slow(scope):
    time.sleep(120)
    return {}


@pytest.mark.parametrize("n", range(6))
def test_crashes_on_gw0(target, n):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    if os.environ.get("PYTEST_XDIST_WORKER") == "gw0":
        os._exit(1)


@pytest.mark.ahead(slow, timeout=600)
def test_waits_for_slow(ahead, target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
"""


def test_a_crashed_gw0_fails_the_waiting_checks_at_once(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    info, version = recorded_api("linux-ubuntu-17.10-docker-18.03.1-ce.txt")
    with FakeEngine(tmp_path / "a.sock", info, version) as a:
        pytester.makeconftest(CONFTEST)
        pytester.makefile(".yaml", matrix=f"targets:\n  - {{name: a, kind: linux, engine: {{url: '{a.url}'}}}}\n")
        pytester.makepyfile(test_checks=CRASHING)
        began = time.monotonic()
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE", "-n", "2", timeout=300)
    result.stdout.fnmatch_lines(["*scenario test_checks.slow@a recorded nothing: the process running*has ended*"])
    assert time.monotonic() - began < 100  # not the scenario's 120 s, nor its check's 600
