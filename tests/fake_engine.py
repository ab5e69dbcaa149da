"""A stand-in Docker Engine on a unix socket, answering with recorded /info and /version.

It lets the plugins' self-tests meet a Windows LCOW engine, a Docker Desktop engine or a
silent one without Docker, and records every request at the HTTP level (method, path,
query, JSON body) so a test can assert what a client sent. Recorded answers live in
tests/data/engine-info/, each with the public source it was copied from in its header:
either Engine API JSON ('== /info' and '== /version' documents) or the text of
`docker info` / `docker version`, which ``recorded_api`` turns into the API fields the
suite reads.
"""

from __future__ import annotations

import json
import re
import socketserver
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

DATA = Path(__file__).resolve().parent / "data" / "engine-info"

# The project's conftest for pytester runs, and the same with the target fixture reduced
# to its name: against a stand-in engine there is no workload to build or load.
REPO_CONFTEST = (Path(__file__).resolve().parent.parent / "conftest.py").read_text()
STAND_IN_CONFTEST = (
    REPO_CONFTEST
    + """
import pytest

@pytest.fixture(scope="session")
def target(request):
    return request.param

@pytest.fixture(autouse=True)
def _record_workload():
    pass
"""
)


def recorded_files() -> list[str]:
    """Every recorded engine answer in the data folder."""
    return sorted(p.name for p in DATA.iterdir() if p.suffix == ".txt")


def source_of(name: str) -> str:
    """The '# source:' line of a recorded answer."""
    first = (DATA / name).read_text(encoding="utf-8").splitlines()[0]
    return first.removeprefix("# source:").strip() if first.startswith("# source:") else ""


