"""The matrix and comparisons as HTML, Markdown and JSON.

HTML is one self-contained page: inline CSS, no scripts, no external assets, so it reads
offline; every outcome has a symbol and a word besides its colour, so it reads in grey.
The matrix page answers the nightly questions in reading order: a verdict card per target
(certified or not, at which level, its counts and a bar per area), then what needs
attention, then the known divergences by reason, then the full matrix with its passes folded.

JSON shapes (``version`` changes when a key changes meaning or goes away):

matrix::

    {"format": "parity-matrix", "version": 2,
     "columns": [{"id", "target", "kind", "build", "run", "timestamp", "source",
                  "reference": bool, "properties": {name: value},
                  "counts": {outcome: n},
                  "verdict": {"certified": bool, "level": "MUST" | "SHOULD" | null,
                              "checked": "MUST" | "SHOULD",
                              "blocking": {"MUST": [check], "SHOULD": [check]}}}],
     "areas": [{"area": "volumes",
                "checks": [{"check": "suites/volumes/test_x.py::test_y[bind]",
                            "requirement": {"id", "level", "link"} | null,
                            "results": {column id: result}}]}]}

comparison::

    {"format": "parity-comparison", "version": 1,
     "comparisons": [{"old": target run, "new": target run, "unchanged": n,
                      "regressed" | "fixed" | "added" | "removed" | "changed":
                          [{"check", "old": result | null, "new": result | null}]}]}

where a result is ``{"outcome", "detail", "reason", "reference"}``, outcome being one of
pass, fail, error, known divergence, divergence fixed, documented, not observed, not
applicable, broken, not run, and a target run is ``{"target", "kind", "build", "run",
"timestamp", "source"}``. Version 2 of the matrix added each column's verdict and each
check's requirement.
"""

from __future__ import annotations

import json
from collections import Counter
from html import escape
from typing import Any

from parity.certification.comparison import Change, Comparison
from parity.certification.matrix import Column, ConformanceMatrix, Verdict
from parity.certification.requirements import COVERS, Level, Requirement
from parity.certification.results import CONFORMS, Outcome, Result, TargetRun

SYMBOL = {
    Outcome.PASS: "✓",
    Outcome.FAIL: "✗",
    Outcome.ERROR: "!",
    Outcome.DIVERGENCE: "≈",
    Outcome.FIXED: "★",
    Outcome.UNOBSERVED: "◇",
    Outcome.NOT_APPLICABLE: "⊘",
    Outcome.BROKEN: "✂",
    Outcome.NOT_RUN: "○",
}
LABEL = {
    Outcome.PASS: "pass",
    Outcome.FAIL: "FAIL",
    Outcome.ERROR: "ERROR",
    Outcome.DIVERGENCE: "known divergence",
    Outcome.FIXED: "FIXED divergence",
    Outcome.UNOBSERVED: "documented, not observed",
    Outcome.NOT_APPLICABLE: "n/a",
    Outcome.BROKEN: "BROKEN check",
    Outcome.NOT_RUN: "not run",
}
MEANING = {
    Outcome.PASS: "behaves as on the reference Linux engine",
    Outcome.FAIL: "behaves differently, and no known divergence says so",
    Outcome.ERROR: "could not be checked: its set-up or clean-up failed",
    Outcome.DIVERGENCE: "differs, as divergences.yaml expects, for the reason and reference given",
    Outcome.FIXED: "a known divergence that now passes: remove its row from divergences.yaml",
    Outcome.UNOBSERVED: "passes, although a document says it differs: the row was never observed on this platform",
    Outcome.NOT_APPLICABLE: "the target lacks a capability the check needs",
    Outcome.BROKEN: "fails on the reference target of the same run: the check judges no target until it passes there",
    Outcome.NOT_RUN: "the target was unavailable, or the check was not selected",
}
CSS_CLASS = {
    Outcome.PASS: "pass",
    Outcome.FAIL: "fail",
    Outcome.ERROR: "error",
    Outcome.DIVERGENCE: "divergence",
    Outcome.FIXED: "fixed",
    Outcome.UNOBSERVED: "unobserved",
    Outcome.NOT_APPLICABLE: "na",
    Outcome.BROKEN: "broken",
    Outcome.NOT_RUN: "notrun",
}
DETAIL_LIMIT = 240

