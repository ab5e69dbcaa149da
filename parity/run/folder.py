"""The run's folder on the machine running pytest: the scenarios' records
(parity/run/ahead.py), the lock of its network creations (parity/run/network_creations.py)
and the host folder that the platform observation bind-mounts (parity/run/observe.py).

The run's first process names the run's owner in it (``run.json``) and removes it when
the run ends. A run killed with SIGKILL cannot, so each run removes the folders of runs
whose owner has ended, as it reaps their containers on the engines.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PREFIX = "parity-run-"
OWNER_FILE = "run.json"
# A folder that names no owner (one an earlier version made, or one a self-test's scope
# made without a run) is removed once it has not changed for this long.
UNOWNED_MAX_AGE = 24 * 3600


def folder_of(run_id: str) -> Path:
    return Path(tempfile.gettempdir()) / f"{PREFIX}{run_id}"


def claim(run_id: str, owner: str, started: int) -> Path:
    """Create the run's folder, naming its owner (``host:pid:start``) and start time."""
    folder = folder_of(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{OWNER_FILE}.partial"
    partial.write_text(json.dumps({"owner": owner, "started": started}), encoding="utf-8")
    partial.replace(folder / OWNER_FILE)  # a reader sees no file or a whole one
    return folder


def remove(run_id: str) -> None:
    shutil.rmtree(folder_of(run_id), ignore_errors=True)


def reap(own_run_id: str, alive: Callable[[str, int], bool], now: float | None = None) -> list[str]:
    """Remove the folders of other runs whose owner has ended (``alive(owner, started)``
    says it may still run), and unowned ones older than UNOWNED_MAX_AGE; their run ids."""
    now = time.time() if now is None else now
    reaped = []
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        run_id = folder.name[len(PREFIX) :]
        if run_id == own_run_id or not folder.is_dir():
            continue
        ended = False
        try:
            named = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
            ended = not alive(str(named["owner"]), int(named["started"]))
        except (OSError, ValueError, KeyError, TypeError):
            # no owner named (yet: a run that is just starting writes it right away)
            with contextlib.suppress(OSError):
                ended = now - folder.stat().st_mtime > UNOWNED_MAX_AGE
        if ended:
            shutil.rmtree(folder, ignore_errors=True)
            reaped.append(run_id)
    return reaped
