"""The stand-in's HTTP front: answers, refuses or rewrites each Engine API request, relays the rest to
the Linux engine behind on a fresh unix-socket connection, streams answers as they come, and splices
hijacked connections (attach, exec start) both ways until either side closes.

Per client connection: read one request (head, then the body by Content-Length or chunked), decide,
answer; keep the connection for the next request while answers are framed (Content-Length or
chunked), close it after a hijack or an answer that ends at EOF. Every socket read is bounded by
the settings' idle timeout; a hijacked stream ends when the engine behind closes it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import socketserver
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from standins.windows_lcow import answers, rules
from standins.windows_lcow.settings import Settings

JSON = dict[str, Any]

_MAX_HEAD = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024  # bodies the stand-in reads to decide on (JSON), not relayed streams
_CHUNK = 64 * 1024
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade", "te", "trailer"}
_VERSIONED = re.compile(r"^/v(\d+(?:\.\d+)*)(/.*)$")
_LOOKUP_TIMEOUT = 30.0


class BadRequest(Exception):
    pass


class Reader(Protocol):
    """A buffered byte stream: a socket's makefile("rb") or the handler's rfile."""

    def readline(self, size: int | None = -1, /) -> bytes: ...
    def read(self, size: int | None = -1, /) -> bytes: ...
    def read1(self, size: int = -1, /) -> bytes: ...


@dataclass
class Request:
    method: str
    target: str  # as the client sent it, e.g. /v1.41/containers/create?name=x
    headers: list[tuple[str, str]]
    api_version: str | None
    path: str  # without the version prefix and query
    query: dict[str, str]

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def chunked(self) -> bool:
        return "chunked" in (self.header("Transfer-Encoding") or "").lower()

    @property
    def content_length(self) -> int:
        try:
            return int(self.header("Content-Length") or 0)
        except ValueError as exc:
            raise BadRequest("bad Content-Length") from exc

    @property
    def wants_upgrade(self) -> bool:
        return "upgrade" in (self.header("Connection") or "").lower() or self.header("Upgrade") is not None


def _read_head(fp: Reader) -> list[bytes] | None:
    """The lines of an HTTP head, None at a clean EOF before any byte."""
    lines: list[bytes] = []
    size = 0
    while True:
        line = fp.readline(_MAX_HEAD + 1)
        if not line:
            if lines:
                raise BadRequest("connection closed inside a head")
            return None
        size += len(line)
        if size > _MAX_HEAD:
            raise BadRequest("head too large")
        if line in (b"\r\n", b"\n"):
            if not lines:
                continue  # tolerate stray blank lines between requests
            return lines
        lines.append(line.rstrip(b"\r\n"))


def _parse_headers(lines: list[bytes]) -> list[tuple[str, str]]:
    headers = []
    for raw in lines:
        name, sep, value = raw.decode("latin-1").partition(":")
        if not sep:
            raise BadRequest(f"bad header line {raw[:80]!r}")
        headers.append((name.strip(), value.strip()))
    return headers


def parse_request_head(lines: list[bytes]) -> Request:
    try:
        method, target, _version = lines[0].decode("latin-1").split(" ", 2)
    except ValueError as exc:
        raise BadRequest("bad request line") from exc
    parsed = urllib.parse.urlsplit(target)
    path = parsed.path
    api_version = None
    match = _VERSIONED.match(path)
    if match:
        api_version, path = match.group(1), match.group(2)
    query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
    return Request(method.upper(), target, _parse_headers(lines[1:]), api_version, path, query)


def _read_chunked(fp: Reader, limit: int, sink: Callable[[bytes], None] | None = None) -> bytes:
    """Decode a chunked body; with ``sink``, pass each chunk on (raw framing included) instead."""
    out = bytearray()
    while True:
        size_line = fp.readline(1024)
        if not size_line:
            raise BadRequest("connection closed inside a chunked body")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise BadRequest("bad chunk size") from exc
        if size == 0:
            trailer = b""
            while True:
                line = fp.readline(_MAX_HEAD)
                trailer += line
                if line in (b"\r\n", b"\n", b""):
                    break
            if sink is not None:
                sink(size_line + trailer)
            return bytes(out)
        data = _read_exact(fp, size)
        crlf = fp.readline(16)
        if sink is not None:
            sink(size_line + data + crlf)
        else:
            out += data
            if len(out) > limit:
                raise BadRequest("body too large")


def _read_exact(fp: Reader, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        piece = fp.read(min(_CHUNK, size - len(data)))
        if not piece:
            raise BadRequest("connection closed inside a body")
        data += piece
    return bytes(data)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


@dataclass
class Answer:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


class Backend:
    """Buffered calls to the engine behind, for the requests the stand-in decides on."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path

    def call(
        self, method: str, target: str, body: bytes | None = None, headers: list[tuple[str, str]] | None = None
    ) -> Answer:
        conn = _UnixConnection(self.socket_path, _LOOKUP_TIMEOUT)
        try:
            sent = {k: v for k, v in (headers or []) if k.lower() not in _HOP_BY_HOP}
            if body is not None:
                sent["Content-Type"] = sent.get("Content-Type", "application/json")
            conn.request(method, target, body=body, headers=sent)
            response = conn.getresponse()
            data = response.read()
            return Answer(response.status, response.reason, list(response.getheaders()), data)
        finally:
            conn.close()

    def json(self, target: str) -> JSON | None:
        answer = self.call("GET", target)
        if answer.status != 200:
            return None
        loaded = json.loads(answer.body)
        return loaded if isinstance(loaded, dict) else None

    def image_exists(self, ref: str) -> bool:
        return self.call("GET", f"/images/{urllib.parse.quote(ref, safe='')}/json").status == 200

    def inspect(self, ref: str) -> JSON | None:
        return self.json(f"/containers/{urllib.parse.quote(ref, safe='')}/json")

    def info(self) -> JSON:
        return self.json("/info") or {}


