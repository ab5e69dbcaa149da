"""The Windows LCOW stand-in's rules, without Docker: request in, the daemon's status and message out."""

from __future__ import annotations

import re
from typing import Any

import pytest

from standins.windows_lcow import answers, rules
from standins.windows_lcow.settings import Settings, Share

SETTINGS = Settings(shares=(Share.parse("C:\\parity\\=/"),))


def lookup(existing: dict[str, bool] | None = None, images: bool = True) -> rules.Lookup:
    """(exists, is_dir) of this machine's paths from ``existing`` (path -> is_dir)."""
    known = existing or {}
    return rules.Lookup(
        image_exists=lambda _ref: images,
        ncpu=lambda: 4,
        stat=lambda path: (path in known, known.get(path, False)),
    )


def create(hc: dict[str, Any], existing: dict[str, bool] | None = None, **config: Any) -> rules.CreatePlan:
    body: dict[str, Any] = {"Image": "busybox", "Cmd": ["true"], **config, "HostConfig": {"Isolation": "hyperv", **hc}}
    return rules.plan_create(body, SETTINGS, lookup(existing))


def refused(hc: dict[str, Any], existing: dict[str, bool] | None = None, **config: Any) -> tuple[int, str]:
    with pytest.raises(rules.Refusal) as caught:
        create(hc, existing, **config)
    return caught.value.status, caught.value.message


@pytest.mark.parametrize(
    ("hc", "status", "message"),
    [
        ({"Privileged": True}, 500, "Windows does not support privileged mode"),
        ({"ReadonlyRootfs": True}, 500, "Windows does not support root filesystem in read-only mode"),
        ({"CpuRealtimePeriod": 1000}, 500, "Windows does not support CPU real-time period"),
        ({"CpuRealtimeRuntime": 1000}, 500, "Windows does not support CPU real-time runtime"),
        (
            {"Isolation": "vm"},
            500,
            "Invalid isolation: \"vm\". Windows supports 'default', 'process', or 'hyperv'",
        ),
        (
            {"NetworkMode": "container:abc"},
            500,
            "Using the network stack of another container is not supported while using Hyper-V Containers",
        ),
        ({"MemorySwap": 1 << 30}, 400, "invalid option: Windows does not support MemorySwap"),
        ({"MemoryReservation": 1 << 20}, 400, "invalid option: Windows does not support MemoryReservation"),
        ({"MemorySwappiness": 10}, 400, "invalid option: Windows does not support MemorySwappiness"),
        ({"PidsLimit": 10}, 400, "invalid option: Windows does not support PidsLimit"),
        ({"CpusetCpus": "0"}, 400, "invalid option: Windows does not support CpusetCpus"),
        ({"CpusetMems": "0"}, 400, "invalid option: Windows does not support CpusetMems"),
        ({"CpuPeriod": 100000}, 400, "invalid option: Windows does not support CPUPeriod"),
        ({"BlkioWeight": 300}, 400, "invalid option: Windows does not support BlkioWeight"),
        ({"CgroupParent": "x"}, 400, "invalid option: Windows does not support CgroupParent"),
        ({"OomKillDisable": True}, 400, "invalid option: Windows does not support OomKillDisable"),
        (
            {"Ulimits": [{"Name": "nofile", "Soft": 1, "Hard": 1}]},
            400,
            "invalid option: Windows does not support Ulimits",
        ),
        ({"KernelMemory": 1 << 22}, 400, "invalid option: Windows does not support KernelMemory"),
        ({"CpuShares": 20000}, 400, "range of CPUShares is from 1 to 10000"),
        ({"CpuPercent": 200}, 400, "range of CPUPercent is from 1 to 100"),
        ({"NanoCpus": 5 * 10**9}, 400, "range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available"),
        (
            {"NanoCpus": 10**9, "CpuShares": 512},
            400,
            "conflicting options: Nano CPUs and CPU Shares cannot both be set",
        ),
        ({"Isolation": "process"}, 500, "process isolation is invalid for Linux containers on Windows"),
        (
            {"Mounts": [{"Type": "tmpfs", "Target": "/run/x"}]},
            400,
            'invalid mount config for type "tmpfs": mount type unknown',
        ),
        (
            {"Mounts": [{"Type": "bind", "Source": "/tmp/x", "Target": "/data"}]},
            400,
            "invalid mount config for type \"bind\": invalid mount path: '/tmp/x' mount path must be absolute",
        ),
        (
            {"Mounts": [{"Type": "bind", "Source": "C:\\parity\\nope", "Target": "/data"}]},
            400,
            'invalid mount config for type "bind": bind source path does not exist: C:\\parity\\nope',
        ),
        (
            {"Mounts": [{"Type": "volume", "Target": "/"}]},
            400,
            "invalid mount config for type \"volume\": invalid specification: destination can't be '/'",
        ),
        ({"Binds": ["/tmp/x:/data"]}, 500, "invalid volume specification: '/tmp/x:/data'"),
        ({"Binds": ["C:\\parity\\tmp:/data:z"]}, 500, "invalid volume specification: 'C:\\parity\\tmp:/data:z'"),
    ],
)
def test_create_refusals(hc: dict[str, Any], status: int, message: str) -> None:
    assert refused(hc) == (status, message)


