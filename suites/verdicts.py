"""Verdicts a check gives itself when it cannot judge a target."""

from __future__ import annotations

from typing import NoReturn, TypeVar

import pytest

from parity.certification.results import NOT_APPLICABLE

T = TypeVar("T")


def not_applicable(why: str) -> NoReturn:
    """Skip the check as not applicable to this target, saying why (reports show it)."""
    pytest.skip(f"{NOT_APPLICABLE}{why}")


def differential(here: T, example: object, *, reference: T | None, model: T, reference_name: str = "") -> None:
    """A generated example's observation on the target against an independent oracle:
    with the run's reference target, what the reference did with the same input (the
    reference's own run checks it against the model); without one, the Linux model."""
    if reference is not None:
        assert here == reference, (
            f"differs from the reference {reference_name} for {example!r}: here {here!r}, on the reference {reference!r}"
        )
    else:
        assert here == model, f"for {example!r}: observed {here!r}, Linux says {model!r}"
