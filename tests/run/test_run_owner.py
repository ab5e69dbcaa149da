"""Whether a recorded run owner is still alive: what lets the next run reap a killed run's
resources, and never a live run's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from parity.run.resources import FOREIGN_RUN_MAX_AGE, RunIdentity, owner_alive


def test_this_run_is_alive_and_a_reused_pid_is_not() -> None:
    identity = RunIdentity.new()
    assert owner_alive(identity.owner, identity.started, time.time()) is True
    host, pid, _ = identity.owner.split(":")
    assert owner_alive(f"{host}:{pid}:1", identity.started, time.time()) is False  # another start time


def test_without_a_start_time_a_dead_pid_is_dead() -> None:
    """A run started where there is no /proc (Windows, macOS) records no start time; its
    liveness is the OS's word (psutil), not os.kill(pid, 0), which on Windows sends
    CTRL_C_EVENT and never fails for an old pid (Python docs, os.kill)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    host = socket.gethostname()
    assert owner_alive(f"{host}:{done.stdout.strip()}:", 0, time.time()) is False
    assert owner_alive(f"{host}:{os.getpid()}:", 0, time.time()) is True


def test_a_run_of_another_machine_is_judged_by_its_age() -> None:
    now = time.time()
    assert owner_alive("elsewhere:1:2", int(now) - 60, now) is True
    assert owner_alive("elsewhere:1:2", int(now - FOREIGN_RUN_MAX_AGE - 1), now) is False


def test_an_ended_process_not_yet_reaped_is_dead() -> None:
    """A zombie (a crashed xdist worker before its parent reaps it) has ended: with or
    without a recorded start time."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    owner = f"{socket.gethostname()}:{child.pid}:"
    try:
        with open(f"/proc/{child.pid}/stat", encoding="ascii") as stat:
            start = stat.read().rsplit(")", 1)[1].split()[19]
        deadline = time.monotonic() + 10
        while owner_alive(owner + start, 0, time.time()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (owner_alive(owner + start, 0, time.time()), owner_alive(owner, 0, time.time())) == (False, False)
        assert child.poll() == 0  # it was a zombie until now
    finally:
        child.wait()
