"""The workload archive is deterministic: same inputs, same bytes, same image id."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from parity.workload import __main__ as workload_cli
from parity.workload import image as workload


@pytest.fixture(scope="module")
def probe_binary() -> Path:
    return workload.build_probe(workload.docker_arch("x86_64"))


def build_in(cache: Path, probe_binary: Path, monkeypatch: pytest.MonkeyPatch) -> workload.Workload:
    monkeypatch.setattr(workload, "CACHE", cache)
    monkeypatch.setattr(workload, "build_probe", lambda arch: probe_binary)
    return workload.build("amd64")


def test_two_builds_give_the_same_bytes_and_id(
    tmp_path: Path, probe_binary: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build_in(tmp_path / "one", probe_binary, monkeypatch)
    second = build_in(tmp_path / "two", probe_binary, monkeypatch)
    assert first.archive.read_bytes() == second.archive.read_bytes()
    assert (first.image_id, first.tag) == (second.image_id, second.tag)


def test_archive_layout(tmp_path: Path, probe_binary: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = build_in(tmp_path, probe_binary, monkeypatch)
    with tarfile.open(built.archive) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
        config = json.load(archive.extractfile(manifest[0]["Config"]))  # type: ignore[arg-type]
        with tarfile.open(fileobj=archive.extractfile(manifest[0]["Layers"][0])) as layer:
            members = {m.name: m for m in layer.getmembers()}
    assert manifest[0]["RepoTags"] == [built.tag]
    assert config["config"]["Cmd"] == [workload.PROBE_PATH, "idle"]
    assert (members["tmp"].mode, members["usr/local/bin/probe"].mode, members["bin/sh"].linkname) == (
        0o1777,
        0o755,
        "busybox",
    )
    assert {m.mtime for m in members.values()} == {0}


def test_static_elf_check() -> None:
    assert workload._is_static_elf(Path("/bin/busybox").read_bytes()) is True
    assert workload._is_static_elf(Path("/bin/true").read_bytes()) is False


def test_unknown_architecture_is_one_line() -> None:
    with pytest.raises(
        workload.WorkloadError, match=r"^no workload build for architecture 's390x' \(supported: amd64, arm64\)$"
    ):
        workload.docker_arch("s390x")


def test_save_writes_an_archive_that_reads_back_as_the_same_workload(
    tmp_path: Path, probe_binary: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    built = build_in(tmp_path / "cache", probe_binary, monkeypatch)
    target = tmp_path / "out" / "workload.tar"
    assert workload_cli.main(["save", str(target), "--arch", "amd64"]) == 0
    assert capsys.readouterr().out == built.image_id + "\n"
    assert workload.from_archive(target) == workload.Workload("amd64", built.tag, built.image_id, target)
    monkeypatch.setenv(workload.ARCHIVE_ENV, str(target))
    assert workload.provide("amd64").image_id == built.image_id
    with pytest.raises(workload.WorkloadError, match=r"holds the amd64 workload; the target needs arm64"):
        workload.provide("arm64")


def test_an_archive_that_is_not_the_workload_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.tar"
    other.write_bytes(b"not a tar")
    assert workload_cli.main(["load", str(other)]) == 1
    assert capsys.readouterr().err.startswith(f"parity.workload load: {other}: not a workload archive (")
