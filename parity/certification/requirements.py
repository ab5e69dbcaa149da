"""What each check requires, and how strongly: a stable id, a level and the source's link.

A check's docstring ends with its ``Source:`` paragraph and one line such as::

    Level: MUST, https://man7.org/linux/man-pages/man2/chmod.2.html

The levels are RFC 2119's, as OCI runtime-tools and Kubernetes conformance use them:

- MUST: Linux's documented interface (a man page), POSIX, the OCI runtime or image
  specification, or the Engine API reference requires what the check asserts;
- SHOULD: the check asserts Docker's documented default or behaviour (Docker docs, moby's
  code), which a legal non-default configuration may change.

The id is the check function's place in the catalogue, without the ``suites/`` and
``test_`` prefixes: ``volumes.file_semantics.chmod_persists``. It is stable while the
function keeps its name and module, as the JUnit test names are.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Level(StrEnum):
    MUST = "MUST"
    SHOULD = "SHOULD"


# the checks a level certifies: MUST certifies the MUST checks only, SHOULD all of them
COVERS: Mapping[Level, frozenset[Level]] = {
    Level.MUST: frozenset({Level.MUST}),
    Level.SHOULD: frozenset({Level.MUST, Level.SHOULD}),
}

LEVEL_LINE = re.compile(r"^Level: (?P<level>MUST|SHOULD), (?P<link>https://\S+)$")
FORMAT = "a last docstring line 'Level: MUST|SHOULD, https://...' (parity/certification/requirements.py)"


class RequirementError(Exception):
    """A check without valid requirement metadata; the message names the check."""


@dataclass(frozen=True)
class Requirement:
    id: str
    level: Level
    link: str

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "level": self.level.value, "link": self.link}

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> Requirement:
        return cls(data["id"], Level(data["level"]), data["link"])


def requirement_id(check_function: str) -> str:
    """'suites/volumes/test_x.py::test_y' -> 'volumes.x.y'."""
    path, _, function = check_function.partition("::")
    parts = path.removesuffix(".py").split("/")
    if parts and parts[0] == "suites":
        parts = parts[1:]
    parts = [part.removeprefix("test_") for part in parts]
    return ".".join([*parts, *(name.removeprefix("test_") for name in function.split("::"))])


def parse(check_function: str, docstring: str | None) -> Requirement:
    """The requirement a check's docstring states; RequirementError when it states none."""
    lines = [line.strip() for line in (docstring or "").strip().splitlines()]
    last = lines[-1] if lines else ""
    found = LEVEL_LINE.match(last)
    if found is None:
        stated = next((line for line in lines if line.startswith("Level:")), None)
        why = f"its line {stated!r} is not the last or not in that form" if stated else "it has none"
        raise RequirementError(f"{check_function}: needs {FORMAT}; {why}")
    if not any(line.startswith("Source:") for line in lines):
        raise RequirementError(f"{check_function}: its docstring has no 'Source:' paragraph before its level")
    return Requirement(requirement_id(check_function), Level(found["level"]), found["link"])


def of_function(check_function: str, function: Callable[..., object]) -> Requirement:
    return parse(check_function, inspect.getdoc(function))


def catalogue(root: Path, folder: str = "suites") -> dict[str, Requirement]:
    """Every check function under ``root/folder`` and its requirement, read from the source
    without importing it (so without an engine). RequirementError names the first check
    without one; a duplicate id is an error too."""
    found: dict[str, Requirement] = {}
    for path in sorted((root / folder).rglob("test_*.py")):
        relative = path.relative_to(root).as_posix()
        for function in _check_functions(ast.parse(path.read_text(encoding="utf-8"))):
            check = f"{relative}::{function.name}"
            found[check] = parse(check, ast.get_docstring(function))
    _unique(found)
    return found


def _check_functions(module: ast.Module) -> Iterable[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in module.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            yield node


def _unique(found: Mapping[str, Requirement]) -> None:
    seen: dict[str, str] = {}
    for check, requirement in found.items():
        other = seen.setdefault(requirement.id, check)
        if other != check:
            raise RequirementError(f"{check}: its id {requirement.id!r} is also {other}'s")


def from_property(text: str) -> dict[str, Requirement]:
    """The requirements a JUnit file's ``requirements`` property lists: {check function: requirement}."""
    return {check: Requirement.from_json(data) for check, data in json.loads(text).items()} if text else {}


def function_of(check: str) -> str:
    """'suites/x/test_y.py::test_z[bind]' -> 'suites/x/test_y.py::test_z' (parameters off)."""
    return check.split("[", 1)[0]
