"""Every recorded engine answer in tests/data/engine-info/, through detection, build
parsing, the kind check, request shaping and report naming.

The table below says what each recording must yield; a recording without a row, or a
row without a recording, fails, so new data cannot slip in untested.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest
from docker.types import Mount

from parity.certification.writer import report_name
from parity.config.matrix import MatrixError, TargetSpec, load
from parity.engine.contact import negotiate_api_version
from parity.kinds import KINDS, contradiction
from parity.platform.facts import EngineFacts
from parity.run.resources import RunIdentity
from parity.run.target import Target, contact, shaping_for
from parity.workload.image import Workload
from tests.fake_engine import FakeEngine, recorded_api, recorded_files, source_of


class Expected(NamedTuple):
    platform: str  # lcow, windows, desktop (Docker Desktop's VM) or linux
    build: str  # Windows build number, or the kernel release
    revision: str  # Windows update revision ("" when the engine does not say)
    branch: str  # Windows BuildLabEx branch
    report: str  # per-target JUnit file of a target named "t"


EXPECTED: dict[str, Expected] = {
    # Docker Desktop: the Moby VM (linuxkit kernel) and WSL2 eras
    "docker-desktop-mac-linuxkit-5.10.104-docker-20.10.17.txt": Expected(
        "desktop", "5.10.104-linuxkit", "", "", "junit-t-5.10.104-linuxkit.xml"
    ),
    "docker-desktop-mac-linuxkit-5.10.25-docker-20.10.5.txt": Expected(
        "desktop", "5.10.25-linuxkit", "", "", "junit-t-5.10.25-linuxkit.xml"
    ),
    "docker-desktop-windows-mobyvm-linuxkit-4.9.87-docker-18.03.0-ce.txt": Expected(
        "desktop", "4.9.87-linuxkit-aufs", "", "", "junit-t-4.9.87-linuxkit-aufs.xml"
    ),
    "docker-desktop-wsl2-4.19.128-microsoft-standard-docker-20.10.5.txt": Expected(
        "desktop", "4.19.128-microsoft-standard", "", "", "junit-t-4.19.128-microsoft-standard.xml"
    ),
    "docker-desktop-wsl2-4.19.84-microsoft-standard-docker-19.03.8.txt": Expected(
        "desktop", "4.19.84-microsoft-standard", "", "", "junit-t-4.19.84-microsoft-standard.xml"
    ),
    "docker-desktop-wsl2-5.15.167.4-microsoft-standard-WSL2-docker-24.0.6.txt": Expected(
        "desktop",
        "5.15.167.4-microsoft-standard-WSL2",
        "",
        "",
        "junit-t-5.15.167.4-microsoft-standard-WSL2.xml",
    ),
    # plain Linux engines
    "linux-ubuntu-16.04-docker-17.12.1-ce.TRUNCATED.txt": Expected(
        "linux", "4.4.0-104-generic", "", "", "junit-t-4.4.0-104-generic.xml"
    ),
    "linux-ubuntu-17.10-docker-18.03.1-ce.txt": Expected(
        "linux", "4.9.13-040913-generic", "", "", "junit-t-4.9.13-040913-generic.xml"
    ),
    # Windows 10 with Hyper-V isolation, Windows containers only
    "windows-client-hyperv-14393-docker-1.13.0-dev.txt": Expected(
        "windows", "14393", "", "rs1_release_inmarket", "junit-t-14393.xml"
    ),
    "windows-client-hyperv-17040-rs_prerelease-docker-17.11.0-ce-rc3.txt": Expected(
        "windows", "17040", "", "rs_prerelease", "junit-t-17040.xml"
    ),
    # KernelVersion's BuildLabEx says 18362, the build number 18363 (1909 is 1903's enablement)
    "windows-client-hyperv-18363-docker-19.03.5.txt": Expected(
        "windows", "18363", "693", "19h1_release", "junit-t-18363.693.xml"
    ),
    # Windows 10 with LCOW
    "windows-client-hyperv-lcow-16299-docker-master-2018-09-03.txt": Expected(
        "lcow", "16299", "611", "rs3_release_svc_escrow", "junit-t-16299.611.xml"
    ),
    "windows-client-hyperv-lcow-17134-docker-18.06.1-ce.json.txt": Expected(
        "lcow", "17134", "228", "rs4_release", "junit-t-17134.228.xml"
    ),
    "windows-client-hyperv-lcow-17763-docker-master-2019-02-28.txt": Expected(
        "lcow", "17763", "316", "rs5_release", "junit-t-17763.316.xml"
    ),
    "windows-client-hyperv-lcow-17763-docker-master-2019-04-03.txt": Expected(
        "lcow", "17763", "379", "rs5_release", "junit-t-17763.379.xml"
    ),
    # Windows Server, Windows containers only (16299: LCOW_SUPPORTED set, but no lcow driver)
    "windows-server-14393-docker-1.12.2-cs2-ws-beta.txt": Expected(
        "windows", "14393", "", "rs1_release_inmarket", "junit-t-14393.xml"
    ),
    "windows-server-16299-docker-17.06.3-ee-1-tp6.TRUNCATED.txt": Expected(
        "windows", "16299", "", "rs3_release", "junit-t-16299.xml"
    ),
    "windows-server-17763-docker-18.09.7.txt": Expected(
        "windows", "17763", "1339", "rs5_release", "junit-t-17763.1339.xml"
    ),
    # Windows Server with LCOW (experimental)
    "windows-server-lcow-17134-docker-18.09.1.txt": Expected(
        "lcow", "17134", "1", "rs4_release", "junit-t-17134.1.xml"
    ),
}

# What EngineFacts says of each platform: (is_windows, has_lcow, is_docker_desktop).
DETECTED = {
    "lcow": (True, True, False),
    "windows": (True, False, False),
    "desktop": (False, False, True),
    "linux": (False, False, False),
}

# The declared kinds each platform satisfies (a VM engine of our own looks native).
FITTING_KINDS = {"lcow": {"hyperv"}, "windows": set(), "desktop": {"mobyvm"}, "linux": {"linux", "mobyvm"}}


def facts_of(name: str) -> EngineFacts:
    info, version = recorded_api(name)
    return EngineFacts.from_api(info, version)


def spec(kind: str, **extra: object) -> TargetSpec:
    return TargetSpec.model_validate({"name": "t", "kind": kind, **extra})


def kind_contradiction(target: TargetSpec, facts: EngineFacts) -> str | None:
    return contradiction(target.kind, target.isolation, facts)


def test_every_recording_has_an_expectation_and_a_source() -> None:
    assert sorted(EXPECTED) == recorded_files()
    assert [name for name in recorded_files() if not source_of(name).startswith("https://github.com/")] == []


@pytest.mark.parametrize("name", recorded_files())
def test_detection_build_and_report_name(name: str) -> None:
    facts, expected = facts_of(name), EXPECTED[name]
    assert (facts.is_windows, facts.has_lcow, facts.is_docker_desktop) == DETECTED[expected.platform]
    windows = facts.windows
    if expected.platform in ("lcow", "windows"):
        assert windows is not None
        assert (windows.build, windows.revision, windows.branch) == (expected.build, expected.revision, expected.branch)
        assert windows.insider == (expected.branch == "rs_prerelease")
    else:
        assert windows is None
        assert facts.build() == expected.build
    assert report_name("t", facts.build()) == expected.report


@pytest.mark.parametrize("name", recorded_files())
def test_kind_check(name: str) -> None:
    """Each recording fits exactly the kinds its platform allows; every other declared
    kind is refused with a reason that names what the engine said."""
    facts = facts_of(name)
    fitting = FITTING_KINDS[EXPECTED[name].platform]
    verdicts = {kind: kind_contradiction(spec(kind), facts) for kind in KINDS}
    assert {kind for kind, why in verdicts.items() if why is None} == fitting
    for kind, why in verdicts.items():
        if why is not None:
            assert why.startswith(f"declared kind {kind}, but the ")
            assert facts.kernel_version in why or facts.storage_driver in why


@pytest.mark.parametrize("name", recorded_files())
def test_request_shaping(name: str) -> None:
    """LCOW engines get isolation=hyperv on every create; none of the recorded ones
    speaks API 1.41, so the platform comes from the loaded image, never the create
    query. Other engines' requests are left as they are, except bind sources, which
    go through the target's path mapping."""
    facts = facts_of(name)
    platform = EXPECTED[name].platform
    kind = {"lcow": "hyperv", "desktop": "mobyvm"}.get(platform, "linux")
    mapping = {"host": "/", "engine": "C:\\parity\\"} if platform == "lcow" else {"host": "/", "engine": "/host_mnt/"}
    shaping = shaping_for(spec(kind, paths=[mapping]), negotiate_api_version(facts))
    shaped = shaping.container_options(
        {"volumes": {"/tmp/work": {"bind": "/w", "mode": "rw"}, "named": {"bind": "/n"}}}
    )
    if platform == "lcow":
        assert shaped == {
            "isolation": "hyperv",
            "volumes": {"C:\\parity\\tmp\\work": {"bind": "/w", "mode": "rw"}, "named": {"bind": "/n"}},
        }
    else:
        assert shaped == {"volumes": {"/host_mnt/tmp/work": {"bind": "/w", "mode": "rw"}, "named": {"bind": "/n"}}}


