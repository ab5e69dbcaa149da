"""A capability declaration the engine contradicts fails the run: declaring a capability
missing cannot silently turn a target's checks into "not applicable"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.skipif(
    not Path("/var/run/docker.sock").exists() or os.geteuid() != 0,
    reason="not applicable: needs the local engine (ci/engine start) and root",
)


def test_a_declaration_the_engine_contradicts_fails_the_run(tmp_path: Path) -> None:
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(
        "targets:\n  - name: local\n    kind: linux\n    capabilities:\n"
        "      host_network: {supported: false, because: declared wrongly on purpose by a self-test}\n"
    )
    junit = tmp_path / "junit.xml"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/platform", "suites/networking/test_interfaces.py", "-q",
         "-p", "no:cacheprovider", "-k", "host_network or host_mode or host", f"--matrix={matrix}",
         f"--junitxml={junit}", f"--reports={tmp_path / 'reports'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout[-3000:] + run.stderr[-3000:]
    failed = {
        case.name: case.result[0].message
        for suite in JUnitXml.fromfile(str(junit))
        for case in suite
        if case.result and isinstance(case.result[0], Failure)
    }
    # exactly the declaration check fails, naming the declaration and what worked ...
    assert list(failed) == ["test_capability_declaration_holds[local-host_network]"], failed
    message = failed["test_capability_declaration_holds[local-host_network]"]
    assert "declares host_network unsupported (target local does not declare host_network" in message
    assert "declared wrongly on purpose by a self-test), but it works: ran with interfaces" in message
    # ... while the checks that need it say why they did not run, with the target's reason
    assert "not applicable: target local does not declare host_network" in run.stdout + junit.read_text()
