"""Known divergences (divergences.yaml) applied as xfail where a target's platform facts
match a row: strict for observed rows, not strict for rows known from documents only.

A row speaks of the check's own assertion: it applies to a failure of the call phase
only. An error in set-up or tear-down (a fixture the platform refused, a lost engine)
means the check never judged the platform, so it stays an error, never a known
divergence.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from parity.config.divergences import DivergenceError, find, load
from parity.platform.fact_table import FactValue
from plugins.state import ROWS, SELECTED, STATES, check_function, facts_of, rows_applying, target_of


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("parity").addoption(
        "--divergences",
        metavar="PATH",
        default=None,
        help="known divergences file (default: divergences.yaml in the rootdir); write --divergences=PATH",
    )


def pytest_configure(config: pytest.Config) -> None:
    option = config.getoption("--divergences")
    path = config.rootpath / "divergences.yaml" if option is None else Path(option)
    try:
        config.stash[ROWS] = load(path) if option is not None or path.is_file() else ()
    except DivergenceError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Which rows each target's facts select: a row no target matches is not used."""
    rows = config.stash.get(ROWS, ())
    states = config.stash.get(STATES, {})
    lines: list[str] = []
    if not rows:
        return lines
    for spec in config.stash[SELECTED]:
        state = states.get(spec.name)
        if state is None or state.facts is None:
            continue
        applied = rows_applying(config, spec.name)
        conditions = sorted({row.describe_when() for row in applied})
        lines.append(
            f"  {spec.name}: {len(applied)} of {len(rows)} known divergences apply"
            + (f" (when {'; '.join(conditions)})" if conditions else "")
        )
    return lines


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rows = config.stash[ROWS]
    if not rows:
        return
    tables: dict[str, dict[str, FactValue]] = {}
    for item in items:
        name = target_of(item)
        if name is None:
            continue
        if name not in tables:
            tables[name] = facts_of(config, name)
        params = item.callspec.params  # type: ignore[attr-defined]  # an item with a target is parametrized
        row = find(rows, check_function(item), params, tables[name])
        if row is not None:
            item.add_marker(pytest.mark.xfail(reason=row.xfail_reason(), strict=bool(row.observed)))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Outermost, so after pytest's own xfail handling, which also turns a set-up or
    tear-down exception into an xfail: undo that, the error is the verdict."""
    report = yield
    if (
        report.when != "call"
        and getattr(report, "wasxfail", None) is not None
        and call.excinfo is not None
        and not isinstance(call.excinfo.value, pytest.skip.Exception)
    ):
        del report.wasxfail  # pytest sets it on xfailed reports
        report.outcome = "failed"
    return report
