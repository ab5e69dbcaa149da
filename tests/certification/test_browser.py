"""The matrix page as a browser shows it: Debian's chromium, headless, with no way out:
as root, in a network namespace of its own with no interface up; and in any case with
background networking off, every host name unresolvable and a proxy that goes nowhere.

ci/setup installs chromium; elsewhere, without it, these tests skip (under CI they fail).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from parity.certification import junit
from parity.certification.cli import write_matrix
from parity.certification.matrix import build_matrix
from tests.certification.test_certification import DIVERGES, FAIL, NOT_APPLICABLE, PASS, per_target

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


class _Matrix(HTMLParser):
    """Rows of the table with id 'matrix' in the DOM chromium dumps: their cells' text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._inside = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", "matrix") in attrs:
            self._inside = True
        elif self._inside and tag == "tr":
            self.rows.append([])
        elif self._inside and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._inside = False
        elif self._inside and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join(word for piece in self._cell for word in piece.split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_chromium_shows_the_matrix_table(page: Path, tmp_path: Path) -> None:
    done = browse(page, tmp_path / "profile", "--dump-dom")
    table = _Matrix()
    table.feed(done.stdout)
    assert table.rows == [
        ["check", "local linux (reference) build 6.1.0", "winsrv hyperv build 16251"],
        ["networking 1 check"],
        [
            "test_n.py::test_host",
            "○ not run no result in this target's report",
            "⊘ n/a target x does not declare host_network (runs containers with --network host)",
        ],
        ["volumes 2 checks"],
        ["test_v.py::test_fifo[bind]", "✓ pass", "≈ known divergence no FIFOs on SMB shares ref: moby/moby#12"],
        ["test_v.py::test_mode", "✗ FAIL AssertionError: assert 1 == 2", "✓ pass"],
    ]


def test_chromium_takes_a_screenshot_of_the_page(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "matrix.png"
    browse(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,900")
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1200, 900)
