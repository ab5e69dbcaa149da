"""Coverage, measured (parity/certification/coverage.py, plugins/coverage.py): the guard's
recording against a stand-in engine, endpoint templates, the create bodies' options and
mounts, the reference data files, the probe's syscalls from its C source, and the
reports a run writes, with and without xdist. No Docker."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from parity.certification.coverage import (
    ENGINE_API,
    PROBE,
    SYSCALLS,
    Area,
    Row,
    Templates,
    Usage,
    c_functions,
    coverage_areas,
    engine_api_from_swagger,
    engine_api_text,
    main,
    path_of,
    probe_syscalls,
    read_engine_api,
    read_probe,
    read_syscalls,
    render_json,
    render_markdown,
    syscalls_from_header,
    usage_of,
)
from parity.engine.endpoint import Endpoint
from parity.engine.guard import RequestRecording, start_recording, stop_recording
from tests.fake_engine import STAND_IN_CONFTEST, FakeEngine, recorded_api

pytest_plugins = ["pytester"]

API = read_engine_api(ENGINE_API.read_text(encoding="utf-8"))
SHARED_SWAGGER = Path(__file__).resolve().parents[3] / "shared" / "data" / "engine-api" / "v1.41.yaml"
DEBIAN_HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")


def test_the_guard_records_what_it_sends_and_nothing_it_refuses(tmp_path: Path) -> None:
    recording = RequestRecording()
    with FakeEngine(tmp_path / "engine.sock") as engine:
        client = Endpoint(engine.url, "matrix").client(5, version="1.41")
        start_recording(recording)
        try:
            container = client.containers.create("parity-workload", ["probe", "uname"], tmpfs={"/t": "size=1m"})
            with pytest.raises(Exception, match=r"^refused to create container"):
                client.containers.create("parity-workload", privileged=True)
        finally:
            stop_recording(recording)
            client.containers.create("parity-workload")  # after the recording: not in it
            client.close()
    url = f"http+docker://localhost/v1.41/containers/{container.id}/json"
    assert dict(recording.requests) == {
        ("POST", "http+docker://localhost/v1.41/containers/create"): 1,
        ("GET", url): 1,
    }
    assert len(recording.bodies) == 1
    body_url, body = recording.bodies[0]
    assert (body_url, body["Cmd"], body["HostConfig"]["Tmpfs"]) == (
        "http+docker://localhost/v1.41/containers/create",
        ["probe", "uname"],
        {"/t": "size=1m"},
    )
    # the recording changed no request: the engine got the same body, and one more create
    assert engine.created()[0].body == {k: v for k, v in body.items() if v is not None}
    assert len(engine.created()) == 2


def test_an_inner_recording_hands_back_to_the_outer_one(tmp_path: Path) -> None:
    outer, inner = RequestRecording(), RequestRecording()
    with FakeEngine(tmp_path / "engine.sock") as engine:
        client = Endpoint(engine.url, "matrix").client(5, version="1.41")
        start_recording(outer)
        try:
            client.ping()
            start_recording(inner)
            client.version(api_version=False)
            stop_recording(inner)
            client.ping()
        finally:
            stop_recording(outer)
            client.close()
    assert dict(outer.requests) == {("GET", "http+docker://localhost/v1.41/_ping"): 2}
    assert dict(inner.requests) == {("GET", "http+docker://localhost/version"): 1}


@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        ("POST", "http+docker://localhost/v1.41/containers/create", "POST /containers/create"),
        ("GET", "http+docker://localhost/v1.43/containers/" + "a" * 64 + "/json", "GET /containers/{id}/json"),
        ("DELETE", "http+docker://localhost/v1.41/containers/c0ffee", "DELETE /containers/{id}"),
        ("GET", "http+docker://localhost/v1.41/images/parity-workload:1a2b/json", "GET /images/{name}/json"),
        # an image name holds slashes: a parameter spans them when nothing else matches
        ("GET", "http+docker://localhost/v1.41/images/registry.example/team/app:1/json", "GET /images/{name}/json"),
        ("DELETE", "http+docker://localhost/v1.41/images/registry.example/app", "DELETE /images/{name}"),
        ("GET", "http+docker://localhost/v1.41/images/get", "GET /images/get"),  # a literal beats {name}
        ("GET", "http+docker://localhost/version", "GET /version"),  # unversioned
        ("HEAD", "http+docker://localhost/v1.41/_ping", "HEAD /_ping"),
        ("PUT", "http+docker://localhost/v1.41/containers/x/archive?path=%2Ftmp", "PUT /containers/{id}/archive"),
        ("POST", "http+docker://localhost/v1.41/exec/" + "b" * 64 + "/start", "POST /exec/{id}/start"),
        ("GET", "http+docker://localhost/v1.41/no/such/thing", None),
    ],
)
def test_requests_map_to_the_swaggers_templates(method: str, url: str, expected: str | None) -> None:
    assert Templates(API.endpoints).match(method, path_of(url)) == expected


def _recording(
    *bodies: tuple[str, dict[str, Any]], requests: dict[tuple[str, str], int] | None = None
) -> RequestRecording:
    recording = RequestRecording()
    recording.bodies = [(f"http+docker://localhost/v1.41{path}", body) for path, body in bodies]
    recording.requests.update(requests or {})
    return recording


def test_create_bodies_count_set_options_mounts_and_storage() -> None:
    docker_py_defaults = {"AttachStdout": True, "AttachStderr": True, "Tty": False, "OpenStdin": False}
    usage = usage_of(
        _recording(
            (
                "/containers/create",
                {
                    **docker_py_defaults,
                    "Image": "parity-workload",
                    "Cmd": ["probe", "idle"],
                    "Env": [],  # empty: not set
                    "Volumes": {"/anon": {}},
                    "HostConfig": {
                        "NetworkMode": "default",  # docker-py's default
                        "CapDrop": ["NET_RAW"],
                        "Mounts": [
                            {"Target": "/m/volume", "Source": "v", "Type": "volume", "ReadOnly": True},
                            {"Target": "/m/tmpfs", "Type": "tmpfs", "TmpfsOptions": {"SizeBytes": 1024, "Mode": 0}},
                            {"Target": "/m/bind", "Source": "/h", "Type": "bind", "Consistency": "default"},
                            {
                                "Target": "/m/b2",
                                "Source": "/h",
                                "Type": "bind",
                                "BindOptions": {"Propagation": "rslave"},
                            },
                        ],
                        "Binds": ["/var/parity:/data:ro", "named:/named"],
                        "Tmpfs": {"/scratch": "size=1m", "/run": ""},
                    },
                },
            ),
            (
                "/containers/create",
                {**docker_py_defaults, "Image": "parity-workload", "HostConfig": {"NetworkMode": "none"}},
            ),
            ("/volumes/create", {"Name": "v", "Driver": None, "DriverOpts": None, "Labels": {"a": "b"}}),
            ("/volumes/create", {"Name": "t", "Driver": "local", "DriverOpts": {"type": "tmpfs", "device": "tmpfs"}}),
            ("/volumes/create", {"Name": "b", "DriverOpts": {"type": "none", "o": "bind", "device": "/srv"}}),
            ("/containers/c0ffee/exec", {"Cmd": ["probe", "serve"], "Privileged": False}),  # not a create body
        ),
        API,
    )
    assert usage.as_json() == {
        "endpoints": {},
        "unmatched": {},
        "config": {"Cmd": 1, "Image": 2, "Volumes": 1},
        "host_config": {"Binds": 1, "CapDrop": 1, "Mounts": 1, "NetworkMode": 1, "Tmpfs": 1},
        "mounts": {
            "anonymous volume (Config.Volumes)": 1,
            "bind (HostConfig.Binds)": 1,
            "bind (HostConfig.Mounts)": 2,
            "tmpfs (HostConfig.Mounts)": 1,
            "tmpfs (HostConfig.Tmpfs)": 2,
            "volume (HostConfig.Binds)": 1,
            "volume (HostConfig.Mounts)": 1,
        },
        "mount_options": {"BindOptions.Propagation": 1, "ReadOnly": 1, "TmpfsOptions.SizeBytes": 1},
        "storage": {
            "container layer (image and writable layer)": 2,
            "volume, local driver": 1,
            "volume, local driver, type=none (bind-backed)": 1,
            "volume, local driver, type=tmpfs": 1,
        },
    }


def test_usages_add_up_and_travel_as_json() -> None:
    requests = {
        ("GET", "http+docker://localhost/v1.41/_ping"): 3,
        ("GET", "http+docker://localhost/v1.41/containers/" + "c" * 64 + "/frobnicate"): 2,
    }
    one = usage_of(_recording(("/containers/create", {"Image": "x"}), requests=requests), API)
    assert (dict(one.endpoints), dict(one.unmatched)) == ({"GET /_ping": 3}, {"GET /containers/{id}/frobnicate": 2})
    both = Usage.from_json(json.loads(json.dumps(one.as_json()))) + one
    assert both.as_json() == {
        "endpoints": {"GET /_ping": 6},
        "unmatched": {"GET /containers/{id}/frobnicate": 4},
        "config": {"Image": 2},
        "host_config": {},
        "mounts": {},
        "mount_options": {},
        "storage": {"container layer (image and writable layer)": 2},
    }


SWAGGER = {
    "basePath": "/v9.99",
    "paths": {
        "/containers/create": {"post": {}},
        "/containers/{id}/json": {"get": {}, "parameters": []},
        "/_ping": {"get": {}, "head": {}},
    },
    "definitions": {
        "ContainerConfig": {"properties": {"Image": {}, "ArgsEscaped": {"description": "Escaped (Windows only)"}}},
        "Resources": {"properties": {"Memory": {}, "KernelMemory": {"description": "> **Deprecated**: gone"}}},
        "HostConfig": {"allOf": [{"$ref": "#/definitions/Resources"}, {"properties": {"Binds": {}}}]},
        "MountType": {"enum": ["bind", "volume"]},
        "Mount": {
            "properties": {
                "Target": {},
                "Type": {},
                "ReadOnly": {},
                "BindOptions": {"properties": {"Propagation": {}}},
            }
        },
    },
}


def test_a_swagger_reduces_to_its_reference_and_back() -> None:
    api = engine_api_from_swagger(SWAGGER)
    text = engine_api_text(api, "a self-test")
    assert text == (
        "# source: a self-test\n== version 9.99\n== endpoints\nGET /_ping\nHEAD /_ping\nPOST /containers/create\n"
        "GET /containers/{id}/json\n== Config\nImage\nArgsEscaped\tWindows only\n== HostConfig\nMemory\n"
        "KernelMemory\tdeprecated\nBinds\n== MountType\nbind\nvolume\n== MountOptions\nReadOnly\nBindOptions.Propagation\n"
    )
    assert read_engine_api(text) == api


@pytest.mark.skipif(not SHARED_SWAGGER.exists(), reason=f"{SHARED_SWAGGER} is not on this machine")
def test_the_stored_engine_api_is_the_swaggers() -> None:
    stored = ENGINE_API.read_text(encoding="utf-8")
    source = stored.splitlines()[0].removeprefix("# source: ")
    assert engine_api_text(engine_api_from_swagger(yaml.safe_load(SHARED_SWAGGER.read_text())), source) == stored


def test_the_stored_engine_api_holds_what_v1_41_offers() -> None:
    assert (API.version, len(API.endpoints), len(API.config), len(API.host_config)) == ("1.41", 106, 25, 70)
    assert (API.mount_types, API.host_config["CpuCount"], API.config["ArgsEscaped"]) == (
        ("bind", "npipe", "tmpfs", "volume"),
        "Windows only",
        "Windows only",
    )


def test_the_syscall_table_parses_from_the_kernel_header() -> None:
    header = "#ifndef _ASM\n#define __NR_read 0\n#define __NR_write 1\n#define __NR_x32_thing 512 /* no */\n#endif\n"
    assert syscalls_from_header(header) == {"read": 0, "write": 1}
    stored = read_syscalls(SYSCALLS.read_text(encoding="utf-8"))
    assert (len(stored), stored["read"], stored["mount"], stored["move_mount"]) == (362, 0, 165, 429)
    if DEBIAN_HEADER.exists():
        assert syscalls_from_header(DEBIAN_HEADER.read_text()) == stored


PROBE_C = r"""
/* a comment naming mount( must not count */
static const char *label(void) { return "unlink(x)"; }
static int helper(const char *p) { return unlink(p); }
OPFN(op_rm) { if (helper(argv[0]) < 0) FAIL_RET("unlink"); jk_str("k", label()); }
OPFN(op_nap) { struct timespec t = {0, 1}; nanosleep(&t, NULL); waitpid(-1, NULL, 0); }
SCFN(sc_keys) { SET(syscall(SYS_keyctl, 1, NULL)); }
static const struct op { const char *name; } ops[] = {
    { "rm", 1, 1, "s", op_rm, 0 },
    { "nap", 0, 0, "", op_nap, 0 },
};
static const struct sc_entry { const char *name; } sc_table[] = {
    { "keyctl-join", sc_keys, 0, 0 },
};
"""


def test_the_probes_syscalls_come_from_its_source() -> None:
    assert sorted(c_functions(PROBE_C)) == ["helper", "label", "op_nap", "op_rm", "sc_keys"]
    known = ["unlink", "nanosleep", "wait4", "keyctl", "mount"]
    assert probe_syscalls({"main.c": PROBE_C}, known) == {
        "unlink": {"rm"},  # through its helper
        "nanosleep": {"nap"},
        "wait4": {"nap"},  # musl's waitpid
        "keyctl": {"syscall keyctl-join"},
    }


def test_the_real_probe_makes_the_syscalls_its_checks_rely_on() -> None:
    made = probe_syscalls(read_probe(PROBE), read_syscalls(SYSCALLS.read_text(encoding="utf-8")))
    assert made["mount"] == {"syscall mount-tmpfs"}
    assert made["unshare"] == {f"syscall unshare-{ns}" for ns in ("user", "mnt", "uts", "ipc", "net", "pid", "cgroup")}
    assert made["statfs"] == {"statfs"}
    assert made["capget"] == {"caps"}
    assert "afs_syscall" not in made


def test_areas_say_what_is_not_covered_and_why() -> None:
    usage = Usage.from_json(
        {
            "endpoints": {"POST /containers/create": 2},
            "unmatched": {"GET /new/thing": 1},
            "host_config": {"Binds": 2, "NotInTheApi": 1},
        }
    )
    api = engine_api_from_swagger(SWAGGER)
    endpoints, _, host_config, *_, syscalls = coverage_areas(
        usage, api, {"read": 0, "afs_syscall": 183}, {"read": {"checksum", "read"}}
    )
    assert endpoints == Area(
        "endpoints",
        "Engine API endpoints (v9.99)",
        "Engine API v9.99 swagger",
        covered=(Row("POST /containers/create", 2),),
        not_covered=(Row("GET /_ping"), Row("HEAD /_ping"), Row("GET /containers/{id}/json")),
        outside=(Row("GET /new/thing", 1),),
    )
    assert host_config.not_covered == (Row("Memory"), Row("KernelMemory", why="deprecated by the API"))
    assert host_config.outside == (Row("NotInTheApi", 1),)
    assert syscalls.covered == (Row("read", 2, "checksum, read"),)
    assert syscalls.not_covered == (
        Row("afs_syscall", why="not implemented by Linux on x86_64 (ENOSYS on every kernel)"),
    )
    markdown = render_markdown([endpoints, syscalls])
    assert markdown.splitlines()[:4] == [
        "| area | covered | not covered | used outside the reference |",
        "|---|---|---|---|",
        "| Engine API endpoints (v9.99) | 1 of 4 | 3 | 1 |",
        "| Syscalls the probe makes (x86_64, read from its source) | 1 of 2 | 1 | 0 |",
    ]
    assert "| `GET /_ping`, `HEAD /_ping`, `GET /containers/{id}/json` | not exercised yet (no reason recorded) |" in (
        markdown
    )
    assert "Covered: `read` (checksum, read)." in markdown


def test_the_readme_tables_are_printed_from_a_runs_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    usage = Usage.from_json({"endpoints": {"GET /_ping": 1}, "mounts": {"bind (HostConfig.Mounts)": 3}})
    areas = coverage_areas(usage, engine_api_from_swagger(SWAGGER), {"read": 0}, {})
    (tmp_path / "coverage.json").write_text(render_json(areas))
    assert main(["markdown", str(tmp_path / "coverage.json"), "--most", "2"]) == 0
    printed = capsys.readouterr().out
    assert printed == render_markdown(areas, 2)
    assert "| `HEAD /_ping`, `POST /containers/create` and 1 more | not exercised yet (no reason recorded) |" in printed
    assert "Covered: `bind (HostConfig.Mounts)` (3)." in printed


# ---------------------------------------------------------------------------
# The plugin, in a pytester run against a stand-in engine
# ---------------------------------------------------------------------------

CHECKS = """
import docker.errors
import pytest
from docker.types import Mount

