"""Engine detection: facts, Windows builds, kind checks and one-line reasons, without Docker."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from docker.tls import TLSConfig

from parity.certification.writer import report_name
from parity.config.matrix import EngineSpec, TargetSpec
from parity.engine.contact import check_api_version, negotiate_api_version
from parity.engine.endpoint import Endpoint, resolve_endpoint
from parity.engine.errors import reason
from parity.kinds import contradiction
from parity.platform.facts import EngineFacts
from parity.run.resources import RunIdentity
from parity.run.target import contact
from tests.fake_engine import recorded_api

LCOW_CLIENT = "windows-client-hyperv-lcow-17134-docker-18.06.1-ce.json.txt"


def facts(**changes: object) -> EngineFacts:
    info, version = recorded_api(LCOW_CLIENT)
    return dataclasses.replace(EngineFacts.from_api(info, version), **changes)  # type: ignore[arg-type]


def test_recorded_windows_lcow_answer() -> None:
    detected = facts()
    assert (detected.is_windows, detected.has_lcow, detected.is_docker_desktop) == (True, True, False)
    assert (detected.server_version, detected.api_version, detected.isolation) == ("18.06.1-ce", "1.38", "hyperv")
    assert detected.build() == "17134.228"


def test_facts_survive_the_trip_to_xdist_workers() -> None:
    detected = facts()
    assert EngineFacts.from_json(detected.to_json()) == detected


# KernelVersion / OperatingSystem pairs as `docker info` printed them; sources in
# ../shared/data/engine-info/INDEX.md (moby#40545, fsouza/go-dockerclient#830,
# docker/for-win#1333, docker/for-win#688, puppetlabs/pupperware README-windows.md).
@pytest.mark.parametrize(
    ("kernel", "operating_system", "os_version", "expected"),
    [
        (
            "10.0 17763 (17763.1.amd64fre.rs5_release.180914-1434)",
            "Windows Server 2019 Datacenter Version 1809 (OS Build 17763.1039)",
            "",
            "17763.1039",
        ),
        (
            "10.0 18363 (18362.1.amd64fre.19h1_release.190318-1202)",
            "Windows 10 Pro Version 1909 (OS Build 18363.693)",
            "",
            "18363.693",
        ),
        ("10.0 17040 (17040.1000.amd64fre.rs_prerelease.171110-1506)", "Windows 10 Pro Insider Preview", "", "17040"),
        (
            "10.0 14393 (14393.447.amd64fre.rs1_release_inmarket.161102-0100)",
            "Windows Server 2016 Standard",
            "",
            "14393",
        ),
        (
            "10.0 17763 (17763.1.amd64fre.rs5_release.180914-1434)",
            "Windows Server 2019 Datacenter",
            "10.0 17763 (17763.2114)",
            "17763.2114",
        ),
        (
            "10.0 20348 (20348.1.amd64fre.fe_release.210507-1500)",
            "Windows Server 2022 Datacenter",
            "10.0.20348.707",
            "20348.707",
        ),
        # a revision of another build is not this build's revision
        (
            "10.0 17763 (17763.1.amd64fre.rs5_release.180914-1434)",
            "Windows Server 2019 Datacenter Version 1809 (OS Build 17134.1039)",
            "",
            "17763",
        ),
        ("6.18.44-fc-v657", "Debian GNU/Linux 12 (bookworm)", "", None),
    ],
)
def test_windows_build_and_revision(kernel: str, operating_system: str, os_version: str, expected: str | None) -> None:
    assert (
        str(windows)
        if (windows := facts(kernel_version=kernel, operating_system=operating_system, os_version=os_version).windows)
        else None
    ) == (expected)


@pytest.mark.parametrize(
    ("server", "minimum", "negotiated", "refused"),
    [
        ("1.40", "1.24", "1.40", None),
        ("1.41", "1.12", "1.41", None),
        ("1.99", "1.24", "1.45", None),
        ("1.23", "1.12", "1.23", "engine API 1.23 is older than 1.24, the oldest this client speaks"),
        ("1.99", "1.50", "1.45", "engine needs API 1.50 or newer; this client speaks up to 1.45"),
    ],
)
def test_api_version_is_negotiated(server: str, minimum: str, negotiated: str, refused: str | None) -> None:
    engine = facts(api_version=server, min_api_version=minimum)
    assert (negotiate_api_version(engine), check_api_version(engine)) == (negotiated, refused)


def test_linux_build_is_the_kernel_release() -> None:
    linux = facts(os_type="linux", kernel_version="6.1.0-28-amd64", operating_system="Debian GNU/Linux 12 (bookworm)")
    assert linux.build() == "6.1.0-28-amd64"
    assert report_name("local", linux.build()) == "junit-local-6.1.0-28-amd64.xml"
    assert report_name("win", "17763.1039") == "junit-win-17763.1039.xml"
    assert report_name("odd", "a b/c") == "junit-odd-a_b_c.xml"


def spec(kind: str) -> TargetSpec:
    return TargetSpec.model_validate({"name": "t", "kind": kind})


def kind_contradiction(target: TargetSpec, engine: EngineFacts) -> str | None:
    return contradiction(target.kind, target.isolation, engine)


def test_kind_checks_against_the_engine() -> None:
    windows_lcow = facts()
    windows_plain = facts(storage_driver="windowsfilter", driver_status=())
    desktop = facts(
        os_type="linux",
        operating_system="Docker Desktop",
        kernel_version="5.10.104-linuxkit",
        storage_driver="overlay2",
    )
    native = facts(
        os_type="linux",
        operating_system="Debian GNU/Linux 12 (bookworm)",
        kernel_version="6.1.0",
        storage_driver="overlay2",
    )
    assert kind_contradiction(spec("hyperv"), windows_lcow) is None
    assert kind_contradiction(spec("mobyvm"), desktop) is None
    assert kind_contradiction(spec("mobyvm"), native) is None  # a VM engine of our own looks native
    assert kind_contradiction(spec("linux"), native) is None
    assert str(kind_contradiction(spec("linux"), windows_lcow)).startswith(
        "declared kind linux, but the engine is a Windows engine"
    )
    assert str(kind_contradiction(spec("linux"), desktop)).endswith(": declare kind mobyvm")
    assert str(kind_contradiction(spec("hyperv"), native)).startswith(
        "declared kind hyperv, but the engine is not a Windows engine"
    )
    assert "lists no 'lcow (linux)'" in str(kind_contradiction(spec("hyperv"), windows_plain))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            requests.exceptions.ConnectionError(FileNotFoundError(2, "No such file or directory")),
            "no such socket (is the engine running?)",
        ),
        (requests.exceptions.ConnectionError(ConnectionRefusedError(111, "Connection refused")), "connection refused"),
        (requests.exceptions.ReadTimeout("read timed out"), "no answer within 5 s"),
        (RuntimeError("first line\nsecond line"), "first line"),
    ],
)
def test_reasons_are_one_short_line(error: Exception, expected: str) -> None:
    assert reason(error, 5) == expected


def test_context_with_tls_is_reached_as_the_cli_reaches_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Docker context (as `docker context create` stores it) gives its host and its
    TLS files; the context store is found through DOCKER_CONFIG like the CLI's."""
    name = "winsrv-insider"
    digest = hashlib.sha256(name.encode()).hexdigest()
    (tmp_path / "config.json").write_text("{}")
    meta = tmp_path / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    meta.joinpath("meta.json").write_text(
        json.dumps(
            {
                "Name": name,
                "Metadata": {},
                "Endpoints": {"docker": {"Host": "tcp://127.0.0.1:2376", "SkipTLSVerify": False}},
            }
        )
    )
    tls = tmp_path / "contexts" / "tls" / digest / "docker"
    tls.mkdir(parents=True)
    for pem in ("ca.pem", "cert.pem", "key.pem"):
        tls.joinpath(pem).write_text("")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    endpoint = resolve_endpoint(EngineSpec(context=name), environ={})
    assert (endpoint.url, endpoint.source) == ("tcp://127.0.0.1:2376", f"context {name!r}")
    assert isinstance(endpoint.tls, TLSConfig)
    assert (endpoint.tls.ca_cert, endpoint.tls.cert, endpoint.tls.verify) == (
        str(tls / "ca.pem"),
        (str(tls / "cert.pem"), str(tls / "key.pem")),
        True,
    )


