"""Requirement metadata: every check of the catalogue states its level and source link; a
check without them stops the run before anything runs; ``--level must`` runs the MUST
checks only; the per-target JUnit files carry each check's requirement; the matrix
certifies a target at the highest level whose checks all conform."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from parity.certification import junit
from parity.certification.matrix import build_matrix
from parity.certification.requirements import (
    Level,
    Requirement,
    RequirementError,
    catalogue,
    parse,
    requirement_id,
)
from parity.certification.results import Outcome, Result, TargetRun
from tests.fake_engine import STAND_IN_CONFTEST

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
LINK = "https://man7.org/linux/man-pages/man2/chmod.2.html"


def test_every_check_of_the_catalogue_states_its_level_and_source() -> None:
    """The catalogue read from source: each check function has a requirement with a
    distinct id, and both levels occur (a catalogue all MUST or all SHOULD would mean
    the levels were not judged)."""
    found = catalogue(ROOT)
    assert len(found) > 150
    assert {requirement.level for requirement in found.values()} == {Level.MUST, Level.SHOULD}
    assert all(requirement.link.startswith("https://") for requirement in found.values())


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        ("suites/volumes/test_file_semantics.py::test_chmod_persists", "volumes.file_semantics.chmod_persists"),
        ("suites/area/test_checks.py::test_one", "area.checks.one"),
        ("test_checks.py::test_one", "checks.one"),
    ],
)
def test_requirement_id_is_the_place_in_the_catalogue(check: str, expected: str) -> None:
    assert requirement_id(check) == expected


def test_a_docstring_states_its_requirement_on_its_last_line() -> None:
    docstring = f"chmod sets the bits.\n\nSource: chmod(2).\nLevel: MUST, {LINK}\n"
    assert parse("suites/v/test_f.py::test_chmod", docstring) == Requirement("v.f.chmod", Level.MUST, LINK)


@pytest.mark.parametrize(
    ("docstring", "why"),
    [
        (None, "it has none"),
        ("chmod sets the bits.\n\nSource: chmod(2).", "it has none"),
        (f"Source: chmod(2).\nLevel: MUST, {LINK}\nMore text.", "not the last or not in that form"),
        (f"Source: chmod(2).\nLevel: MAY, {LINK}", "not the last or not in that form"),
        ("Source: chmod(2).\nLevel: MUST, man7.org/chmod", "not the last or not in that form"),
        (f"chmod sets the bits.\nLevel: SHOULD, {LINK}", "no 'Source:' paragraph"),
    ],
)
def test_a_docstring_without_a_valid_requirement_is_refused_by_name(docstring: str | None, why: str) -> None:
    with pytest.raises(RequirementError) as refused:
        parse("suites/v/test_f.py::test_chmod", docstring)
    assert str(refused.value).startswith("suites/v/test_f.py::test_chmod: ")
    assert why in str(refused.value)


def test_two_checks_with_one_id_are_refused(tmp_path: Path) -> None:
    """suites/a/test_b.py and suites/test_a/test_b.py would both give 'a.b.x'."""
    doc = f'    """Source: x(2).\n    Level: MUST, {LINK}\n    """\n'
    for folder in ("a", "test_a"):
        (tmp_path / "suites" / folder).mkdir(parents=True)
        (tmp_path / "suites" / folder / "test_b.py").write_text(f"def test_x():\n{doc}")
    with pytest.raises(RequirementError, match=r"its id 'a\.b\.x' is also"):
        catalogue(tmp_path)


MATRIX = """
targets:
  - {name: a, kind: linux, engine: {url: 'unix:///nonexistent/a.sock'}}
