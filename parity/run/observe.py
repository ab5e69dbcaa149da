"""Observe, once per target per run, what its containers see (parity.platform.observed):
one container with the suite's three kinds of storage mounted reports its kernel and its
mount table. Known divergences and version preconditions are judged by these facts.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from typing import Any

import docker.errors
import filelock
import requests.exceptions
from docker.types import Mount

from parity.config.matrix import TargetSpec
from parity.engine.errors import reason
from parity.platform.observed import STORAGE_MOUNTS, ObservedPlatform, storage_facts
from parity.platform.shaping import Shaping
from parity.run.folder import folder_of
from parity.run.resources import LABEL_OBSERVES, Completed, ResourceScope, RunIdentity
from parity.workload import image as workload
from parity.workload.probe import Observation, Op, ProbeError, command, parse

_OPS = [("uname",), ("read", "/proc/self/mountinfo", "1048576")]


def main_process(
    scope: ResourceScope, ops: Sequence[Op], *, timeout: float = 60, **options: Any
) -> tuple[list[Observation], Completed]:
    """A new container of ``scope``, created with ``options``, runs the probe batch
    ``ops`` as its main process: what each op observed, and the finished run. ProbeError
    when it exits non-zero or its output is not the batch's answer."""
    argv = command(ops)
    done = scope.run(argv, timeout=timeout, **options)
    try:
        if done.status != 0:
            raise ValueError(f"exit status {done.status}")
        return parse(done.stdout, ops), done
    except ValueError as exc:
        raise ProbeError(
            f"{' '.join(argv)} with {options}: {exc}\nstdout: {done.stdout[:2000]!r}\nstderr: {done.stderr[:2000]!r}"
        ) from None


def observe(scope: ResourceScope, spec: TargetSpec) -> ObservedPlatform:
    """Run the observing container in ``scope`` (whose image is the loaded workload)."""
    capabilities = spec.capability_set()
    run_folder = folder_of(scope.identity.run_id)
    run_folder.mkdir(parents=True, exist_ok=True)
    host_dir = tempfile.mkdtemp(prefix="observe-", dir=run_folder)
    try:
        labels = {LABEL_OBSERVES: "platform"}
        mounts = [Mount(STORAGE_MOUNTS["volume"], scope.volume(labels=labels).name, type="volume")]
        if capabilities["tmpfs_mounts"]:
            mounts.append(Mount(STORAGE_MOUNTS["tmpfs"], None, type="tmpfs"))
        if capabilities["bind_mounts"]:
            mounts.append(Mount(STORAGE_MOUNTS["bind"], host_dir, type="bind"))  # mapped by the scope
        (uname, mountinfo), _ = main_process(scope, _OPS, timeout=spec.engine.timeout, mounts=mounts, labels=labels)
        return ObservedPlatform(str(uname["release"]), storage_facts(str(mountinfo["data"])))
    finally:
        scope.close()
        shutil.rmtree(host_dir, ignore_errors=True)


def observe_target(
    client: docker.DockerClient, spec: TargetSpec, identity: RunIdentity, arch: str, shaping: Shaping
) -> ObservedPlatform:
    """Provide the workload and observe; a failure is recorded, never raised: a target
    whose containers cannot be observed is judged without fact-keyed rows (so a
    divergence shows as the failure it is), and its checks report what went wrong."""
    try:
        built = workload.provide(arch)
        workload.ensure_loaded(client, built)
        scope = ResourceScope(client, spec.name, identity, built.image_id, shaping)
        return observe(scope, spec)
    except (
        workload.WorkloadError,
        ProbeError,
        ValueError,
        docker.errors.DockerException,
        requests.exceptions.RequestException,
        filelock.Timeout,
    ) as exc:
        return ObservedPlatform(unobserved=f"containers not observed: {reason(exc, spec.engine.timeout)}")
