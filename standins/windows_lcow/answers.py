"""What the stand-in answers itself: /_ping, /version and /info of a Windows Server host running
Docker Engine 20.10 with --experimental and LCOW.

Field values follow moby v20.10.24 daemon/info.go (SystemInfo, SystemVersion, fillDriverInfo) as
it runs on Windows, and the recordings in /work/shared/data/engine-info/ (windows-server-lcow-*,
windows-client-hyperv-lcow-*, windows-server-17763-docker-18.09.7): what a Windows daemon leaves
empty is left empty here. The host's size (NCPU, MemTotal) and the container and image counts are
the engine behind's: the containers run on this machine.
"""

from __future__ import annotations

import datetime
from typing import Any

from standins.windows_lcow.settings import API_VERSION, ENGINE_VERSION, MIN_API_VERSION, Settings

JSON = dict[str, Any]

GIT_COMMIT = "5fd4c4d"  # docker/docker v20.10.24's commit, as `docker version` shows it
GO_VERSION = "go1.19.7"  # the Go release v20.10.24 was built with (its Dockerfile GO_VERSION)
BUILD_TIME = "2023-04-04T10:00:00.000000000+00:00"


def ping_headers() -> list[tuple[str, str]]:
    """api/server/router/system/system_routes.go pingHandler plus the middlewares' headers
    (api/server/middleware/version.go: API-Version, OSType; experimental.go: Docker-Experimental).
    Builder-Version 1: BuildKit does not run on Windows, the classic builder answers."""
    return [
        ("API-Version", API_VERSION),
        ("Builder-Version", "1"),
        ("Cache-Control", "no-cache, no-store, must-revalidate"),
        ("Docker-Experimental", "true"),
        ("OSType", "windows"),
        ("Pragma", "no-cache"),
    ]


def server_header() -> str:
    """api/server/middleware/version.go: "Docker/<version> (<GOOS>)"."""
    return f"Docker/{ENGINE_VERSION} (windows)"


def version(settings: Settings) -> JSON:
    """daemon/info.go SystemVersion on Windows (fillPlatformVersion is empty there)."""
    details = {
        "ApiVersion": API_VERSION,
        "Arch": "amd64",
        "BuildTime": BUILD_TIME,
        "Experimental": "true",
        "GitCommit": GIT_COMMIT,
        "GoVersion": GO_VERSION,
        "KernelVersion": settings.kernel_version,
        "MinAPIVersion": MIN_API_VERSION,
        "Os": "windows",
    }
    return {
        "Platform": {"Name": ""},
        "Components": [{"Name": "Engine", "Version": ENGINE_VERSION, "Details": details}],
        "Version": ENGINE_VERSION,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": GIT_COMMIT,
        "GoVersion": GO_VERSION,
        "Os": "windows",
        "Arch": "amd64",
        "KernelVersion": settings.kernel_version,
        "Experimental": True,
        "BuildTime": BUILD_TIME,
    }


def _system_time() -> str:
    # Go's time.RFC3339Nano with the host's zone, as the recordings show it
    return datetime.datetime.now().astimezone().isoformat(timespec="microseconds")


def info(settings: Settings, backend: JSON) -> JSON:
    """daemon/info.go SystemInfo as a Windows daemon fills it; ``backend`` is the engine behind's
    /info, for the counts and the machine's size."""

    def count(key: str) -> int:
        value = backend.get(key)
        return int(value) if isinstance(value, int) else 0

    return {
        "ID": str(backend.get("ID") or ""),
        "Containers": count("Containers"),
        "ContainersRunning": count("ContainersRunning"),
        "ContainersPaused": count("ContainersPaused"),
        "ContainersStopped": count("ContainersStopped"),
        "Images": count("Images"),
        # daemon/info.go fillDriverInfo: one graph driver per OS, each followed by " (<os>) "
        # when there are two; the recordings of Server 2019 and Windows 10 LCOW hosts show both
        # orders (Go map iteration); this one is the docker-java / 19.03.5 server recording's.
        "Driver": "windowsfilter (windows) lcow (linux)",
        "DriverStatus": [["Windows", ""], ["LCOW", ""]],
        "Plugins": {
            "Volume": ["local"],
            "Network": ["ics", "internal", "l2bridge", "l2tunnel", "nat", "null", "overlay", "private", "transparent"],
            "Authorization": None,
            "Log": [
                "awslogs",
                "etwlogs",
                "fluentd",
                "gcplogs",
                "gelf",
                "json-file",
                "local",
                "logentries",
                "splunk",
                "syslog",
            ],
        },
        "MemoryLimit": False,
        "SwapLimit": False,
        "KernelMemory": False,
        "KernelMemoryTCP": False,
        "CpuCfsPeriod": False,
        "CpuCfsQuota": False,
        "CPUShares": False,
        "CPUSet": False,
        "PidsLimit": False,
        "IPv4Forwarding": True,
        "BridgeNfIptables": True,
        "BridgeNfIp6tables": True,
        "Debug": False,
        "NFd": -1,
        "OomKillDisable": False,
        "NGoroutines": 40,
        "SystemTime": _system_time(),
        "LoggingDriver": "json-file",
        "CgroupDriver": "",
        "CgroupVersion": "",
        "NEventsListener": 0,
        "KernelVersion": settings.kernel_version,
        "OperatingSystem": settings.operating_system,
        "OSVersion": settings.os_version,
        "OSType": "windows",
        "Architecture": "x86_64",
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {
            "AllowNondistributableArtifactsCIDRs": [],
            "AllowNondistributableArtifactsHostnames": [],
            "InsecureRegistryCIDRs": ["127.0.0.0/8"],
            "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": True, "Official": True}},
            "Mirrors": [],
        },
        "NCPU": count("NCPU"),
        "MemTotal": count("MemTotal"),
        "GenericResources": None,
        "DockerRootDir": "C:\\ProgramData\\docker",
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Name": settings.host_name,
        "Labels": [],
        "ExperimentalBuild": True,
        "ServerVersion": ENGINE_VERSION,
        "Runtimes": None,
        "DefaultRuntime": "",
        "Swarm": {
            "NodeID": "",
            "NodeAddr": "",
            "LocalNodeState": "inactive",
            "ControlAvailable": False,
            "Error": "",
            "RemoteManagers": None,
        },
        "LiveRestoreEnabled": False,
        # dockerd --exec-opt isolation=hyperv (daemon_windows.go setDefaultIsolation); a Server's
        # default is process, which an LCOW create refuses
        "Isolation": "hyperv",
        "InitBinary": "",
        "ContainerdCommit": {"ID": "", "Expected": ""},
        "RuncCommit": {"ID": "", "Expected": ""},
        "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": None,
        "Warnings": None,
    }
