"""Where a target's engine is: the address the Docker CLI would use for a matrix entry
(url, context, DOCKER_HOST, the current context, the default socket), with its TLS, and a
bounded client for it."""

from __future__ import annotations

import os
from dataclasses import dataclass

import docker.errors
from docker.context import ContextAPI
from docker.tls import TLSConfig

from parity.config.matrix import EngineSpec
from parity.engine.errors import EngineUnavailable
from parity.engine.guard import GuardedClient
from parity.engine.unix_socket import ClosingUnixAdapter

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class Endpoint:
    url: str
    source: str  # how the address was chosen, for the header: "DOCKER_HOST", "context 'x'"
    tls: TLSConfig | bool = False

    def client(self, timeout: int, version: str = "auto") -> GuardedClient:
        """A client bounded by ``timeout`` per call; "auto" asks the engine for its API
        version (one more bounded call), a detected version skips that. It refuses what
        parity/engine/guard.py forbids."""
        client = GuardedClient(
            engine_socket=self.url.removeprefix("unix://") if self.url.startswith("unix://") else None,
            base_url=self.url,
            version=version,
            timeout=timeout,
            tls=self.tls,
            # ssh:// through the system ssh client: it honours ~/.ssh/config like the CLI
            use_ssh_client=self.url.startswith("ssh://"),
        )
        if self.url.startswith("unix://"):
            adapter = ClosingUnixAdapter(self.url.replace("unix://", "http+unix://", 1), timeout)
            client.api._custom_adapter = adapter  # type: ignore[attr-defined]  # what close() closes
            client.api.mount("http+docker://", adapter)
        return client


def resolve_endpoint(spec: EngineSpec, environ: dict[str, str] | None = None) -> Endpoint:
    """The address the Docker CLI would use for this spec."""
    env = dict(os.environ if environ is None else environ)
    if spec.url:
        return Endpoint(spec.url, "matrix", _tls_config(spec) if spec.tls else False)
    if spec.context:
        return _from_context(spec.context)
    if env.get("DOCKER_HOST"):
        return Endpoint(env["DOCKER_HOST"], "DOCKER_HOST", _tls_from_env(env))
    context = env.get("DOCKER_CONTEXT") or _current_context_name()
    if context and context != "default":
        return _from_context(context)
    return Endpoint(DEFAULT_SOCKET, "default socket")


def _tls_config(spec: EngineSpec) -> TLSConfig:
    assert spec.tls is not None
    files = spec.tls.files()
    cert = (str(files["cert"]), str(files["key"])) if files["cert"] and files["key"] else None
    ca = str(files["ca"]) if files["ca"] else None
    # verify without a CA file checks the engine's certificate against the system CAs
    return TLSConfig(client_cert=cert, ca_cert=ca, verify=spec.tls.verify)


def _tls_from_env(env: dict[str, str]) -> TLSConfig | bool:
    folder = env.get("DOCKER_CERT_PATH")
    verify = env.get("DOCKER_TLS_VERIFY", "") not in ("", "0")
    if not folder and not verify:
        return False
    folder = folder or os.path.expanduser("~/.docker")
    return TLSConfig(
        client_cert=(os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")),
        ca_cert=os.path.join(folder, "ca.pem"),
        verify=verify,
    )


def _current_context_name() -> str | None:
    try:
        context = ContextAPI.get_current_context()
    except Exception:  # a broken ~/.docker/config.json: fall back to the default socket
        return None
    return context.name if context else None


def _from_context(name: str) -> Endpoint:
    try:
        context = ContextAPI.get_context(name)
    except docker.errors.ContextException as exc:
        raise EngineUnavailable(f"context {name!r}: {exc}") from None
    if context is None:
        raise EngineUnavailable(f"context {name!r}: no such Docker context")
    host = context.Host or DEFAULT_SOCKET
    tls = context.TLSConfig or False
    return Endpoint(host, f"context {name!r}", tls)
