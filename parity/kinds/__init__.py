"""The kinds of platform a target can be, each defined once in a module of this package
that sets ``KIND``: adding a platform is a module here plus its row in ``matrix.yaml``."""

from __future__ import annotations

import importlib
import pkgutil
from typing import cast

from parity.kinds.base import Kind, engine_said
from parity.platform.facts import EngineFacts


def _discover() -> dict[str, Kind]:
    found: dict[str, Kind] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base":
            continue
        kind = cast("Kind", importlib.import_module(f"{__name__}.{module.name}").KIND)
        found[kind.name] = kind
    return dict(sorted(found.items(), key=lambda item: item[1].rank))


KINDS: dict[str, Kind] = _discover()
NAMES: tuple[str, ...] = tuple(KINDS)


def choices() -> str:
    """The kind names as a one-line choice: "'linux', 'mobyvm' or 'hyperv'"."""
    quoted = [repr(name) for name in NAMES]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def get(name: str) -> Kind:
    return KINDS[name]


def contradiction(kind: str, isolation: str | None, facts: EngineFacts) -> str | None:
    """Why the engine contradicts a target's declared kind and isolation, or None."""
    found = KINDS[kind].contradiction(facts)
    if found is None and isolation and not facts.is_windows:
        return f"declared isolation {isolation}, but isolation applies to Windows engines only ({engine_said(facts)})"
    return found
