"""Containers, networks and volumes that a run creates: labelled, named, and removed.

Every resource carries ``parity.run=<run id>`` and ``parity.target=<name>`` plus the run's
owner (``<host>:<pid>:<process start>``), so that a later run can tell a live run's
resources from the debris of one that was killed, and reap only the latter.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import docker
import docker.errors
import psutil
from docker.models.containers import Container
from docker.models.networks import Network
from docker.models.volumes import Volume

from parity.engine.guard import LOOPBACK
from parity.platform.shaping import Shaping
from parity.run.folder import folder_of
from parity.run.network_creations import NetworkCreations

LABEL_RUN = "parity.run"
LABEL_TARGET = "parity.target"
LABEL_OWNER = "parity.owner"
LABEL_STARTED = "parity.started"
# on the one container (and its volume) that observes what a target's containers see
LABEL_OBSERVES = "parity.observes"
# the container create options (docker-py's names) that choose a container's network
NETWORK_OPTIONS = frozenset({"network_mode", "network", "networking_config"})
# A run on another machine cannot be checked for liveness; after this long it is debris.
FOREIGN_RUN_MAX_AGE = 24 * 3600


def _process_start(pid: int) -> str:
    """The kernel's start time of ``pid`` (clock ticks since boot), to tell a reused pid
    from the original process; "" where /proc does not exist (macOS, Windows clients) and
    for a zombie (it has ended: a crashed xdist worker waits there for its parent)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return ""
    return "" if len(fields) < 20 or fields[0] in ("Z", "X") else fields[19]


