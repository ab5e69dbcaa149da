"""Certification reports from JUnit files: reading, the matrix, comparisons, renderings
and the command line, on JUnit files written here (no pytest run, no Docker)."""

from __future__ import annotations

import json
import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from parity.certification import cli, junit, render
from parity.certification.comparison import CertificationError, Comparison, compare
from parity.certification.junit import JUnitError
from parity.certification.matrix import ConformanceMatrix, build_matrix
from parity.certification.results import Outcome, Result

PASS = ""
FAIL = '<failure message="AssertionError: assert 1 == 2" type="call failed">trace</failure>'
ERROR = '<error message="target x: workload: no space left" type="setup failed"/>'
DIVERGES = '<skipped type="pytest.xfail" message="known divergence: no FIFOs on SMB shares (moby/moby#12)"/>'
XPASS = (
    '<failure message="[XPASS(strict)] known divergence: no FIFOs on SMB shares (moby/moby#12)" type="call failed"/>'
)
NOT_APPLICABLE = '<skipped type="pytest.skip" message="not applicable: target x does not declare host_network (runs containers with --network host)"/>'
UNAVAILABLE = '<skipped type="pytest.skip" message="target x is not available: no answer within 60 s"/>'


def per_target(
    folder: Path,
    target: str,
    kind: str,
    build: str,
    cases: dict[str, str],
    *,
    run: str = "r1",
    properties: dict[str, str] | None = None,
) -> Path:
    """A file as plugins/reports.py writes it; cases: 'area/test_file.py::test_name[params]' -> outcome;
    properties: more suite properties (e.g. requirements)."""
    more = "".join(
        f'<property name="{escape(name)}" value="{escape(value)}"/>' for name, value in (properties or {}).items()
    )
    rows = []
    for check, outcome in cases.items():
        module, name = check.split("::")
        classname = "suites." + module.removesuffix(".py").replace("/", ".")
        base, bracket, params = name.partition("[")
        test = f"{base}[{target}-{params}" if bracket else f"{base}[{target}]"
        rows.append(f'<testcase name="{test}" classname="{classname}" time="0.125">{outcome}</testcase>')
    failures = sum(1 for outcome in cases.values() if "<failure" in outcome)
    path = folder / f"junit-{target}-{build}.xml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<testsuites>'
        f'<testsuite name="parity.{target}.{build}" tests="{len(cases)}" errors="0" failures="{failures}" '
        'skipped="0" time="1.5" timestamp="2024-05-01T10:00:00+00:00"><properties>'
        f'<property name="target" value="{target}"/><property name="kind" value="{kind}"/>'
        f'<property name="build" value="{build}"/><property name="run" value="{run}"/>'
        f'<property name="engine.version" value="25.0.3"/>{more}</properties>'
        + "".join(rows)
        + "</testsuite></testsuites>\n"
    )
    return path


def test_outcomes_are_read_as_written_by_the_plugin(tmp_path: Path) -> None:
    path = per_target(
        tmp_path,
        "winsrv",
        "hyperv",
        "16237.1",
        {
            "volumes/test_a.py::test_pass[bind]": PASS,
            "volumes/test_a.py::test_fail": FAIL,
            "volumes/test_a.py::test_error": ERROR,
            "volumes/test_a.py::test_diverges[bind]": DIVERGES,
            "volumes/test_a.py::test_xpass": XPASS,
            "networking/test_b.py::test_host": NOT_APPLICABLE,
            "networking/test_b.py::test_unavailable": UNAVAILABLE,
        },
    )
    [run] = junit.read(path)
    assert (run.target, run.kind, run.build, run.run) == ("winsrv", "hyperv", "16237.1", "r1")
    assert run.results == {
        "suites/volumes/test_a.py::test_pass[bind]": Result(Outcome.PASS),
        "suites/volumes/test_a.py::test_fail": Result(Outcome.FAIL, "AssertionError: assert 1 == 2"),
        "suites/volumes/test_a.py::test_error": Result(Outcome.ERROR, "target x: workload: no space left"),
        "suites/volumes/test_a.py::test_diverges[bind]": Result(
            Outcome.DIVERGENCE, "", "no FIFOs on SMB shares", "moby/moby#12"
        ),
        "suites/volumes/test_a.py::test_xpass": Result(
            Outcome.FIXED, "passed: the known divergence no longer holds", "no FIFOs on SMB shares", "moby/moby#12"
        ),
        "suites/networking/test_b.py::test_host": Result(
            Outcome.NOT_APPLICABLE, "target x does not declare host_network (runs containers with --network host)"
        ),
        "suites/networking/test_b.py::test_unavailable": Result(
            Outcome.NOT_RUN, "target x is not available: no answer within 60 s"
        ),
    }


