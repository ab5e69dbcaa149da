"""Waiting for a container's state, shared by the lifecycle checks: polled through
inspect and the logs, bounded in time."""

from __future__ import annotations

import time
from collections.abc import Callable

from docker.models.containers import Container


def pause(waited: float) -> None:
    """Sleep between two polls of an engine, a tenth of the time waited so far (at least
    50 ms, at most 0.5 s): a quick engine is answered as quickly as before, a slow one
    (an emulated VM, where every request costs the guest's CPU) is asked less often."""
    time.sleep(min(0.5, max(0.05, waited / 10)))


def reached(container: Container, check: Callable[[Container], bool], timeout: float = 30) -> bool:
    """Whether ``check`` holds for the freshly inspected container within ``timeout`` s."""
    began = time.monotonic()
    while time.monotonic() < began + timeout:
        container.reload()
        if check(container):
            return True
        pause(time.monotonic() - began)
    return False


def wait_for(container: Container, what: str, check: Callable[[Container], bool], timeout: float = 30) -> None:
    """Until ``check`` holds for the freshly inspected container; fails naming ``what``."""
    if not reached(container, check, timeout):
        raise AssertionError(f"{container.name}: {what} not reached within {timeout} s: {container.attrs['State']}")


def signals_ready(container: Container) -> None:
    """The probe's `signals` writes "ready" to its file and to stderr once every handler
    is installed; the logs say so without an exec (several seconds each on an emulated VM).
    With a terminal (tty) both streams are one and its line ends are CRLF."""
    wait_for(container, "signal handlers installed", lambda c: c.logs(stdout=False, stderr=True).startswith(b"ready"))
