"""Result bundles: ``bundle`` packs a run with what judged it, ``verify`` refuses a bundle
that was changed, lacks a required check, or holds a failure or a divergence its own
rows do not explain (JUnit files written here as the reports plugin writes them; no
Docker)."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path

import pytest
import yaml
from junitparser import Failure, Skipped, TestCase

from parity.certification import bundle, cli
from parity.certification.requirements import catalogue
from parity.certification.results import UNOBSERVED_MARK
from parity.certification.writer import write_suite

LINK = "https://man7.org/linux/man-pages/man2/mkfifo.2.html"
CHECKS = f'''
def test_must(target):
    """Source: chmod(2).
    Level: MUST, {LINK}
    """


def test_should(target):
    """Source: Docker docs "Bind mounts".
    Level: SHOULD, https://docs.docker.com/engine/storage/bind-mounts/
    """


def test_fifo(target, kind):
    """Source: mkfifo(2).
    Level: MUST, {LINK}
    """
'''
ROW: dict[str, object] = {
    "check": "suites/area/test_checks.py::test_fifo",
    "params": {"kind": "bind"},
    "when": {"bind.fstype": "9p"},
    "reason": "bind mounts cross the VM boundary over 9p: no FIFOs on the host folder",
    "reference": "docker/for-mac#911",
    "observed": "a 9p VM, 2026-11",
}
APPLIED = "suites/area/test_checks.py::test_fifo[kind=bind] when bind.fstype 9p"
DIVERGES = f"known divergence: {ROW['reason']} ({ROW['reference']})"
FIFO = "test_fifo[vm-bind]"
# every check of CHECKS on target vm, passing but for the bind FIFO, a known divergence
PASSING = {"test_must[vm]": "", "test_should[vm]": "", FIFO: DIVERGES, "test_fifo[vm-volume]": ""}


def suite_root(folder: Path, rows: list[dict[str, object]]) -> Path:
    """A suite's folder as the bundle reads it: suites/ (its catalogue), divergences.yaml, matrix.yaml."""
    (folder / "suites" / "area").mkdir(parents=True)
    (folder / "suites" / "area" / "test_checks.py").write_text(CHECKS)
    (folder / "divergences.yaml").write_text(yaml.safe_dump({"divergences": rows}))
    (folder / "matrix.yaml").write_text("targets:\n  - {name: vm, kind: linux}\n")
    return folder


def case(name: str, outcome: str) -> TestCase:
    """A testcase of suites/area/test_checks.py: '' passes, 'known divergence: ...' is a
    strict xfail, UNOBSERVED_MARK + reason a pass under a row known from documents only,
    anything else a failure with that message."""
    written = TestCase(name, classname="suites.area.test_checks")
    if outcome.startswith(UNOBSERVED_MARK):
        written.system_out = f"{outcome}\n"
    elif outcome.startswith("known divergence: "):
        written.result = [Skipped(outcome, "pytest.xfail")]
    elif outcome:
        written.result = [Failure(outcome, "call failed")]
    return written


def run_reports(
    folder: Path,
    root: Path,
    cases: dict[str, str],
    *,
    level: str = "SHOULD",
    applied: tuple[str, ...] = (APPLIED,),
    verdicts: dict[str, str] | None = None,
) -> Path:
    """A reports folder with target vm's JUnit file as plugins/reports.py writes it."""
    requirements = {check: requirement.as_json() for check, requirement in catalogue(root).items()}
    write_suite(
        folder / "junit-vm-6.1.0.xml",
        name="parity.vm.6.1.0",
        properties={
            "target": "vm",
            "kind": "linux",
            "run": "r1",
            "build": "6.1.0",
            "workload.image": "sha256:" + "ab" * 32,
            "engine.version": "20.10.24",
            "engine.os_type": "linux",
            "platform.bind.fstype": "9p",
            "divergences.applied": json.dumps(list(applied)),
            "level": level,
            "requirements": json.dumps(requirements),
            **(verdicts or {}),
        },
        cases=[case(name, outcome) for name, outcome in cases.items()],
        seconds=1.5,
        timestamp="2026-12-01T10:00:00+00:00",
    )
    return folder


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return suite_root(tmp_path / "suite", [ROW])