@pytest.mark.parametrize(
    ("name", "target_name", "expected"),
    [
        ("test_x[local]", "local", "test_x"),
        ("test_x[local-bind]", "local", "test_x[bind]"),
        ("test_x[bind-local]", "local", "test_x[bind]"),
        ("test_x[1-local-bind]", "local", "test_x[1-bind]"),
        ("test_x[windows-insider-bind]", "windows-insider", "test_x[bind]"),
        ("test_x[localhost-bind]", "local", None),
        ("test_x[other]", "local", None),
        ("test_x", "local", None),
    ],
)
def test_strip_target(name: str, target_name: str, expected: str | None) -> None:
    assert junit.strip_target(name, target_name) == expected


def test_pytest_junitxml_is_split_by_its_targets_property(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(
        '<testsuites name="pytest tests"><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="4">'
        '<properties><property name="parity.targets" value="{&quot;win&quot;: &quot;hyperv&quot;, '
        '&quot;win-insider&quot;: &quot;hyperv&quot;}"/><property name="parity.run" value="r9"/></properties>'
        '<testcase classname="suites.lifecycle.test_l" name="test_exit[win-3]" time="0.001"/>'
        f'<testcase classname="suites.lifecycle.test_l" name="test_exit[win-insider-3]" time="0.001">{FAIL}</testcase>'
        f'<testcase classname="suites.lifecycle.test_l" name="test_stop[win-insider]" time="0.001">{DIVERGES}</testcase>'
        '<testcase classname="suites.lifecycle.test_l" name="test_without_target" time="0.001"/>'
        "</testsuite></testsuites>"
    )
    runs = {run.target: run for run in junit.read(path)}
    assert sorted(runs) == ["win", "win-insider"]
    assert runs["win"].results == {"suites/lifecycle/test_l.py::test_exit[3]": Result(Outcome.PASS)}
    assert {check: r.outcome for check, r in runs["win-insider"].results.items()} == {
        "suites/lifecycle/test_l.py::test_exit[3]": Outcome.FAIL,
        "suites/lifecycle/test_l.py::test_stop": Outcome.DIVERGENCE,
    }
    assert runs["win"].run == "r9"


def test_a_run_in_both_kinds_of_file_is_read_once(tmp_path: Path) -> None:
    per_target(tmp_path, "local", "linux", "6.1", {"lifecycle/test_l.py::test_exit": PASS}, run="r9")
    (tmp_path / "junit.xml").write_text(
        '<testsuites><testsuite name="pytest" errors="0" failures="0" tests="1"><properties>'
        '<property name="parity.targets" value="{&quot;local&quot;: &quot;linux&quot;}"/>'
        '<property name="parity.run" value="r9"/></properties>'
        '<testcase classname="suites.lifecycle.test_l" name="test_exit[local]"/></testsuite></testsuites>'
    )
    runs = junit.read_all([tmp_path])
    assert [(run.target, run.source.name) for run in runs] == [("local", "junit-local-6.1.xml")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("this is not xml", "{path}: not a JUnit file: not XML (syntax error: line 1, column 0)"),
        ("<html><body/></html>", "{path}: not a JUnit file: the root element is <html>, not <testsuites>"),
        (
            '<testsuites><testsuite name="other" tests="0"/></testsuites>',
            "{path}: not a parity JUnit file: suite 'other' has neither a 'target' nor a 'parity.targets' property",
        ),
    ],
)
def test_unusable_files_are_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x.xml"
    path.write_text(content)
    with pytest.raises(JUnitError) as caught:
        junit.read(path)
    assert str(caught.value) == message.format(path=path)


def test_missing_and_empty_folders_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(JUnitError, match=r"^.*/nosuch: no such file or folder$"):
        junit.read_all([tmp_path / "nosuch"])
    with pytest.raises(JUnitError, match=r"^.*: no JUnit files \(\*\.xml\) in this folder$"):
        junit.read_all([tmp_path])


