"""Known divergences: checks expected to fail on some kinds of target, as data.

Each row of ``divergences.yaml`` names a check (its file and function, optionally the
values of its own parameters), the target kinds it applies to, why it diverges and a
public reference. Observed rows are applied as strict xfail, so a platform that gets fixed
shows up as a failure until its row is removed; rows known from documents only are
applied as non-strict xfail and a pass is reported as "documented, not observed".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parity.config.matrix import KindName

XFAIL_PREFIX = "known divergence: "
_XFAIL_REASON = re.compile(r"^" + re.escape(XFAIL_PREFIX) + r"(?P<reason>.+) \((?P<reference>[^()]+)\)$", re.DOTALL)


def parse_xfail_reason(text: str) -> tuple[str, str] | None:
    """(reason, reference) from an xfail reason written by Divergence.xfail_reason, or
    None for any other text. The reference is the last parenthesised part."""
    found = _XFAIL_REASON.match(text.strip())
    return (found["reason"], found["reference"]) if found else None


class DivergenceError(Exception):
    """An unusable divergences file; the message is one line."""


class Divergence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str = Field(pattern=r"^[\w./-]+\.py::test_\w+$")  # file::function, relative to the rootdir
    params: dict[str, str] = Field(default_factory=dict)  # the check's own parameters (not target)
    kinds: tuple[KindName, ...] = Field(min_length=1)
    reason: str = Field(min_length=10)
    reference: str = Field(min_length=5)  # a public issue, document or man page
    # where and when the divergence was seen, e.g. "Windows Server 26100.1, 2026-11-02".
    # An observed row is a strict xfail: a fix fails the run until the row goes. A row
    # known from documents only is not strict: when the check passes, reports say
    # "documented, not observed" instead of failing the run.
    observed: str = ""

    def xfail_reason(self) -> str:
        """The strict xfail's reason; reports read it back with parse_xfail_reason."""
        return f"{XFAIL_PREFIX}{self.reason} ({self.reference})"

    def matches(self, check: str, params: Mapping[str, Any], kind: str) -> bool:
        return (
            check == self.check
            and kind in self.kinds
            and all(str(params.get(key)) == value for key, value in self.params.items())
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
        raise DivergenceError(f"{path}: {where}: {first['msg']}") from None


def find(rows: tuple[Divergence, ...], check: str, params: Mapping[str, Any], kind: str) -> Divergence | None:
    return next((row for row in rows if row.matches(check, params, kind)), None)
