"""Known divergences (divergences.yaml) applied as strict xfail, per target kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.divergences import Divergence, DivergenceError, find, load
from plugins import matrix

ROWS = pytest.StashKey[tuple[Divergence, ...]]()


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


def check_name(item: pytest.Item) -> str:
    """'suites/<file>.py::<function>' of a test item, independent of its parameters."""
    path = item.nodeid.split("::", 1)[0]
    return f"{path}::{getattr(item, 'originalname', item.name)}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rows = config.stash[ROWS]
    if not rows:
        return
    kinds = {spec.name: spec.kind for spec in config.stash[matrix.SELECTED]}
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "target" not in callspec.params:
            continue
        row = find(rows, check_name(item), callspec.params, kinds[callspec.params["target"]])
        if row is not None:
            item.add_marker(pytest.mark.xfail(reason=row.xfail_reason(), strict=True))
