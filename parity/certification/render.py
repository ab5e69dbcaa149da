"""The matrix and comparisons as HTML, Markdown and JSON.

HTML is one self-contained page: inline CSS, no scripts, no external assets, so it reads
offline; every outcome has a symbol and a word besides its colour, so it reads in grey.

JSON shapes (``version`` changes when a key changes meaning or goes away):

matrix::

    {"format": "parity-matrix", "version": 1,
     "columns": [{"id", "target", "kind", "build", "run", "timestamp", "source",
                  "reference": bool, "properties": {name: value},
                  "counts": {outcome: n}}],
     "areas": [{"area": "volumes",
                "checks": [{"check": "suites/volumes/test_x.py::test_y[bind]",
                            "results": {column id: result}}]}]}

comparison::

    {"format": "parity-comparison", "version": 1,
     "comparisons": [{"old": target run, "new": target run, "unchanged": n,
                      "regressed" | "fixed" | "added" | "removed" | "changed":
                          [{"check", "old": result | null, "new": result | null}]}]}

where a result is ``{"outcome", "detail", "reason", "reference"}``, outcome being one of
pass, fail, error, known divergence, divergence fixed, not applicable, not run, and a
target run is ``{"target", "kind", "build", "run", "timestamp", "source"}``.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from parity.certification.comparison import Change, Comparison
from parity.certification.matrix import Column, ConformanceMatrix
from parity.certification.results import Outcome, Result, TargetRun

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
@media print { thead th { position: static; } }
"""


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


def matrix_json(matrix: ConformanceMatrix) -> str:
    document = {
        "format": "parity-matrix",
        "version": 1,
        "columns": [
            {
                "id": column.id,
                **_run_json(column.run),
                "reference": column.reference,
                "properties": column.run.properties,
                "counts": {str(outcome): count for outcome, count in matrix.counts(column).items()},
            }
            for column in matrix.columns
        ],
        "areas": [
            {
                "area": area,
                "checks": [
                    {
                        "check": check,
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


def _page(title: str, body: str) -> str:
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


def matrix_html(matrix: ConformanceMatrix) -> str:
    width = len(matrix.columns) + 1
    body = [
        "<h1>Conformance matrix</h1>\n",
        f'<p class="meta">{_checks(sum(len(c) for c in matrix.areas.values()))} in {len(matrix.areas)} areas, '
        f"on {len(matrix.columns)} target runs. Sources: "
        + ", ".join(f"<code>{escape(column.run.source.name)}</code>" for column in matrix.columns)
        + "</p>\n",
        "<h2>Targets</h2>\n",
        _targets_table(matrix),
        "<h2>Legend</h2>\n",
        _legend(),
        "<h2>Checks</h2>\n",
        '<table class="matrix" id="matrix">\n<thead><tr><th scope="col">check</th>',
        "".join(_column_head(column) for column in matrix.columns),
        "</tr></thead>\n",
    ]
    for area, checks in matrix.areas.items():
        body.append(
            f'<tbody><tr class="area"><th colspan="{width}" scope="rowgroup" id="area-{escape(area)}">'
            f"{escape(area)} <small>{_checks(len(checks))}</small></th></tr>\n"
        )
        for check in checks:
            cells = "".join(_cell(matrix.cell(check, column)) for column in matrix.columns)
            body.append(
                f'<tr><th scope="row"><code title="{escape(check)}">{escape(_short_check(check, area))}</code></th>{cells}</tr>\n'
            )
        body.append("</tbody>\n")
    body.append("</table>\n")
    return _page("parity: conformance matrix", "".join(body))


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
    return _page("parity: comparison", "".join(body))


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