def test_docker_host_with_cert_path_uses_the_cli_file_names(tmp_path: Path) -> None:
    for pem in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / pem).write_text("")
    endpoint = resolve_endpoint(
        EngineSpec(),
        environ={"DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_CERT_PATH": str(tmp_path), "DOCKER_TLS_VERIFY": "1"},
    )
    assert (endpoint.url, endpoint.source) == ("tcp://127.0.0.1:2376", "DOCKER_HOST")
    assert isinstance(endpoint.tls, TLSConfig)
    assert (endpoint.tls.ca_cert, endpoint.tls.cert) == (
        str(tmp_path / "ca.pem"),
        (str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")),
    )


def test_npipe_is_refused_in_one_line_off_windows() -> None:
    """npipe:// is what a Windows agent uses; elsewhere docker-py cannot open it, and the
    target is reported unavailable with that reason rather than crashing."""
    spec_ = TargetSpec.model_validate(
        {"name": "w", "kind": "hyperv", "engine": {"url": "npipe:////./pipe/docker_engine"}}
    )
    state = contact(spec_, RunIdentity.new())
    assert state.unavailable == "npipe:////./pipe/docker_engine: The npipe:// protocol is only supported on Windows"


def test_the_engine_is_reached_directly_whatever_proxy_the_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tcp:// engine answers although HTTP_PROXY names a closed port: engine requests never
    go through a proxy of the environment (requests honours it unless told not to)."""

    class Ping(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"OK"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with ThreadingHTTPServer(("127.0.0.1", 0), Ping) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            client = Endpoint(f"tcp://127.0.0.1:{server.server_address[1]}", "matrix").client(5, version="1.41")
            assert client.ping() is True
            client.close()
        finally:
            server.shutdown()
