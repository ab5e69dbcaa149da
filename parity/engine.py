"""Reaching a target's engine: where it is, what it is, and one-line reasons when it is not.

Every call made here is bounded by the target's timeout (docker-py passes it to every
HTTP request as connect and read timeout), so a dead or silent engine costs seconds.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import ssl
from contextlib import closing
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import docker
import docker.constants
import docker.errors
import requests.exceptions
import urllib3.exceptions
from docker.context import ContextAPI
from docker.tls import TLSConfig
from docker.transport.unixconn import UnixHTTPAdapter, UnixHTTPConnection, UnixHTTPConnectionPool
from docker.utils import version_lt

from parity.guard import GuardedClient
from parity.matrix import EngineSpec, TargetSpec

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


class EngineUnavailable(Exception):
    """The engine cannot be used; str() is one line: '<address>: <reason>'."""


@dataclass(frozen=True)
class Endpoint:
    url: str
    source: str  # how the address was chosen, for the header: "DOCKER_HOST", "context 'x'"
    tls: TLSConfig | bool = False

    def client(self, timeout: int, version: str = "auto") -> GuardedClient:
        """A client bounded by ``timeout`` per call; "auto" asks the engine for its API
        version (one more bounded call), a detected version skips that. It refuses what
        parity/guard.py forbids."""
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
            adapter = _ClosingUnixAdapter(self.url.replace("unix://", "http+unix://", 1), timeout)
            client.api._custom_adapter = adapter  # type: ignore[attr-defined]  # what close() closes
            client.api.mount("http+docker://", adapter)
        return client


class _ClosingUnixConnection(UnixHTTPConnection):
    """docker-py's unix connection leaves its socket open when connect fails (an engine
    that died mid-run): close it, so a lost engine costs no ResourceWarning per call."""

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.unix_socket)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class _ClosingUnixPool(UnixHTTPConnectionPool):
    def _new_conn(self) -> Any:  # urllib3's declared type is a protocol docker-py's class does not name
        # docker-py sets timeout to the client's number of seconds
        return _ClosingUnixConnection(self.base_url, self.socket_path, cast("int", self.timeout))


class _ClosingUnixAdapter(UnixHTTPAdapter):
    def get_connection(self, url: str | bytes, proxies: Any = None) -> _ClosingUnixPool:
        with self.pools.lock:
            pool = self.pools.get(url)
            if pool is None:
                pool = _ClosingUnixPool(str(url), self.socket_path, self.timeout, maxsize=self.max_pool_size)
                self.pools[url] = pool
        return pool


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


@dataclass(frozen=True)
class EngineFacts:
    """What the engine says about itself on first contact (/info and /version)."""

    os_type: str
    operating_system: str
    kernel_version: str
    server_version: str
    api_version: str
    min_api_version: str
    architecture: str
    isolation: str
    storage_driver: str
    driver_status: tuple[tuple[str, str], ...]
    security_options: tuple[str, ...]
    cgroup_version: str
    experimental: bool
    name: str
    ncpu: int
    mem_total: int
    os_version: str = ""
    components: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, info: dict[str, Any], version: dict[str, Any]) -> EngineFacts:
        return cls(
            os_type=str(info.get("OSType") or version.get("Os") or ""),
            operating_system=str(info.get("OperatingSystem") or ""),
            kernel_version=str(info.get("KernelVersion") or version.get("KernelVersion") or ""),
            server_version=str(info.get("ServerVersion") or version.get("Version") or ""),
            api_version=str(version.get("ApiVersion") or ""),
            min_api_version=str(version.get("MinAPIVersion") or ""),
            architecture=str(info.get("Architecture") or version.get("Arch") or ""),
            isolation=str(info.get("Isolation") or ""),
            storage_driver=str(info.get("Driver") or ""),
            driver_status=tuple((str(k), str(v)) for k, v in info.get("DriverStatus") or ()),
            security_options=tuple(str(o) for o in info.get("SecurityOptions") or ()),
            cgroup_version=str(info.get("CgroupVersion") or ""),
            experimental=bool(info.get("ExperimentalBuild") or version.get("Experimental")),
            name=str(info.get("Name") or ""),
            ncpu=int(info.get("NCPU") or 0),
            mem_total=int(info.get("MemTotal") or 0),
            os_version=str(info.get("OSVersion") or ""),
            components={
                str(c.get("Name")): str(c.get("Version"))
                for c in version.get("Components") or ()
                if isinstance(c, dict)
            },
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EngineFacts:
        data = dict(data)
        data["driver_status"] = tuple(tuple(pair) for pair in data["driver_status"])
        data["security_options"] = tuple(data["security_options"])
        return cls(**data)

    # What the facts mean, derived once here so that no check parses /info itself.

    @property
    def is_windows(self) -> bool:
        return self.os_type.lower() == "windows"

    @property
    def has_lcow(self) -> bool:
        """LCOW lists a second storage driver, 'lcow (linux)', next to windowsfilter."""
        text = " ".join([self.storage_driver, *(f"{k} {v}" for k, v in self.driver_status)])
        return "lcow" in text.lower()

    @property
    def is_docker_desktop(self) -> bool:
        """Docker Desktop (and its earlier names) says so in OperatingSystem; its Moby VM
        also shows in a linuxkit kernel. A WSL2 kernel alone is not enough: a plain
        engine inside a WSL2 distribution has one too."""
        kernel = self.kernel_version.lower()
        return (
            self.operating_system.startswith(("Docker Desktop", "Docker for Windows", "Docker for Mac"))
            or kernel.endswith("-linuxkit")
            or "linuxkit-aufs" in kernel
        )

    @property
    def userns_remapped(self) -> bool:
        return any(opt == "name=userns" or opt.startswith("name=userns,") for opt in self.security_options)

    @property
    def seccomp_profile(self) -> str | None:
        for opt in self.security_options:
            parts = dict(p.split("=", 1) for p in opt.split(",") if "=" in p)
            if parts.get("name") == "seccomp":
                return parts.get("profile", "default")
        return None

    @property
    def desktop_era(self) -> str:
        """Which VM a Docker Desktop engine runs in: 'wsl2' (a Microsoft WSL2 kernel),
        'linuxkit' (the Moby VM of Hyper-V, HyperKit or Apple's framework), '' otherwise."""
        if not self.is_docker_desktop:
            return ""
        kernel = self.kernel_version.lower()
        if "microsoft-standard" in kernel:
            return "wsl2"
        return "linuxkit" if "linuxkit" in kernel else ""

    @property
    def platform(self) -> str:
        """What kind of engine this is, from what it says about itself: 'lcow' (a Windows
        engine that runs Linux containers), 'windows' (Windows containers only),
        'desktop' (Docker Desktop's Linux VM) or 'linux'."""
        if self.is_windows:
            return "lcow" if self.has_lcow else "windows"
        return "desktop" if self.is_docker_desktop else "linux"

    @property
    def windows(self) -> WindowsBuild | None:
        """Build, revision and branch of a Windows engine host; None for other engines."""
        if not self.is_windows:
            return None
        return parse_windows_build(self.kernel_version, self.operating_system, self.os_version)

    def build(self) -> str:
        """The engine's build as used in report names: the Windows build and revision
        (e.g. '17763.1039') on Windows, the kernel release on Linux."""
        if self.is_windows:
            return windows_build(self) or "unknown"
        return self.kernel_version or "unknown"


_WINDOWS_KERNEL = re.compile(r"^\d+\.\d+ (\d+) \((\d+)\.(\d+)\.[^.]+\.([^.]+)\.")
_OS_BUILD = re.compile(r"OS Build (\d+)\.(\d+)")
_OS_VERSION = re.compile(r"^\d+\.\d+[. ](\d+)(?: \(\d+\.(\d+)\)|\.(\d+))$")


@dataclass(frozen=True)
class WindowsBuild:
    """A Windows engine host's build as /info tells it.

    ``build`` is the build number of KernelVersion ('10.0 <build> (<BuildLabEx>)', the
    field moby's own tests split on); ``revision`` the update build revision (UBR) from
    OperatingSystem ('... (OS Build 17763.1039)') or OSVersion, "" when the engine does not
    say; ``branch`` the BuildLabEx branch, e.g. 'rs5_release' or 'rs_prerelease' (Insider).
    """

    build: str
    revision: str
    branch: str

    def __str__(self) -> str:
        return f"{self.build}.{self.revision}" if self.revision else self.build

    @property
    def insider(self) -> bool:
        """Insider (pre-release) builds come from the rs_prerelease branch."""
        return self.branch == "rs_prerelease"


def parse_windows_build(kernel_version: str, operating_system: str = "", os_version: str = "") -> WindowsBuild | None:
    """The build, revision and branch of a Windows engine, or None when KernelVersion is
    not in the Windows format."""
    match = _WINDOWS_KERNEL.match(kernel_version)
    if not match:
        return None
    build, branch = match.group(1), match.group(4)
    revision = ""
    os_build = _OS_BUILD.search(operating_system)
    if os_build and os_build.group(1) == build:
        revision = os_build.group(2)
    else:
        version = _OS_VERSION.match(os_version.strip())
        if version and version.group(1) == build:
            revision = version.group(2) or version.group(3)
    return WindowsBuild(build, revision, branch)


def windows_build(facts: EngineFacts) -> str | None:
    """'<build>.<revision>' of a Windows engine (just '<build>' when it tells no revision)."""
    parsed = parse_windows_build(facts.kernel_version, facts.operating_system, facts.os_version)
    return str(parsed) if parsed else None


def check_kind(target: TargetSpec, facts: EngineFacts) -> str | None:
    """Why the engine contradicts the target's declared kind, or None when it fits."""
    said = (
        f"OSType {facts.os_type!r}, OperatingSystem {facts.operating_system!r}, KernelVersion {facts.kernel_version!r}"
    )
    if target.kind in ("linux", "mobyvm") and facts.is_windows:
        return f"declared kind {target.kind}, but the engine is a Windows engine ({said})"
    if target.kind == "linux" and facts.is_docker_desktop:
        return f"declared kind linux, but the engine is Docker Desktop ({said}): declare kind mobyvm"
    if target.kind == "hyperv" and not facts.is_windows:
        return f"declared kind hyperv, but the engine is not a Windows engine ({said})"
    if target.kind == "hyperv" and not facts.has_lcow:
        removed = _major(facts.server_version) >= 23
        return (
            "declared kind hyperv, but the Windows engine has no Linux containers support "
            f"(storage driver {facts.storage_driver!r} lists no 'lcow (linux)'; "
            + (
                f"engine {facts.server_version}: LCOW was removed in Docker Engine 23.0)"
                if removed
                else "LCOW needs dockerd --experimental <= 20.10)"
            )
        )
    if target.isolation and not facts.is_windows:
        return f"declared isolation {target.isolation}, but isolation applies to Windows engines only ({said})"
    return None


def _major(version: str) -> int:
    """The major number of an engine version ('20.10.7' -> 20, 'master-...' -> 0)."""
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


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


# (exception types, reason) in the order they are looked for along the cause chain.
_REASONS: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((requests.exceptions.Timeout, socket.timeout, TimeoutError), "no answer within {timeout:g} s"),
    ((FileNotFoundError,), "no such socket (is the engine running?)"),
    ((ConnectionRefusedError,), "connection refused"),
    ((PermissionError,), "permission denied"),
    ((ssl.SSLError,), "TLS: {error}"),
    ((socket.gaierror,), "cannot resolve host: {error}"),
)