from parity.engine.endpoint import Endpoint


@pytest.mark.parametrize("where", ["tmpfs", "volume"])
def test_mounts(target, where):
    '''Source: a self-test's check.
    Level: MUST, https://docs.pytest.org/en/stable/how-to/writing_plugins.html
    '''
    client = Endpoint({url!r}, "matrix").client(5, version="1.41")
    try:
        if where == "tmpfs":
            container = client.containers.create("parity-workload", tmpfs={{"/t": ""}}, cap_drop=["ALL"])
        else:
            container = client.containers.create("parity-workload", mounts=[Mount("/m", "v", read_only=True)])
        container.start()
        with pytest.raises(docker.errors.NotFound):
            client.volumes.create("v", driver_opts={{"type": "tmpfs"}})
    finally:
        client.close()
"""


def _project(pytester: pytest.Pytester, engine: FakeEngine) -> None:
    pytester.makeconftest(STAND_IN_CONFTEST)
    pytester.makefile(".yaml", matrix=f"targets:\n  - {{name: a, kind: linux, engine: {{url: '{engine.url}'}}}}\n")
    checks = pytester.mkdir("suites") / "area"
    checks.mkdir()
    (checks / "test_checks.py").write_text(CHECKS.format(url=engine.url))


def _covered(area: dict[str, Any]) -> dict[str, int]:
    return {row["item"]: row["count"] for row in area["covered"]}


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_run_writes_its_coverage(pytester: pytest.Pytester, tmp_path: Path, xdist: list[str]) -> None:
    info, version = recorded_api("linux-ubuntu-16.04-docker-17.12.1-ce.TRUNCATED.txt")
    with FakeEngine(tmp_path / "engine.sock", info, version) as engine:
        _project(pytester, engine)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *xdist)
        sent = Counter(Templates(API.endpoints).match(r.method, r.path) for r in engine.requests)
    result.assert_outcomes(passed=2)
    areas = {
        area["area"]: area for area in json.loads((pytester.path / "reports" / "coverage.json").read_text())["areas"]
    }
    endpoints = _covered(areas["endpoints"])
    # every request the engine got, from the controller (first contact, the sweep) and the workers
    assert endpoints == sent
    assert {e: n for e, n in endpoints.items() if e.endswith(("/create", "/start"))} == {
        "POST /containers/create": 2,
        "POST /containers/{id}/start": 2,
        "POST /volumes/create": 2,
    }
    assert _covered(areas["config"]) == {"Image": 2}
    assert _covered(areas["host_config"]) == {"CapDrop": 1, "Mounts": 1, "Tmpfs": 1}
    assert _covered(areas["mounts"]) == {"volume (HostConfig.Mounts)": 1, "tmpfs (HostConfig.Tmpfs)": 1}
    assert _covered(areas["mount_options"]) == {"ReadOnly": 1}
    assert _covered(areas["storage"]) == {
        "container layer (image and writable layer)": 2,
        "volume, local driver, type=tmpfs": 2,
    }
    assert {row["item"] for row in areas["storage"]["not_covered"]} == {
        "volume, local driver",
        "volume, local driver, type=nfs",
        "volume, local driver, type=cifs",
        "volume, local driver, type=none (bind-backed)",
    }
    assert _covered(areas["syscalls"])["mount"] == 1
    markdown = (pytester.path / "reports" / "coverage.md").read_text()
    assert "| `POST /build`, `POST /build/prune` | images are loaded (POST /images/load), not built" in markdown
    html = (pytester.path / "reports" / "coverage.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html
    result.stdout.fnmatch_lines(["parity: coverage *coverage.md: Engine API endpoints (v1.41) * of 106; *"])


def test_a_run_without_checks_on_a_target_writes_no_coverage(pytester: pytest.Pytester, tmp_path: Path) -> None:
    info, version = recorded_api("linux-ubuntu-16.04-docker-17.12.1-ce.TRUNCATED.txt")
    with FakeEngine(tmp_path / "engine.sock", info, version) as engine:
        _project(pytester, engine)
        result = pytester.runpytest("-p", "no:cacheprovider", "-k", "nothing_matches")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert not (pytester.path / "reports" / "coverage.json").exists()
