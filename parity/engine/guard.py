"""What no workload may do unless its check says so, enforced in the one place every
engine request passes: parity's Docker client.

A container or exec that runs privileged, or a container that mounts the engine's own
socket (or a folder holding it), could take over the engine host; a port published on
any address but 127.0.0.1 exposes the workload beyond this machine. Checks get engine
access only through ``Target.client`` (and the scopes built on it), which is a
``GuardedClient``: a request that breaks a rule is refused before it is sent, whatever
helper made it. A check permits a hazard with ``@pytest.mark.requires("privileged")``
or, when it needs the request but not the capability (e.g. to see it refused),
``@pytest.mark.permits("privileged")``.

The same client records what a run asks of engines, for the coverage report
(parity/certification/coverage.py): while a ``RequestRecording`` is active, every request
counts its (method, url) and every JSON body sent is kept by reference (docker-py builds
a fresh dict per call). Nothing is parsed or copied while the run goes on, and no request
changes.
"""

from __future__ import annotations

import posixpath
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import docker
import requests

LOOPBACK = "127.0.0.1"

HAZARDS = {
    "privileged": "runs a container or an exec with --privileged",
    "docker_socket": "mounts the engine's socket, or a folder holding it, into a container",
}
# Where engines listen on the machines parity targets; a target's own unix socket is added.
ENGINE_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock", "//./pipe/docker_engine")


class Refused(Exception):
    """A request that breaks a rule; the message is one line naming the rule."""


def _covers(source: str, socket: str) -> bool:
    """Whether mounting ``source`` exposes ``socket`` (the socket itself or a folder above it)."""
    folder = posixpath.normpath(source.replace("\\", "/"))
    if folder.startswith("//") and not folder.startswith("///"):  # a Windows pipe path keeps its //
        folder = "//" + folder.lstrip("/")
    return socket == folder or socket.startswith(folder.rstrip("/") + "/")


def _bind_sources(host_config: Mapping[str, Any]) -> list[str]:
    sources = [bind.split(":", 1)[0] for bind in host_config.get("Binds") or () if bind.startswith(("/", "\\"))]
    sources += [
        str(mount.get("Source") or "")
        for mount in host_config.get("Mounts") or ()
        if str(mount.get("Type") or "volume") in ("bind", "npipe")
    ]
    return sources


def container_refusals(config: Mapping[str, Any], permitted: Iterable[str], sockets: Iterable[str]) -> list[str]:
    """Why a POST /containers/create body breaks a rule (one line each); [] when it is fine."""
    allowed = set(permitted)
    host_config: Mapping[str, Any] = config.get("HostConfig") or {}
    why = []
    if host_config.get("Privileged") and "privileged" not in allowed:
        why.append("privileged container: the check does not permit privileged")
    if "docker_socket" not in allowed:
        known = (*ENGINE_SOCKETS, *sockets)
        why += [
            f"bind mount of {source!r} exposes the engine socket {socket}: the check does not permit docker_socket"
            for source in _bind_sources(host_config)
            for socket in known
            if _covers(source, socket)
        ][:1]
    if host_config.get("PublishAllPorts"):
        why.append("publish-all binds every host address: publish ports on 127.0.0.1 only")
    for port, bindings in (host_config.get("PortBindings") or {}).items():
        for binding in bindings or [{}]:
            address = (binding or {}).get("HostIp") or "0.0.0.0"
            if address != LOOPBACK:
                why.append(f"port {port} published on {address}: publish on 127.0.0.1 only")
    return why


class RequestRecording:
    """The engine requests sent while this recording is active (``start_recording``)."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str]] = Counter()  # (method, url) -> how many
        self.bodies: list[tuple[str, Any]] = []  # (url, JSON body) of each JSON POST, in order


# the active recordings, innermost last: a pytest run inside a run (pytester) records
# into its own and hands back to the outer one when it ends
_RECORDINGS: list[RequestRecording] = []
_RECORDING_LOCK = threading.Lock()  # clients in background threads record too (scenarios, removals)


def start_recording(recording: RequestRecording) -> None:
    """Every request of every guarded client goes to ``recording`` until it is stopped."""
    _RECORDINGS.append(recording)


def stop_recording(recording: RequestRecording) -> None:
    if recording in _RECORDINGS:
        _RECORDINGS.remove(recording)


class GuardedAPIClient(docker.APIClient):
    """docker-py's API client that refuses, before sending, what the rules forbid.
    ``permitted`` is set per check (plugins/resources.py) and empty otherwise."""

    def __init__(self, *args: Any, engine_socket: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The engine is reached directly: no proxy of the environment (HTTP_PROXY would
        # carry a tcp:// engine's traffic off this machine, REQUESTS_CA_BUNDLE would
        # replace a TLS engine's CA), and requests need not read the environment for each.
        self.trust_env = False
        self.permitted: frozenset[str] = frozenset()
        self.sockets: tuple[str, ...] = (engine_socket,) if engine_socket else ()

    def create_container_from_config(
        self, config: dict[str, Any], name: str | None = None, platform: str | None = None
    ) -> Any:
        why = container_refusals(config, self.permitted, self.sockets)
        if why:
            raise Refused(f"refused to create container {name or '(unnamed)'}: {'; '.join(why)}")
        return super().create_container_from_config(config, name, platform)  # type: ignore[no-untyped-call]

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """Every request docker-py sends passes here (requests' Session.request)."""
        if _RECORDINGS:
            with _RECORDING_LOCK:
                _RECORDINGS[-1].requests[(str(method), str(url))] += 1
        return super().request(method, url, *args, **kwargs)

    def _post_json(self, url: str, data: Any, **kwargs: Any) -> Any:
        """docker-py's one way to POST a JSON body (container, exec, volume, network create)."""
        if _RECORDINGS:
            with _RECORDING_LOCK:
                _RECORDINGS[-1].bodies.append((url, data))
        return super()._post_json(url, data, **kwargs)  # type: ignore[misc]  # not in the docker stubs

    def exec_create(  # noqa: PLR0917  # docker-py's own signature, positionals included
        self,
        container: Any,
        cmd: Any,
        stdout: bool = True,
        stderr: bool = True,
        stdin: bool = False,
        tty: bool = False,
        privileged: bool = False,
        user: str = "",
        environment: Any = None,
        workdir: str | None = None,
        detach_keys: str | None = None,
    ) -> Any:
        if privileged and "privileged" not in self.permitted:
            raise Refused("refused to create a privileged exec: the check does not permit privileged")
        return super().exec_create(
            container, cmd, stdout, stderr, stdin, tty, privileged, user, environment, workdir, detach_keys
        )


class GuardedClient(docker.DockerClient):
    """``docker.DockerClient`` over a ``GuardedAPIClient``."""

    def __init__(self, *args: Any, engine_socket: str | None = None, **kwargs: Any) -> None:
        self.api = GuardedAPIClient(*args, engine_socket=engine_socket, **kwargs)

    @property
    def guard(self) -> GuardedAPIClient:
        assert isinstance(self.api, GuardedAPIClient)
        return self.api
