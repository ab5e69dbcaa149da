"""Known divergences as data: strict xfail per kind, and the shipped file names real checks."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from parity.config.divergences import load
from tests.fake_engine import STAND_IN_CONFTEST

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]

MATRIX = """
targets:
  - {name: a, kind: linux, engine: {url: 'unix:///nonexistent/a.sock'}}
  - {name: c, kind: hyperv, engine: {url: 'unix:///nonexistent/c.sock'}}
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
    assert False

@pytest.mark.parametrize("where", ["bind", "tmpfs"])
def test_on(target, where):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    assert where != "bind"
"""

ROWS = """
divergences:
  - check: test_checks.py::test_fails
    when: {kind: hyperv}
    reason: fails on hyperv for a documented reason
    reference: moby/moby#1
    observed: a test host, 2026-12-02
  - check: test_checks.py::test_passes
    when: {kind: hyperv}
    reason: was broken on hyperv, now fixed
    reference: moby/moby#2
    observed: a test host, 2026-12-02
  - check: test_checks.py::test_on
    params: {where: bind}
    when: {kind: [linux, hyperv]}
    reason: bind mounts differ everywhere here
    reference: moby/moby#3
    observed: a test host, 2026-12-02
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(STAND_IN_CONFTEST)
    pytester.makefile(".yaml", matrix=MATRIX, divergences=ROWS)
    pytester.makepyfile(test_checks=CHECKS)
    return pytester


def test_rows_apply_as_strict_xfail_by_kind_and_params(project: pytest.Pytester) -> None:
    result = project.runpytest("-rfx")
    result.assert_outcomes(passed=3, failed=2, xfailed=3)
    for line in [
        "XFAIL test_checks.py::test_fails[[]c[]] - known divergence: fails on hyperv for a documented reason (moby/moby#1)",
        "XFAIL test_checks.py::test_on[[]a-bind[]] - known divergence: bind mounts differ everywhere here (moby/moby#3)",
        "XFAIL test_checks.py::test_on[[]c-bind[]] - known divergence: bind mounts differ everywhere here (moby/moby#3)",
        "[[]XPASS(strict)[]] known divergence: was broken on hyperv, now fixed (moby/moby#2)",
        "FAILED test_checks.py::test_fails[[]a[]] - assert False",
    ]:
        result.stdout.fnmatch_lines([line])


def test_a_row_never_turns_a_set_up_or_tear_down_error_into_a_known_divergence(project: pytest.Pytester) -> None:
    """A check whose set-up failed never judged the platform: its row must not apply."""
    project.makepyfile(
        test_checks="""
import pytest

@pytest.fixture
def refused():
    raise RuntimeError("the engine refused the fixture's container")

@pytest.fixture
def breaks_after():
    yield
    raise RuntimeError("tear-down failed")

def test_fails(target, refused):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    assert False

def test_passes(target, breaks_after):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    assert False

@pytest.mark.parametrize("where", ["bind", "tmpfs"])
def test_on(target, where):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    pytest.skip("not applicable: skipped in the call, as a check may be")
"""
    )
    result = project.runpytest("-rfEx")
    # test_fails[c] carries a row but never ran: an error, not an xfail. test_passes[c]
    # fails its assertion as its row says (xfail), then errors in tear-down: the error stays.
    result.assert_outcomes(errors=4, failed=1, skipped=4, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "ERROR test_checks.py::test_fails[[]c[]] - RuntimeError: the engine refused*",
            "ERROR test_checks.py::test_passes[[]c[]] - RuntimeError: tear-down failed",
        ]
    )
    assert "XFAIL test_checks.py::test_fails[c]" not in result.stdout.str()


def test_broken_divergences_file_is_one_line(project: pytest.Pytester) -> None:
    project.makefile(
        ".yaml", divergences="divergences:\n  - check: test_checks.py::test_fails\n    when: {kind: windows}\n"
    )
    result = project.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: *divergences.yaml: divergences.0.when: kind: unknown kind 'windows' (known: linux, mobyvm, hyperv)"]
    )


def unknown_checks(path: Path) -> list[str]:
    """Rows of a divergences file that name no existing check or a parameter it lacks."""
    problems = []
    for row in load(path):
        file, function_name = row.check.split("::")
        module = importlib.import_module(file.removesuffix(".py").replace("/", "."))
        function = getattr(module, function_name, None)
        if function is None:
            problems.append(f"{row.check}: no such check")
            continue
        missing = set(row.params) - set(inspect.signature(function).parameters)
        if missing:
            problems.append(f"{row.check}: no parameter {', '.join(sorted(missing))}")
    return problems


def test_rows_naming_no_check_are_found(tmp_path: Path) -> None:
    rows = tmp_path / "divergences.yaml"
    rows.write_text(
        "divergences:\n"
        "  - {check: suites/syscalls/test_identity.py::test_nosuch, when: {kind: hyperv}, reason: a made-up row, reference: none#0}\n"
        "  - {check: suites/volumes/test_file_semantics.py::test_mkfifo, params: {where: bind}, when: {kind: hyperv}, reason: a made-up row, reference: none#0}\n"
        "  - {check: suites/volumes/test_file_semantics.py::test_mkfifo, params: {kind: bind}, when: {kind: hyperv}, reason: a real row, reference: none#0}\n"
    )
    assert unknown_checks(rows) == [
        "suites/syscalls/test_identity.py::test_nosuch: no such check",
        "suites/volumes/test_file_semantics.py::test_mkfifo: no parameter where",
    ]


def test_every_shipped_row_names_an_existing_check_and_its_parameters() -> None:
    assert unknown_checks(ROOT / "divergences.yaml") == []
