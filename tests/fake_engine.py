"""A stand-in Docker Engine on a unix socket, answering with recorded /info and /version.

It lets the plugins' self-tests meet a Windows LCOW engine, a Docker Desktop engine or a
silent one without Docker. Recorded answers live in tests/data/engine-info/, each with
the public source it was copied from in its header.
"""

from __future__ import annotations

import json
import re
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "engine-info"


def recorded_api(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(/info, /version) from a recorded API JSON file ('== /info ...' and '== /version ...')."""
    text = (DATA / name).read_text()
    parts = re.split(r"^== /(info|version)\b.*$", text, flags=re.MULTILINE)
    documents = dict(zip(parts[1::2], (json.loads(p) for p in parts[2::2]), strict=True))
    return documents["info"], documents["version"]


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False
    engine: FakeEngine


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        engine = self.server.engine
        engine.requests.append(f"GET {self.path}")
        if engine.silent:
            engine.release.wait(60)  # accept, then never answer
            return
        path = re.sub(r"^/v\d+\.\d+", "", self.path.split("?", 1)[0])
        answers: dict[str, Any] = {
            "/_ping": "OK",
            "/info": engine.info,
            "/version": engine.version,
            "/containers/json": [],
            "/networks": [],
            "/volumes": {"Volumes": [], "Warnings": None},
        }
        if path not in answers:
            self._send(404, {"message": f"page not found: {path}"})
            return
        self._send(200, answers[path])

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
    """``with FakeEngine(sock, info, version) as engine:`` serves until the block ends."""

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
        self.requests: list[str] = []
        self.release = threading.Event()
        self._server = _Server(str(socket_path), _Handler)
        self._server.engine = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def __enter__(self) -> FakeEngine:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self.socket_path.unlink(missing_ok=True)