@pytest.mark.parametrize(
    ("api_version", "platform"),
    [("1.38", None), ("1.40", None), ("1.41", "linux"), ("1.45", "linux")],
)
def test_platform_on_create_from_api_1_41(api_version: str, platform: str | None) -> None:
    shaping = shaping_for(spec("hyperv"), api_version)
    assert (shaping.platform, shaping.isolation) == (platform, "hyperv")


def test_declared_platform_and_isolation_win() -> None:
    shaping = shaping_for(spec("hyperv", platform="linux/amd64", isolation="default"), "1.41")
    assert (shaping.platform, shaping.isolation) == ("linux/amd64", "default")
    assert shaping.container_options({"isolation": "hyperv"}) == {"isolation": "hyperv", "platform": "linux/amd64"}


def test_process_isolation_for_a_hyperv_target_is_refused_at_load(tmp_path: Path) -> None:
    """A Windows daemon answers "process isolation is invalid for Linux containers on
    Windows" (moby 20.10 daemon/create_windows.go): the matrix says so before any engine."""
    path = tmp_path / "matrix.yaml"
    path.write_text("targets:\n  - {name: w, kind: hyperv, isolation: process}\n")
    with pytest.raises(MatrixError) as caught:
        load(path)
    assert str(caught.value) == (
        f"{path}: target 'w': isolation 'process' does not fit kind hyperv: a Windows daemon refuses process "
        'isolation for Linux containers ("process isolation is invalid for Linux containers on Windows", '
        "moby 20.10 daemon/create_windows.go)"
    )


