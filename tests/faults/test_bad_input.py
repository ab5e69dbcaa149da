"""Bad input stops a run in one line, before anything is created on any engine.

Each case names a real engine (started for this module) in its matrix, so a run that
went on despite the mistake would load the workload image and create containers there;
the engine is asked afterwards that it holds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.inner import InnerRun, created_anything, needs_engines
from tests.sensitivity.engines import SecondEngine

pytestmark = needs_engines


@pytest.fixture(scope="module")
def engine() -> Iterator[SecondEngine]:
    with SecondEngine([]) as started:
        yield started


def run_with(tmp_path: Path, matrix: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """Exit status and the non-blank lines on stderr and stdout of a run (usage errors go to stderr)."""
    path = tmp_path / "matrix.yaml"
    path.write_text(matrix)
    with InnerRun.start(tmp_path, path, *args, env=env) as run:
        status = run.wait(60)
    return status, [line for line in run.lines() if line.strip()]


GOOD = "  - {{name: e, kind: linux, engine: {{url: '{url}'}}}}\n"


@pytest.mark.parametrize(
    ("matrix", "args", "expected"),
    [
        pytest.param(
            "targets:\n" + GOOD + "  - name: [broken\n",
            (),
            "{path}: not valid YAML at line 4, column 1: expected ',' or ']', but got '<stream end>'",
            id="not-yaml",
        ),
        pytest.param(
            "targets:\n" + GOOD + "  - {{name: f, kind: linux, engine: {{url: '{url}', timeout: soon}}}}\n",
            (),
            "{path}: target 'f': key 'engine.timeout': Input should be a valid integer, unable to parse string as an integer",
            id="wrong-type",
        ),
        pytest.param(
            "targets:\n" + GOOD + "  - {{name: f, kind: vmware, engine: {{url: '{url}'}}}}\n",
            (),
            "{path}: target 'f': key 'kind': 'vmware' is not one of 'linux', 'mobyvm' or 'hyperv'",
            id="unknown-kind",
        ),
        pytest.param(
            "targets:\n" + GOOD + GOOD,
            (),
            "{path}: target 'e': key 'name': duplicate target name",
            id="duplicate-target",
        ),
        pytest.param(
            "targets:\n" + GOOD + "  - {{name: w, kind: hyperv, engine: {{url: 'tcp://127.0.0.1:2376', "
            "tls: {{ca: nosuch/ca.pem}}}}}}\n",
            (),
            "{path}: target 'w': key 'engine.tls.ca': file '{dir}/nosuch/ca.pem' does not exist",
            id="missing-tls-file",
        ),
        pytest.param(
            "targets:\n" + GOOD,
            ("--target", "nosuch"),
            "unknown target 'nosuch'; known targets: e",
            id="unknown-target",
        ),
    ],
)
def test_bad_input_is_one_line_and_creates_nothing(
    engine: SecondEngine, tmp_path: Path, matrix: str, args: tuple[str, ...], expected: str
) -> None:
    before = created_anything(engine.url)
    status, lines = run_with(tmp_path, matrix.format(url=engine.url), *args)
    message = expected.format(path=tmp_path / "matrix.yaml", dir=tmp_path)
    assert (status, lines) == (pytest.ExitCode.USAGE_ERROR, [f"ERROR: {message}"])
    assert created_anything(engine.url) == before == {"containers": [], "networks": [], "volumes": [], "images": []}


def test_unwritable_hypothesis_database_is_one_line_and_creates_nothing(engine: SecondEngine, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    storage = tmp_path / "a-file" / "hypothesis"
    status, lines = run_with(
        tmp_path, "targets:\n" + GOOD.format(url=engine.url), env={"HYPOTHESIS_STORAGE_DIRECTORY": str(storage)}
    )
    assert (status, lines) == (
        pytest.ExitCode.USAGE_ERROR,
        [
            f"ERROR: hypothesis database '{storage / 'examples'}': not writable: Not a directory "
            "(set HYPOTHESIS_STORAGE_DIRECTORY to a writable folder)"
        ],
    )
    assert created_anything(engine.url) == {"containers": [], "networks": [], "volumes": [], "images": []}
