"""The platform facts a known divergence or a precondition may be keyed by: one flat
table per target per run, from the matrix's declaration, the engine's /info and /version,
and what its containers were observed to see (parity.platform.observed).

A fact that could not be learned is absent, so no condition on it holds: a row keyed by
an unknown fact is not applied, and the check reports what it saw.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from parity.platform.facts import EngineFacts
from parity.platform.observed import STORAGE_MOUNTS, ObservedPlatform

FactValue = str | tuple[str, ...]

# name -> what it is (the vocabulary of `when:` in divergences.yaml, checked on load).
FACTS: Mapping[str, str] = {
    "kind": "the target's declared kind (matrix.yaml): linux, mobyvm, hyperv",
    "os_type": "the engine's OSType (/info): linux or windows",
    "isolation": "the isolation containers run with: declared, the kind's, else the engine's default (/info)",
    "engine_version": "the engine's version (/version Version), e.g. 20.10.24",
    "api_version": "the engine's API version (/version ApiVersion)",
    "kernel": "the kernel release a container sees (uname -r in a container)",
    "cgroup_version": "the engine's cgroup version (/info CgroupVersion): 1 or 2",
    "cgroup_driver": "the engine's cgroup driver (/info CgroupDriver): cgroupfs, systemd, none",
    "storage_driver": "the engine's storage driver (/info Driver), e.g. overlay2, windowsfilter",
    "security_options": "the engine's security options (/info SecurityOptions), e.g. name=seccomp,profile=default",
    **{
        f"{kind}.fstype": f"the file system type of a {kind} mount in a container (mountinfo)"
        for kind in STORAGE_MOUNTS
    },
    **{f"{kind}.options": f"the options of a {kind} mount in a container (mountinfo)" for kind in STORAGE_MOUNTS},
}

VERSION_FACTS = frozenset({"engine_version", "api_version", "kernel"})
LIST_FACTS = frozenset({"security_options", *(f"{kind}.options" for kind in STORAGE_MOUNTS)})


def fact_table(kind: str, isolation: str, engine: EngineFacts, observed: ObservedPlatform) -> dict[str, FactValue]:
    """Every fact known about a target; ``isolation`` is what its containers are created with."""
    table: dict[str, FactValue] = {
        "kind": kind,
        "os_type": engine.os_type.lower(),
        "isolation": (isolation or engine.isolation).lower(),
        "engine_version": engine.server_version,
        "api_version": engine.api_version,
        "cgroup_version": engine.cgroup_version,
        "cgroup_driver": engine.cgroup_driver,
        "storage_driver": engine.storage_driver,
        "security_options": engine.security_options,
    }
    # A Linux engine's containers run on its own kernel; a Windows engine's /info names
    # the Windows host's, so there only a container can say.
    kernel = observed.kernel or ("" if engine.is_windows else engine.kernel_version)
    if kernel:
        table["kernel"] = kernel
    for storage, mount in observed.storage.items():
        table[f"{storage}.fstype"] = mount.fstype
        table[f"{storage}.options"] = mount.options
    return {name: value for name, value in table.items() if value not in ("", ())}


_LEADING_NUMBERS = re.compile(r"^(\d+(?:\.\d+)*)")


def version_tuple(text: str) -> tuple[int, ...] | None:
    """(6, 1, 0) from '6.1.0-27-amd64', (20, 10, 24) from '20.10.24'; None when the text
    does not start with a number (e.g. 'master-dockerproject-2022-01-18')."""
    found = _LEADING_NUMBERS.match(text.strip())
    return tuple(int(part) for part in found[1].split(".")) if found else None


def version_below(value: str, bound: str) -> bool | None:
    """Whether version ``value`` is below ``bound``, compared part by part with missing
    parts as 0; None when ``value`` is not a version."""
    have, limit = version_tuple(value), version_tuple(bound)
    if have is None or limit is None:
        return None
    width = max(len(have), len(limit))
    return have + (0,) * (width - len(have)) < limit + (0,) * (width - len(limit))


def unmet_precondition(facts: Mapping[str, FactValue], name: str, version: str, source: str) -> str | None:
    """Why a behaviour added in ``version`` of ``name`` (a version fact) does not apply
    to a target, or None when it does or the fact is unknown (then the check runs and
    reports what it sees)."""
    value = facts.get(name)
    if not isinstance(value, str) or version_below(value, version) is not True:
        return None
    return f"{name} {value} is below {version}, which added this behaviour ({source})"