def test_bind_of_a_file_is_refused_as_windows_does() -> None:
    status, message = refused({"Binds": ["C:\\parity\\tmp\\f.txt:/f.txt"]}, {"/tmp/f.txt": False})
    assert (status, message) == (
        500,
        "invalid volume specification: 'C:\\parity\\tmp\\f.txt:/f.txt': "
        'invalid mount config for type "bind": source path must be a directory',
    )


def test_stop_signal_names_beyond_kill_and_term_are_refused() -> None:
    assert refused({}, StopSignal="SIGUSR1") == (400, "Invalid signal: SIGUSR1")
    assert create({}, StopSignal="SIGTERM").body["StopSignal"] == "SIGTERM"
    assert rules.parse_signal("9") is None
    assert rules.parse_signal("HUP") == "Invalid signal: HUP"


def test_binds_are_mapped_and_destinations_lower_cased() -> None:
    plan = create({"Binds": ["C:\\parity\\tmp\\Work:/Data:ro", "myvol:/vol"]}, {"/tmp/Work": True})
    hc = plan.body["HostConfig"]
    assert hc["Binds"] == ["/tmp/Work:/data:ro"]
    assert hc["Mounts"] == [{"Type": "volume", "Target": "/vol", "VolumeOptions": {"NoCopy": True}, "Source": "myvol"}]
    assert "Isolation" not in hc
    assert plan.shown_hostconfig["Binds"] == ["C:\\parity\\tmp\\Work:/Data:ro", "myvol:/vol"]
    assert plan.shown_hostconfig["Isolation"] == "hyperv"


def test_mount_sources_are_mapped() -> None:
    mounts = [{"Type": "bind", "Source": "C:\\parity\\tmp\\w", "Target": "/w", "ReadOnly": True}]
    plan = create({"Mounts": mounts}, {"/tmp/w": True})
    assert plan.body["HostConfig"]["Mounts"] == [{"Type": "bind", "Source": "/tmp/w", "Target": "/w", "ReadOnly": True}]


def test_fields_the_utility_vm_never_sees_are_dropped() -> None:
    hc = {
        "Memory": 256 << 20,
        "NanoCpus": 10**9,
        "Sysctls": {"net.ipv4.ip_forward": "1"},
        "PidMode": "host",
        "IpcMode": "host",
        "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/x", "CgroupPermissions": "rwm"}],
        "SecurityOpt": ["seccomp=unconfined"],
        "Tmpfs": {"/run": ""},
        "ShmSize": 1 << 20,
        "CapAdd": ["NET_ADMIN"],
        "DeviceCgroupRules": ["c 1:3 rwm"],
        "MemorySwappiness": -1,
        "PidsLimit": -1,
    }
    plan = create(hc)
    forwarded = plan.body["HostConfig"]
    for key in ("Memory", "NanoCpus", "Sysctls", "PidMode", "IpcMode", "Devices", "SecurityOpt", "Tmpfs", "ShmSize"):
        assert key not in forwarded, key
        assert key in plan.dropped
    assert forwarded["CapAdd"] == ["NET_ADMIN"]
    assert forwarded["DeviceCgroupRules"] == ["c 1:3 rwm"]
    assert "MemorySwappiness" not in forwarded
    assert "PidsLimit" not in forwarded