def recorded_api(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(/info, /version) of a recorded answer."""
    text = (DATA / name).read_text(encoding="utf-8")
    if re.search(r"^== /info\b", text, flags=re.MULTILINE):
        parts = re.split(r"^== /(info|version)\b.*$", text, flags=re.MULTILINE)
        documents = dict(zip(parts[1::2], (json.loads(p) for p in parts[2::2]), strict=True))
        return documents["info"], documents["version"]
    return _info_from_text(text), _version_from_text(text)


# `docker info` labels -> /info fields (what EngineFacts reads).
_INFO_TEXT = {
    "Server Version": "ServerVersion",
    "Storage Driver": "Driver",
    "Default Isolation": "Isolation",
    "Kernel Version": "KernelVersion",
    "Operating System": "OperatingSystem",
    "OSType": "OSType",
    "Architecture": "Architecture",
    "CPUs": "NCPU",
    "Total Memory": "MemTotal",
    "Name": "Name",
    "Experimental": "ExperimentalBuild",
    "Cgroup Version": "CgroupVersion",
}
_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
_COMPONENT = re.compile(r"^\s*(containerd|runc|docker-init|Engine):\s*$")


def _label(line: str) -> tuple[int, str, str] | None:
    """(indent, label, value) of a 'Label: value' line."""
    match = re.match(r"^(\s*)([A-Za-z][A-Za-z0-9 /()_.-]*?):(?:\s(.*))?$", line.rstrip("\n"))
    if not match:
        return None
    return len(match.group(1)), match.group(2), (match.group(3) or "").strip()


def _version_sections(lines: list[str]) -> list[tuple[int, int]]:
    """(start, end) line ranges of `docker version` blocks ('Client:'/'Server:' with an
    'API version' line before the next blank line)."""
    ranges = []
    for start, line in enumerate(lines):
        if not re.match(r"^(Client|Server)\b", line):
            continue
        end = start + 1
        while end < len(lines) and lines[end].strip():
            end += 1
        if any("API version:" in lines[i] for i in range(start, end)):
            ranges.append((start, end))
    return ranges


def _version_from_text(text: str) -> dict[str, Any]:
    lines = text.splitlines()
    version: dict[str, Any] = {}
    for start, end in _version_sections(lines):
        if not lines[start].startswith("Server"):
            continue
        for line in lines[start + 1 : end]:
            if _COMPONENT.match(line) and "Engine" not in line:
                break
            parsed = _label(line)
            if parsed is None:
                continue
            _, label, value = parsed
            if label == "Version":
                version.setdefault("Version", value)
            elif label == "API version":
                api = re.match(r"([\d.]+)(?: \(minimum version ([\d.]+)\))?", value)
                if api:
                    version.setdefault("ApiVersion", api.group(1))
                    if api.group(2):
                        version.setdefault("MinAPIVersion", api.group(2))
            elif label == "OS/Arch":
                os_name, _, arch = value.partition("/")
                version.setdefault("Os", os_name)
                version.setdefault("Arch", arch)
            elif label == "Experimental":
                version.setdefault("Experimental", value == "true")
    return version


def _info_from_text(text: str) -> dict[str, Any]:
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    skip = {i for start, end in _version_sections(lines) for i in range(start, end)}
    info: dict[str, Any] = {}
    driver_status: list[list[str]] = []
    security: list[str] = []
    section = ""
    section_indent = 0
    for index, line in enumerate(lines):
        if index in skip:
            continue
        parsed = _label(line)
        if parsed is None:
            if section == "Security Options" and line.strip() and len(line) - len(line.lstrip()) > section_indent:
                security.append(line.strip())
            continue
        indent, label, value = parsed
        if indent == 0 and label in ("Client", "Server"):  # `docker info` of 19.03 and later
            section, section_indent = ("Client" if label == "Client" else ""), 0
            continue
        if section and indent > section_indent:
            if section == "Storage Driver" and indent == section_indent + 1:
                driver_status.append([label, value])
            elif section == "Security Options" and label == "Profile" and security:
                security[-1] += f",profile={value}"
            continue
        section, section_indent = label, indent
        if section == "Security Options" or label not in _INFO_TEXT or label in info:
            continue
        info[_INFO_TEXT[label]] = _typed(label, value)
    info["DriverStatus"] = driver_status
    info["SecurityOptions"] = [f"name={option}" for option in security]
    return info


def _typed(label: str, value: str) -> Any:
    if label == "CPUs":
        return int(value)
    if label == "Total Memory":
        size = re.match(r"([\d.]+)\s*([KMGT]?i?B)$", value)
        return int(float(size.group(1)) * _UNITS[size.group(2)]) if size else 0
    if label == "Experimental":
        return value == "true"
    return value


# a check as the pytester projects write one: it states its requirement, as every check must
ONE_CHECK = """def test_one(target):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
"""


@dataclass(frozen=True)
class Request:
    """One request as the stand-in engine received it."""

    method: str
    path: str  # without the /vX.Y prefix and the query
    version: str  # the /vX.Y prefix's version, "" when unversioned
    query: dict[str, list[str]] = field(default_factory=dict)
    body: Any = None  # parsed JSON, raw bytes, or None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False
    engine: FakeEngine


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _record(self) -> Request:
        engine = self.server.engine
        parts = urlsplit(self.path)
        prefix = re.match(r"^/v(\d+\.\d+)(/.*)$", parts.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
        request = Request(
            self.command,
            prefix.group(2) if prefix else parts.path,
            prefix.group(1) if prefix else "",
            parse_qs(parts.query),
            body,
        )
        with engine.lock:
            engine.requests.append(request)
        return request

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def _answer(self) -> None:
        engine = self.server.engine
        request = self._record()
        if engine.silent:
            engine.release.wait(60)  # accept, then never answer
            return
        status, body = engine.answer(request)
        self._send(status, body)

    def _send(self, status: int, body: Any) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the tests read requests
        pass


class FakeEngine:
    """``with FakeEngine(sock, info, version) as engine:`` serves until the block ends.

    Besides /_ping, /info, /version and empty listings, it accepts container creation
    (answering with a new id), start, inspect and removal, and image loads, so that a
    test can drive the suite's own code and then read ``engine.requests``.
    """

    def __init__(
        self,
        socket_path: Path,
        info: dict[str, Any] | None = None,
        version: dict[str, Any] | None = None,
        *,
        silent: bool = False,
    ) -> None:
        self.socket_path = socket_path
        self.info = info or {}
        self.version = version or {}
        self.silent = silent
        self.requests: list[Request] = []
        self.containers: dict[str, Request] = {}  # id -> the create request
        self.lock = threading.Lock()
        self.release = threading.Event()
        self._server = _Server(str(socket_path), _Handler)
        self._server.engine = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def answer(self, request: Request) -> tuple[int, Any]:
        """(status, body) for a request, as an engine would answer it."""
        fixed: dict[tuple[str, str], Any] = {
            ("GET", "/_ping"): "OK",
            ("GET", "/info"): self.info,
            ("GET", "/version"): self.version,
            ("GET", "/containers/json"): [],
            ("GET", "/networks"): [],
            ("GET", "/volumes"): {"Volumes": [], "Warnings": None},
            ("POST", "/images/load"): {"stream": "Loaded image\n"},
        }
        if (request.method, request.path) in fixed:
            return 200, fixed[(request.method, request.path)]
        if (request.method, request.path) == ("POST", "/containers/create"):
            container_id = uuid.uuid4().hex * 2
            with self.lock:
                self.containers[container_id] = request
            return 201, {"Id": container_id, "Warnings": []}
        match = re.match(r"^/containers/([0-9a-f]{64})(/start|/json)?$", request.path)
        if match and match.group(1) in self.containers:
            container_id, action = match.groups()
            if request.method == "POST" and action == "/start":
                return 204, ""
            if request.method == "DELETE" and action is None:
                with self.lock:
                    del self.containers[container_id]
                return 204, ""
            if request.method == "GET" and action == "/json":
                return 200, self._inspect(container_id)
        return 404, {"message": f"page not found: {request.method} {request.path}"}

    def _inspect(self, container_id: str) -> dict[str, Any]:
        create = self.containers[container_id]
        body = create.body if isinstance(create.body, dict) else {}
        return {
            "Id": container_id,
            "Name": "/" + (create.query.get("name") or [""])[0],
            "Config": {"Image": body.get("Image", ""), "Labels": body.get("Labels") or {}},
            "HostConfig": body.get("HostConfig") or {},
            "State": {"Status": "running", "Running": True},
        }

    def created(self) -> list[Request]:
        """The container create requests received, in order."""
        return [r for r in self.requests if (r.method, r.path) == ("POST", "/containers/create")]

    def __enter__(self) -> FakeEngine:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self.socket_path.unlink(missing_ok=True)
