"""hypothesis settings for the property checks: one profile for local runs, one for CI.

Every example costs at least one exec in a container, so examples are few and batched,
the deadline is off (engine latency is not the property under test), and CI runs are
derandomized so that a red CI run is reproducible. Failing examples are printed with a
reproduction blob and kept in the example database (.hypothesis/ in the rootdir).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

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
    """Load parity's profile unless --hypothesis-profile names one, and stop the run in one
    line, before any engine is contacted, when the example database cannot be written."""
    if config.getoption("hypothesis_profile", default=None) is None:
        settings.load_profile("parity-ci" if os.environ.get("CI") else "parity-local")
        problem = unwritable(database_folder())
        if problem:
            raise pytest.UsageError(problem)


def database_folder() -> Path:
    """Where hypothesis keeps examples when no profile names a database: examples/ in
    $HYPOTHESIS_STORAGE_DIRECTORY, else in .hypothesis/ of the current directory."""
    return Path(os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY") or ".hypothesis") / "examples"


def unwritable(folder: Path) -> str | None:
    """Why examples cannot be saved in ``folder`` (one line), or None. hypothesis itself
    would only warn, which the suite's filterwarnings turns into an error per property
    check, and keep failing examples in memory, where a reproduction is lost."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return (
            f"hypothesis database {str(folder.absolute())!r}: not writable: {exc.strerror} "
            "(set HYPOTHESIS_STORAGE_DIRECTORY to a writable folder)"
        )
    return None