# what needs a person, most urgent first: a difference no row explains, a check that could
# not say, a check that judges nothing, a divergence row that is wrong now (not run: after)
ATTENTION = (Outcome.FAIL, Outcome.ERROR, Outcome.BROKEN, Outcome.FIXED)
EXPLAINED = (Outcome.DIVERGENCE, Outcome.UNOBSERVED)  # outcomes of a divergences.yaml row

# verdict bands, as exact sRGB colours: the browser test finds them in a screenshot
CERTIFIED_RGB = (11, 110, 53)  # certified at the level the run checked
CERTIFIED_BELOW_RGB = (84, 110, 18)  # certified at MUST, where the run checked SHOULD too
NOT_CERTIFIED_RGB = (155, 28, 28)
# the per-area bars: stronger than the cells' pale colours, which a thin bar would lose
BAR_COLOUR = {
    Outcome.PASS: "#3f9c52",
    Outcome.FAIL: "#d32f2f",
    Outcome.ERROR: "#e07b00",
    Outcome.DIVERGENCE: "#e2bd1b",
    Outcome.FIXED: "#2f62c4",
    Outcome.UNOBSERVED: "#9ccc9c",
    Outcome.NOT_APPLICABLE: "#b4b4b4",
    Outcome.BROKEN: "#8e44ad",
    Outcome.NOT_RUN: "#ffffff",
}


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


STYLE = """
:root { color-scheme: light; }
body { font: 14px/1.4 system-ui, "DejaVu Sans", sans-serif; margin: 1.5em; color: #1a1a1a; background: #fff; }
h1 { font-size: 1.5em; margin: 0 0 .2em; }
h2 { font-size: 1.2em; margin: 1.5em 0 .5em; }
p.meta { color: #444; margin: 0 0 1em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #999; padding: .3em .5em; vertical-align: top; text-align: left; }
thead th { background: #f0f0f0; position: sticky; top: 0; z-index: 1; }
th small, td small { display: block; font-weight: normal; color: #444; }
tr.area th { background: #dde3ea; font-size: 1.05em; }
tbody th[scope=row] { font-weight: normal; max-width: 34em; word-break: break-word; }
code { font: 12.5px/1.3 ui-monospace, "DejaVu Sans Mono", monospace; }
td.o { min-width: 9em; max-width: 22em; }
.label { font-weight: 600; white-space: nowrap; }
.why { font-size: .9em; margin-top: .15em; word-break: break-word; }
.ref { font-size: .85em; margin-top: .15em; word-break: break-all; }
.pass { background: #e3f4e5; }
.fail { background: #fcd9d6; border: 2px solid #b3261e; }
.fail .label, .error .label { text-transform: uppercase; }
.error { background: #ffe2c2; border: 2px dashed #b35c00; }
.divergence { background: #fff3c4; }
.divergence .label { font-style: italic; }
.fixed { background: #dbe8ff; border: 2px double #1d4fa8; }
.unobserved { background: #eef6ee; border: 1px dashed #5a8a5a; }
.broken { background: #f3e8fd; border: 2px dashed #6a1b9a; }
.na { background: #ededed; color: #333; }
.na .label { font-weight: normal; }
.notrun { background: #fff; color: #555; border-style: dotted; }
.notrun .label { font-weight: normal; font-style: italic; }
td.count { text-align: right; font-variant-numeric: tabular-nums; }
td.zero { color: #888; }
ul.legend { list-style: none; padding: 0; display: grid; grid-template-columns: max-content 1fr; gap: .3em 1em; }
ul.legend li { display: contents; }
ul.legend .o { border: 1px solid #999; padding: .15em .5em; }
.none { color: #555; font-style: italic; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(19em, 1fr)); gap: 1em; margin: .8em 0 0; }
.card { border: 1px solid #888; background: #fafafa; }
.band { color: #fff; padding: .45em .7em; display: flex; justify-content: space-between; gap: .5em; align-items: baseline; }
.band .verdict { font-weight: 700; font-size: 1.15em; letter-spacing: .02em; }
.band .who { font-weight: 600; word-break: break-all; }
.card p { margin: .35em .7em; }
.card .run, .card .blocking { color: #333; font-size: .9em; }
.card .counts { display: flex; flex-wrap: wrap; gap: .25em; }
.card .counts .o { border: 1px solid #999; padding: 0 .35em; font-size: .85em; white-space: nowrap; }
.areas { display: grid; grid-template-columns: max-content 1fr max-content; gap: 3px .5em; align-items: center; font-size: .8em; margin: .5em .7em .7em; }
.bar { display: flex; height: .9em; border: 1px solid #666; background: #fff; }
.bar span { display: block; height: 100%; border: 0; }
.tally { font-variant-numeric: tabular-nums; white-space: nowrap; color: #333; }
.lvl { display: inline-block; font: 600 .75em/1.3 system-ui, "DejaVu Sans", sans-serif; border: 1px solid #555; padding: 0 .3em; margin-right: .4em; }
.lvl.MUST { background: #1a1a1a; color: #fff; }
.lvl.SHOULD { background: #fff; color: #1a1a1a; }
details { margin: .6em 0; }
table.history th[scope=row], table.history td:nth-child(3) { white-space: nowrap; }
svg.chart { max-width: 100%; height: auto; display: block; }
summary { cursor: pointer; font-weight: 600; }
@media print { thead th { position: static; } }
"""
STYLE += "".join(
    f".band.{name} {{ background: {_hex(rgb)}; }}\n"
    for name, rgb in (("certified", CERTIFIED_RGB), ("below", CERTIFIED_BELOW_RGB), ("uncertified", NOT_CERTIFIED_RGB))
)
STYLE += "".join(f".bar .{CSS_CLASS[outcome]} {{ background: {colour}; }}\n" for outcome, colour in BAR_COLOUR.items())


