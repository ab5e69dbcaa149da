"""The workload archive is deterministic: same inputs, same bytes, same image id."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from parity import workload


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