def make(root: Path, reports: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    log = reports.parent / "run.log"
    log.write_text("344 passed, 3 skipped in 59.04s\n")
    assert cli.main(["bundle", str(reports), "--root", str(root), "--log", str(log), "--out", str(out)]) == 0
    return capsys.readouterr().out.splitlines()


def verified(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    status = cli.main(["verify", str(path)])
    return status, capsys.readouterr().out.splitlines()


def test_a_bundle_of_a_conforming_run_verifies(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "result.tar.gz"
    said = make(root, run_reports(tmp_path / "reports", root, PASSING), out, capsys)
    assert said[0] == f"wrote {out}: 8 files, targets vm, suite commit unknown"
    assert said[1].startswith(f"  the suite's commit is unknown: {root}: git rev-parse HEAD failed")
    assert re.fullmatch(r"  sha256 [0-9a-f]{64} \(publish it: .*\)", said[2])
    with tarfile.open(out) as tar:
        names = sorted(tar.getnames())
        manifest = json.loads(tar.extractfile("result/MANIFEST.json").read())  # type: ignore[union-attr]
        checks = json.loads(tar.extractfile("result/catalogue.json").read())["checks"]  # type: ignore[union-attr]
    assert names == [
        f"result/{name}"
        for name in (
            "MANIFEST.json", "catalogue.json", "divergences.yaml", "junit-vm-6.1.0.xml", "matrix.html",
            "matrix.json", "matrix.md", "matrix.yaml", "pytest.log",
        )
    ]  # fmt: skip
    assert sorted(manifest["files"]) == [name.removeprefix("result/") for name in names if "MANIFEST" not in name]
    assert manifest["suite"]["commit"] == "unknown"
    assert manifest["targets"] == [
        {
            "target": "vm",
            "kind": "linux",
            "build": "6.1.0",
            "run": "r1",
            "file": "junit-vm-6.1.0.xml",
            "level": "SHOULD",
            "workload_image": "sha256:" + "ab" * 32,
            "engine": {"engine.version": "20.10.24", "engine.os_type": "linux"},
            "divergences_applied": [APPLIED],
        }
    ]
    assert {check: data["level"] for check, data in checks.items()} == {
        "suites/area/test_checks.py::test_must": "MUST",
        "suites/area/test_checks.py::test_should": "SHOULD",
        "suites/area/test_checks.py::test_fifo": "MUST",
    }
    status, lines = verified(out, capsys)
    assert (status, lines) == (
        0,
        ["verified: 8 files, suite unknown (the suite's commit is unknown), vm at SHOULD"],
    )


def _altered(path: Path, member: str, old: bytes, new: bytes) -> None:
    """The bundle at ``path`` rewritten with one member's bytes replaced."""
    with tarfile.open(path) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    assert files[member].count(old) == 1
    files[member] = files[member].replace(old, new)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_rows_whose_references_have_parentheses_explain_their_divergences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As most rows of divergences.yaml do: the row still explains its divergence; so does
    a row known from documents only whose check passed (documented, not observed)."""
    reference = "qemu 9p (virtfs) shares; docker/for-mac#911 (Desktop file sharing: FIFOs not supported)"
    documented = {**ROW, "check": "suites/area/test_checks.py::test_must", "params": {}, "observed": ""}
    rows = [{**ROW, "reference": reference}, {**documented, "reference": reference}]
    root = suite_root(tmp_path / "suite", rows)
    reason = f"known divergence: {ROW['reason']} ({reference})"
    cases = {
        **PASSING,
        FIFO: reason,
        "test_must[vm]": f"{UNOBSERVED_MARK}known divergence: {ROW['reason']} ({reference})",
    }
    applied = (APPLIED, "suites/area/test_checks.py::test_must when bind.fstype 9p")
    out = tmp_path / "result.tar.gz"
    make(root, run_reports(tmp_path / "reports", root, cases, applied=applied), out, capsys)
    assert verified(out, capsys)[0] == 0


def test_one_altered_byte_is_refused_naming_the_file(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "result.tar.gz"
    make(root, run_reports(tmp_path / "reports", root, PASSING), out, capsys)
    _altered(out, "result/junit-vm-6.1.0.xml", b'time="1.5"', b'time="1.6"')
    status, lines = verified(out, capsys)
    assert status == 1
    assert len(lines) == 1
    assert re.fullmatch(
        r"1\. junit-vm-6\.1\.0\.xml: its SHA-256 is [0-9a-f]{16}\.\.\., the manifest says [0-9a-f]{16}\.\.\.: "
        r"it changed after bundling; ask for the bundle as it was made, or rebuild the bundle from the run's reports "
        r"\(python -m parity\.certification bundle\)",
        lines[0],
    )


def test_an_unpacked_bundle_with_a_file_added_or_removed_is_refused(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "result.tar.gz"
    make(root, run_reports(tmp_path / "reports", root, PASSING), out, capsys)
    with tarfile.open(out) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    folder = tmp_path / "unpacked" / "result"
    assert verified(folder, capsys)[0] == 0
    (folder / "pytest.log").unlink()
    (folder / "notes.txt").write_text("reviewed\n")
    status, lines = verified(folder, capsys)
    assert (status, lines) == (
        1,
        [
            "1. pytest.log: listed in the manifest but missing from the bundle; "
            "rebuild the bundle from the run's reports (python -m parity.certification bundle)",
            "2. notes.txt: in the bundle but not in its manifest; "
            "remove it, or rebuild the bundle from the run's reports (python -m parity.certification bundle)",
        ],
    )


def test_a_missing_required_check_is_refused_by_name(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    without_should = {name: outcome for name, outcome in PASSING.items() if name != "test_should[vm]"}
    out = tmp_path / "result.tar.gz"
    make(root, run_reports(tmp_path / "reports", root, without_should), out, capsys)
    status, lines = verified(out, capsys)
    assert (status, lines) == (
        1,
        [
            "1. vm: 1 required check of level SHOULD has no testcase: suites/area/test_checks.py::test_should; "
            "rerun the suite at --level should without deselecting checks (-k, -m, paths) and bundle that run"
        ],
    )


def test_a_run_at_must_does_not_require_the_should_checks(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    only_must = {name: outcome for name, outcome in PASSING.items() if name != "test_should[vm]"}
    out = tmp_path / "result.tar.gz"
    make(root, run_reports(tmp_path / "reports", root, only_must, level="MUST"), out, capsys)
    status, lines = verified(out, capsys)
    assert (status, lines[0]) == (0, "verified: 8 files, suite unknown (the suite's commit is unknown), vm at MUST")


def test_an_unexplained_failure_is_refused_with_its_message(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = {**PASSING, "test_must[vm]": "AssertionError: assert 0o644 == 0o600"}
    out = tmp_path / "result.tar.gz"
    make(root, run_reports(tmp_path / "reports", root, failing), out, capsys)
    status, lines = verified(out, capsys)
    assert (status, lines) == (
        1,
        [
            "1. vm: suites/area/test_checks.py::test_must: fail (AssertionError: assert 0o644 == 0o600); fix the "
            "platform, or explain the difference with a divergences.yaml row (reason, public reference), and rerun"
        ],
    )


def test_a_broken_check_is_refused_though_the_matrix_leaves_it_out_of_the_verdict(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A check that failed on the run's reference judged no target: a certificate cannot
    count it as conforming."""
    failing = {**PASSING, "test_must[vm]": "AssertionError: assert 2 == 1"}
    broken = {"reference": "vm", "broken": json.dumps({"suites/area/test_checks.py::test_must": "assert 2 == 1"})}
    out = tmp_path / "result.tar.gz"
    make(root, run_reports(tmp_path / "reports", root, failing, verdicts=broken), out, capsys)
    status, lines = verified(out, capsys)
    assert (status, lines) == (
        1,
        [
            "1. vm: suites/area/test_checks.py::test_must: broken (fails on the reference vm: assert 2 == 1); "
            "fix the check (or the reference engine) and rerun: a broken check certifies no target"
        ],
    )


def test_a_divergence_that_no_bundled_row_explains_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The run applied a row that the divergences.yaml handed over with it lacks."""
    root = suite_root(tmp_path / "suite", [])
    out = tmp_path / "result.tar.gz"
    make(root, run_reports(tmp_path / "reports", root, PASSING), out, capsys)
    status, lines = verified(out, capsys)
    assert (status, lines) == (
        1,
        [
            f"1. vm: the run applied a row the bundle's divergences.yaml lacks: {APPLIED}; "
            "bundle the divergences.yaml the run used (--divergences)",
            f"2. vm: unexplained divergence: suites/area/test_checks.py::test_fifo[bind]: known divergence "
            f"({ROW['reason']}; {ROW['reference']}) matches no row of the bundle's divergences.yaml that the run "
            "applied to this target; bundle the divergences.yaml the run used, or fix the row and rerun",
        ],
    )


def test_a_divergence_whose_row_the_run_did_not_apply_is_refused(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "result.tar.gz"
    make(root, run_reports(tmp_path / "reports", root, PASSING, applied=()), out, capsys)
    status, lines = verified(out, capsys)
    assert status == 1
    assert lines == [
        f"1. vm: unexplained divergence: suites/area/test_checks.py::test_fifo[bind]: known divergence "
        f"({ROW['reason']}; {ROW['reference']}) matches no row of the bundle's divergences.yaml that the run "
        "applied to this target; bundle the divergences.yaml the run used, or fix the row and rerun"
    ]


def test_an_unreadable_bundle_is_one_line_and_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "result.tar.gz"
    path.write_bytes(b"not a tarball")
    assert cli.main(["verify", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"parity.certification: error: {path}: not a readable bundle (.tar.gz): ")
    assert captured.err.count("\n") == 1


SECRET_TARGETS = """
# a commented-out target: tcp://admin:commented@winsrv.example:2376
targets:
  - name: winsrv
    kind: hyperv
    engine:
      url: ssh://deploy:hunter2@winsrv.example
      tls: {cert_path: /home/me/certs/winsrv, key: /home/me/certs/key.pem, verify: true}
    auth: {username: deploy, password: hunter2}
    launch:
      start: [env, PARITY_TOKEN=s3cret, standins/vm.py, start, --password, hunter2, --api-key=k3y, --port, "23750"]
      stop: [standins/vm.py, stop]
"""


def test_secrets_are_removed_from_the_bundled_targets_file() -> None:
    text = bundle.redacted_targets(SECRET_TARGETS, "matrix.yaml")
    for secret in ("hunter2", "s3cret", "k3y", "/home/me/certs", "commented"):
        assert secret not in text
    assert yaml.safe_load(text) == {
        "targets": [
            {
                "name": "winsrv",
                "kind": "hyperv",
                "engine": {
                    "url": "ssh://deploy:REDACTED@winsrv.example",
                    "tls": {"cert_path": "REDACTED", "key": "REDACTED", "verify": True},
                },
                "auth": {"username": "REDACTED", "password": "REDACTED"},
                "launch": {
                    "start": [
                        "env", "PARITY_TOKEN=REDACTED", "standins/vm.py", "start",
                        "--password", "REDACTED", "--api-key=REDACTED", "--port", "23750",
                    ],
                    "stop": ["standins/vm.py", "stop"],
                },
            }
        ]
    }  # fmt: skip


def test_the_bundle_holds_the_targets_file_without_its_secrets(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (root / "matrix.yaml").write_text(SECRET_TARGETS)
    out = tmp_path / "result.tar.gz"
    make(root, run_reports(tmp_path / "reports", root, PASSING), out, capsys)
    with tarfile.open(out) as tar:
        held = tar.extractfile("result/matrix.yaml").read().decode()  # type: ignore[union-attr]
    assert held == bundle.redacted_targets(SECRET_TARGETS, "matrix.yaml")
    assert "hunter2" not in held
