"""First contact with an engine: ping, /version and /info, the API version to speak, and
the one bounded ping that tells whether an engine is still there.

Every call made here is bounded by the target's timeout (docker-py passes it to every
HTTP request as connect and read timeout), so a dead or silent engine costs seconds.
"""

from __future__ import annotations

import socket
from contextlib import closing

import docker.constants
from docker.utils import version_lt

from parity.engine.endpoint import Endpoint
from parity.engine.errors import EngineUnavailable, reason
from parity.platform.facts import EngineFacts

# The newest Engine API version this client speaks (docker-py's default).
CLIENT_API_VERSION = docker.constants.DEFAULT_DOCKER_API_VERSION
CLIENT_MIN_API_VERSION = docker.constants.MINIMUM_DOCKER_API_VERSION


def negotiate_api_version(facts: EngineFacts) -> str:
    """The API version to speak with an engine, as the Docker CLI negotiates it: the
    engine's own version, capped at the newest this client speaks (LCOW engines: 1.40
    on 19.03, 1.41 on 20.10)."""
    server = facts.api_version or CLIENT_MIN_API_VERSION
    return server if version_lt(server, CLIENT_API_VERSION) else CLIENT_API_VERSION


def check_api_version(facts: EngineFacts) -> str | None:
    """Why this client cannot speak with the engine, or None."""
    if facts.api_version and version_lt(facts.api_version, CLIENT_MIN_API_VERSION):
        return f"engine API {facts.api_version} is older than {CLIENT_MIN_API_VERSION}, the oldest this client speaks"
    if facts.min_api_version and version_lt(CLIENT_API_VERSION, facts.min_api_version):
        return f"engine needs API {facts.min_api_version} or newer; this client speaks up to {CLIENT_API_VERSION}"
    return None


def detect(endpoint: Endpoint, timeout: int) -> EngineFacts:
    """Ping the engine and read /version and /info, within ``timeout`` per call."""
    if endpoint.url.startswith("unix://"):
        _connect_unix(endpoint.url, timeout)
    try:
        # An explicit version keeps the constructor off the network (with "auto" a
        # failing constructor leaves its connection pool open); /version is read
        # unversioned, then /info at the negotiated API version.
        with closing(endpoint.client(timeout, version="1.24")) as client:
            client.ping()
            version = client.api.version(api_version=False)
        unsupported = check_api_version(EngineFacts.from_api({}, version))
        if unsupported:
            raise EngineUnavailable(f"{endpoint.url}: {unsupported}")
        negotiated = negotiate_api_version(EngineFacts.from_api({}, version))
        with closing(endpoint.client(timeout, version=negotiated)) as client:
            info = client.info()
    except EngineUnavailable:
        raise
    except Exception as exc:  # every failure becomes one line naming the address
        raise EngineUnavailable(f"{endpoint.url}: {reason(exc, timeout)}") from None
    return EngineFacts.from_api(info, version)


def _connect_unix(url: str, timeout: int) -> None:
    """Fail early, and without leaking a socket, when nothing listens on a unix socket
    (docker-py's unix adapter does not close its socket when connect fails)."""
    path = url.removeprefix("unix://")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout)
        try:
            probe.connect(path)
        except OSError as exc:
            raise EngineUnavailable(f"{url}: {reason(exc, timeout)}") from None


def unreachable(endpoint: Endpoint, timeout: int) -> str | None:
    """Why the engine does not answer a ping within ``timeout`` (one line), or None."""
    try:
        if endpoint.url.startswith("unix://"):
            _connect_unix(endpoint.url, timeout)
        with closing(endpoint.client(timeout, version="1.24")) as client:
            client.ping()
    except EngineUnavailable as exc:
        return str(exc)
    except Exception as exc:  # every failure becomes one line naming the address
        return f"{endpoint.url}: {reason(exc, timeout)}"
    return None
