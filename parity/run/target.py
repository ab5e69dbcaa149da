"""A target as the checks see it, and how a run contacts one.

The controller contacts every selected target once (detection, kind check, reaping of
killed runs), in parallel and bounded; the outcome is a serialisable ``TargetState``
that xdist workers receive instead of contacting engines again. The workload is built
and loaded on first use of a target, so a run that needs no target builds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import docker
import requests.exceptions

from parity import kinds
from parity.config.matrix import TargetSpec
from parity.engine import contact as engine_contact
from parity.engine.endpoint import resolve_endpoint
from parity.engine.errors import EngineUnavailable, reason
from parity.engine.guard import GuardedClient
from parity.platform.fact_table import FactValue, fact_table
from parity.platform.facts import EngineFacts
from parity.platform.observed import ObservedPlatform
from parity.platform.shaping import Shaping
from parity.run import resources
from parity.run.observe import observe_target
from parity.run.resources import ResourceScope, RunIdentity
from parity.workload import image as workload


class KindMismatch(Exception):
    """The engine is not what the matrix declares; the message is one line."""


@dataclass(frozen=True)
class TargetState:
    """What the controller learned about a target at session start."""

    name: str
    address: str
    facts: EngineFacts | None = None
    unavailable: str | None = None  # one line: why the engine cannot be used
    reaped: dict[str, int] = field(default_factory=dict)
    observed: ObservedPlatform = field(default_factory=ObservedPlatform)  # what its containers see

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "facts": self.facts.to_json() if self.facts else None,
            "unavailable": self.unavailable,
            "reaped": self.reaped,
            "observed": self.observed.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TargetState:
        facts = EngineFacts.from_json(data["facts"]) if data["facts"] else None
        observed = ObservedPlatform.from_json(data["observed"])
        return cls(data["name"], data["address"], facts, data["unavailable"], data["reaped"], observed)


def contact(spec: TargetSpec, identity: RunIdentity) -> TargetState:
    """Detect the engine, check it against the declared kind, reap debris of killed runs,
    and observe what its containers see."""
    try:
        endpoint = resolve_endpoint(spec.engine)
    except (EngineUnavailable, docker.errors.DockerException) as exc:  # e.g. TLS files named by DOCKER_CERT_PATH
        return TargetState(spec.name, spec.engine.context or "", unavailable=str(exc))
    address = endpoint.url if endpoint.source == "matrix" else f"{endpoint.url} ({endpoint.source})"
    timeout = spec.engine.timeout
    try:
        facts = engine_contact.detect(endpoint, timeout=min(timeout, 10))
    except EngineUnavailable as exc:
        return TargetState(spec.name, address, unavailable=str(exc))
    mismatch = kinds.contradiction(spec.kind, spec.isolation, facts)
    if mismatch:
        raise KindMismatch(f"target {spec.name!r} ({endpoint.url}): {mismatch}")
    client = endpoint.client(timeout, version=engine_contact.negotiate_api_version(facts))
    try:
        reaped = resources.reap_stale(client, identity.run_id)
        arch = workload_arch(spec, facts)
        observed = observe_target(client, spec, identity, arch, shaping_for(spec, client.api.api_version))
    except (docker.errors.DockerException, resources.CleanupError, requests.exceptions.RequestException) as exc:
        return TargetState(spec.name, address, facts, unavailable=f"{endpoint.url}: {reason(exc, timeout)}")
    except workload.WorkloadError as exc:  # no build for the engine's architecture
        observed = ObservedPlatform(unobserved=f"containers not observed: {exc}")
    finally:
        client.close()
    return TargetState(spec.name, address, facts, None, dict(reaped), observed)


def contact_all(specs: Sequence[TargetSpec], identity: RunIdentity) -> list[TargetState]:
    """Contact targets concurrently: a slow engine does not delay the others."""
    if not specs:
        return []
    with ThreadPoolExecutor(max_workers=len(specs), thread_name_prefix="parity-contact") as pool:
        return list(pool.map(lambda spec: contact(spec, identity), specs))


def workload_arch(spec: TargetSpec, facts: EngineFacts) -> str:
    """The workload's architecture: the declared platform's, else the engine's."""
    return workload.docker_arch(spec.platform.split("/")[1] if spec.platform else facts.architecture)


def fact_table_of(spec: TargetSpec, state: TargetState) -> dict[str, FactValue]:
    """The platform facts divergences and preconditions are judged by; only the declared
    kind when the engine never answered."""
    if state.facts is None:
        return {"kind": spec.kind}
    return fact_table(spec.kind, spec.isolation or kinds.get(spec.kind).isolation or "", state.facts, state.observed)


def shaping_for(spec: TargetSpec, api_version: str) -> Shaping:
    """What every container request to this target carries: its declaration, else its kind's."""
    kind = kinds.get(spec.kind)
    return Shaping.create(
        platform=spec.platform or kind.platform,
        isolation=spec.isolation or kind.isolation,
        engine_path=spec.engine_path,
        api_version=api_version,
    )


class Target:
    """What a check receives as ``target``: declared settings, detected facts, and a
    bounded client. Checks ask ``target.supports(...)`` and read ``target.facts``; they
    never branch on ``target.name``."""

    def __init__(self, spec: TargetSpec, state: TargetState, identity: RunIdentity) -> None:
        assert state.facts is not None
        self.spec = spec
        self.identity = identity
        self.facts: EngineFacts = state.facts
        self.workload: workload.Workload | None = None
        self.capabilities = spec.capability_set()
        self._client: GuardedClient | None = None

    def __repr__(self) -> str:
        return f"Target({self.name!r}, kind={self.kind!r})"

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def timeout(self) -> int:
        return self.spec.engine.timeout

    @property
    def client(self) -> GuardedClient:
        if self._client is None:
            endpoint = resolve_endpoint(self.spec.engine)
            self._client = endpoint.client(self.timeout, version=self.api_version)
        return self._client

    @property
    def architecture(self) -> str:
        return workload_arch(self.spec, self.facts)

    @property
    def image(self) -> str:
        """The workload's image id (the same on every target)."""
        if self.workload is None:
            raise RuntimeError(f"target {self.name}: the workload is not provisioned")
        return self.workload.image_id

    def provision(self) -> None:
        """Build (cached) and load the workload; raises WorkloadError or DockerException."""
        built = workload.provide(self.architecture)
        workload.ensure_loaded(self.client, built)
        self.workload = built

    def supports(self, capability: str) -> bool:
        return self.capabilities[capability]

    def engine_path(self, host_path: str) -> str:
        """Where the engine sees a folder of the machine running pytest."""
        return self.spec.engine_path(host_path)

    @property
    def api_version(self) -> str:
        """The API version spoken with the engine (negotiated, as the Docker CLI does)."""
        return engine_contact.negotiate_api_version(self.facts)

    def shaping(self) -> Shaping:
        return shaping_for(self.spec, self.api_version)

    def scope(self, *, network_mode: str | None = None) -> ResourceScope:
        """A resource scope on this target (see ResourceScope.network_mode)."""
        return ResourceScope(
            self.client, self.name, self.identity, self.image, self.shaping(), network_mode=network_mode
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
