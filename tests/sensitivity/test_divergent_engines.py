"""The suite is not blind: engines made to diverge on purpose fail exactly the checks of
the area concerned, and no other check.

Each divergent engine is a second dockerd on this machine (tests/sensitivity/engines.py);
the whole suite runs against it in a subprocess, as a user would run it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml

from tests.sensitivity.engines import SecondEngine

ROOT = Path(__file__).resolve().parent.parent.parent
HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("dockerd", "nsenter", "ip")),
    reason="not applicable: starting second engines needs root, dockerd, nsenter and ip (iproute2)",
)


@dataclass(frozen=True)
class Divergent:
    area: str
    flags: tuple[str, ...]
    caught_by: frozenset[str]  # "<module>::<test id without the target>" that must fail


ENGINES = [
    Divergent(
        "syscalls",
        ("--seccomp-profile", str(HERE / "strict-seccomp.json")),
        frozenset(
            {
                "suites.syscalls.test_seccomp::test_default_profile_allows[personality-query]",
                "suites.syscalls.test_seccomp::test_default_profile_allows[personality-linux32]",
                "suites.syscalls.test_seccomp::test_default_profile_allows[chroot]",
                "suites.syscalls.test_seccomp::test_default_profile_allows[mlock]",
                "suites.syscalls.test_capabilities::test_default_capabilities_decide_privileged_operations[chroot-ok]",
                # personality refused; clone3 let through (its default action allows); no
                # archMap, so a 32-bit x86 program is killed (libseccomp's bad-arch action)
                "suites.syscalls.test_kernel::test_linux32_personality_reports_i686_on_x86_64",
                "suites.syscalls.test_kernel::test_clone3_is_enosys_so_libc_falls_back_to_clone",
                "suites.syscalls.test_kernel::test_i386_program_runs_on_x86_64",
            }
        ),
    ),
    Divergent(
        "isolation",
        ("--default-cgroupns-mode", "private"),
        frozenset({"suites.isolation.test_namespaces::test_cgroup_namespace_follows_the_engine_default"}),
    ),
    Divergent(
        "networking",
        ("--icc=false",),
        frozenset({"suites.networking.test_user_networks::test_internal_network_cannot_reach_other_networks"}),
    ),
]


def failed_checks(junit: Path, target: str) -> tuple[set[str], set[str]]:
    """(failed, errored) checks as '<module>::<name>' with the target id taken out."""
    failed, errored = set(), set()
    for suite in JUnitXml.fromfile(str(junit)):
        for case in suite:
            # the target's id stands alone, first, last or between other ids
            name = case.name.replace(f"[{target}]", "").replace(f"[{target}-", "[").replace(f"-{target}]", "]")
            check = f"{case.classname}::{name}"
            for result in case.result:
                if isinstance(result, Failure):
                    failed.add(check)
                elif isinstance(result, Error):
                    errored.add(check)
    return failed, errored


@pytest.mark.parametrize("divergent", ENGINES, ids=lambda d: d.area)
def test_divergent_engine_is_caught_in_its_area_only(divergent: Divergent, tmp_path: Path) -> None:
    """A run against the divergent engine fails exactly the expected checks of its area."""
    matrix = tmp_path / "matrix.yaml"
    junit = tmp_path / "junit.xml"
    with SecondEngine(list(divergent.flags)) as engine:
        # Published ports of an engine in its own network namespace are on that
        # namespace's loopback, not this one's: declared, so those checks are skipped.
        matrix.write_text(
            f"targets:\n  - name: divergent\n    kind: linux\n    engine: {{url: '{engine.url}'}}\n"
            "    capabilities: {published_ports: {supported: false, because: an engine in its own network namespace publishes on the loopback of that namespace}, privileged: {supported: false, because: runc on this machine cannot grant --privileged}}\n"
        )
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider", "-n", "2",
             f"--matrix={matrix}", f"--junitxml={junit}", f"--reports={tmp_path / 'reports'}"],
            cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False,
        )  # fmt: skip
    failed, errored = failed_checks(junit, "divergent")
    summary = "\n".join(run.stdout.splitlines()[-15:])
    assert errored == set(), summary
    assert failed == set(divergent.caught_by), summary
    assert {check.split(".")[1] for check in failed} == {divergent.area}