def reason(exc: BaseException, timeout: float) -> str:
    """A short, human reason for an engine call that failed."""
    chain = _causes(exc)
    for err in chain:
        if isinstance(err, docker.errors.APIError):
            return f"engine said {err.status_code}: {err.explanation or err}"
        for types, text in _REASONS:
            if isinstance(err, types):
                return text.format(
                    timeout=timeout, error=getattr(err, "reason", None) or getattr(err, "strerror", None) or err
                )
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception, its causes and contexts, and exceptions carried in args
    (urllib3 and requests wrap the OSError that says what really happened)."""
    seen: list[BaseException] = []
    stack = [exc]
    while stack:
        err = stack.pop(0)
        if err in seen:
            continue
        seen.append(err)
        stack.extend(e for e in (err.__cause__, err.__context__) if e is not None)
        stack.extend(a for a in err.args if isinstance(a, BaseException))
        inner = getattr(err, "reason", None)
        if isinstance(inner, BaseException):
            stack.append(inner)
    return seen


# What a lost engine looks like from a call that was cut: refused, reset, gone, silent.
_CONNECTION_FAILURES: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,  # an answer cut off mid-stream
    urllib3.exceptions.ProtocolError,
    http.client.HTTPException,  # IncompleteRead, RemoteDisconnected
    requests.exceptions.Timeout,
    ConnectionError,  # refused, reset, broken pipe
    FileNotFoundError,  # the socket file is gone
    socket.timeout,
)


def connection_failed(exc: BaseException) -> bool:
    """Whether an exception from an engine call says the connection failed (rather than
    the engine answering with an error)."""
    chain = _causes(exc)
    if any(isinstance(err, docker.errors.APIError) for err in chain):
        return False
    return any(isinstance(err, _CONNECTION_FAILURES) for err in chain)


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
