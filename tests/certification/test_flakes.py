"""The flake gate: verdicts that change between runs of the same catalogue are listed with
every run's message; a check that fails every time is not a flake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from parity.certification.flakes import flips
from parity.certification.results import Outcome, Result, TargetRun
from tests.fake_engine import STAND_IN_CONFTEST

ROOT = Path(__file__).resolve().parents[2]


def run_of(results: dict[str, Result], target: str = "local") -> TargetRun:
    return TargetRun(target, "linux", "6.1", "r", Path("x.xml"), results=results)


def test_a_flip_lists_each_runs_verdict_and_a_steady_failure_is_not_one() -> None:
    steady = Result(Outcome.FAIL, "always")
    repetitions = [
        [run_of({"a.py::test_oom": Result(Outcome.PASS), "a.py::test_bad": steady})],
        [run_of({"a.py::test_oom": Result(Outcome.FAIL, "exit 137 but OOMKilled false"), "a.py::test_bad": steady})],
        [run_of({"a.py::test_bad": steady})],  # interrupted before test_oom
    ]
    [flip] = flips(repetitions)
    assert flip.describe() == (
        "a.py::test_oom [local]: run 1 pass; run 2 fail: exit 137 but OOMKilled false; "
        "run 3 not run: no result in this run"
    )


def run_gate(tmp_path: Path, checks: str) -> subprocess.CompletedProcess[str]:
    """The gate, three runs, over a catalogue of ``checks`` on a stand-in target."""
    (tmp_path / "conftest.py").write_text(STAND_IN_CONFTEST)
    (tmp_path / "matrix.yaml").write_text(
        "targets:\n  - {name: a, kind: linux, engine: {url: 'unix:///nonexistent/a.sock'}}\n"
    )
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    suites = tmp_path / "suites" / "area"
    suites.mkdir(parents=True)
    (suites / "test_checks.py").write_text(checks)
    return subprocess.run(
        [sys.executable, "-m", "parity.certification", "flakes", "--runs", "3", "--out", "out", "--", "suites", "-q"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_the_gate_runs_pytest_n_times_and_fails_on_a_flip(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    done = run_gate(
        tmp_path,
        f"""
from pathlib import Path

def test_steady(target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    pass

def test_second_run_fails(target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    counter = Path({str(counter)!r})
    runs = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(runs))
    assert runs != 2, "failed on run 2"
""",
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert "flake gate: 3 runs (pytest exit statuses 0, 1, 0), 2 checks compared" in lines
    assert [line for line in lines if line.startswith("FLIPPED")] == [
        # a is the run's reference: a failure there makes the check broken
        "FLIPPED suites/area/test_checks.py::test_second_run_fails [a]: run 1 pass; "
        "run 2 broken: fails on the reference a: suites/area/test_checks.py:17: AssertionError; run 3 pass"
    ]


def test_the_gate_fails_on_a_check_that_fails_every_time(tmp_path: Path) -> None:
    """Not a flake, but a failure: the gate may be CI's only run of the catalogue."""
    done = run_gate(
        tmp_path,
        """
def test_fails(target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    assert False
""",
    )
    lines = done.stdout.splitlines()
    assert "flake gate: 3 runs (pytest exit statuses 1, 1, 1), 1 checks compared" in lines
    assert ("flake gate: 0 checks changed their verdict between runs", done.returncode) == (lines[-1], 1)