"""

CHECKS = f'''
def test_must(target):
    """Source: chmod(2).
    Level: MUST, {LINK}
    """


def test_should(target):
    """Source: Docker docs "Bind mounts".
    Level: SHOULD, https://docs.docker.com/engine/storage/bind-mounts/
    """
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(STAND_IN_CONFTEST)
    pytester.makefile(".yaml", matrix=MATRIX)
    checks = pytester.mkdir("suites") / "area"
    checks.mkdir()
    (checks / "test_checks.py").write_text(CHECKS)
    return pytester


def test_a_check_without_a_requirement_stops_the_run_naming_it(project: pytest.Pytester) -> None:
    (project.path / "suites" / "area" / "test_more.py").write_text("def test_bare(target):\n    pass\n")
    result = project.runpytest("--collect-only", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: checks without requirement metadata:", "  suites/area/test_more.py::test_bare: needs *; it has none"]
    )


def test_level_must_runs_the_must_checks_only(project: pytest.Pytester) -> None:
    result = project.runpytest("--level=must", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, deselected=1)
    suite = ET.parse(project.path / "reports" / "junit-a-unavailable.xml").getroot().find("testsuite")
    assert suite is not None
    assert [case.get("name") for case in suite.iter("testcase")] == ["test_must[a]"]
    written = {prop.get("name"): prop.get("value") for prop in suite.iter("property")}
    assert written["level"] == "MUST"


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_each_testcase_carries_its_requirement_in_the_junit_file(project: pytest.Pytester, xdist: list[str]) -> None:
    project.runpytest_subprocess("-p", "no:cacheprovider", *xdist)
    path = project.path / "reports" / "junit-a-unavailable.xml"
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    cases = {case.get("name"): (case.get("group"), case.get("url")) for case in suite.iter("testcase")}
    assert cases == {
        "test_must[a]": ("MUST", LINK),
        "test_should[a]": ("SHOULD", "https://docs.docker.com/engine/storage/bind-mounts/"),
    }
    written = {prop.get("name"): prop.get("value") for prop in suite.iter("property")}
    assert written["level"] == "SHOULD"
    assert json.loads(written["requirements"] or "") == {
        "suites/area/test_checks.py::test_must": {"id": "area.checks.must", "level": "MUST", "link": LINK},
        "suites/area/test_checks.py::test_should": {
            "id": "area.checks.should",
            "level": "SHOULD",
            "link": "https://docs.docker.com/engine/storage/bind-mounts/",
        },
    }
    assert junit.problems(path) == []


REQUIREMENTS = json.dumps(
    {
        "suites/area/test_checks.py::test_must": {"id": "area.checks.must", "level": "MUST", "link": LINK},
        "suites/area/test_checks.py::test_should": {"id": "area.checks.should", "level": "SHOULD", "link": LINK},
    }
)


def run_of(target: str, level: str, must: Outcome, should: Outcome | None) -> TargetRun:
    results = {"suites/area/test_checks.py::test_must[bind]": Result(must)}
    if should is not None:
        results["suites/area/test_checks.py::test_should"] = Result(should)
    properties = {"target": target, "level": level, "requirements": REQUIREMENTS}
    return TargetRun(target, "linux", "1", "run", Path(f"{target}.xml"), "", properties, results)


@pytest.mark.parametrize(
    ("level", "must", "should", "certified"),
    [
        ("SHOULD", Outcome.PASS, Outcome.PASS, Level.SHOULD),
        ("SHOULD", Outcome.PASS, Outcome.FAIL, Level.MUST),  # a SHOULD failure keeps MUST
        ("SHOULD", Outcome.DIVERGENCE, Outcome.NOT_APPLICABLE, Level.SHOULD),  # known and explained
        ("SHOULD", Outcome.FAIL, Outcome.PASS, None),
        ("SHOULD", Outcome.FIXED, Outcome.PASS, None),  # the row is wrong now
        ("SHOULD", Outcome.NOT_RUN, Outcome.PASS, None),
        ("MUST", Outcome.PASS, None, Level.MUST),  # a MUST run cannot certify SHOULD
        ("MUST", Outcome.ERROR, None, None),
    ],
)
def test_a_target_is_certified_at_the_highest_level_whose_checks_conform(
    level: str, must: Outcome, should: Outcome | None, certified: Level | None
) -> None:
    matrix = build_matrix([run_of("a", level, must, should)])
    verdict = matrix.verdict(matrix.columns[0])
    assert (verdict.level, verdict.checked) == (certified, Level(level))
    blocked = [
        check
        for check, outcome in (("test_must[bind]", must), ("test_should", should))
        if outcome in {Outcome.FAIL, Outcome.FIXED, Outcome.NOT_RUN, Outcome.ERROR}
    ]
    assert verdict.blocking[Level.SHOULD] == [f"suites/area/test_checks.py::{check}" for check in blocked]


def test_a_check_no_report_states_a_level_for_counts_as_must() -> None:
    """An older report without requirements: its failures keep the target from every level."""
    run = TargetRun(
        "a", "linux", "1", "run", Path("a.xml"), "", {}, {"suites/x/test_y.py::test_z": Result(Outcome.FAIL)}
    )
    matrix = build_matrix([run])
    assert matrix.verdict(matrix.columns[0]).level is None
    assert matrix.level_of("suites/x/test_y.py::test_z") == Level.MUST
