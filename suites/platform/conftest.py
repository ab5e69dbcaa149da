"""The capability declarations are probed on the engine's default network: a port is
published there, and a declared-missing capability must be refused for its own reason."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def own_network_mode() -> str | None:
    """The engine's default network (overrides suites/conftest.py)."""
    return None
