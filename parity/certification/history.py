"""One target over many runs, one per build (e.g. a Windows Insider build a night): per
build its pass rate and what regressed since the build before, as ``history.html`` (a
chart that fits a laptop screen, then a table) and ``history.md`` (for CI summaries).

The pass rate is conforming / judged: of the checks that came to a verdict (pass, fail,
error, known divergence, fixed or unobserved divergence), those that behave as on Linux.
Not applicable, broken and not run judge nothing, so they count in neither. From the
command line::

    python -m parity.certification history nightly/ --target winsrv-insider
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from parity.certification import render
from parity.certification.comparison import CertificationError, compare_runs
from parity.certification.matrix import Verdict, build_matrix, natural
from parity.certification.results import CONFORMS, DIFFERS, Outcome, TargetRun

JUDGED = CONFORMS | DIFFERS


@dataclass(frozen=True)
class BuildPoint:
    """One run of the target: a point of the chart, a row of the table."""

    run: TargetRun
    conforming: int
    judged: int
    verdict: Verdict
    regressed: list[str]  # checks that conformed in the build before and no longer do
    fixed: list[str]  # checks that did not conform in the build before and now do

    @property
    def pass_rate(self) -> float | None:
        return self.conforming / self.judged if self.judged else None


def history(runs: Sequence[TargetRun], target: str | None = None) -> list[BuildPoint]:
    """The target's runs in build order (natural: 26100.9 before 26100.10); the target may
    go unnamed when the runs are of one target only."""
    names = sorted({run.target for run in runs})
    if target is None:
        if len(names) != 1:
            raise CertificationError(
                f"the runs are of {len(names)} targets ({', '.join(names)}): name one with --target"
            )
        target = names[0]
    chosen = sorted((run for run in runs if run.target == target), key=lambda run: (natural(run.build), run.timestamp))
    if not chosen:
        raise CertificationError(f"no run of target {target}: the runs are of {', '.join(names) or 'no target'}")
    points: list[BuildPoint] = []
    for index, run in enumerate(chosen):
        change = compare_runs(chosen[index - 1], run) if index else None
        matrix = build_matrix([run])
        outcomes = [result.outcome for result in run.results.values()]
        points.append(
            BuildPoint(
                run,
                sum(outcome in CONFORMS for outcome in outcomes),
                sum(outcome in JUDGED for outcome in outcomes),
                matrix.verdict(matrix.columns[0]),
                [item.check for item in change.regressed] if change else [],
                [item.check for item in change.fixed] if change else [],
            )
        )
    return points


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.1f}%"


# --- the chart: an inline SVG, so the page stays one file without scripts -------------

WIDTH, HEIGHT = 960, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 56, 34, 72  # room for the axes' labels and the builds'
RATE_COLOUR = "#1b4f9c"
REGRESSION_COLOUR = "#c62828"
LABELS_SHOWN = 24  # beyond this many builds, every n-th build is labelled


def ceiling(count: int) -> int:
    """A round top for the regressions axis, a multiple of 4 so each grid line's count is
    whole: 4, 8, 20, 40, 80, 200, ..."""
    top = 4
    while top < count:
        top = top * 5 // 2 if str(top).startswith("8") else top * 2
    return top


def rate_floor(points: Sequence[BuildPoint]) -> int:
    """The pass-rate axis's bottom, in percent: a multiple of 10 at least a point below the
    lowest rate, so a drop from 98% to 95% shows as a drop, not as a flat line at the top."""
    rates = [point.pass_rate for point in points if point.pass_rate is not None]
    return max(0, math.floor((100 * min(rates, default=0.0) - 1) / 10) * 10)


def chart_svg(points: Sequence[BuildPoint]) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(points)
    top = ceiling(max(len(point.regressed) for point in points))
    floor = rate_floor(points)
    bar = min(slot * 0.5, 36)
    step = math.ceil(len(points) / LABELS_SHOWN)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, DejaVu Sans, sans-serif" font-size="12">',
        f"<title>pass rate and regressions for {len(points)} builds</title>",
    ]
    for tick in range(5):  # the grid: 0, 25, 50, 75, 100 % on the left, the regressions on the right
        y = TOP + plot_h * (1 - tick / 4)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ccc"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{floor + (100 - floor) * tick / 4:g}%</text>'
        )
        parts.append(f'<text x="{WIDTH - RIGHT + 6}" y="{y + 4:.1f}">{top * tick // 4}</text>')
    parts.append(
        f'<text x="{LEFT}" y="{TOP - 14}" fill="{RATE_COLOUR}">● pass rate, conforming / judged (left)</text>'
        f'<text x="{WIDTH - RIGHT}" y="{TOP - 14}" text-anchor="end" fill="{REGRESSION_COLOUR}">'
        "▮ regressions since the build before (right)</text>"
    )
    line: list[str] = []
    for index, point in enumerate(points):
        x = LEFT + slot * (index + 0.5)
        build = escape(point.run.build or "?")
        if point.regressed:
            height = plot_h * len(point.regressed) / top
            parts.append(
                f'<rect x="{x - bar / 2:.1f}" y="{TOP + plot_h - height:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'fill="{REGRESSION_COLOUR}"><title>build {build}: {len(point.regressed)} regressed</title></rect>'
                f'<text x="{x:.1f}" y="{TOP + plot_h - height - 3:.1f}" text-anchor="middle" '
                f'fill="{REGRESSION_COLOUR}">{len(point.regressed)}</text>'
            )
        if point.pass_rate is not None:
            y = TOP + plot_h * (100 - 100 * point.pass_rate) / (100 - floor)
            line.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{RATE_COLOUR}" stroke="#fff">'
                f"<title>build {build}: {_percent(point.pass_rate)} pass</title></circle>"
            )
        if index % step == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{TOP + plot_h + 14}" text-anchor="end" '
                f'transform="rotate(-35 {x:.1f} {TOP + plot_h + 14})">{build}</text>'
            )
    if len(line) > 1:
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{RATE_COLOUR}" stroke-width="2"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _verdict(point: BuildPoint) -> str:
    headline, why = render.verdict_words(point.verdict)
    return f"{headline} ({why})"


def _checks_html(checks: list[str]) -> str:
    if not checks:
        return "0"
    listed = "".join(f"<li><code>{escape(check)}</code></li>" for check in checks)
    return f"<details><summary>{len(checks)}</summary><ul>{listed}</ul></details>"


def history_html(points: Sequence[BuildPoint]) -> str:
    target = points[0].run.target
    rows = "".join(
        f'<tr><th scope="row">{escape(point.run.build or "?")}</th><td><code>{escape(point.run.run)}</code></td>'
        f"<td>{escape(point.run.timestamp)}</td><td>{escape(_verdict(point))}</td>"
        f'<td class="count">{_percent(point.pass_rate)}</td><td class="count">{point.conforming}/{point.judged}</td>'
        f'<td class="count">{_checks_html(point.regressed)}</td><td class="count">{_checks_html(point.fixed)}</td></tr>\n'
        for point in points
    )
    body = (
        f"<h1>History of {escape(target)}</h1>\n"
        f'<p class="meta">{len(points)} builds, {escape(points[0].run.build)} to {escape(points[-1].run.build)}. '
        f"Pass rate: conforming / judged ({escape(render.LABEL[Outcome.NOT_APPLICABLE])}, broken and not run "
        f"judge nothing; the chart's axis starts at {rate_floor(points)}%). A regression: a check that conformed "
        "in the build before and no longer does.</p>\n"
        + chart_svg(points)
        + '<h2>Builds</h2>\n<table class="history" id="history"><thead><tr><th scope="col">build</th>'
        '<th scope="col">run</th><th scope="col">when</th><th scope="col">verdict</th><th scope="col">pass rate</th>'
        '<th scope="col">conforming / judged</th><th scope="col">regressed</th><th scope="col">fixed</th></tr></thead>\n'
        f"<tbody>{rows}</tbody></table>\n"
    )
    return render.page(f"parity: history of {target}", body)


def history_markdown(points: Sequence[BuildPoint]) -> str:
    lines = [
        f"# History of {points[0].run.target}",
        "",
        "| build | verdict | pass rate | conforming / judged | regressed | fixed |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {point.run.build or '?'} | {_verdict(point)} | {_percent(point.pass_rate)} | "
        f"{point.conforming}/{point.judged} | {len(point.regressed)} | {len(point.fixed)} |"
        for point in points
    ]
    regressions = [(point, check) for point in points for check in point.regressed]
    if regressions:
        lines += ["", "## Regressions", ""]
        lines += [f"- build {point.run.build}: `{check}`" for point, check in regressions]
    return "\n".join(lines) + "\n"


def write_history(points: Sequence[BuildPoint], folder: Path, stem: str = "history") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, text in ((".html", history_html(points)), (".md", history_markdown(points))):
        path = folder / f"{stem}{suffix}"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