class Relay(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], settings: Settings) -> None:
        self.settings = settings
        self.backend = Backend(settings.backend_socket)
        self.lock = threading.Lock()
        # HostConfig as the Windows daemon keeps it, per container this stand-in created
        self.shown: dict[str, JSON] = {}
        self._ncpu: int | None = None
        super().__init__(address, _Handler)

    def ncpu(self) -> int:
        if self._ncpu is None:
            value = self.backend.info().get("NCPU")
            self._ncpu = int(value) if isinstance(value, int) and value > 0 else 1
        return self._ncpu

    def lookup(self) -> rules.Lookup:
        return rules.Lookup(image_exists=self.backend.image_exists, ncpu=self.ncpu)


def _status_reason(status: int) -> str:
    return http.client.responses.get(status, "Unknown")


class _Handler(socketserver.StreamRequestHandler):
    server: Relay
    _client_close = False

    def setup(self) -> None:
        super().setup()
        # every read and write of this connection is bounded (the file objects share the socket)
        self.connection.settimeout(self.server.settings.idle_timeout)

    def handle(self) -> None:
        try:
            while True:
                lines = _read_head(self.rfile)
                if lines is None:
                    return
                request = parse_request_head(lines)
                self._client_close = "close" in (request.header("Connection") or "").lower()
                if not self._serve(request) or self._client_close:
                    return
        except BadRequest as exc:
            self._send(400, [("Content-Type", "text/plain; charset=utf-8")], f"{exc}\n".encode(), keep=False)
        except (OSError, http.client.HTTPException):
            return

    # --- writing answers --------------------------------------------------------------------------

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes, keep: bool, head: bool = False) -> bool:
        keep = keep and not self._client_close
        lines = [f"HTTP/1.1 {status} {_status_reason(status)}"]
        names = {k.lower() for k, _ in headers}
        if "server" not in names:
            lines.append(f"Server: {answers.server_header()}")
        if "api-version" not in names:
            lines.append("Api-Version: 1.41")
        if "ostype" not in names:
            lines.append("Ostype: windows")
        if "docker-experimental" not in names:
            lines.append("Docker-Experimental: true")
        lines += [f"{k}: {v}" for k, v in headers if k.lower() not in _HOP_BY_HOP]
        lines.append(f"Content-Length: {len(body)}")
        if not keep:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head else body))
        self.wfile.flush()
        return keep

    def _send_json(self, status: int, data: Any, keep: bool = True) -> bool:
        body = json.dumps(data).encode() + b"\n"
        return self._send(status, [("Content-Type", "application/json")], body, keep)

    def _refuse(self, refusal: rules.Refusal, keep: bool) -> bool:
        return self._send(
            status=refusal.status, headers=[("Content-Type", "application/json")], body=refusal.body(), keep=keep
        )

    def _send_answer(self, answer: Answer, body: bytes | None = None, head: bool = False) -> bool:
        headers = [
            (k, v)
            for k, v in answer.headers
            if k.lower() not in _HOP_BY_HOP and k.lower() not in ("server", "ostype", "docker-experimental", "date")
        ]
        return self._send(answer.status, headers, answer.body if body is None else body, keep=True, head=head)

    # --- reading bodies ---------------------------------------------------------------------------

    def _read_body(self, request: Request) -> bytes:
        if request.chunked:
            return _read_chunked(self.rfile, _MAX_BODY)
        length = request.content_length
        if length > _MAX_BODY:
            raise BadRequest("body too large")
        return _read_exact(self.rfile, length) if length else b""

    def _read_json(self, request: Request) -> tuple[bytes, JSON | None]:
        raw = self._read_body(request)
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return raw, None
        return raw, data if isinstance(data, dict) else None

    # --- deciding -------------------------------------------------------------------------------

    def _serve(self, request: Request) -> bool:  # noqa: PLR0911 (one answer per route, as moby's router)
        try:
            rules.check_api_version(request.api_version)
        except rules.Refusal as refusal:
            return self._refuse(refusal, keep=False)
        path, method = request.path, request.method
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        if path == "/_ping" and method in ("GET", "HEAD"):
            self._read_body(request)
            headers = [*answers.ping_headers(), ("Content-Type", "text/plain; charset=utf-8")]
            return self._send(200, headers, b"OK", keep=True, head=method == "HEAD")
        if path == "/version" and method == "GET":
            self._read_body(request)
            return self._send_json(200, answers.version(self.server.settings))
        if path == "/info" and method == "GET":
            self._read_body(request)
            return self._send_json(200, answers.info(self.server.settings, self.server.backend.info()))
        if path == "/containers/create" and method == "POST":
            return self._create(request)
        if len(parts) == 3 and parts[0] == "containers":
            handled = self._container_action(request, parts[1], parts[2])
            if handled is not None:
                return handled
        if path == "/commit" and method == "POST":
            running = self._refuse_if_running(request.query.get("container", ""), "commit")
            if running is not None:
                return self._refuse(running, keep=False)
        if path == "/volumes/create" and method == "POST":
            raw, body = self._read_json(request)
            if body is not None:
                try:
                    rules.check_volume_create(body)
                except rules.Refusal as refusal:
                    return self._refuse(refusal, keep=True)
            return self._forward_buffered(request, raw)
        if path == "/networks/create" and method == "POST":
            raw, body = self._read_json(request)
            if body is not None:
                raw = json.dumps(rules.plan_network_create(body)).encode()
            return self._forward_buffered(request, raw)
        return self._relay(request)

    def _container_action(self, request: Request, ref: str, action: str) -> bool | None:  # noqa: PLR0911
        method = request.method
        if action == "json" and method == "GET":
            return self._inspect(request, ref)
        if action == "exec" and method == "POST":
            raw, body = self._read_json(request)
            if body is not None:
                body, _dropped = rules.plan_exec_create(body)
                raw = json.dumps(body).encode()
            return self._forward_buffered(request, raw)
        if action == "update" and method == "POST":
            raw, body = self._read_json(request)
            container = self.server.backend.inspect(ref)
            if body is not None and container is not None:
                try:
                    rules.check_update(body, str(container.get("Id")), self.server.ncpu())
                except rules.Refusal as refusal:
                    return self._refuse(refusal, keep=True)
            return self._forward_buffered(request, raw)
        if action == "kill" and method == "POST":
            problem = rules.parse_signal(request.query["signal"]) if request.query.get("signal") else None
            if problem:
                self._read_body(request)
                return self._refuse(
                    rules.Refusal(400, problem, "api/server/router/container/container_routes.go postContainersKill"),
                    keep=True,
                )
            return None
        if action in ("stop", "restart") and method == "POST":
            container = self.server.backend.inspect(ref)
            grace = rules.stop_timeout(request.query, container) if container is not None else None
            if grace is None:
                return None
            # relayed, not buffered: the engine answers only after the grace period
            return self._relay(replace(request, target=_add_query(request.target, "t", str(grace))))
        if action == "start" and method == "POST":
            container = self.server.backend.inspect(ref)
            not_started = rules.check_start(container) if container is not None else None
            if not_started is not None:
                self._read_body(request)
                return self._refuse(not_started, keep=True)
            return None
        if action == "top" and method == "GET":
            try:
                rules.check_top(request.query.get("ps_args", ""))
            except rules.Refusal as refusal:
                self._read_body(request)
                return self._refuse(refusal, keep=True)
            return None
        if action in ("archive", "changes") and method in ("HEAD", "GET", "PUT"):
            running = self._refuse_if_running(ref, action)
            if running is not None:
                if method == "HEAD":
                    return self._send(
                        running.status, [("Content-Type", "application/json")], running.body(), keep=False, head=True
                    )
                return self._refuse(running, keep=False)
        return None

    def _refuse_if_running(self, ref: str, action: str) -> rules.Refusal | None:
        if not ref:
            return None
        container = self.server.backend.inspect(ref)
        if container is None or not (container.get("State") or {}).get("Running"):
            return None
        return rules.check_running_fs(action)

    def _create(self, request: Request) -> bool:
        raw, body = self._read_json(request)
        if body is None:
            return self._forward_buffered(request, raw)
        try:
            plan = rules.plan_create(body, self.server.settings, self.server.lookup())
        except rules.Refusal as refusal:
            return self._refuse(refusal, keep=True)
        target = _drop_query(request.target, "platform")
        answer = self.server.backend.call("POST", target, json.dumps(plan.body).encode(), request.headers)
        if answer.status == 201:
            try:
                created = json.loads(answer.body)
                with self.server.lock:
                    self.server.shown[str(created["Id"])] = plan.shown_hostconfig
            except (ValueError, KeyError, TypeError):
                pass
        return self._send_answer(answer)

    def _inspect(self, request: Request, ref: str) -> bool:
        self._read_body(request)
        answer = self.server.backend.call("GET", request.target, None, request.headers)
        if answer.status != 200:
            return self._send_answer(answer)
        try:
            data = json.loads(answer.body)
        except ValueError:
            return self._send_answer(answer)
        if isinstance(data, dict):
            data["Platform"] = "linux"
            hc = data.get("HostConfig")
            if isinstance(hc, dict):
                with self.server.lock:
                    shown = self.server.shown.get(str(data.get("Id")))
                if shown:
                    hc.update(shown)
                hc["Isolation"] = "hyperv"
        return self._send_answer(answer, json.dumps(data).encode() + b"\n")

    def _forward_buffered(self, request: Request, body: bytes) -> bool:
        answer = self.server.backend.call(request.method, request.target, body, request.headers)
        return self._send_answer(answer, head=request.method == "HEAD")

    # --- relaying ---------------------------------------------------------------------------------

    def _relay(self, request: Request) -> bool:
        """Relay a request as it is, streaming its body and the answer."""
        settings = self.server.settings
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.settimeout(settings.idle_timeout)
        try:
            upstream.connect(settings.backend_socket)
            return self._relay_on(request, upstream)
        finally:
            upstream.close()

    def _relay_on(self, request: Request, upstream: socket.socket) -> bool:  # noqa: PLR0915 (one exchange, in order)
        upgrade = request.wants_upgrade
        lines = [f"{request.method} {request.target} HTTP/1.1", "Host: docker"]
        for key, value in request.headers:
            low = key.lower()
            if low in ("host", "connection", "keep-alive", "proxy-connection"):
                continue
            if low == "upgrade" and not upgrade:
                continue
            lines.append(f"{key}: {value}")
        lines.append("Connection: Upgrade" if upgrade else "Connection: close")
        upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if request.chunked:
            _read_chunked(self.rfile, 0, sink=upstream.sendall)
        else:
            remaining = request.content_length
            while remaining > 0:
                piece = self.rfile.read(min(_CHUNK, remaining))
                if not piece:
                    raise BadRequest("connection closed inside a body")
                upstream.sendall(piece)
                remaining -= len(piece)

        back = upstream.makefile("rb")
        head = _read_head(back)
        if head is None:
            raise OSError("the engine behind closed the connection without an answer")
        status_line = head[0].decode("latin-1")
        try:
            status = int(status_line.split(" ", 2)[1])
        except (IndexError, ValueError) as exc:
            raise OSError(f"the engine behind answered {status_line!r}") from exc
        headers = _parse_headers(head[1:])
        names = {k.lower(): v for k, v in headers}
        chunked = "chunked" in names.get("transfer-encoding", "").lower()
        length = names.get("content-length")
        bodiless = request.method == "HEAD" or status in (204, 304) or 100 <= status < 200
        framed = bodiless or chunked or length is not None
        keep = framed and status != 101 and not self._client_close
        out = [status_line]
        rewritten = {"server": answers.server_header(), "ostype": "windows", "docker-experimental": "true"}
        for key, value in headers:
            low = key.lower()
            if low in ("connection", "keep-alive"):
                continue
            out.append(f"{key}: {rewritten.get(low, value)}")
        if status == 101:
            out.append("Connection: Upgrade")
        elif not keep:
            out.append("Connection: close")
        self.wfile.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
        self.wfile.flush()

        if status == 101 or (not framed and self._is_hijack(request)):
            self._splice(back, upstream)
            return False
        if bodiless:
            return keep
        if chunked:
            _read_chunked(back, 0, sink=self._write_flush)
        elif length is not None:
            remaining = int(length)
            while remaining > 0:
                piece = back.read1(min(_CHUNK, remaining))
                if not piece:
                    return False
                self._write_flush(piece)
                remaining -= len(piece)
        else:
            while True:
                piece = back.read1(_CHUNK)
                if not piece:
                    break
                self._write_flush(piece)
        return keep

    @staticmethod
    def _is_hijack(request: Request) -> bool:
        return request.method == "POST" and (
            request.path.endswith("/attach") or (request.path.startswith("/exec/") and request.path.endswith("/start"))
        )

    def _write_flush(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    def _splice(self, back: Reader, upstream: socket.socket) -> None:
        """Both directions until the engine behind closes; the client's half-close is passed on."""

        def client_to_backend() -> None:
            try:
                while True:
                    piece = self.rfile.read1(_CHUNK)
                    if not piece:
                        break
                    upstream.sendall(piece)
                upstream.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        pump = threading.Thread(target=client_to_backend, name="stdin-pump", daemon=True)
        pump.start()
        try:
            while True:
                piece = back.read1(_CHUNK)
                if not piece:
                    break
                self._write_flush(piece)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            pump.join(timeout=5)


def _add_query(target: str, name: str, value: str) -> str:
    parts = urllib.parse.urlsplit(target)
    query = [*urllib.parse.parse_qsl(parts.query, keep_blank_values=True), (name, value)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _drop_query(target: str, name: str) -> str:
    """The target without one query parameter (the engine behind gets no platform=linux: it is
    Linux, and its image store is the only one)."""
    parts = urllib.parse.urlsplit(target)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if k != name]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def serve(listen: tuple[str, int], settings: Settings) -> Relay:
    """A bound relay; call serve_forever on it."""
    return Relay(listen, settings)
