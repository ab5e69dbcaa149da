"""One container per target with four kinds of storage, shared by the volume checks.

/m/bind is a folder of the machine running pytest (the resource scope maps it through
the target's path mapping), /m/volume a named volume, /m/tmpfs a tmpfs, /m/rootfs a
folder of the container's own filesystem. Each check works in a fresh folder of its own, so sharing is safe.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from docker.models.containers import Container
from docker.types import Mount

from parity.run.target import Target
from parity.workload.probe import Prober
from plugins.workload import module_scope
from suites.verdicts import not_applicable

KINDS = ["bind", "volume", "tmpfs", "rootfs"]


@dataclass(frozen=True)
class Mounts:
    container: Container
    probe: Prober
    host_dir: Path  # /m/bind as the machine running pytest sees it
    volume: str
    kinds: frozenset[str]  # the storage kinds mounted (bind and tmpfs need capabilities)

    def folder(self, kind: str) -> str:
        """A fresh, empty folder on the storage of this kind, inside the container."""
        path = f"/m/{kind}/{uuid.uuid4().hex[:10]}"
        made = self.probe.one("mkdir", path, "755")
        assert made.ok, made
        return path

    def on_host(self, container_path: str) -> Path:
        assert container_path.startswith("/m/bind/")
        return self.host_dir / container_path.removeprefix("/m/bind/")


def mount_options(target: Target, host_dir: Path, volume: str, read_only: bool = False) -> list[Mount]:
    mounts = [Mount("/m/volume", volume, type="volume", read_only=read_only)]
    if target.supports("tmpfs_mounts"):
        mounts.append(Mount("/m/tmpfs", None, type="tmpfs", read_only=read_only))
    if target.supports("bind_mounts"):
        mounts.append(Mount("/m/bind", str(host_dir), type="bind", read_only=read_only))  # mapped by the scope
    return mounts


def _mounts_on(
    target: Target, config: pytest.Config, tmp_path_factory: pytest.TempPathFactory, own_network_mode: str | None
) -> Iterator[Mounts]:
    host_dir = tmp_path_factory.mktemp(f"bind-{target.name}")
    with module_scope(target, config, own_network_mode) as scope:
        volume = scope.volume().name
        assert volume is not None
        options = mount_options(target, host_dir, volume)
        container = scope.container(mounts=options)
        prober = Prober(container, serve=True, timeout=target.timeout)
        try:
            assert prober.one("mkdir", "/m/rootfs", "755").ok
            kinds = frozenset(str(m["Target"]).removeprefix("/m/") for m in options) | {"rootfs"}
            yield Mounts(container, prober, host_dir, volume, kinds)
        finally:
            prober.close()


@pytest.fixture(scope="session")
def mounts(
    target: Target,
    own_network_mode: str | None,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Mounts]:
    yield from _mounts_on(target, request.config, tmp_path_factory, own_network_mode)


@pytest.fixture(scope="session")
def reference_mounts(
    reference: Target | None,
    own_network_mode: str | None,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Mounts | None]:
    """The same four kinds of storage on the run's reference target, for differential
    property checks; None without a reference in the run."""
    if reference is None:
        yield None
        return
    yield from _mounts_on(reference, request.config, tmp_path_factory, own_network_mode)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest, target: Target) -> str:
    """The kind of storage a check runs on; bind and tmpfs need their capabilities."""
    needs = {"bind": "bind_mounts", "tmpfs": "tmpfs_mounts"}.get(request.param)
    if needs is not None and not target.supports(needs):
        not_applicable(target.spec.why_missing(needs))
    return str(request.param)
