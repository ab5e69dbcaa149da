"""Differential properties see what a model would not be asked: an engine whose runtime
mutates one kind of generated input differs from the reference for that input, and the
report names the minimal such input and both observations."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml

from tests.sensitivity.engines import SecondEngine

ROOT = Path(__file__).resolve().parent.parent.parent
MUTANT = Path(__file__).resolve().parent / "mutant-runc"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("dockerd", "nsenter", "ip", "runc")),
    reason="not applicable: starting second engines needs root, dockerd, nsenter, ip and runc",
)


def test_a_mutant_engine_is_caught_with_the_minimal_input_and_both_observations(tmp_path: Path) -> None:
    matrix, junit = tmp_path / "matrix.yaml", tmp_path / "junit.xml"
    with SecondEngine([f"--add-runtime=mutant={MUTANT}", "--default-runtime=mutant"]) as engine:
        matrix.write_text(
            "reference: ref\ntargets:\n  - {name: ref, kind: linux}\n"
            f"  - {{name: mutant, kind: linux, engine: {{url: '{engine.url}'}}}}\n"
        )
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "suites/lifecycle/test_properties.py", "-q", "-p", "no:cacheprovider",
             "-k", "environment", "--hypothesis-profile=parity-ci", f"--matrix={matrix}", f"--junitxml={junit}",
             f"--reports={tmp_path / 'reports'}"],
            cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    failed = {
        case.name: (case.result[0].text or "")
        for suite in JUnitXml.fromfile(str(junit))
        for case in suite
        if case.result and isinstance(case.result[0], Failure)
    }
    # the reference passes (against the model); the mutant fails, compared with the reference
    assert list(failed) == ["test_generated_environment_is_passed_byte_exact[mutant]"], run.stdout[-3000:]
    assert (
        "differs from the reference ref for {'PARITY_0': ''}: here [], on the reference [b'PARITY_0=']"
        in failed["test_generated_environment_is_passed_byte_exact[mutant]"]
    ), failed
