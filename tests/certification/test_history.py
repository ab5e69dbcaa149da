"""A target's history over builds: pass rate and regressions per build, in build order,
as history.html (an inline SVG chart and a table) and history.md, from fabricated runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from parity.certification import history, junit
from parity.certification.comparison import CertificationError
from parity.certification.requirements import Level
from tests.certification.test_certification import DIVERGES, FAIL, NOT_APPLICABLE, PASS, Texts, per_target

A, B, C, D, E = (f"volumes/test_v.py::test_{name}" for name in "abcde")


def nightly(folder: Path) -> list[history.BuildPoint]:
    """Three Insider builds, written out of order; build 26100.10 comes after 26100.9."""
    per_target(
        folder, "winsrv-insider", "hyperv", "26100.10", {A: PASS, B: DIVERGES, C: PASS, D: NOT_APPLICABLE, E: PASS}
    )
    per_target(folder, "winsrv-insider", "hyperv", "26100.2", {A: PASS, B: PASS, C: FAIL, D: NOT_APPLICABLE})
    per_target(folder, "winsrv-insider", "hyperv", "26100.9", {A: FAIL, B: PASS, C: PASS, D: NOT_APPLICABLE})
    return history.history(junit.read_all([folder]))


def short(checks: list[str]) -> list[str]:
    return [check.split("::")[1] for check in checks]


def test_each_build_has_its_pass_rate_and_what_changed_since_the_build_before(tmp_path: Path) -> None:
    points = nightly(tmp_path)
    assert [
        (p.run.build, p.conforming, p.judged, short(p.regressed), short(p.fixed), p.verdict.level) for p in points
    ] == [
        ("26100.2", 2, 3, [], [], None),  # n/a judges nothing: 2 of 3
        ("26100.9", 2, 3, ["test_a"], ["test_c"], None),
        # a known divergence is judged (it differs) and is a regression from a pass
        ("26100.10", 3, 4, ["test_b"], ["test_a"], Level.SHOULD),
    ]
    assert [p.pass_rate for p in points] == [2 / 3, 2 / 3, 3 / 4]


def test_the_target_is_named_when_the_runs_are_of_several(tmp_path: Path) -> None:
    nightly(tmp_path)
    per_target(tmp_path, "local", "linux", "6.1.0", {A: PASS})
    runs = junit.read_all([tmp_path])
    with pytest.raises(CertificationError) as caught:
        history.history(runs)
    assert str(caught.value) == "the runs are of 2 targets (local, winsrv-insider): name one with --target"
    with pytest.raises(CertificationError) as caught:
        history.history(runs, "desktop")
    assert str(caught.value) == "no run of target desktop: the runs are of local, winsrv-insider"
    assert [p.run.build for p in history.history(runs, "local")] == ["6.1.0"]


def test_the_page_is_a_chart_then_a_table_self_contained(tmp_path: Path) -> None:
    points = nightly(tmp_path)
    page = history.history_html(points)
    assert "<script" not in page
    assert "url(" not in page
    assert "<svg" in page
    assert page.index("<svg") < page.index('<table class="history"')
    # the axis starts at a multiple of 10 at least a point under the lowest rate (66.7%)
    assert history.rate_floor(points) == 60
    assert re.findall(r'<text x="50" y="[\d.]+" text-anchor="end">([\d.]+%)</text>', page) == [
        "60%",
        "70%",
        "80%",
        "90%",
        "100%",
    ]
    # one point per build, left to right in build order, 75% above 66.7%
    circles = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"[^>]*><title>([^<]+)</title>', page)
    assert [title for _, _, title in circles] == [
        "build 26100.2: 66.7% pass",
        "build 26100.9: 66.7% pass",
        "build 26100.10: 75.0% pass",
    ]
    xs = [float(x) for x, _, _ in circles]
    ys = [float(y) for _, y, _ in circles]
    assert xs == sorted(xs)
    assert ys[0] == ys[1] > ys[2]
    # a bar for each build with regressions, none for the first
    assert re.findall(r"<rect [^>]*><title>([^<]+)</title>", page) == [
        "build 26100.9: 1 regressed",
        "build 26100.10: 1 regressed",
    ]
    assert Texts.of(page, "history").rows == [
        ["build", "run", "when", "verdict", "pass rate", "conforming / judged", "regressed", "fixed"],
        [
            "26100.2",
            "r1",
            "2024-05-01T10:00:00+00:00",
            "✗ NOT CERTIFIED (checked at SHOULD; blocked at MUST by 1 check, at SHOULD by 1 check)",
            "66.7%",
            "2/3",
            "0",
            "0",
        ],
        [
            "26100.9",
            "r1",
            "2024-05-01T10:00:00+00:00",
            "✗ NOT CERTIFIED (checked at SHOULD; blocked at MUST by 1 check, at SHOULD by 1 check)",
            "66.7%",
            "2/3",
            "1 suites/volumes/test_v.py::test_a",
            "1 suites/volumes/test_v.py::test_c",
        ],
        [
            "26100.10",
            "r1",
            "2024-05-01T10:00:00+00:00",
            "✓ CERTIFIED at SHOULD (checked at SHOULD; nothing blocks it)",
            "75.0%",
            "3/4",
            "1 suites/volumes/test_v.py::test_b",
            "1 suites/volumes/test_v.py::test_a",
        ],
    ]


def test_markdown_and_files(tmp_path: Path) -> None:
    points = nightly(tmp_path)
    assert history.history_markdown(points).splitlines() == [
        "# History of winsrv-insider",
        "",
        "| build | verdict | pass rate | conforming / judged | regressed | fixed |",
        "|---|---|---:|---:|---:|---:|",
        "| 26100.2 | ✗ NOT CERTIFIED (checked at SHOULD; blocked at MUST by 1 check, at SHOULD by 1 check) "
        "| 66.7% | 2/3 | 0 | 0 |",
        "| 26100.9 | ✗ NOT CERTIFIED (checked at SHOULD; blocked at MUST by 1 check, at SHOULD by 1 check) "
        "| 66.7% | 2/3 | 1 | 1 |",
        "| 26100.10 | ✓ CERTIFIED at SHOULD (checked at SHOULD; nothing blocks it) | 75.0% | 3/4 | 1 | 1 |",
        "",
        "## Regressions",
        "",
        "- build 26100.9: `suites/volumes/test_v.py::test_a`",
        "- build 26100.10: `suites/volumes/test_v.py::test_b`",
    ]
    written = history.write_history(points, tmp_path / "out")
    assert [path.name for path in written] == ["history.html", "history.md"]
    assert written[1].read_text(encoding="utf-8") == history.history_markdown(points)


@pytest.mark.parametrize(("most", "top"), [(0, 4), (4, 4), (5, 8), (9, 20), (21, 40), (41, 80), (81, 200)])
def test_the_regressions_axis_ends_on_a_round_multiple_of_four(most: int, top: int) -> None:
    assert history.ceiling(most) == top
