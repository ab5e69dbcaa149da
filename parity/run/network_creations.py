"""This run's network creations on a target, ordered against checks of network isolation.

Docker Engine before 28.0 deletes the FORWARD chain's jump to its isolation chain and
inserts it again at the top each time it creates a bridge network (moby pull request
#49518 ended that). On an engine whose FORWARD policy is ACCEPT (a host that forwarded
before Docker started), a packet forwarded in between skips every isolation rule: a
container on an --internal network reaches another network. A check that an isolation
holds would then judge the run's own concurrent network creations, not the engine's
isolation. So creations share a lock, and an isolation attempt holds it alone.

The lock is a file of the run's folder (SQLite, through filelock): xdist workers and
scenario threads all see it. It is per target: each target has an engine of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from filelock import ReadWriteLock

# An isolation attempt holds creations for its connection timeout plus one exec (a few
# seconds; tens on an emulated VM): a wait this long means something is stuck.
WAIT_SECONDS = 300.0


class NetworkCreations:
    """``with creations.creating():`` around a network create; ``with creations.held_still():``
    around an isolation attempt. Both wait at most ``wait_seconds``, then raise filelock.Timeout."""

    def __init__(self, path: Path, wait_seconds: float = WAIT_SECONDS) -> None:
        self.path = path
        self.wait_seconds = wait_seconds

    @classmethod
    def of(cls, run_folder: Path, target: str) -> NetworkCreations:
        return cls(run_folder / re.sub(r"[^A-Za-z0-9_.@-]", "_", f"network-creations@{target}.lock"))

    @contextmanager
    def _held(self, *, alone: bool) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A fresh instance each time: a thread waiting for a conflicting hold needs its own.
        lock = ReadWriteLock(self.path, timeout=self.wait_seconds, is_singleton=False)
        try:
            with lock.write_lock() if alone else lock.read_lock():
                yield
        finally:
            lock.close()

    def creating(self) -> AbstractContextManager[None]:
        return self._held(alone=False)

    def held_still(self) -> AbstractContextManager[None]:
        return self._held(alone=True)
