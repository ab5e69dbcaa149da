"""Engines that die or fall silent: the run stays bounded and says why in one line."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from tests.faults.checks import CHECKS
from tests.faults.inner import EMPTY, InnerRun, labelled, needs_engines, wait_for_a_container, write_matrix
from tests.sensitivity.engines import SecondEngine

pytestmark = needs_engines


def outcomes(junit: Path) -> dict[str, str]:
    """'<test name>' -> passed / failed / error / skipped, from a JUnit file."""
    result: dict[str, str] = {}
    for suite in JUnitXml.fromfile(str(junit)):
        for case in suite:
            kinds = {type(r) for r in case.result}
            outcome = "passed"
            if Error in kinds:
                outcome = "error"
            elif Failure in kinds:
                outcome = "failed"
            elif Skipped in kinds:
                outcome = "skipped"
            result[case.name] = outcome
    return result


def test_engine_killed_mid_run(tmp_path: Path) -> None:
    """When one target's engine dies mid-run, the check in flight and the target's
    remaining checks fail at once, each with one line naming the target and the reason, the other target's checks all pass, and the
    run ends within a bound. Once the engine is back, a new run reaps what the broken run
    left there and passes."""
    junit = tmp_path / "junit.xml"
    with SecondEngine([]) as dying, SecondEngine([]) as steady:
        matrix = write_matrix(tmp_path / "matrix.yaml", {"dying": dying.url, "steady": steady.url})
        # session-scoped parametrization runs each target's checks together, dying's first
        with InnerRun.start(tmp_path, matrix, f"--junitxml={junit}") as broken:
            wait_for_a_container(dying.url, broken)
            dying.kill()
            status = broken.wait(180)
        elapsed = broken.elapsed()
        dying.restart()
        left_on_dying = labelled(dying.url)
        with InnerRun.start(tmp_path, matrix) as again:
            again_status = again.wait(180)
        after_again = (labelled(dying.url), labelled(steady.url))
    seen = outcomes(junit)
    lost = f"target dying: engine lost mid-run: {dying.url}: "
    # the session-end sweep cannot reach the engine: an incomplete cleanup is exit status 3
    assert status == pytest.ExitCode.INTERNAL_ERROR, broken.text()[-3000:]
    assert (
        f"parity: target dying: cleanup failed: {dying.url}: connection refused; the next run reaps what is left"
        in broken.lines()
    )
    assert elapsed < 120, broken.text()[-3000:]
    assert [seen[f"test_holds_resources[steady-{n}]"] for n in range(CHECKS)] == ["passed"] * CHECKS, seen
    # the check in flight fails; each later one errors at setup with the one-line reason
    assert seen["test_holds_resources[dying-0]"] == "failed", broken.text()[-3000:]
    assert [seen[f"test_holds_resources[dying-{n}]"] for n in range(1, CHECKS)] == ["error"] * (CHECKS - 1), seen
    reasons = [line for line in broken.lines() if line.startswith(lost)]
    assert reasons == [lost + "connection refused"] * CHECKS, broken.text()[-3000:]
    assert all(left_on_dying.values()), left_on_dying  # what the broken run could not remove
    assert again_status == pytest.ExitCode.OK, again.text()[-3000:]
    assert any(re.fullmatch(r"    reaped from runs that were killed: \d+ containers.*", line) for line in again.lines())
    assert after_again == (EMPTY, EMPTY)


def test_engine_that_never_answers_is_bounded(tmp_path: Path) -> None:
    """An engine that accepts connections and never answers costs one timeout: a target
    named with --target errors in one line per check, and the run ends in seconds."""
    path = tmp_path / "silent.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.bind(str(path))
        silent.listen(64)  # the kernel accepts into the backlog; nobody ever reads
        matrix = tmp_path / "matrix.yaml"
        matrix.write_text(
            f"targets:\n  - {{name: silent, kind: linux, engine: {{url: 'unix://{path}', timeout: 2}}}}\n"
        )
        with InnerRun.start(tmp_path, matrix, "--target", "silent") as run:
            status = run.wait(60)
    reasons = [line for line in run.lines() if line.startswith("target silent: ")]
    assert status == pytest.ExitCode.TESTS_FAILED, run.text()[-3000:]
    assert reasons == [f"target silent: unix://{path}: no answer within 2 s"] * CHECKS, run.text()[-3000:]
    assert run.elapsed() < 30, run.text()[-3000:]
