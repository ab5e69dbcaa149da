"""The matrix page as a browser shows it: Debian's chromium, headless, with no way out:
as root, in a network namespace of its own with no interface up; and in any case with
background networking off, every host name unresolvable and a proxy that goes nowhere.

Screenshots at a laptop's window size (1280x800) check what a person sees first: the
verdict bands of a failing and of a certified target, found by their exact colours, and a
history chart of thirty builds. With PARITY_SCREENSHOT_DIR set, the PNGs are kept there.

ci/setup installs chromium; elsewhere, without it, these tests skip (under CI they fail).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from parity.certification import history, junit, render
from parity.certification.cli import write_matrix
from parity.certification.matrix import build_matrix
from tests.certification.test_certification import DIVERGES, FAIL, NOT_APPLICABLE, PASS, Texts, per_target

OFFLINE = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-domain-reliability",
    "--no-pings",
    "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
]


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; ci/setup installs it")
        pytest.skip("chromium is not installed (ci/setup installs it)")
    return found


def no_network() -> list[str]:
    unshare = shutil.which("unshare")
    return [unshare, "--net"] if unshare and os.geteuid() == 0 else []


def browse(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*no_network(), chromium(), *OFFLINE, f"--user-data-dir={profile}", *args, page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.fixture
def page(tmp_path: Path) -> Path:
    reports = tmp_path / "reports"
    reports.mkdir()
    per_target(
        reports,
        "local",
        "linux",
        "6.1.0",
        {"volumes/test_v.py::test_fifo[bind]": PASS, "volumes/test_v.py::test_mode": FAIL},
    )
    per_target(
        reports,
        "winsrv",
        "hyperv",
        "16251",
        {
            "volumes/test_v.py::test_fifo[bind]": DIVERGES,
            "volumes/test_v.py::test_mode": PASS,
            "networking/test_n.py::test_host": NOT_APPLICABLE,
        },
    )
    [html, _, _] = write_matrix(build_matrix(junit.read_all([reports])), reports)
    return html


def test_chromium_shows_the_matrix_table(page: Path, tmp_path: Path) -> None:
    done = browse(page, tmp_path / "profile", "--dump-dom")
    assert Texts.of(done.stdout, "matrix").rows == [
        ["check", "local linux (reference) build 6.1.0", "winsrv hyperv build 16251"],
        ["networking 1 check"],
        [
            "test_n.py::test_host level not stated: counts as MUST",
            "○ not run no result in this target's report",
            "⊘ n/a target x does not declare host_network (runs containers with --network host)",
        ],
        ["volumes 2 checks"],
        [
            "test_v.py::test_fifo[bind] level not stated: counts as MUST",
            "✓ pass",
            "≈ known divergence no FIFOs on SMB shares ref: moby/moby#12",
        ],
        ["test_v.py::test_mode level not stated: counts as MUST", "✗ FAIL AssertionError: assert 1 == 2", "✓ pass"],
    ]


# --- screenshots: what a person sees first, at a laptop's window size ------------------

LAPTOP = (1280, 800)


def screenshot(page: Path, profile: Path, name: str, size: tuple[int, int] = LAPTOP) -> bytes:
    """The page's first screen as PNG bytes; kept as ``name`` under PARITY_SCREENSHOT_DIR
    when that is set (CI keeps the folder as an artefact)."""
    shot = profile.parent / name
    width, height = size
    # sRGB: the verdict bands' colours land in the PNG exactly as the CSS states them
    browse(page, profile, f"--screenshot={shot}", f"--window-size={width},{height}", "--force-color-profile=srgb")
    kept = os.environ.get("PARITY_SCREENSHOT_DIR")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(kept) / name)
    return shot.read_bytes()


def _paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
    return (left, up, up_left)[distances.index(min(distances))]


def pixels(png: bytes) -> tuple[int, int, list[bytes], int]:
    """(width, height, rows of unfiltered bytes, bytes per pixel) of an 8-bit, non-interlaced
    RGB or RGBA PNG: what chromium writes (the PNG specification, section 9: filters)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    offset, data, header = 8, b"", b""
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind, body = png[offset + 4 : offset + 8], png[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            data += body
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0)
    assert colour in (2, 6)  # RGB or RGBA
    size = 3 if colour == 2 else 4
    raw = zlib.decompress(data)
    stride = width * size
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:  # sub
            for i in range(size, stride):
                line[i] = (line[i] + line[i - size]) & 0xFF
        elif kind == 2:  # up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:  # average
            for i in range(stride):
                left = line[i - size] if i >= size else 0
                line[i] = (line[i] + (left + previous[i]) // 2) & 0xFF
        elif kind == 4:  # paeth
            for i in range(stride):
                left, up_left = (line[i - size], previous[i - size]) if i >= size else (0, 0)
                line[i] = (line[i] + _paeth(left, previous[i], up_left)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows, size


def where(png: bytes, rgb: tuple[int, int, int]) -> list[tuple[int, int]]:
    """The (x, y) of every pixel of exactly this colour."""
    width, _, rows, size = pixels(png)
    return [
        (x, y)
        for y, row in enumerate(rows)
        for x in range(width)
        if (row[x * size], row[x * size + 1], row[x * size + 2]) == rgb
    ]


def rgb(colour: str) -> tuple[int, int, int]:
    """'#1b4f9c' -> (27, 79, 156)."""
    red, green, blue = bytes.fromhex(colour.removeprefix("#"))
    return red, green, blue


def many_checks(folder: Path, target: str, kind: str, build: str, failing: set[str]) -> None:
    """A run of 8 areas of 12 checks each, long enough that the matrix runs far below the fold."""
    cases = {
        f"{area}/test_{area}.py::test_check_{n}[bind]": FAIL if f"{area}:{n}" in failing else PASS
        for area in ("isolation", "lifecycle", "networking", "platform", "syscalls", "volumes", "images", "logs")
        for n in range(12)
    }
    per_target(folder, target, kind, build, cases)


def test_both_verdicts_are_above_the_fold_at_a_laptops_window_size(tmp_path: Path) -> None:
    """The summary comes first: at 1280x800, the screen shows the verdict band of a
    failing target (not certified) and of a certified one, found by their exact colours."""
    reports = tmp_path / "reports"
    reports.mkdir()
    many_checks(reports, "local", "linux", "6.1.0", {"syscalls:3", "volumes:7"})
    many_checks(reports, "winsrv-insider", "hyperv", "26100.1", set())
    [html, _, _] = write_matrix(build_matrix(junit.read_all([reports])), reports)
    page = html.read_text()
    assert page.count('class="band uncertified"') == 1
    assert page.count('class="band certified"') == 1
    full = screenshot(html, tmp_path / "profile-full", "screenshot-matrix-full.png", (1280, 4000))
    # the page is longer than a screen: what is above the fold is a choice, not luck
    assert max(y for _, y in where(full, (0xFC, 0xD9, 0xD6))) > LAPTOP[1]  # a FAIL cell's colour
    shot = screenshot(html, tmp_path / "profile", "screenshot-matrix.png")
    assert struct.unpack(">II", shot[16:24]) == LAPTOP
    failing, certified = where(shot, render.NOT_CERTIFIED_RGB), where(shot, render.CERTIFIED_RGB)
    # a band is a card wide and a line of large text high, less the words written on it
    assert len(failing) > 5000, len(failing)
    assert len(certified) > 5000, len(certified)
    # side by side: the failing reference's card on the left, the certified one on its right
    assert max(x for x, _ in failing) < min(x for x, _ in certified)
    assert max(y for _, y in failing + certified) < LAPTOP[1] // 4


def test_the_history_chart_fits_a_laptop_screen(tmp_path: Path) -> None:
    """Thirty nightly builds: every build's point and the last build's regressions show
    on the first screen, without scrolling."""
    reports = tmp_path / "reports"
    reports.mkdir()
    for night in range(1, 31):
        many_checks(reports, "winsrv-insider", "hyperv", f"26100.{night}", {f"volumes:{n}" for n in range(night % 5)})
    points = history.history(junit.read_all([reports]))
    [html, _] = history.write_history(points, tmp_path / "out")
    shot = screenshot(html, tmp_path / "profile", "screenshot-history.png")
    width, height = struct.unpack(">II", shot[16:24])
    rate, regressions = where(shot, rgb(history.RATE_COLOUR)), where(shot, rgb(history.REGRESSION_COLOUR))
    assert rate
    assert regressions
    # the last build (a regression of 4 checks) is drawn at the chart's right end, on screen
    assert max(x for x, _ in regressions) > width * 2 // 3
    assert max(y for _, y in rate + regressions) < height
