"""Rows keyed by platform facts: which facts decide, and bad conditions named on load."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.config.divergences import Divergence, DivergenceError, applying, find, load, parse_xfail_reason
from parity.platform.fact_table import FactValue

NINE_P: dict[str, FactValue] = {
    "os_type": "linux",
    "kind": "linux",
    "bind.fstype": "9p",
    "bind.options": ("rw", "trans=virtio"),
}
CIFS: dict[str, FactValue] = {
    "os_type": "linux",
    "kind": "mobyvm",
    "bind.fstype": "cifs",
    "bind.options": ("rw", "nobrl"),
}


def row(when: dict[str, object], **extra: object) -> Divergence:
    return Divergence.model_validate(
        {"check": "suites/x.py::test_y", "when": when, "reason": "a reason long enough", "reference": "moby#1", **extra}
    )


def test_every_condition_must_hold_and_an_unknown_fact_holds_none() -> None:
    nine_p = row({"os_type": "linux", "bind.fstype": "9p", "bind.options": {"lacks": ["cache=mmap"]}})
    assert nine_p.applies_to(NINE_P)
    assert not nine_p.applies_to(CIFS)
    assert not nine_p.applies_to({**NINE_P, "bind.options": ("rw", "cache=mmap")})
    assert not nine_p.applies_to({"os_type": "linux"})  # bind mounts not observed


def test_lists_versions_and_list_facts() -> None:
    assert row({"bind.fstype": ["9p", "cifs"]}).applies_to(CIFS)
    old_engine = row({"engine_version": {"below": "23.0"}, "kernel": {"at_least": "5.8"}})
    assert old_engine.applies_to({"engine_version": "20.10.24", "kernel": "6.1.0"})
    assert not old_engine.applies_to({"engine_version": "24.0.2", "kernel": "6.1.0"})
    assert not old_engine.applies_to({"engine_version": "20.10.24", "kernel": "5.4.0"})
    assert row({"bind.options": {"has": ["nobrl"]}}).applies_to(CIFS)
    assert row({"security_options": "name=seccomp,profile=default"}).applies_to(
        {"security_options": ("name=seccomp,profile=default", "name=cgroupns")}
    )


def test_the_run_uses_only_rows_its_targets_match() -> None:
    rows = (row({"bind.fstype": "9p"}), row({"bind.fstype": "cifs"}, params={"kind": "bind"}))
    assert applying(rows, NINE_P) == rows[:1]
    assert applying(rows, CIFS) == rows[1:]
    assert find(rows, "suites/x.py::test_y", {"kind": "bind"}, CIFS) == rows[1]
    assert find(rows, "suites/x.py::test_y", {"kind": "volume"}, CIFS) is None


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("{bind.fs: 9p}", "divergences.0.when: unknown fact 'bind.fs' (known: kind, os_type, "),
        ("{kind: windows}", "divergences.0.when: kind: unknown kind 'windows' (known: linux, mobyvm, hyperv)"),
        ("{os_type: {below: '2'}}", "divergences.0.when: os_type: below/at_least compare versions: "),
        ("{kernel: {has: [x]}}", "divergences.0.when: kernel: has/lacks test lists: "),
        ("{kernel: {}}", "divergences.0.when.kernel"),
        ("{}", "divergences.0.when: Dictionary should have at least 1 item"),
    ],
)
def test_a_bad_condition_is_one_line_naming_the_row_and_key(tmp_path: Path, when: str, message: str) -> None:
    path = tmp_path / "divergences.yaml"
    path.write_text(
        f"divergences:\n  - {{check: suites/x.py::test_y, when: {when}, reason: a reason here, reference: r#1}}\n"
    )
    with pytest.raises(DivergenceError) as raised:
        load(path)
    assert str(raised.value).startswith(f"{path}: {message}"), str(raised.value)
    assert "\n" not in str(raised.value)


def test_no_shipped_row_is_keyed_by_kind_alone() -> None:
    """A kind is a name for a bundle of facts; the facts that decide are what rows name."""
    shipped = load(Path(__file__).resolve().parents[2] / "divergences.yaml")
    assert [r.describe() for r in shipped if set(r.when) == {"kind"}] == []


@pytest.mark.parametrize(
    ("reason", "reference"),
    [
        ("FIFOs fail", "docker/for-mac#911"),
        ("a (nested) reason", "moby/moby#37296 (the memory limit sizes the utility VM); moby 20.10 (oci_windows.go)"),
    ],
)
def test_an_xfail_reason_reads_back_whole_references_with_parentheses(reason: str, reference: str) -> None:
    row = Divergence(
        check="suites/a/test_b.py::test_c", when={"os_type": "windows"}, reason=reason, reference=reference
    )
    assert parse_xfail_reason(row.xfail_reason()) == (reason, reference)
    assert parse_xfail_reason("some other failure (with a note)") is None