def process_owner() -> str:
    """``host:pid:start`` of this process, as owner_alive reads it."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid)}"


@dataclass(frozen=True)
class RunIdentity:
    run_id: str
    owner: str
    started: int

    @classmethod
    def new(cls) -> RunIdentity:
        return cls(uuid.uuid4().hex[:12], process_owner(), int(time.time()))

    def labels(self, target: str) -> dict[str, str]:
        return {
            LABEL_RUN: self.run_id,
            LABEL_TARGET: target,
            LABEL_OWNER: self.owner,
            LABEL_STARTED: str(self.started),
        }


def owner_alive(owner: str, started: int, now: float) -> bool:
    """Whether the run that owns a resource may still be running."""
    host, _, rest = owner.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return now - started < FOREIGN_RUN_MAX_AGE
    pid = int(pid_text)
    if start:
        return _process_start(pid) == start
    # No /proc where the run started (Windows, macOS): ask the OS through psutil; os.kill
    # with signal 0 is no liveness test on Windows (it sends CTRL_C_EVENT to a group).
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # another account's process, say: it exists
        return True


@dataclass(frozen=True)
class Completed:
    """A container that ran to its end: its exit status and its separated output."""

    container: Container
    status: int
    stdout: bytes
    stderr: bytes

    @property
    def state(self) -> dict[str, Any]:
        self.container.reload()
        return dict(self.container.attrs["State"])


class CleanupError(Exception):
    """Resources that could not be removed; the message names each one."""


def _remove_all(
    containers: Iterable[Container], networks: Iterable[Network], volumes: Iterable[Volume]
) -> Counter[str]:
    """Remove in dependency order; gone already is fine, anything else is reported."""
    removed: Counter[str] = Counter()
    failures: list[str] = []

    def attempt(kind: str, name: str | None, remove: Callable[[], object]) -> None:
        try:
            remove()
            removed[kind] += 1
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code == 409 and "already in progress" in str(exc):
                return
            failures.append(f"{kind[:-1]} {name}: {exc.explanation or exc}")

    for container in containers:
        attempt("containers", container.name, partial(container.remove, force=True, v=True))
    for network in networks:
        attempt("networks", network.name, network.remove)
    for volume in volumes:
        attempt("volumes", volume.name, partial(volume.remove, force=True))
    if failures:
        raise CleanupError("; ".join(failures))
    return removed


def _labelled(
    client: docker.DockerClient, labels: Sequence[str]
) -> tuple[list[Container], list[Network], list[Volume]]:
    filters: dict[str, Any] = {"label": list(labels)}
    return (
        client.containers.list(all=True, filters=filters, ignore_removed=True),
        client.networks.list(filters=filters),
        client.volumes.list(filters=filters),
    )


def sweep(client: docker.DockerClient, run_id: str) -> Counter[str]:
    """Remove everything of run ``run_id`` on this engine."""
    return _remove_all(*_labelled(client, [f"{LABEL_RUN}={run_id}"]))


def reap_stale(client: docker.DockerClient, own_run: str) -> Counter[str]:
    """Remove the resources of runs whose owner is gone (killed runs); keep live ones."""
    containers, networks, volumes = _labelled(client, [LABEL_RUN])
    now = time.time()

    def stale(labels: Mapping[str, str]) -> bool:
        if labels.get(LABEL_RUN) == own_run:
            return False
        started = labels.get(LABEL_STARTED, "0")
        return not owner_alive(labels.get(LABEL_OWNER, ""), int(started) if started.isdigit() else 0, now)

    return _remove_all(
        [c for c in containers if stale(c.labels)],
        [n for n in networks if stale(n.attrs.get("Labels") or {})],
        [v for v in volumes if stale(v.attrs.get("Labels") or {})],
    )


@dataclass
class ResourceScope:
    """Creates labelled resources for one target and removes them when closed.

    Published ports bind to 127.0.0.1 only, and networks are internal unless a check
    asks otherwise: the suite never exposes anything beyond this machine.
    """

    client: docker.DockerClient
    target: str
    identity: RunIdentity
    image: str
    # how every container create is shaped for the target's engine (platform and
    # isolation for LCOW, bind sources through the path mapping); see parity/platform/shaping.py
    shaping: Shaping = field(default_factory=Shaping)
    # The network mode of a container whose create names no network (no network_mode,
    # network, networking_config or published port); None leaves the engine's default.
    # "none" spares the engine a bridge endpoint where a check does not touch the network.
    network_mode: str | None = None
    created: list[Container | Network | Volume] = field(default_factory=list)

    def _name(self) -> str:
        return f"parity-{self.identity.run_id}-{uuid.uuid4().hex[:8]}"

    def container(
        self,
        command: Sequence[str] | None = None,
        *,
        publish: Sequence[str] = (),
        start: bool = True,
        image: str | None = None,
        **options: Any,
    ) -> Container:
        """Create (and by default start) a workload container.

        ``publish`` lists container ports ("8080/tcp", "53/udp") to publish on an
        ephemeral port of 127.0.0.1; other host addresses are not offered. Bind-mount
        sources are folders of the machine running pytest: the target's shaping maps
        them to where its engine sees them.
        """
        if "ports" in options:
            raise ValueError("use publish=[...]: ports are published on 127.0.0.1 only")
        labels = {**options.pop("labels", {}), **self.identity.labels(self.target)}
        ports = dict.fromkeys(publish, (LOOPBACK, None))
        if self.network_mode is not None and not publish and not NETWORK_OPTIONS & options.keys():
            options["network_mode"] = self.network_mode
        options = self.shaping.container_options(options)
        container = self.client.containers.create(
            image or self.image,
            command=list(command) if command is not None else None,
            name=options.pop("name", None) or self._name(),
            labels=labels,
            ports=ports or None,  # type: ignore[arg-type]  # (ip, None): an ephemeral port, as docker-py documents
            **options,
        )
        self.created.append(container)
        if start:
            container.start()
            container.reload()
        return container

    def run(self, command: Sequence[str] | None = None, *, timeout: float = 60, **options: Any) -> Completed:
        """Run a workload container to its end (bounded by ``timeout`` seconds)."""
        # Started without the inspect that container() adds: right after the start it waits
        # for the engine to handle the exit of a process that ends at once (57 ms here).
        container = self.container(command, start=False, **options)
        container.start()
        status = container.wait(timeout=timeout)["StatusCode"]
        return Completed(
            container,
            int(status),
            container.logs(stdout=True, stderr=False),
            container.logs(stdout=False, stderr=True),
        )

    @property
    def network_creations(self) -> NetworkCreations:
        """This run's network creations on this target (see parity/run/network_creations.py):
        ``with scope.network_creations.held_still():`` while trying an isolation."""
        return NetworkCreations.of(folder_of(self.identity.run_id), self.target)

    def network(self, *, internal: bool = True, **options: Any) -> Network:
        labels = {**options.pop("labels", {}), **self.identity.labels(self.target)}
        with self.network_creations.creating():
            network = self.client.networks.create(
                self._name(), internal=internal, labels=labels, check_duplicate=True, **options
            )
        self.created.append(network)
        return network

    def volume(self, **options: Any) -> Volume:
        labels = {**options.pop("labels", {}), **self.identity.labels(self.target)}
        volume = self.client.volumes.create(name=self._name(), labels=labels, **options)
        self.created.append(volume)
        return volume

    def close(self) -> Counter[str]:
        """Remove what this scope created, containers first."""
        created, self.created = self.created, []
        return _remove_all(
            [r for r in created if isinstance(r, Container)],
            [r for r in created if isinstance(r, Network)],
            [r for r in created if isinstance(r, Volume)],
        )
