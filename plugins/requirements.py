"""Each check's requirement (id, level, source link, from its docstring), and ``--level``.

A check without valid metadata is a usage error naming it, before anything runs: a check
whose strength nobody stated cannot certify anything. ``--level must`` runs and certifies
the MUST checks only; the SHOULD checks are deselected. Each report carries its check's
requirement to the controller, which writes it into the per-target JUnit file.
"""

from __future__ import annotations

import json
from collections.abc import Generator

import pytest

from parity.certification.requirements import COVERS, Level, Requirement, RequirementError, of_function
from plugins.state import LEVEL, check_function, target_of

REQUIREMENT = pytest.StashKey[Requirement]()  # on an item: what the check requires


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("parity").addoption(
        "--level",
        choices=[level.value.lower() for level in Level],
        default=Level.SHOULD.value.lower(),
        help="certify at this level: 'must' runs the MUST checks only; 'should' (default) runs all",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[LEVEL] = Level(str(config.getoption("--level")).upper())


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every check's requirement, or one usage error listing the checks without one; then
    the checks of a level the run does not certify are deselected."""
    found: dict[str, Requirement] = {}
    problems: dict[str, str] = {}
    for item in items:
        if target_of(item) is None:
            continue
        check = check_function(item)
        if check not in found and check not in problems:
            try:
                found[check] = of_function(check, getattr(item, "function"))  # noqa: B009  # Item has no .function
            except RequirementError as exc:
                problems[check] = str(exc)
        if check in found:
            item.stash[REQUIREMENT] = found[check]
    if problems:
        raise pytest.UsageError("checks without requirement metadata:\n  " + "\n  ".join(problems.values()))
    covered = COVERS[config.stash[LEVEL]]
    kept = [item for item in items if REQUIREMENT not in item.stash or item.stash[REQUIREMENT].level in covered]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """The requirement travels on the report (xdist carries report attributes)."""
    report = yield
    requirement = item.stash.get(REQUIREMENT, None)
    if requirement is not None:
        report.parity_requirement = json.dumps(requirement.as_json())  # type: ignore[attr-defined]
    return report
