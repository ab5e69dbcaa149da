"""The run's network creations and isolation attempts exclude each other, across threads
and processes; creations do not exclude one another. No Docker needed."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import filelock
import pytest

from parity.run.network_creations import NetworkCreations


def test_creations_share_the_lock(tmp_path: Path) -> None:
    creations = NetworkCreations(tmp_path / "n.lock", wait_seconds=5)
    inside = threading.Event()

    def second() -> None:
        with creations.creating():
            inside.set()

    with creations.creating():
        thread = threading.Thread(target=second)
        thread.start()
        assert inside.wait(5), "a second creation waited for the first"
    thread.join(5)


def test_a_creation_waits_while_an_attempt_holds_creations_still(tmp_path: Path) -> None:
    creations = NetworkCreations(tmp_path / "n.lock", wait_seconds=10)
    order: list[str] = []
    waiting = threading.Event()

    def create() -> None:
        waiting.set()
        with creations.creating():
            order.append("created")

    with creations.held_still():
        thread = threading.Thread(target=create)
        thread.start()
        assert waiting.wait(5)
        thread.join(0.5)  # it must still be waiting
        order.append("attempted")
    thread.join(10)
    assert order == ["attempted", "created"]


def test_an_attempt_in_another_process_bounds_the_wait(tmp_path: Path) -> None:
    """Workers are processes: a hold there is seen here, and the wait ends in filelock.Timeout."""
    path = tmp_path / "n.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from parity.run.network_creations import NetworkCreations\n"
         f"with NetworkCreations(Path({str(path)!r})).held_still():\n    print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(filelock.Timeout), NetworkCreations(path, wait_seconds=0.3).creating():
            pass
    finally:
        holder.communicate(timeout=10)  # closes its stdin (the holder lets go) and its stdout
    with NetworkCreations(path, wait_seconds=5).creating():
        pass


def test_each_target_has_its_own_lock_file(tmp_path: Path) -> None:
    local, remote = NetworkCreations.of(tmp_path, "local"), NetworkCreations.of(tmp_path, "vm/9p: one")
    assert (local.path, remote.path) == (
        tmp_path / "network-creations@local.lock",
        tmp_path / "network-creations@vm_9p__one.lock",
    )
