"""The JUnit properties parity writes and reads back: one schema for both sides.

A per-target file's ``<testsuite>`` carries the target, its kind, the run, the engine's
build and what the engine said about itself; pytest's own ``--junitxml`` file carries
the run and a map of the run's targets to their kinds, so each test can be told apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from parity.platform.fact_table import FactValue
from parity.platform.facts import EngineFacts

# per-target files: one <testsuite> per target
TARGET = "target"
KIND = "kind"
RUN = "run"
BUILD = "build"
ADDRESS = "address"
UNAVAILABLE = "unavailable"
WORKLOAD_IMAGE = "workload.image"
ISOLATION = "isolation"  # what the target's containers run under (LCOW: always Hyper-V)

PLATFORM = "platform."  # + a fact's name (parity.platform.fact_table.FACTS)
PLATFORM_UNOBSERVED = "platform.unobserved"  # why containers could not be observed
DIVERGENCES_APPLIED = "divergences.applied"  # rows of divergences.yaml whose facts held, as JSON
REFERENCE = "reference"  # the run's reference target, when it was in the run
# checks that failed on the reference, as JSON {check: its message}: broken on every target
BROKEN = "broken"

# what each check requires, as JSON {check function: {"id", "level", "link"}}
# (parity.certification.requirements); per testcase too, as its group (level) and url
REQUIREMENTS = "requirements"
LEVEL = "level"  # the requirement level the run certifies (--level): MUST or SHOULD

# pytest's own --junitxml file: one suite for every target
TARGETS = "parity.targets"  # {"target": "kind", ...} as JSON
RUN_OF_ALL = "parity.run"


def windows_properties(facts: EngineFacts) -> dict[str, str]:
    """Suite properties naming a Windows engine's build: number, revision, branch."""
    windows = facts.windows
    if windows is None:
        return {}
    return {
        "windows.build": windows.build,
        "windows.revision": windows.revision,
        "windows.branch": windows.branch,
        "windows.insider": "true" if windows.insider else "false",
    }


def engine_properties(facts: EngineFacts) -> dict[str, str]:
    """What the engine said about itself, as suite properties."""
    return {
        "engine.version": facts.server_version,
        "engine.api_version": facts.api_version,
        "engine.os_type": facts.os_type,
        "engine.operating_system": facts.operating_system,
        "engine.kernel": facts.kernel_version,
        "engine.architecture": facts.architecture,
        "engine.isolation": facts.isolation,
        "engine.cgroup_version": facts.cgroup_version,
        **windows_properties(facts),
    }


def platform_properties(facts: Mapping[str, FactValue], unobserved: str) -> dict[str, str]:
    """The platform facts the run judged the target by (lists joined with commas)."""
    written = {
        f"{PLATFORM}{name}": value if isinstance(value, str) else ",".join(value) for name, value in facts.items()
    }
    if unobserved:
        written[PLATFORM_UNOBSERVED] = unobserved
    return written


def suite_properties(
    *,
    target: str,
    kind: str,
    run: str,
    build: str,
    address: str,
    unavailable: str,
    workload_image: str,
    facts: EngineFacts | None,
    isolation: str,
    platform: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A per-target suite's properties, in the order they are written; empty ones left out."""
    written = {
        TARGET: target,
        KIND: kind,
        RUN: run,
        BUILD: build,
        ADDRESS: address,
        UNAVAILABLE: unavailable,
        WORKLOAD_IMAGE: workload_image,
    }
    if facts is not None:
        written.update(engine_properties(facts))
        written[ISOLATION] = isolation or facts.isolation
    written.update(platform or {})
    return {key: value for key, value in written.items() if value}
