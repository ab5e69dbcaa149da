"""How a target's container requests are shaped before they reach its engine.

A Windows engine with LCOW runs Linux containers only when asked to (Engine API; the
hyperv kind asks for both):

- ``platform``: ``POST /containers/create?platform=linux`` from API 1.41 (Docker 20.10)
  on. Below 1.41 the query does not exist (docker-py refuses it); the daemon then takes
  the platform from the image, so the workload, whose image config says ``"os": "linux"``,
  is loaded from its archive and created without it.
- ``isolation``: ``HostConfig.Isolation`` (``default``, ``process``, ``hyperv``), which
  only Windows engines accept; LCOW always runs under Hyper-V isolation.
- bind-mount sources: the engine resolves them on its own host, so a folder of the
  machine running pytest is passed as the engine sees it (the target's ``paths``
  mapping, e.g. ``/`` -> ``C:\\parity\\``).

Options that a Windows daemon rejects (privileged, read-only rootfs, host network,
container network mode under Hyper-V) are not filtered here: the kind's capabilities
declare them missing, checks that need them are skipped by ``requires``, and checks
that assert the refusal get the engine's own answer.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from docker.utils import version_gte

PLATFORM_ON_CREATE_API = "1.41"  # Engine API: platform query on POST /containers/create


def _same(path: str) -> str:
    return path


@dataclass(frozen=True)
class Shaping:
    """What every container create of one target gets; the default changes nothing."""

    platform: str | None = None  # sent as the create query's platform
    isolation: str | None = None  # HostConfig.Isolation
    engine_path: Callable[[str], str] = _same  # a host folder as the engine sees it

    @classmethod
    def create(
        cls, *, platform: str | None, isolation: str | None, engine_path: Callable[[str], str], api_version: str
    ) -> Shaping:
        """The shaping of a target's requests: what its declaration or its kind asks for
        (parity.kinds: LCOW's isolation and platform), on the API version spoken."""
        if platform is not None and not version_gte(api_version, PLATFORM_ON_CREATE_API):
            platform = None  # API 1.40 and older: the platform comes from the loaded image
        return cls(platform=platform, isolation=isolation, engine_path=engine_path)

    def container_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """docker-py ``containers.create`` keyword options for this target."""
        shaped = dict(options)
        if self.isolation is not None:
            shaped.setdefault("isolation", self.isolation)
        if self.platform is not None:
            shaped.setdefault("platform", self.platform)
        if "mounts" in shaped:
            shaped["mounts"] = [self._mount(m) for m in shaped["mounts"]]
        if "volumes" in shaped:
            shaped["volumes"] = self._volumes(shaped["volumes"])
        return shaped

    def _mount(self, mount: Any) -> Any:
        """A docker.types.Mount (a dict) of type bind gets its source mapped."""
        if isinstance(mount, dict) and mount.get("Type") == "bind" and mount.get("Source"):
            mapped = copy.copy(mount)
            mapped["Source"] = self.engine_path(str(mount["Source"]))
            return mapped
        return mount

    def _volumes(self, volumes: Any) -> Any:
        """``{host: {"bind": ..., "mode": ...}}`` or ``["host:container[:mode]"]``: host
        folders (absolute paths) are mapped, named volumes are left alone."""
        if isinstance(volumes, dict):
            return {(self.engine_path(k) if k.startswith("/") else k): v for k, v in volumes.items()}
        return [self._bind_string(v) for v in volumes]

    def _bind_string(self, bind: str) -> str:
        source, sep, rest = bind.partition(":")
        if not sep or not source.startswith("/"):
            return bind
        return f"{self.engine_path(source)}:{rest}"