MODE_LINK = "https://man7.org/linux/man-pages/man2/chmod.2.html"
FIFO_LINK = "https://docs.docker.com/engine/storage/volumes/"
# what the plugin writes for the checks of two_targets(); test_host states none (an older report)
REQUIREMENTS = json.dumps(
    {
        "suites/volumes/test_v.py::test_mode": {"id": "volumes.v.mode", "level": "MUST", "link": MODE_LINK},
        "suites/volumes/test_v.py::test_fifo": {"id": "volumes.v.fifo", "level": "SHOULD", "link": FIFO_LINK},
    }
)


def two_targets(folder: Path) -> ConformanceMatrix:
    """The reference fails a MUST check (not certified); winsrv diverges as known (certified)."""
    per_target(
        folder,
        "winsrv",
        "hyperv",
        "16251",
        {
            "volumes/test_v.py::test_fifo[bind]": DIVERGES,
            "volumes/test_v.py::test_mode": PASS,
            "networking/test_n.py::test_host": NOT_APPLICABLE,
        },
        properties={"requirements": REQUIREMENTS},
    )
    per_target(
        folder,
        "local",
        "linux",
        "6.1.0",
        {"volumes/test_v.py::test_fifo[bind]": PASS, "volumes/test_v.py::test_mode": FAIL},
    )
    return build_matrix(junit.read_all([folder]))


def test_matrix_has_areas_reference_first_and_not_run_where_absent(tmp_path: Path) -> None:
    matrix = two_targets(tmp_path)
    assert [column.id for column in matrix.columns] == ["local", "winsrv"]
    assert matrix.areas == {
        "networking": ["suites/networking/test_n.py::test_host"],
        "volumes": ["suites/volumes/test_v.py::test_fifo[bind]", "suites/volumes/test_v.py::test_mode"],
    }
    local, winsrv = matrix.columns
    assert matrix.cell("suites/networking/test_n.py::test_host", local).outcome == Outcome.NOT_RUN
    assert matrix.counts(local)[Outcome.FAIL] == 1
    assert matrix.counts(winsrv) == {
        **dict.fromkeys(Outcome, 0),
        **{Outcome.PASS: 1, Outcome.DIVERGENCE: 1, Outcome.NOT_APPLICABLE: 1},
    }
    assert matrix.top_divergences(winsrv) == [("no FIFOs on SMB shares", "moby/moby#12", 1)]


def test_columns_of_one_target_are_told_apart_by_build(tmp_path: Path) -> None:
    per_target(tmp_path, "winsrv", "hyperv", "16251", {"volumes/test_v.py::test_mode": PASS})
    per_target(tmp_path, "winsrv", "hyperv", "16237", {"volumes/test_v.py::test_mode": FAIL})
    matrix = build_matrix(junit.read_all([tmp_path]))
    assert [column.id for column in matrix.columns] == ["winsrv@16237", "winsrv@16251"]


def builds(tmp_path: Path) -> list[Comparison]:
    old = per_target(
        tmp_path,
        "winsrv",
        "hyperv",
        "16237",
        {
            "volumes/test_v.py::test_mode": PASS,  # regresses
            "volumes/test_v.py::test_fifo[bind]": DIVERGES,  # fixed: the strict xfail passes
            "volumes/test_v.py::test_link": FAIL,  # fixed: passes
            "volumes/test_v.py::test_owner": FAIL,  # now a known divergence
            "volumes/test_v.py::test_gone": PASS,  # removed
            "lifecycle/test_l.py::test_exit": PASS,  # unchanged
        },
    )
    new = per_target(
        tmp_path,
        "winsrv",
        "hyperv",
        "16251",
        {
            "volumes/test_v.py::test_mode": FAIL,
            "volumes/test_v.py::test_fifo[bind]": XPASS,
            "volumes/test_v.py::test_link": PASS,
            "volumes/test_v.py::test_owner": DIVERGES,
            "volumes/test_v.py::test_new": PASS,
            "lifecycle/test_l.py::test_exit": PASS,
        },
    )
    return compare(junit.read(old), junit.read(new))


