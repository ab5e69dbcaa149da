"""hypothesis settings for the property checks: local runs, CI, and the nightly run.

Every example costs at least one exec in a container, so examples are few and batched,
the deadline is off (engine latency is not the property under test), and CI runs are
derandomized so that a red CI run is reproducible. The nightly profile (PARITY_NIGHTLY=1,
or --hypothesis-profile parity-nightly) draws new examples every night from a seed, the
night's date unless PARITY_HYPOTHESIS_SEED or --hypothesis-seed gives one, which every
per-target JUnit file records (hypothesis.seed): ``--hypothesis-seed=<it>`` replays the
night exactly. Failing examples are printed with a reproduction blob and kept in the
example database (.hypothesis/ in the rootdir).
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from plugins.state import GENERATED

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
settings.register_profile("parity-nightly", parent=settings.get_profile("parity-local"), max_examples=50)
NIGHTLY = "PARITY_NIGHTLY"
SEED = "PARITY_HYPOTHESIS_SEED"


def profile_name(config: pytest.Config) -> str:
    """The profile of this run: named with --hypothesis-profile, else by the environment."""
    named: str | None = config.getoption("hypothesis_profile", default=None)
    if named:
        return named
    if os.environ.get(NIGHTLY):
        return "parity-nightly"
    return "parity-ci" if os.environ.get("CI") else "parity-local"


def nightly_seed(today: date) -> int:
    """A night's seed: its date as a number (20261202), new every night."""
    return int(today.strftime("%Y%m%d"))


@pytest.hookimpl(tryfirst=True)  # before hypothesis's own, which reads the seed option
def pytest_configure(config: pytest.Config) -> None:
    """Load parity's profile unless --hypothesis-profile names one; give the nightly
    profile its seed (xdist workers inherit it through the environment); and stop the
    run in one line, before any engine is contacted, when the example database cannot
    be written."""
    name = profile_name(config)
    if name == "parity-nightly" and config.getoption("hypothesis_seed", default=None) is None:
        seed = os.environ.get(SEED) or str(nightly_seed(datetime.now(UTC).date()))
        os.environ[SEED] = seed
        config.option.hypothesis_seed = seed
    config.stash[GENERATED] = recorded(config)
    if config.getoption("hypothesis_profile", default=None) is None:
        settings.load_profile(name)
        problem = unwritable(database_folder())
        if problem:
            raise pytest.UsageError(problem)


def recorded(config: pytest.Config) -> dict[str, str]:
    """What replays this run's generated examples: the profile, and the seed if any."""
    seed = config.getoption("hypothesis_seed", default=None)
    return {"hypothesis.profile": profile_name(config), **({"hypothesis.seed": str(seed)} if seed is not None else {})}


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
