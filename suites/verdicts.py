"""Verdicts a check gives itself when it cannot judge a target."""

from __future__ import annotations

from typing import NoReturn

import pytest

from parity.certification.results import NOT_APPLICABLE


def not_applicable(why: str) -> NoReturn:
    """Skip the check as not applicable to this target, saying why (reports show it)."""
    pytest.skip(f"{NOT_APPLICABLE}{why}")