def test_comparison_finds_regressed_fixed_new_and_removed_checks(tmp_path: Path) -> None:
    [comparison] = builds(tmp_path)
    names = {
        key: [change.check.split("::")[1] for change in getattr(comparison, key)]
        for key in ("regressed", "fixed", "added", "removed", "changed")
    }
    assert names == {
        "regressed": ["test_mode"],
        "fixed": ["test_fifo[bind]", "test_link"],
        "added": ["test_new"],
        "removed": ["test_gone"],
        "changed": ["test_owner"],
    }
    assert comparison.unchanged == 1
    fifo = comparison.fixed[0]
    assert fifo.old is not None
    assert fifo.new is not None
    assert (fifo.old.outcome, fifo.new.outcome) == (Outcome.DIVERGENCE, Outcome.FIXED)


def test_comparison_pairs_targets_by_name_and_refuses_ambiguity(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    for folder, outcome in ((old, PASS), (new, FAIL)):
        per_target(folder, "local", "linux", "6.1", {"lifecycle/test_l.py::test_exit": outcome})
        per_target(folder, "winsrv", "hyperv", "16237", {"lifecycle/test_l.py::test_exit": outcome})
    comparisons = compare(junit.read_all([old]), junit.read_all([new]))
    assert [(c.old.target, c.new.target, len(c.regressed)) for c in comparisons] == [
        ("local", "local", 1),
        ("winsrv", "winsrv", 1),
    ]
    per_target(new, "winsrv", "hyperv", "16251", {"lifecycle/test_l.py::test_exit": PASS})
    with pytest.raises(CertificationError) as caught:
        compare(junit.read_all([old]), junit.read_all([new]))
    assert (
        str(caught.value) == "NEW holds more than one run of target winsrv (builds 16237, 16251); name one JUnit file"
    )


class _Tables(HTMLParser):
    """Collects what a reader relies on: tables, external references, scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "srcset") or (tag == "link" and name == "href"):
                self.external.append(f"{tag} {name}={value}")


class Texts(HTMLParser):
    """The words inside the element with id ``element_id``, as a reader sees them: for a
    table, its rows as lists of cells; otherwise its lines (one per block element)."""

    VOID = frozenset({"meta", "link", "br", "img", "input", "hr", "col", "wbr"})
    BLOCKS = frozenset({"div", "p", "li", "summary", "h1", "h2", "h3", "article", "section"})

    def __init__(self, element_id: str) -> None:
        super().__init__()
        self.element_id = element_id
        self.rows: list[list[str]] = []
        self.lines: list[str] = [""]
        self._depth = 0  # open elements inside the one looked for (0: outside it)
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        if self._depth == 0:
            if ("id", self.element_id) in attrs:
                self._depth = 1
            return
        self._depth += 1
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self._cell is None:
            self._cell = []
        elif tag in self.BLOCKS:
            self.lines.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID or self._depth == 0:
            return
        self._depth -= 1
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join(" ".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._depth == 0:
            return
        if self._cell is not None:
            self._cell.append(data)
        self.lines[-1] = " ".join(f"{self.lines[-1]} {data}".split())

    @classmethod
    def of(cls, page: str, element_id: str) -> Texts:
        parsed = cls(element_id)
        parsed.feed(page)
        assert parsed.lines != [""] or parsed.rows, f"no element with id {element_id!r}"
        parsed.lines = [line for line in parsed.lines if line]
        return parsed


def test_html_is_self_contained_and_says_each_outcome_in_words(tmp_path: Path) -> None:
    page = render.matrix_html(two_targets(tmp_path))
    parsed = _Tables()
    parsed.feed(page)
    assert parsed.external == []
    assert "script" not in parsed.tags
    assert "url(" not in page
    assert "@import" not in page
    assert Texts.of(page, "matrix").rows == [
        ["check", "local linux (reference) build 6.1.0", "winsrv hyperv build 16251"],
        ["networking 1 check"],
        [
            "test_n.py::test_host level not stated: counts as MUST",
            "○ not run no result in this target's report",
            "⊘ n/a target x does not declare host_network (runs containers with --network host)",
        ],
        ["volumes 2 checks"],
        [
            f"test_v.py::test_fifo[bind] SHOULD {FIFO_LINK}",
            "✓ pass",
            "≈ known divergence no FIFOs on SMB shares ref: moby/moby#12",
        ],
        [f"test_v.py::test_mode MUST {MODE_LINK}", "✗ FAIL AssertionError: assert 1 == 2", "✓ pass"],
    ]
    assert f'<span class="lvl MUST">MUST</span><a href="{MODE_LINK}">' in page


def test_html_reads_in_order_verdicts_attention_divergences_then_the_matrix(tmp_path: Path) -> None:
    page = render.matrix_html(two_targets(tmp_path))
    order = ['id="verdicts"', "<h2>Needs attention (1)</h2>", "<h2>Known divergences by reason (1)</h2>"]
    order += ['<table class="matrix" id="matrix">', "<h2>Target runs</h2>"]
    assert [page.index(text) for text in order] == sorted(page.index(text) for text in order)
    assert Texts.of(page, "verdict-local").lines == [
        "✗ NOT CERTIFIED local",
        "linux (reference) · build 6.1.0",
        "checked at SHOULD; blocked at MUST by 1 check, at SHOULD by 1 check",
        "✓ 1 pass ✗ 1 FAIL ○ 1 not run",
        "networking 0/1 ✓ volumes 1/2 ✓ 1✗",
    ]
    assert Texts.of(page, "verdict-winsrv").lines == [
        "✓ CERTIFIED at SHOULD winsrv",
        "hyperv · build 16251",
        "checked at SHOULD; nothing blocks it",
        "✓ 1 pass ≈ 1 known divergence ⊘ 1 n/a",
        "networking 0/1 ✓ volumes 1/2 ✓ 1≈",
    ]
    # the bands carry the verdict's colour (the browser test looks for it); the bars are to scale
    assert '<div class="band uncertified"><span class="verdict">✗ NOT CERTIFIED</span>' in page
    assert '<div class="band certified"><span class="verdict">✓ CERTIFIED at SHOULD</span>' in page
    assert (
        '<span class="bar" title="1 pass, 1 known divergence"><span class="pass" style="width:50.00%"></span>'
        '<span class="divergence" style="width:50.00%"></span></span>'
    ) in page
    assert Texts.of(page, "attention").rows == [
        ["target", "check", "what happened"],
        [
            "local",
            f"suites/volumes/test_v.py::test_mode MUST {MODE_LINK}",
            "✗ FAIL AssertionError: assert 1 == 2",
        ],
    ]
    # not run is folded: an unavailable target would list every check
    assert "<details><summary>○ not run: 1 check (local 1)</summary>" in page
    assert Texts.of(page, "notrun").rows[1] == [
        "local",
        "suites/networking/test_n.py::test_host level not stated: counts as MUST",
        "○ not run no result in this target's report",
    ]
    assert Texts.of(page, "divergences").rows == [
        ["outcome", "reason", "reference", "targets", "checks"],
        [
            "≈ known divergence",
            "no FIFOs on SMB shares",
            "moby/moby#12",
            "winsrv",
            "1 check winsrv: suites/volumes/test_v.py::test_fifo[bind]",
        ],
    ]
    assert 'id="passes"' not in page  # no check passes on both targets


def test_html_folds_the_checks_that_pass_everywhere_and_puts_failures_first(tmp_path: Path) -> None:
    checks = {"volumes/test_v.py::test_a": PASS, "volumes/test_v.py::test_b": PASS, "lifecycle/test_l.py::test_c": PASS}
    per_target(tmp_path, "local", "linux", "6.1.0", checks)
    per_target(tmp_path, "winsrv", "hyperv", "16251", {**checks, "volumes/test_v.py::test_b": XPASS})
    page = render.matrix_html(build_matrix(junit.read_all([tmp_path])))
    assert [row[0] for row in Texts.of(page, "matrix").rows[1:]] == [
        "volumes 1 check",
        "test_v.py::test_b level not stated: counts as MUST",
    ]
    assert "<details><summary>✓ 2 checks pass on every target</summary>" in page
    assert [row[0] for row in Texts.of(page, "passes").rows[1:]] == [
        "lifecycle 1 check",
        "test_l.py::test_c level not stated: counts as MUST",
        "volumes 1 check",
        "test_v.py::test_a level not stated: counts as MUST",
    ]
    # a fixed divergence needs attention (its row is wrong now) and keeps winsrv from certification
    assert Texts.of(page, "attention").rows[1][0::2] == [
        "winsrv",
        "★ FIXED divergence no FIFOs on SMB shares ref: moby/moby#12 passed: the known divergence no longer holds",
    ]
    assert Texts.of(page, "verdict-winsrv").lines[0] == "✗ NOT CERTIFIED winsrv"
    assert Texts.of(page, "verdict-local").lines[:3] == [
        "✓ CERTIFIED at SHOULD local",
        "linux (reference) · build 6.1.0",
        "checked at SHOULD; nothing blocks it",
    ]
    assert '<p class="none">None: no row of divergences.yaml applied.</p>' in page


@pytest.mark.parametrize(
    ("level", "outcomes", "expected"),
    [
        (
            "SHOULD",
            {"test_must": PASS, "test_should": PASS},
            ("✓ CERTIFIED at SHOULD", "nothing blocks it", "certified"),
        ),
        (
            "SHOULD",
            {"test_must": PASS, "test_should": FAIL},
            ("✓ CERTIFIED at MUST", "blocked at SHOULD by 1 check", "below"),
        ),
        ("MUST", {"test_must": PASS}, ("✓ CERTIFIED at MUST", "nothing blocks it", "certified")),
        ("MUST", {"test_must": ERROR}, ("✗ NOT CERTIFIED", "blocked at MUST by 1 check", "uncertified")),
        ("SHOULD", {}, ("✗ NOT CERTIFIED", "no check came to a verdict", "uncertified")),
    ],
)
def test_verdict_words_and_band_per_level(
    tmp_path: Path, level: str, outcomes: dict[str, str], expected: tuple[str, str, str]
) -> None:
    """(headline, why, the band's class): a run checked at MUST is certified in full at MUST;
    one checked at SHOULD and certified at MUST only gets the band 'below'."""
    headline, why, band = expected
    requirements = {
        "suites/area/test_a.py::test_must": {"id": "area.a.must", "level": "MUST", "link": MODE_LINK},
        "suites/area/test_a.py::test_should": {"id": "area.a.should", "level": "SHOULD", "link": FIFO_LINK},
    }
    per_target(
        tmp_path,
        "vm",
        "linux",
        "6.1",
        {f"area/test_a.py::{name}": outcome for name, outcome in outcomes.items()},
        properties={"level": level, "requirements": json.dumps(requirements)},
    )
    matrix = build_matrix(junit.read_all([tmp_path]))
    assert render.verdict_words(matrix.verdict(matrix.columns[0])) == (headline, f"checked at {level}; {why}")
    assert f'<div class="band {band}"><span class="verdict">{headline}</span>' in render.matrix_html(matrix)


def test_markdown_puts_verdicts_first_and_reasons_in_numbered_notes(tmp_path: Path) -> None:
    text = render.matrix_markdown(two_targets(tmp_path))
    assert text.splitlines()[:5] == [
        "# Conformance matrix",
        "",
        "- **local** (linux, reference, build 6.1.0): ✗ NOT CERTIFIED "
        "(checked at SHOULD; blocked at MUST by 1 check, at SHOULD by 1 check)",
        "- **winsrv** (hyperv, build 16251): ✓ CERTIFIED at SHOULD (checked at SHOULD; nothing blocks it)",
        "",
    ]
    assert "| `test_n.py::test_host` | ○ not run | ⊘ n/a [1] |" in text  # notes are numbered as they appear
    assert "| `test_v.py::test_fifo[bind]` | ✓ pass | ≈ known divergence [2] |" in text
    assert "2. known divergence: no FIFOs on SMB shares (moby/moby#12)" in text
    assert "| `test_v.py::test_mode` | ✗ **FAIL** [3] | ✓ pass |" in text
    header = next(line for line in text.splitlines() if line.startswith("| check |"))
    assert header == "| check | local | winsrv |"


def test_json_shape(tmp_path: Path) -> None:
    document = json.loads(render.matrix_json(two_targets(tmp_path)))
    assert (document["format"], document["version"]) == ("parity-matrix", 2)
    assert [(c["id"], c["kind"], c["reference"], c["counts"]["fail"]) for c in document["columns"]] == [
        ("local", "linux", True, 1),
        ("winsrv", "hyperv", False, 0),
    ]
    assert [c["verdict"] for c in document["columns"]] == [
        {
            "certified": False,
            "level": None,
            "checked": "SHOULD",
            "blocking": {
                "MUST": ["suites/volumes/test_v.py::test_mode"],
                "SHOULD": ["suites/volumes/test_v.py::test_mode"],
            },
        },
        {"certified": True, "level": "SHOULD", "checked": "SHOULD", "blocking": {"MUST": [], "SHOULD": []}},
    ]
    networking, volumes = document["areas"]
    assert networking["checks"][0]["requirement"] is None  # no report states it
    assert volumes["area"] == "volumes"
    assert volumes["checks"][0] == {
        "check": "suites/volumes/test_v.py::test_fifo[bind]",
        "requirement": {"id": "volumes.v.fifo", "level": "SHOULD", "link": FIFO_LINK},
        "results": {
            "local": {"outcome": "pass", "detail": "", "reason": "", "reference": ""},
            "winsrv": {
                "outcome": "known divergence",
                "detail": "",
                "reason": "no FIFOs on SMB shares",
                "reference": "moby/moby#12",
            },
        },
    }


def test_comparison_renderings(tmp_path: Path) -> None:
    comparisons = builds(tmp_path)
    document = json.loads(render.comparison_json(comparisons))
    [item] = document["comparisons"]
    assert (item["old"]["build"], item["new"]["build"]) == ("16237", "16251")
    assert [c["check"] for c in item["regressed"]] == ["suites/volumes/test_v.py::test_mode"]
    assert item["added"][0]["old"] is None
    markdown = render.comparison_markdown(comparisons)
    assert "## winsrv build 16237 → winsrv build 16251" in markdown
    assert "regressed 1, fixed 2, new checks 1, removed checks 1, other changes 1, unchanged 1." in markdown
    assert "| `suites/volumes/test_v.py::test_mode` | ✓ pass | ✗ **FAIL** [1] |" in markdown
    page = render.comparison_html(comparisons)
    assert re.search(r'<table class="changes" id="regressed">.*?test_mode.*?</table>', page, re.DOTALL)
    assert "<h3>Removed checks (1)</h3>" in page


def test_command_writes_the_three_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    two_targets(tmp_path)
    out = tmp_path / "out"
    assert cli.main([str(tmp_path), "--out", str(out)]) == 0
    assert sorted(path.name for path in out.iterdir()) == ["matrix.html", "matrix.json", "matrix.md"]
    assert capsys.readouterr().out.splitlines() == [
        f"wrote {out / name}" for name in ("matrix.html", "matrix.md", "matrix.json")
    ]


def test_compare_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    builds(tmp_path)
    old, new = tmp_path / "junit-winsrv-16237.xml", tmp_path / "junit-winsrv-16251.xml"
    assert cli.main(["compare", str(old), str(new), "--out", str(tmp_path / "c")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "winsrv 16237 -> winsrv 16251: 1 regressed, 2 fixed, 1 new, 1 removed, 1 changed otherwise"
    assert (tmp_path / "c" / "comparison.html").is_file()


def test_command_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([str(tmp_path / "nosuch")]) == 2
    assert capsys.readouterr().err == f"parity.certification: error: {tmp_path / 'nosuch'}: no such file or folder\n"
    (tmp_path / "notes.xml").write_text("<notes>to self</notes>")
    assert cli.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"parity.certification: error: {tmp_path / 'notes.xml'}: not a JUnit file: the root element is <notes>, "
        "not <testsuites>\n"
    )


def test_schema_accepts_the_plugin_form_and_rejects_what_xunit2_readers_reject(tmp_path: Path) -> None:
    good = per_target(
        tmp_path,
        "local",
        "linux",
        "6.1",
        {"lifecycle/test_l.py::test_exit": FAIL, "lifecycle/test_l.py::test_kill": DIVERGES},
    )
    assert junit.problems(good) == []
    bad = tmp_path / "bad.xml"
    long_name = "test_" + "x" * 600
    bad.write_text(
        '<testsuites><testsuite name="s" tests="2" errors="0" failures="0" time="0.1234">'
        '<testcase name="test_a" classname="m"><properties><property name="k" value="v"/></properties></testcase>'
        f'<testcase name="{long_name}" classname="m"/>'
        "</testsuite></testsuites>"
    )
    found = junit.problems(bad)
    assert any("/testsuites/testsuite" in p and "0.1234" in p for p in found), found
    assert any("properties" in p for p in found), found
    assert any(p.endswith(f"{len(long_name) + 2} characters (the limit is 511)") for p in found), found
    assert cli.main(["validate", str(bad)]) == 1
    assert cli.main(["validate", str(good)]) == 0
