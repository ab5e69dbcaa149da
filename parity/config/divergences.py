"""Known divergences: checks expected to fail on some platforms, as data.

Each row of ``divergences.yaml`` names a check (its file and function, optionally the
values of its own parameters), when it applies in terms of platform facts
(parity.platform.fact_table: the bind mount's file system, the isolation, the engine
version...), why it diverges and a public reference. Observed rows are applied as strict xfail, so a platform that gets fixed
shows up as a failure until its row is removed; rows known from documents only are
applied as non-strict xfail and a pass is reported as "documented, not observed".
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from parity import kinds
from parity.platform.fact_table import FACTS, LIST_FACTS, VERSION_FACTS, FactValue, version_below

XFAIL_PREFIX = "known divergence: "


def parse_xfail_reason(text: str) -> tuple[str, str] | None:
    """(reason, reference) from an xfail reason written by Divergence.xfail_reason, or
    None for any other text. The reference is the last parenthesised part, which may
    hold parentheses of its own ("moby#37296 (the memory limit sizes the VM)")."""
    text = text.strip()
    if not (text.startswith(XFAIL_PREFIX) and text.endswith(")")):
        return None
    depth = 0
    for at in range(len(text) - 1, len(XFAIL_PREFIX) - 1, -1):
        depth += {")": 1, "(": -1}.get(text[at], 0)
        if depth == 0:
            reason = text[len(XFAIL_PREFIX) : at]
            if not reason.endswith(" ") or not reason.strip():
                return None
            return reason[:-1], text[at + 1 : -1]
    return None


class DivergenceError(Exception):
    """An unusable divergences file; the message is one line."""


class Bound(BaseModel):
    """A condition on a version fact (below, at_least) or a list fact (has, lacks)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    below: str | None = Field(default=None, pattern=r"^\d+(\.\d+)*$")
    at_least: str | None = Field(default=None, pattern=r"^\d+(\.\d+)*$")
    has: tuple[str, ...] = ()
    lacks: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _says_something(self) -> Bound:
        if self.below is None and self.at_least is None and not self.has and not self.lacks:
            raise ValueError("a condition needs below, at_least, has or lacks")
        return self

    def holds(self, value: FactValue) -> bool:
        if self.below is not None or self.at_least is not None:
            if not isinstance(value, str):
                return False
            if self.below is not None and version_below(value, self.below) is not True:
                return False
            if self.at_least is not None and version_below(value, self.at_least) is not False:
                return False
        present = set(value) if isinstance(value, tuple) else {value}
        return all(item in present for item in self.has) and not any(item in present for item in self.lacks)


Condition = str | tuple[str, ...] | Bound


def condition_holds(condition: Condition, value: FactValue) -> bool:
    """A text: the fact is it (a list fact: contains it); a list: any of them; a Bound."""
    if isinstance(condition, Bound):
        return condition.holds(value)
    wanted = (condition,) if isinstance(condition, str) else condition
    present = value if isinstance(value, tuple) else (value,)
    return any(item in present for item in wanted)


class Divergence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str = Field(pattern=r"^[\w./-]+\.py::test_\w+$")  # file::function, relative to the rootdir
    params: dict[str, str] = Field(default_factory=dict)  # the check's own parameters (not target)
    # platform facts (parity.platform.fact_table.FACTS) -> what they must be for the row
    # to apply; every condition must hold, and an unknown fact holds none
    when: dict[str, Condition] = Field(min_length=1)
    reason: str = Field(min_length=10)
    reference: str = Field(min_length=5)  # a public issue, document or man page
    # where and when the divergence was seen, e.g. "Windows Server 26100.1, 2026-11-02".
    # An observed row is a strict xfail: a fix fails the run until the row goes. A row
    # known from documents only is not strict: when the check passes, reports say
    # "documented, not observed" instead of failing the run.
    observed: str = ""

    @field_validator("when")
    @classmethod
    def _known_facts(cls, when: dict[str, Condition]) -> dict[str, Condition]:
        for name, condition in when.items():
            if name not in FACTS:
                raise ValueError(f"unknown fact {name!r} (known: {', '.join(FACTS)})")
            if name == "kind" and not isinstance(condition, Bound):
                named = (condition,) if isinstance(condition, str) else condition
                for kind in named:
                    if kind not in kinds.NAMES:
                        raise ValueError(f"kind: unknown kind {kind!r} (known: {', '.join(kinds.NAMES)})")
            if isinstance(condition, Bound):
                if (condition.below or condition.at_least) and name not in VERSION_FACTS:
                    raise ValueError(f"{name}: below/at_least compare versions: {', '.join(sorted(VERSION_FACTS))}")
                if (condition.has or condition.lacks) and name not in LIST_FACTS:
                    raise ValueError(f"{name}: has/lacks test lists: {', '.join(sorted(LIST_FACTS))}")
        return when

    def applies_to(self, facts: Mapping[str, FactValue]) -> bool:
        """Whether every condition holds on a target's facts."""
        return all(name in facts and condition_holds(cond, facts[name]) for name, cond in self.when.items())

    def describe_when(self) -> str:
        """The conditions in one line, e.g. 'bind.fstype 9p, os_type linux'."""

        def text(condition: Condition) -> str:
            if isinstance(condition, Bound):
                parts = [("below", condition.below), ("at least", condition.at_least)]
                words = [f"{word} {value}" for word, value in parts if value]
                words += [f"has {item}" for item in condition.has] + [f"lacks {item}" for item in condition.lacks]
                return " and ".join(words)
            return condition if isinstance(condition, str) else " or ".join(condition)

        return ", ".join(f"{name} {text(cond)}" for name, cond in self.when.items())

    def describe(self) -> str:
        """The row in one line: 'suites/x.py::test_y[kind=bind] when bind.fstype 9p'."""
        params = ",".join(f"{key}={value}" for key, value in self.params.items())
        return f"{self.check}{f'[{params}]' if params else ''} when {self.describe_when()}"

    def xfail_reason(self) -> str:
        """The strict xfail's reason; reports read it back with parse_xfail_reason."""
        return f"{XFAIL_PREFIX}{self.reason} ({self.reference})"

    def matches(self, check: str, params: Mapping[str, Any], facts: Mapping[str, FactValue]) -> bool:
        return (
            check == self.check
            and all(str(params.get(key)) == value for key, value in self.params.items())
            and self.applies_to(facts)
        )


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    divergences: tuple[Divergence, ...] = ()


def load(path: Path) -> tuple[Divergence, ...]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return _File.model_validate(raw).divergences
    except OSError as exc:
        raise DivergenceError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise DivergenceError(f"{path}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise DivergenceError(f"{path}: {where}: {str(first['msg']).removeprefix('Value error, ')}") from None


def find(
    rows: tuple[Divergence, ...], check: str, params: Mapping[str, Any], facts: Mapping[str, FactValue]
) -> Divergence | None:
    return next((row for row in rows if row.matches(check, params, facts)), None)


def applying(rows: tuple[Divergence, ...], facts: Mapping[str, FactValue]) -> tuple[Divergence, ...]:
    """The rows whose conditions hold on a target's facts: the only ones its run uses."""
    return tuple(row for row in rows if row.applies_to(facts))