def test_a_missing_image_skips_the_later_rules() -> None:
    body = {"Image": "nope", "HostConfig": {"Isolation": "process"}}
    plan = rules.plan_create(body, SETTINGS, lookup(images=False))
    assert "Isolation" not in plan.body["HostConfig"]


def test_default_network_maps_to_bridge() -> None:
    assert create({"NetworkMode": "nat"}).body["HostConfig"]["NetworkMode"] == "bridge"
    assert create({"NetworkMode": "default"}).body["HostConfig"]["NetworkMode"] == "default"


def test_exec_runs_unprivileged_as_the_zero_user() -> None:
    body, dropped = rules.plan_exec_create({"Cmd": ["id"], "Privileged": True, "User": "nobody"})
    assert body == {"Cmd": ["id"], "User": "0:0"}
    assert dropped == ["Privileged", "User"]


def test_update_of_resources_is_refused() -> None:
    with pytest.raises(rules.Refusal) as caught:
        rules.check_update({"Memory": 1 << 28}, "abc123", 4)
    assert (caught.value.status, caught.value.message) == (
        500,
        "Cannot update container abc123: resource updating isn't supported on Windows",
    )
    with pytest.raises(rules.Refusal) as caught:
        rules.check_update({"MemorySwap": 1 << 28}, "abc123", 4)
    assert caught.value.status == 400
    rules.check_update({"RestartPolicy": {"Name": "always"}}, "abc123", 4)


def test_volume_options_are_refused() -> None:
    with pytest.raises(rules.Refusal) as caught:
        rules.check_volume_create({"Name": "v", "DriverOpts": {"type": "tmpfs"}})
    assert (caught.value.status, caught.value.message) == (400, "create v: options are not supported on this platform")


def test_api_versions() -> None:
    rules.check_api_version("1.41")
    rules.check_api_version("1.24")
    with pytest.raises(rules.Refusal, match=re.escape("Maximum supported API version is 1.41")):
        rules.check_api_version("1.42")
    with pytest.raises(rules.Refusal, match=re.escape("Minimum supported API version is 1.24")):
        rules.check_api_version("1.23")


def test_info_reports_the_configured_build() -> None:
    settings = Settings(build=26100, revision=4349, branch="rs_prerelease")
    info = answers.info(settings, {"NCPU": 8, "MemTotal": 1 << 34, "Containers": 2})
    assert info["OSType"] == "windows"
    assert info["KernelVersion"].startswith("10.0 26100 (26100.4349.amd64fre.rs_prerelease.")
    assert info["OperatingSystem"].endswith("(OS Build 26100.4349)")
    assert info["OSVersion"] == "10.0.26100"
    assert "lcow (linux)" in info["Driver"]
    assert (info["NCPU"], info["MemTotal"], info["Isolation"]) == (8, 1 << 34, "hyperv")
    assert answers.version(settings)["MinAPIVersion"] == "1.24"


def test_share_mapping() -> None:
    share = Share.parse("C:\\parity\\=/")
    assert share.to_linux("c:\\PARITY\\tmp\\x") == "/tmp/x"
    assert share.to_linux("C:/parity/tmp/x/") == "/tmp/x"
    assert share.to_linux("D:\\other") is None
    assert share.to_windows("/tmp/x") == "C:\\parity\\tmp\\x"


def test_host_network_is_not_found_at_start() -> None:
    """Windows knows no host network mode: start fails as moby#38166 shows."""
    refusal = rules.check_start({"HostConfig": {"NetworkMode": "host"}})
    assert refusal is not None
    assert (refusal.status, refusal.message) == (404, "network host not found")
    assert rules.check_start({"HostConfig": {"NetworkMode": "bridge"}}) is None


def test_stop_without_t_waits_the_container_s_own_timeout_else_30_s() -> None:
    """moby v20.10.24 daemon/stop.go: no t means container.StopTimeout(), the container's
    StopTimeout or the daemon's DefaultStopTimeout (30 on Windows); a given t is the client's."""
    assert rules.stop_timeout({}, {"Config": {}}) == 30
    assert rules.stop_timeout({}, {"Config": {"StopTimeout": 3}}) == 3
    assert rules.stop_timeout({"t": "1"}, {"Config": {}}) is None
