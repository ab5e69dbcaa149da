"""The end-of-run reports, exercised with pytester on a tiny project without Docker:
per-target JUnit files and pytest's own, valid xunit2 with and without xdist; the
matrix written next to them; the per-target terminal summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from parity.certification import junit
from parity.certification.results import Outcome, TargetRun
from tests.fake_engine import STAND_IN_CONFTEST

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]

MATRIX = """
targets:
  - {name: a, kind: linux, engine: {url: 'unix:///nonexistent/a.sock'}}
  - {name: win-insider, kind: hyperv, engine: {url: 'unix:///nonexistent/c.sock'}}
"""

CHECKS = """
import pytest

def test_passes(target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    pass

def test_fails(target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    assert 1 == 2

@pytest.mark.parametrize("where", ["bind", "tmpfs"])
def test_diverges(target, where):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    assert target == "a" or where == "tmpfs"

def test_fixed(target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    pass

@pytest.mark.requires("host_network")
def test_host_network(target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    pass

def test_without_target():
    pass
"""

ROWS = """
divergences:
  - check: suites/area/test_checks.py::test_diverges
    params: {where: bind}
    when: {kind: hyperv}
    reason: bind mounts lose this on hyperv
    reference: https://example.invalid/issues/3
    observed: a test host, 2026-12-02
  - check: suites/area/test_checks.py::test_fixed
    when: {kind: hyperv}
    reason: was broken on hyperv, fixed since
    reference: moby/moby#2
    observed: a test host, 2026-12-02
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(STAND_IN_CONFTEST)
    pytester.makefile(".yaml", matrix=MATRIX, divergences=ROWS)
    checks = pytester.mkdir("suites") / "area"
    checks.mkdir()
    (checks / "test_checks.py").write_text(CHECKS)
    return pytester


# test_fails fails on the reference, a (the first linux target): pytest's own file says
# so on each target; parity's per-target files call it broken on both, judging neither.
RAW = {
    "a": {
        "suites/area/test_checks.py::test_passes": Outcome.PASS,
        "suites/area/test_checks.py::test_fails": Outcome.FAIL,
        "suites/area/test_checks.py::test_diverges[bind]": Outcome.PASS,
        "suites/area/test_checks.py::test_diverges[tmpfs]": Outcome.PASS,
        "suites/area/test_checks.py::test_fixed": Outcome.PASS,
        "suites/area/test_checks.py::test_host_network": Outcome.PASS,
    },
    "win-insider": {
        "suites/area/test_checks.py::test_passes": Outcome.PASS,
        "suites/area/test_checks.py::test_fails": Outcome.FAIL,
        "suites/area/test_checks.py::test_diverges[bind]": Outcome.DIVERGENCE,
        "suites/area/test_checks.py::test_diverges[tmpfs]": Outcome.PASS,
        "suites/area/test_checks.py::test_fixed": Outcome.FIXED,
        "suites/area/test_checks.py::test_host_network": Outcome.NOT_APPLICABLE,
    },
}
EXPECTED = {
    target: {**results, "suites/area/test_checks.py::test_fails": Outcome.BROKEN} for target, results in RAW.items()
}


def outcomes(runs: list[TargetRun]) -> dict[str, dict[str, Outcome]]:
    return {run.target: {check: result.outcome for check, result in run.results.items()} for run in runs}


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_junit_files_are_xunit2_and_read_back_alike(project: pytest.Pytester, xdist: list[str]) -> None:
    result = project.runpytest_subprocess("--junitxml=reports/junit.xml", "-p", "no:cacheprovider", *xdist)
    result.assert_outcomes(passed=8, failed=3, skipped=1, xfailed=1)
    reports = project.path / "reports"
    files = sorted(path.name for path in reports.iterdir())
    assert files == [
        "coverage.html",
        "coverage.json",
        "coverage.md",
        "junit-a-unavailable.xml",
        "junit-win-insider-unavailable.xml",
        "junit.xml",
        "matrix.html",
        "matrix.json",
        "matrix.md",
    ]
    for name in ("junit.xml", "junit-a-unavailable.xml", "junit-win-insider-unavailable.xml"):
        assert junit.problems(reports / name) == []
    per_target = junit.read(reports / "junit-a-unavailable.xml") + junit.read(
        reports / "junit-win-insider-unavailable.xml"
    )
    assert outcomes(per_target) == EXPECTED
    assert outcomes(junit.read(reports / "junit.xml")) == RAW  # pytest's own file, split by target


def test_matrix_and_terminal_summary_at_the_end_of_a_run(project: pytest.Pytester) -> None:
    result = project.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        [
            "*= parity certification =*",
            "broken: 1 checks fail on the reference a, so they judge no target (fix the check, or the reference):",
            "  suites/area/test_checks.py::test_fails",
            "a (linux, build unavailable): 5 pass, 1 broken",
            "win-insider (hyperv, build unavailable): 2 pass, 1 known divergence, 1 divergence fixed, "
            "1 not applicable, 1 broken",
            "  excludes 1 broken checks from its verdict",
            "  known divergence, 1 check: bind mounts lose this on hyperv (https://example.invalid/issues/3)",
            "parity: report */reports/matrix.html",
        ]
    )
    document = json.loads((project.path / "reports" / "matrix.json").read_text())
    assert [column["id"] for column in document["columns"]] == ["a", "win-insider"]
    [area] = document["areas"]
    assert area["area"] == "area"
    bind = next(check for check in area["checks"] if check["check"].endswith("test_diverges[bind]"))
    assert bind["results"]["win-insider"] == {
        "outcome": "known divergence",
        "detail": "",
        "reason": "bind mounts lose this on hyperv",
        "reference": "https://example.invalid/issues/3",
    }
    page = (project.path / "reports" / "matrix.html").read_text()
    assert '<a href="https://example.invalid/issues/3">' in page


def test_a_documented_row_that_passes_is_reported_not_failed(project: pytest.Pytester) -> None:
    """A row never observed on the platform (no 'observed') is a non-strict xfail: when the
    check passes, the run does not fail, and the reports say "documented, not observed"."""
    project.makefile(
        ".yaml",
        divergences="""
divergences:
  - check: suites/area/test_checks.py::test_fixed
    when: {kind: hyperv}
    reason: a document says this differs on hyperv
    reference: moby/moby#4
  - check: suites/area/test_checks.py::test_diverges
    params: {where: bind}
    when: {kind: hyperv}
    reason: a document says bind mounts lose this
    reference: moby/moby#5
""",
    )
    result = project.runpytest("-p", "no:cacheprovider", "-k", "not test_fails")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=8, skipped=1, xfailed=1, xpassed=1)
    result.stdout.fnmatch_lines(
        [
            "win-insider (hyperv, build unavailable): 2 pass, 1 known divergence, 1 documented, not observed, "
            "1 not applicable",
            "  known divergence, 1 check: a document says bind mounts lose this (moby/moby#5)",
            "  documented, not observed, 1 check: a document says this differs on hyperv (moby/moby#4)",
        ]
    )
    [run] = [run for run in junit.read_all([project.path / "reports"]) if run.target == "win-insider"]
    fixed = run.results["suites/area/test_checks.py::test_fixed"]
    assert (fixed.outcome, fixed.reason, fixed.reference) == (
        Outcome.UNOBSERVED,
        "a document says this differs on hyperv",
        "moby/moby#4",
    )
    assert junit.problems(next((project.path / "reports").glob("junit-win-insider-*.xml"))) == []


def test_merge_command_reads_the_reports_folder(project: pytest.Pytester) -> None:
    project.runpytest("--junitxml=reports/junit.xml", "-p", "no:cacheprovider")
    command = [sys.executable, "-m", "parity.certification", "reports", "--out", "merged"]
    done = subprocess.run(command, cwd=project.path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    document = json.loads((project.path / "merged" / "matrix.json").read_text())
    # pytest's own file is of the same run as the per-target files: each target once
    assert [(column["id"], Path(column["source"]).name) for column in document["columns"]] == [
        ("a", "junit-a-unavailable.xml"),
        ("win-insider", "junit-win-insider-unavailable.xml"),
    ]


def test_every_check_name_of_the_suites_stays_under_512_characters() -> None:
    command = [sys.executable, "-m", "pytest", "suites", "--collect-only", "-q", "-p", "no:cacheprovider"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    nodeids = [line for line in done.stdout.splitlines() if "::" in line]
    assert len(nodeids) > 100, done.stdout[-2000:] + done.stderr[-2000:]
    # a node id is longer than the JUnit classname.name it becomes ('/' -> '.', '.py::' -> '.')
    longest = max(nodeids, key=len)
    assert len(longest) < 512, longest


HOSTILE = r"""
import os

import pytest

# What a workload may print: control characters, a byte-order non-character, megabytes of
# it, and (serially) bytes that are not UTF-8, kept by surrogateescape; xdist's transport
# (execnet) carries only UTF-8-encodable text, and no check decodes output that way.
BAD = "" if os.environ.get("PYTEST_XDIST_WORKER") else b" bad\xff\xfe".decode("utf-8", "surrogateescape")
NASTY = "esc\x1b[31m nul\x00 bell\x07" + BAD + " \ufffe"

def test_fails_with_hostile_output(target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    print(NASTY * 1000)
    assert NASTY + "x" * 3_000_000 == NASTY

def test_skips_with_hostile_reason(target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    pytest.skip("not applicable: " + NASTY)

def test_errors_in_setup_with_hostile_output(target, request):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    pass

@pytest.fixture(autouse=True)
def hostile_setup(request):
    if request.node.name.startswith("test_errors_in_setup"):
        raise RuntimeError(NASTY)
"""


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_no_workload_output_can_lose_a_report(project: pytest.Pytester, xdist: list[str]) -> None:
    """Whatever a check's output holds, every report is written, valid against the xunit2
    schema, with what XML cannot carry escaped visibly."""
    (project.path / "suites" / "area" / "test_checks.py").write_text(HOSTILE)
    # a subprocess of our own: pytester decodes the terminal output as UTF-8, which it is not
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--junitxml=reports/junit.xml", "-p", "no:cacheprovider", *xdist],
        cwd=project.path,
        # the inner run decides for itself whether it is an xdist worker, whatever this one is
        env={key: value for key, value in os.environ.items() if not key.startswith("PYTEST_XDIST")},
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stderr.decode(errors="replace")[-2000:]
    assert b"2 failed, 2 skipped, 2 errors" in done.stdout
    reports = project.path / "reports"
    for name in ("junit.xml", "junit-a-unavailable.xml", "junit-win-insider-unavailable.xml"):
        assert junit.problems(reports / name) == []
    per_target = {run.target: run for run in junit.read_all([reports / "junit-a-unavailable.xml"])}
    failed = per_target["a"].results["suites/area/test_checks.py::test_fails_with_hostile_output"]
    assert failed.outcome == Outcome.BROKEN  # it fails on a, the reference, so it judges no target
    assert failed.detail.startswith("fails on the reference a: ")
    skipped = per_target["a"].results["suites/area/test_checks.py::test_skips_with_hostile_reason"]
    assert skipped.outcome == Outcome.NOT_APPLICABLE
    bad = " bad\\xff\\xfe" if not xdist else ""
    assert skipped.detail == f"esc\\x1b[31m nul\\x00 bell\\x07{bad} \\ufffe"
    assert (reports / "matrix.json").is_file()


INTERRUPTED_WITH_BROKEN_CLEANUP = """
import pytest

@pytest.fixture
def cleanup_that_fails():
    yield
    raise RuntimeError("cleanup cut short")

def test_passes(target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    pass

def test_interrupted(target, cleanup_that_fails):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    raise KeyboardInterrupt
"""


def test_reports_are_written_when_the_session_teardown_raises(project: pytest.Pytester) -> None:
    """Ctrl-C mid-check leaves the check's fixtures to the session's end; a cleanup that
    raises there must not cost the run its reports (seen in CI for the resource sweep)."""
    (project.path / "suites" / "area" / "test_checks.py").write_text(INTERRUPTED_WITH_BROKEN_CLEANUP)
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret != pytest.ExitCode.OK
    assert "RuntimeError: cleanup cut short" in result.stdout.str() + result.stderr.str()
    reports = project.path / "reports"
    # the interrupt came at the second check, so only target a has results
    assert sorted(path.name for path in reports.iterdir()) == [
        "coverage.html",
        "coverage.json",
        "coverage.md",
        "junit-a-unavailable.xml",
        "matrix.html",
        "matrix.json",
        "matrix.md",
    ]
    [run] = junit.read_all([reports])
    assert {check: (result.outcome, result.detail) for check, result in run.results.items()} == {
        "suites/area/test_checks.py::test_passes": (Outcome.PASS, ""),
        # interrupted in its call: no verdict, and certainly not a pass
        "suites/area/test_checks.py::test_interrupted": (
            Outcome.NOT_RUN,
            "not run: the run was interrupted before this check finished",
        ),
    }


def test_a_check_that_fails_on_the_reference_is_broken_everywhere_not_a_divergence(pytester: pytest.Pytester) -> None:
    """gVisor's rule: a check must pass natively before it judges a sandbox. A check
    that fails on the reference (here: an expectation that is simply wrong) is broken on
    every target of the run, even where it also fails, instead of reading as a
    divergence of the others; a check that passes on the reference still judges them."""
    pytester.makeconftest(STAND_IN_CONFTEST)
    pytester.makefile(
        ".yaml",
        matrix="""
reference: ref
targets:
  - {name: other, kind: mobyvm, engine: {url: 'unix:///nonexistent/o.sock'}}
  - {name: ref, kind: linux, engine: {url: 'unix:///nonexistent/r.sock'}}
""",
    )
    checks = pytester.mkdir("suites") / "area"
    checks.mkdir()
    (checks / "test_checks.py").write_text(
        """
def test_wrong_expectation(target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    assert 2 + 2 == 5

def test_real_divergence(target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    assert target == "ref"
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    # the reference runs first
    assert result.stdout.str().index("[ref]") < result.stdout.str().index("[other]")
    result.stdout.fnmatch_lines(["  suites/area/test_checks.py::test_wrong_expectation", "*  excludes 1 broken*"])
    runs = {run.target: run for run in junit.read_all([pytester.path / "reports"]) if run.target in ("ref", "other")}
    assert {t: {c: r.outcome for c, r in run.results.items()} for t, run in runs.items()} == {
        "ref": {
            "suites/area/test_checks.py::test_wrong_expectation": Outcome.BROKEN,
            "suites/area/test_checks.py::test_real_divergence": Outcome.PASS,
        },
        "other": {
            "suites/area/test_checks.py::test_wrong_expectation": Outcome.BROKEN,
            "suites/area/test_checks.py::test_real_divergence": Outcome.FAIL,
        },
    }
    assert (
        runs["other"]
        .results["suites/area/test_checks.py::test_wrong_expectation"]
        .detail.startswith("fails on the reference ref: ")
    )
    assert json.loads(runs["other"].properties["broken"]) == {
        "suites/area/test_checks.py::test_wrong_expectation": "suites/area/test_checks.py:6: AssertionError"
    }
