"""What an engine says about itself on first contact (/info and /version), and what that
means: Windows or Linux, LCOW, Docker Desktop, user namespaces, seccomp, the build."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from parity.platform.windows import WindowsBuild, parse_windows_build


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
    cgroup_driver: str = ""
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
            cgroup_driver=str(info.get("CgroupDriver") or ""),
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
    def windows(self) -> WindowsBuild | None:
        """Build, revision and branch of a Windows engine host; None for other engines."""
        if not self.is_windows:
            return None
        return parse_windows_build(self.kernel_version, self.operating_system, self.os_version)

    def build(self) -> str:
        """The engine's build as used in report names: the Windows build and revision
        (e.g. '17763.1039') on Windows, the kernel release on Linux."""
        if self.is_windows:
            windows = self.windows
            return str(windows) if windows else "unknown"
        return self.kernel_version or "unknown"


def major_version(version: str) -> int:
    """The major number of an engine version ('20.10.7' -> 20, 'master-...' -> 0)."""
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0
