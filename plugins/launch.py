"""Targets whose engine the run brings up itself (matrix key ``launch``, e.g. a VM).

The controller runs the launchers before any target is contacted and their stop
commands after everything else at session end (after the sweep of the run's resources),
also after Ctrl-C and SIGTERM. An engine that was up before the run (its start command
exits with ``parity.run.launch.ALREADY_UP``) is used and left up. A launch that fails makes
its target unavailable with the launcher's reason; the rest of its output (e.g. a guest
console's tail) goes in the header, under the target.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from parity.config.matrix import LaunchSpec
from parity.run import launch
from plugins.state import LAUNCHED, SELECTED, is_worker


def _launches(config: pytest.Config) -> dict[str, LaunchSpec]:
    return {spec.name: spec.launch for spec in config.stash.get(SELECTED, []) if spec.launch}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> Generator[None, None, None]:
    """Before the targets plugin contacts engines: launch what the selected targets need."""
    config = session.config
    launches = _launches(config)
    if launches and not is_worker(config) and not config.option.collectonly:
        config.stash[LAUNCHED] = {}  # set first: an interrupted launch is still stopped
        config.stash[LAUNCHED] = launch.run_all(launches, "start")
    return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    """Outermost, so after every other plugin's session end (the sweep, itself a wrapper,
    needs the engine): stop what we launched."""
    try:
        return (yield)
    finally:
        config = session.config
        if LAUNCHED in config.stash:
            started = config.stash[LAUNCHED]
            found_up = sorted(name for name, outcome in started.items() if outcome.ok and not outcome.brought_up)
            # every other launch, also a failed or interrupted one: it may have left a half-booted VM
            to_stop = {name: spec for name, spec in _launches(config).items() if name not in found_up}
            stopped = launch.run_all(to_stop, "stop")
            reporter = config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                for line in launch.describe(stopped):
                    reporter.write_line(f"parity: stopped {line}")
                for name in found_up:
                    reporter.write_line(f"parity: left {name} running: it was up before the run")
            if any(not outcome.ok for outcome in stopped.values()):
                session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
