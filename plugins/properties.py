"""hypothesis settings for the property checks: one profile for local runs, one for CI.

Every example costs at least one exec in a container, so examples are few and batched,
the deadline is off (engine latency is not the property under test), and CI runs are
derandomized so that a red CI run is reproducible. Failing examples are printed with a
reproduction blob and kept in the example database (.hypothesis/ in the rootdir).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "parity-local",
    max_examples=25,
    deadline=None,
    print_blob=True,
    # Function-scoped fixtures of the property checks (the storage kind, the resource
    # scope) are meant to be shared by all examples of one check.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
settings.register_profile("parity-ci", parent=settings.get_profile("parity-local"), max_examples=15, derandomize=True)


def pytest_configure(config: pytest.Config) -> None:
    """Load parity's profile unless --hypothesis-profile names one."""
    if config.getoption("hypothesis_profile", default=None) is None:
        settings.load_profile("parity-ci" if os.environ.get("CI") else "parity-local")
