"""The run's folder on the machine running pytest (parity/run/folder.py): named after its
owner, removed with the run, and reaped by a later run only once its owner has ended."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from parity.run import folder as run_folder
from parity.run.resources import RunIdentity, owner_alive
from tests.fake_engine import REPO_CONFTEST

pytest_plugins = ["pytester"]


def _alive(owner: str, started: int) -> bool:
    return owner_alive(owner, started, time.time())


@pytest.fixture
def temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tempfile.gettempdir() for the test: a folder of its own."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    return tmp_path


def test_the_folders_of_ended_runs_go_and_those_of_live_runs_stay(temp: Path) -> None:
    ended_pid = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    ).stdout.strip()
    this = RunIdentity.new()
    host = this.owner.split(":")[0]
    run_folder.claim("mine", this.owner, this.started)
    run_folder.claim("alive", this.owner, this.started)  # another run of this process, say
    run_folder.claim("killed", f"{host}:{ended_pid}:", this.started)
    run_folder.claim("reused", f"{host}:{os.getpid()}:1", this.started)  # same pid, other start
    (temp / "parity-run-killed" / "network-creations@local.lock").write_text("")
    young, old = temp / "parity-run-young", temp / "parity-run-old"
    young.mkdir()
    old.mkdir()
    stale = time.time() - run_folder.UNOWNED_MAX_AGE - 60
    os.utime(old, (stale, stale))
    (temp / "parity-run-file").write_text("")  # not a folder: not the run's
    assert sorted(run_folder.reap("mine", _alive)) == ["killed", "old", "reused"]
    assert sorted(p.name for p in temp.iterdir()) == [
        "parity-run-alive",
        "parity-run-file",
        "parity-run-mine",
        "parity-run-young",
    ]


def test_a_run_does_not_reap_its_own_folder_even_with_an_owner_that_ended(temp: Path) -> None:
    run_folder.claim("mine", "nowhere:1:2", 0)  # a foreign owner a day old: ended
    assert run_folder.reap("mine", _alive) == []
    assert (temp / "parity-run-mine" / run_folder.OWNER_FILE).is_file()


def test_a_half_written_owner_is_not_read_as_an_ended_run(temp: Path) -> None:
    """The owner file appears whole (a rename) or not at all: in between, the folder is
    young and unowned, and stays."""
    folder = temp / "parity-run-starting"
    folder.mkdir()
    (folder / run_folder.OWNER_FILE).write_text('{"owner": "x')
    assert run_folder.reap("mine", _alive) == []
    assert folder.is_dir()


def test_a_run_removes_its_folder_at_its_end(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also a run that ends in a usage error (an unknown target) after it claimed it."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    pytester.makeconftest(REPO_CONFTEST)
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    pytester.makefile(".yaml", matrix="targets:\n  - {name: a, kind: linux, engine: {url: 'tcp://127.0.0.1:9'}}\n")
    for args, status in (((), pytest.ExitCode.OK), (("--target=nowhere",), pytest.ExitCode.USAGE_ERROR)):
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
        assert result.ret == status, result.stdout.str() + result.stderr.str()
        assert list(tmp_path.glob("parity-run-*")) == []
