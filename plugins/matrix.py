"""Options, target selection and parametrization from ``matrix.yaml``.

Every test that takes ``target`` runs once per selected target, with the target's name
as id and the marker of its kind, so ``-m hyperv`` selects hyperv targets only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

# pytest's own -m grammar (not public API): the same meaning as -m itself
from _pytest.mark.expression import Expression

from parity import kinds
from parity.config.matrix import MatrixError, load
from parity.platform.capabilities import CAPABILITIES
from parity.platform.fact_table import VERSION_FACTS
from plugins.state import MATRIX_PATH, REFERENCE, SELECTED


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("parity", "parity conformance targets")
    group.addoption(
        "--matrix",
        metavar="PATH",
        default=None,
        help="targets file (default: matrix.yaml in the rootdir); write --matrix=PATH, since pytest takes a "
        "separate path argument for a test path when it looks for its rootdir",
    )
    group.addoption(
        "--target",
        metavar="NAME",
        action="append",
        default=[],
        help="run against this target only; repeat for more (default: every target whose engine answers, "
        "and targets with 'launch' only when -m names their kind)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for kind in kinds.KINDS.values():
        config.addinivalue_line("markers", f"{kind.name}: runs against a target of kind {kind.name}")
    config.addinivalue_line(
        "markers",
        "requires(*capabilities): not applicable to targets that do not declare these capabilities "
        f"({', '.join(sorted(CAPABILITIES))})",
    )
    config.addinivalue_line(
        "markers",
        "since(fact, version, source, params={}): a behaviour Linux or Docker added in that version "
        f"(fact: one of {', '.join(sorted(VERSION_FACTS))}); not applicable on a target whose fact is "
        "below it, for the check's parameters given in params",
    )
    option = config.getoption("--matrix")
    path = Path(option) if option else config.rootpath / "matrix.yaml"
    try:
        matrix = load(path)
        selected = matrix.select(config.getoption("--target"), _kind_named_by_markexpr(config))
    except MatrixError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[MATRIX_PATH] = path
    config.stash[SELECTED] = selected
    reference = matrix.reference_target()
    config.stash[REFERENCE] = reference if reference in {spec.name for spec in selected} else None


def _kind_named_by_markexpr(config: pytest.Config) -> Callable[[str], bool]:
    """Whether -m names a kind and selects it ("-m mobyvm", "-m 'linux or mobyvm'"), which
    opts in launched targets of that kind; "-m 'not slow'" names no kind and opts in none."""
    text = config.getoption("markexpr") or ""
    try:
        expression = Expression.compile(text) if text else None
    except Exception:  # pytest reports a bad -m itself
        expression = None

    def selects(kind: str) -> bool:
        def only_this_kind(name: str, /, **kwargs: str | int | bool | None) -> bool:
            return name == kind

        named = re.search(rf"\b{re.escape(kind)}\b", text) is not None
        return named and expression is not None and expression.evaluate(only_this_kind)

    return selects


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" not in metafunc.fixturenames:
        return
    specs = metafunc.config.stash[SELECTED]
    # one xdist group per target: under --dist loadgroup each target's checks run on one
    # worker, so targets run concurrently and a slow target does not hold up the others
    metafunc.parametrize(
        "target",
        [
            pytest.param(
                spec.name, id=spec.name, marks=[getattr(pytest.mark, spec.kind), pytest.mark.xdist_group(spec.name)]
            )
            for spec in specs
        ],
        indirect=True,
        scope="session",
    )