def test_isolation_declared_for_a_linux_engine_is_refused() -> None:
    facts = facts_of("linux-ubuntu-17.10-docker-18.03.1-ce.txt")
    assert kind_contradiction(spec("linux", isolation="hyperv"), facts) == (
        "declared isolation hyperv, but isolation applies to Windows engines only (OSType 'linux', "
        "OperatingSystem 'Ubuntu 17.10', KernelVersion '4.9.13-040913-generic')"
    )


def test_hyperv_on_an_engine_without_lcow_says_why() -> None:
    facts = facts_of("windows-server-17763-docker-18.09.7.txt")
    assert kind_contradiction(spec("hyperv"), facts) == (
        "declared kind hyperv, but the Windows engine has no Linux containers support (storage driver "
        "'windowsfilter' lists no 'lcow (linux)'; LCOW needs dockerd --experimental <= 20.10)"
    )


@pytest.mark.parametrize(("api_version", "platform_query"), [("1.40", None), ("1.41", ["linux"])])
def test_hyperv_container_create_on_the_wire(
    tmp_path: Path, api_version: str, platform_query: list[str] | None
) -> None:
    """A container of a hyperv target, created through the suite's own Target and
    ResourceScope against a stand-in answering as a Windows LCOW engine, is sent as
    documented: isolation=hyperv in HostConfig, ?platform=linux from API 1.41 on (the
    recorded engine speaks 1.40; the 1.41 answer is the same with ApiVersion raised),
    and the bind source as the engine sees it."""
    info, version = recorded_api("windows-client-hyperv-lcow-17763-docker-master-2019-04-03.txt")
    with FakeEngine(tmp_path / "engine.sock", info, {**version, "ApiVersion": api_version}) as engine:
        declared = spec(
            "hyperv",
            engine={"url": engine.url, "timeout": 5},
            paths=[{"host": str(tmp_path), "engine": "C:\\parity\\"}],
        )
        identity = RunIdentity.new()
        state = contact(declared, identity)
        assert state.unavailable is None
        target = Target(declared, state, identity)
        target.workload = Workload("amd64", "parity-workload:test", "sha256:" + "ab" * 32, tmp_path / "w.tar")
        scope = target.scope()
        container = scope.container(
            ["/usr/local/bin/probe", "idle"], start=False, mounts=[Mount("/m", str(tmp_path / "d"), type="bind")]
        )
        assert scope.close() == {"containers": 1}
        target.close()
    (create,) = engine.created()
    assert (create.version, create.query.get("platform")) == (api_version, platform_query)
    assert create.body["Image"] == "sha256:" + "ab" * 32
    assert create.body["HostConfig"]["Isolation"] == "hyperv"
    assert [(m["Source"], m["Target"], m["Type"]) for m in create.body["HostConfig"]["Mounts"]] == [
        ("C:\\parity\\d", "/m", "bind")
    ]
    assert [str(r) for r in engine.requests if r.path.startswith("/containers/") and r.method != "GET"] == [
        "POST /containers/create",
        f"DELETE /containers/{container.id}",
    ]
    assert engine.containers == {}