def _result_json(result: Result | None) -> dict[str, str] | None:
    if result is None:
        return None
    return {
        "outcome": str(result.outcome),
        "detail": result.detail,
        "reason": result.reason,
        "reference": result.reference,
    }


def _run_json(run: TargetRun) -> dict[str, Any]:
    return {
        "target": run.target,
        "kind": run.kind,
        "build": run.build,
        "run": run.run,
        "timestamp": run.timestamp,
        "source": str(run.source),
    }


def _verdict_json(verdict: Verdict) -> dict[str, Any]:
    return {
        "certified": verdict.certified,
        "level": verdict.level.value if verdict.level is not None else None,
        "checked": verdict.checked.value,
        "blocking": {level.value: checks for level, checks in verdict.blocking.items()},
    }


def _requirement_json(requirement: Requirement | None) -> dict[str, str] | None:
    return requirement.as_json() if requirement is not None else None


def matrix_json(matrix: ConformanceMatrix) -> str:
    document = {
        "format": "parity-matrix",
        "version": 2,
        "columns": [
            {
                "id": column.id,
                **_run_json(column.run),
                "reference": column.reference,
                "properties": column.run.properties,
                "counts": {str(outcome): count for outcome, count in matrix.counts(column).items()},
                "verdict": _verdict_json(matrix.verdict(column)),
            }
            for column in matrix.columns
        ],
        "areas": [
            {
                "area": area,
                "checks": [
                    {
                        "check": check,
                        "requirement": _requirement_json(matrix.requirement(check)),
                        "results": {column.id: _result_json(matrix.cell(check, column)) for column in matrix.columns},
                    }
                    for check in checks
                ],
            }
            for area, checks in matrix.areas.items()
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _changes_json(changes: list[Change]) -> list[dict[str, Any]]:
    return [{"check": c.check, "old": _result_json(c.old), "new": _result_json(c.new)} for c in changes]


def comparison_json(comparisons: list[Comparison]) -> str:
    document = {
        "format": "parity-comparison",
        "version": 1,
        "comparisons": [
            {
                "old": _run_json(item.old),
                "new": _run_json(item.new),
                "unchanged": item.unchanged,
                "regressed": _changes_json(item.regressed),
                "fixed": _changes_json(item.fixed),
                "added": _changes_json(item.added),
                "removed": _changes_json(item.removed),
                "changed": _changes_json(item.changed),
            }
            for item in comparisons
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- HTML ---------------------------------------------------------------------------


def page(title: str, body: str) -> str:
    """A self-contained HTML page: the body under the report's inline style."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


def _reference_html(reference: str) -> str:
    if reference.startswith(("https://", "http://")):
        return f'<a href="{escape(reference)}">{escape(reference)}</a>'
    return escape(reference)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 1] + "…"


def _cell_inner(result: Result) -> str:
    parts = [f'<span class="label">{SYMBOL[result.outcome]} {escape(LABEL[result.outcome])}</span>']
    if result.reason:
        parts.append(f'<div class="why">{escape(_short(result.reason))}</div>')
    if result.reference:
        parts.append(f'<div class="ref">ref: {_reference_html(result.reference)}</div>')
    if result.detail:
        parts.append(f'<div class="why" title="{escape(result.detail)}">{escape(_short(result.detail))}</div>')
    return "".join(parts)


def _cell(result: Result | None) -> str:
    if result is None:
        return '<td class="o notrun"><span class="label">— absent</span></td>'
    return f'<td class="o {CSS_CLASS[result.outcome]}">{_cell_inner(result)}</td>'


def _column_head(column: Column) -> str:
    run = column.run
    kind = f"{run.kind} (reference)" if column.reference else run.kind
    return f'<th scope="col">{escape(column.id)}<small>{escape(kind)}</small><small>build {escape(run.build or "?")}</small></th>'


def _legend() -> str:
    items = "".join(
        f'<li><span class="o {CSS_CLASS[o]}"><span class="label">{SYMBOL[o]} {escape(LABEL[o])}</span></span>'
        f"<span>{escape(MEANING[o])}</span></li>"
        for o in Outcome
    )
    return f'<ul class="legend">{items}</ul>\n'


def _checks(count: int) -> str:
    return f"{count} check" if count == 1 else f"{count} checks"


def _short_check(check: str, area: str) -> str:
    return check.removeprefix(f"suites/{area}/")


def _targets_table(matrix: ConformanceMatrix) -> str:
    heads = "".join(f'<th scope="col">{SYMBOL[o]} {escape(LABEL[o])}</th>' for o in Outcome)
    rows = []
    for column in matrix.columns:
        run = column.run
        engine = " ".join(
            value
            for value in (run.properties.get("engine.version", ""), run.properties.get("engine.operating_system", ""))
            if value
        )
        counts = "".join(
            f'<td class="count{" zero" if n == 0 else ""}">{n}</td>' for n in matrix.counts(column).values()
        )
        rows.append(
            f'<tr><th scope="row">{escape(column.id)}</th><td>{escape(run.kind)}{" (reference)" if column.reference else ""}</td>'
            f"<td>{escape(run.build)}</td><td>{escape(engine)}</td><td><code>{escape(run.run)}</code></td>{counts}</tr>"
        )
    return (
        '<table class="targets"><thead><tr><th scope="col">target</th><th scope="col">kind</th>'
        f'<th scope="col">build</th><th scope="col">engine</th><th scope="col">run</th>{heads}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>\n"
    )


def verdict_words(verdict: Verdict) -> tuple[str, str]:
    """A verdict as a headline ('✓ CERTIFIED at SHOULD') and what it rests on."""
    headline = f"✓ CERTIFIED at {verdict.level}" if verdict.level is not None else "✗ NOT CERTIFIED"
    levels = [level for level in Level if level in COVERS[verdict.checked]]
    blocking = [f"at {level} by {_checks(len(verdict.blocking[level]))}" for level in levels if verdict.blocking[level]]
    if blocking:
        why = "blocked " + ", ".join(blocking)
    elif verdict.level is None:
        why = "no check came to a verdict"
    else:
        why = "nothing blocks it"
    return headline, f"checked at {verdict.checked}; {why}"


def _band_class(verdict: Verdict) -> str:
    if verdict.level is None:
        return "uncertified"
    return "certified" if verdict.level == verdict.checked else "below"


def _area_bar(matrix: ConformanceMatrix, column: Column, checks: list[str]) -> str:
    found = Counter(matrix.cell(check, column).outcome for check in checks)
    title = ", ".join(f"{found[outcome]} {LABEL[outcome]}" for outcome in Outcome if found[outcome])
    segments = "".join(
        f'<span class="{CSS_CLASS[outcome]}" style="width:{100 * found[outcome] / len(checks):.2f}%"></span>'
        for outcome in Outcome
        if found[outcome]
    )
    conforming = sum(found[outcome] for outcome in CONFORMS)
    tally = f"{conforming}/{len(checks)} ✓" + "".join(
        f" {found[outcome]}{SYMBOL[outcome]}" for outcome in (*ATTENTION, *EXPLAINED) if found[outcome]
    )
    return f'<span class="bar" title="{escape(title)}">{segments}</span><span class="tally">{escape(tally)}</span>'


def _card(matrix: ConformanceMatrix, column: Column) -> str:
    verdict = matrix.verdict(column)
    headline, why = verdict_words(verdict)
    run = column.run
    kind = f"{run.kind} (reference)" if column.reference else run.kind
    counts = "".join(
        f'<span class="o {CSS_CLASS[outcome]}">{SYMBOL[outcome]} {n} {escape(LABEL[outcome])}</span>'
        for outcome, n in matrix.counts(column).items()
        if n
    )
    areas = "".join(
        f'<span class="area">{escape(area)}</span>{_area_bar(matrix, column, checks)}'
        for area, checks in matrix.areas.items()
    )
    return (
        f'<article class="card" id="verdict-{escape(column.id)}">'
        f'<div class="band {_band_class(verdict)}"><span class="verdict">{escape(headline)}</span>'
        f'<span class="who">{escape(column.id)}</span></div>'
        f'<p class="run">{escape(kind)} · build {escape(run.build or "?")}</p>'
        f'<p class="blocking">{escape(why)}</p>'
        f'<p class="counts">{counts}</p>'
        f'<div class="areas">{areas}</div></article>\n'
    )


def _level_html(requirement: Requirement | None) -> str:
    if requirement is None:
        return '<small class="req">level not stated: counts as MUST</small>'
    return (
        f'<small class="req"><span class="lvl {requirement.level}">{requirement.level}</span>'
        f'<a href="{escape(requirement.link)}">{escape(requirement.link)}</a></small>'
    )


def _check_head(matrix: ConformanceMatrix, check: str, shown: str) -> str:
    return (
        f'<th scope="row"><code title="{escape(check)}">{escape(shown)}</code>'
        f"{_level_html(matrix.requirement(check))}</th>"
    )


def _cells_by_outcome(matrix: ConformanceMatrix, outcomes: tuple[Outcome, ...]) -> list[tuple[Column, str, Result]]:
    """The cells of these outcomes, in the outcomes' order, then by target, then by check."""
    found = [
        (column, check, matrix.cell(check, column))
        for column in matrix.columns
        for checks in matrix.areas.values()
        for check in checks
    ]
    return sorted(
        (item for item in found if item[2].outcome in outcomes), key=lambda item: outcomes.index(item[2].outcome)
    )


def _attention_table(matrix: ConformanceMatrix, rows: list[tuple[Column, str, Result]], table_id: str) -> str:
    body = "".join(
        f"<tr><td>{escape(column.id)}</td>{_check_head(matrix, check, check)}{_cell(result)}</tr>\n"
        for column, check, result in rows
    )
    return (
        f'<table class="attention" id="{table_id}"><thead><tr><th scope="col">target</th><th scope="col">check</th>'
        f'<th scope="col">what happened</th></tr></thead>\n<tbody>{body}</tbody></table>\n'
    )


def _attention(matrix: ConformanceMatrix) -> str:
    urgent = _cells_by_outcome(matrix, ATTENTION)
    not_run = _cells_by_outcome(matrix, (Outcome.NOT_RUN,))
    parts = [f"<h2>Needs attention ({len(urgent)})</h2>\n"]
    if urgent:
        parts.append(_attention_table(matrix, urgent, "attention"))
    else:
        parts.append('<p class="none">No failure, error, broken check or fixed divergence.</p>\n')
    if not_run:
        per_target = Counter(column.id for column, _, _ in not_run)
        which = ", ".join(f"{name} {n}" for name, n in per_target.items())
        # folded: a target that was unavailable has every check here, one reason repeated
        parts.append(
            f"<details><summary>{SYMBOL[Outcome.NOT_RUN]} {escape(LABEL[Outcome.NOT_RUN])}: "
            f"{_checks(len(not_run))} ({escape(which)})</summary>\n{_attention_table(matrix, not_run, 'notrun')}</details>\n"
        )
    return "".join(parts)


NO_REFERENCE = '<span class="none">no reference</span>'


def _divergences(matrix: ConformanceMatrix) -> str:
    groups: dict[tuple[Outcome, str, str], list[tuple[Column, str]]] = {}
    for column, check, result in _cells_by_outcome(matrix, EXPLAINED):
        groups.setdefault((result.outcome, result.reason, result.reference), []).append((column, check))
    parts = [f"<h2>Known divergences by reason ({len(groups)})</h2>\n"]
    if not groups:
        parts.append('<p class="none">None: no row of divergences.yaml applied.</p>\n')
        return "".join(parts)
    rows = []
    ranked = sorted(groups.items(), key=lambda item: (EXPLAINED.index(item[0][0]), -len(item[1]), item[0][1]))
    for (outcome, reason, reference), cells in ranked:
        targets = ", ".join(dict.fromkeys(column.id for column, _ in cells))
        listed = "".join(f"<li>{escape(column.id)}: <code>{escape(check)}</code></li>" for column, check in cells)
        rows.append(
            f'<tr><td class="o {CSS_CLASS[outcome]}"><span class="label">{SYMBOL[outcome]} {escape(LABEL[outcome])}</span></td>'
            f'<th scope="row">{escape(reason or "(no reason given)")}</th>'
            f"<td>{_reference_html(reference) if reference else NO_REFERENCE}</td>"
            f"<td>{escape(targets)}</td>"
            f"<td><details><summary>{_checks(len(cells))}</summary><ul>{listed}</ul></details></td></tr>\n"
        )
    parts.append(
        '<table class="divergences" id="divergences"><thead><tr><th scope="col">outcome</th><th scope="col">reason</th>'
        '<th scope="col">reference</th><th scope="col">targets</th><th scope="col">checks</th></tr></thead>\n'
        f"<tbody>{''.join(rows)}</tbody></table>\n"
    )
    return "".join(parts)


def _matrix_table(matrix: ConformanceMatrix, areas: dict[str, list[str]], table_id: str) -> str:
    width = len(matrix.columns) + 1
    body = [
        f'<table class="matrix" id="{table_id}">\n<thead><tr><th scope="col">check</th>',
        "".join(_column_head(column) for column in matrix.columns),
        "</tr></thead>\n",
    ]
    for area, checks in areas.items():
        body.append(
            f'<tbody><tr class="area"><th colspan="{width}" scope="rowgroup" id="{table_id}-{escape(area)}">'
            f"{escape(area)} <small>{_checks(len(checks))}</small></th></tr>\n"
        )
        for check in checks:
            cells = "".join(_cell(matrix.cell(check, column)) for column in matrix.columns)
            body.append(f"<tr>{_check_head(matrix, check, _short_check(check, area))}{cells}</tr>\n")
        body.append("</tbody>\n")
    body.append("</table>\n")
    return "".join(body)


def _split_passes(matrix: ConformanceMatrix) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(the checks with anything but a pass, the checks that pass on every target), by area."""
    shown: dict[str, list[str]] = {}
    folded: dict[str, list[str]] = {}
    for area, checks in matrix.areas.items():
        for check in checks:
            passes = all(matrix.cell(check, column).outcome == Outcome.PASS for column in matrix.columns)
            (folded if passes else shown).setdefault(area, []).append(check)
    return shown, folded


def matrix_html(matrix: ConformanceMatrix) -> str:
    shown, folded = _split_passes(matrix)
    total = sum(len(checks) for checks in matrix.areas.values())
    body = [
        "<h1>Conformance report</h1>\n",
        f'<p class="meta">{_checks(total)} in {len(matrix.areas)} areas, on {len(matrix.columns)} target runs.</p>\n',
        '<section class="cards" id="verdicts">\n',
        "".join(_card(matrix, column) for column in matrix.columns),
        "</section>\n",
        _attention(matrix),
        _divergences(matrix),
        "<h2>Checks</h2>\n",
        _legend(),
    ]
    if shown:
        body.append(_matrix_table(matrix, shown, "matrix"))
    else:
        body.append('<p class="none">Every check passes on every target.</p>\n')
    if folded:
        passing = sum(len(checks) for checks in folded.values())
        body.append(
            f"<details><summary>{SYMBOL[Outcome.PASS]} {_checks(passing)} pass on every target</summary>\n"
            f"{_matrix_table(matrix, folded, 'passes')}</details>\n"
        )
    body += [
        "<h2>Target runs</h2>\n",
        _targets_table(matrix),
        '<p class="meta">Sources: ',
        ", ".join(f"<code>{escape(column.run.source.name)}</code>" for column in matrix.columns),
        "</p>\n",
    ]
    return page("parity: conformance report", "".join(body))


SECTIONS = (
    ("regressed", "Regressed", "behaved as on Linux before, no longer does"),
    ("fixed", "Fixed", "did not behave as on Linux before, now does (a strict xfail that passes counts here)"),
    ("added", "New checks", "in the new run only"),
    ("removed", "Removed checks", "in the old run only"),
    ("changed", "Other changes", "another change of outcome, e.g. a failure now accepted as a known divergence"),
)


def _summary(item: Comparison) -> str:
    counts = [f"{heading.lower()} {len(getattr(item, key))}" for key, heading, _ in SECTIONS]
    return ", ".join([*counts, f"unchanged {item.unchanged}"])


def _run_title(run: TargetRun) -> str:
    return f"{run.target} build {run.build or '?'}"


def comparison_html(comparisons: list[Comparison]) -> str:
    body = ["<h1>Comparison</h1>\n", _legend()]
    for item in comparisons:
        title = f"{_run_title(item.old)} → {_run_title(item.new)}"
        body.append(
            f'<h2>{escape(title)}</h2>\n<p class="meta">{escape(_summary(item))}. '
            f"Old: <code>{escape(item.old.source.name)}</code> (run <code>{escape(item.old.run)}</code>); "
            f"new: <code>{escape(item.new.source.name)}</code> (run <code>{escape(item.new.run)}</code>).</p>\n"
        )
        for key, heading, meaning in SECTIONS:
            changes: list[Change] = getattr(item, key)
            body.append(f'<h3>{escape(heading)} ({len(changes)})</h3>\n<p class="meta">{escape(meaning)}</p>\n')
            if not changes:
                body.append('<p class="none">none</p>\n')
                continue
            rows = "".join(
                f'<tr><th scope="row"><code>{escape(change.check)}</code></th>{_cell(change.old)}{_cell(change.new)}</tr>\n'
                for change in changes
            )
            body.append(
                f'<table class="changes" id="{key}"><thead><tr><th scope="col">check</th>'
                f'<th scope="col">{escape(_run_title(item.old))}</th><th scope="col">{escape(_run_title(item.new))}</th>'
                f"</tr></thead>\n<tbody>{rows}</tbody></table>\n"
            )
    return page("parity: comparison", "".join(body))


# --- Markdown -------------------------------------------------------------------------


def _md(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


class _Notes:
    """Footnotes for Markdown cells, so a table stays narrow: each text gets one number."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def ref(self, text: str) -> str:
        if text not in self.texts:
            self.texts.append(text)
        return f"[{self.texts.index(text) + 1}]"

    def render(self) -> str:
        if not self.texts:
            return ""
        return "\n**Notes**\n\n" + "".join(f"{n}. {_md(text)}\n" for n, text in enumerate(self.texts, 1))


def _md_cell(result: Result | None, notes: _Notes) -> str:
    if result is None:
        return "absent"
    label = LABEL[result.outcome]
    if result.outcome in (Outcome.FAIL, Outcome.ERROR, Outcome.FIXED):
        label = f"**{label}**"
    text = ""
    if result.reason:
        text = result.reason + (f" ({result.reference})" if result.reference else "")
    elif result.detail:
        text = result.detail
    if result.outcome != Outcome.PASS and text and result.detail != "no result in this target's report":
        label += " " + notes.ref(f"{LABEL[result.outcome]}: {_short(text)}")
    return f"{SYMBOL[result.outcome]} {label}"


def matrix_markdown(matrix: ConformanceMatrix) -> str:
    lines = ["# Conformance matrix", ""]
    for column in matrix.columns:
        headline, why = verdict_words(matrix.verdict(column))
        kind = f"{column.run.kind}, reference" if column.reference else column.run.kind
        lines.append(f"- **{_md(column.id)}** ({_md(kind)}, build {_md(column.run.build or '?')}): {headline} ({why})")
    lines.append("")
    lines.append("| target | kind | build | " + " | ".join(LABEL[o] for o in Outcome) + " |")
    lines.append("|---|---|---|" + "---:|" * len(Outcome))
    for column in matrix.columns:
        kind = f"{column.run.kind} (reference)" if column.reference else column.run.kind
        counts = " | ".join(str(n) for n in matrix.counts(column).values())
        lines.append(f"| {_md(column.id)} | {_md(kind)} | {_md(column.run.build)} | {counts} |")
    notes = _Notes()
    for area, checks in matrix.areas.items():
        lines += ["", f"## {_md(area)} ({_checks(len(checks))})", ""]
        lines.append("| check | " + " | ".join(_md(column.id) for column in matrix.columns) + " |")
        lines.append("|---|" + "---|" * len(matrix.columns))
        for check in checks:
            cells = " | ".join(_md_cell(matrix.cell(check, column), notes) for column in matrix.columns)
            lines.append(f"| `{_md(_short_check(check, area))}` | {cells} |")
    return "\n".join(lines) + "\n" + notes.render()


def comparison_markdown(comparisons: list[Comparison]) -> str:
    lines = ["# Comparison"]
    notes = _Notes()
    for item in comparisons:
        old, new = _run_title(item.old), _run_title(item.new)
        lines += ["", f"## {_md(old)} → {_md(new)}", ""]
        lines.append(_summary(item) + ".")
        for key, heading, _meaning in SECTIONS:
            changes: list[Change] = getattr(item, key)
            if not changes:
                continue
            lines += [
                "",
                f"### {heading} ({len(changes)})",
                "",
                f"| check | {_md(old)} | {_md(new)} |",
                "|---|---|---|",
            ]
            lines += [f"| `{_md(c.check)}` | {_md_cell(c.old, notes)} | {_md_cell(c.new, notes)} |" for c in changes]
    return "\n".join(lines) + "\n" + notes.render()
