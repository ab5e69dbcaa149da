"""What the stand-in pretends to be (the Windows build) and where it relays to (the Linux engine)."""

from __future__ import annotations

import ntpath
import posixpath
from dataclasses import dataclass, field

# The moby release whose Windows rules the stand-in models; every rule cites a file of it.
MOBY_REF = "moby v20.10.24"
ENGINE_VERSION = "20.10.24"
API_VERSION = "1.41"  # moby v20.10.24 api/common.go DefaultVersion
MIN_API_VERSION = "1.24"  # moby v20.10.24 api/common_windows.go MinVersion


@dataclass(frozen=True)
class Share:
    """A host folder as Windows names it (``C:\\parity\\``) and as this machine names it (``/``)."""

    windows: str
    linux: str

    @classmethod
    def parse(cls, text: str) -> Share:
        windows, sep, linux = text.rpartition("=")
        if not sep or not windows or not linux.startswith("/"):
            raise ValueError(f"--share {text!r}: expected WINDOWS_PREFIX=LINUX_PREFIX, e.g. 'C:\\parity\\=/'")
        return cls(windows=windows, linux=linux)

    def to_linux(self, windows_path: str) -> str | None:
        """This machine's path for a Windows path under the share, None when it is not under it.
        Windows paths compare case-insensitively, with / and \\ alike."""
        path = windows_path.replace("/", "\\")
        prefix = self.windows.replace("/", "\\").rstrip("\\")
        if path.lower() != prefix.lower() and not path.lower().startswith(prefix.lower() + "\\"):
            return None
        rest = path[len(prefix) :].strip("\\")
        parts = [p for p in rest.split("\\") if p]
        return posixpath.join(self.linux, *parts) if parts else self.linux

    def to_windows(self, linux_path: str) -> str | None:
        """The Windows name of a path of this machine under the share (for answers)."""
        base = self.linux.rstrip("/") or "/"
        if linux_path != base and not linux_path.startswith(base.rstrip("/") + "/"):
            return None
        rest = linux_path[len(base.rstrip("/")) :].strip("/")
        prefix = self.windows.rstrip("\\/")
        return ntpath.join(prefix + "\\", *rest.split("/")) if rest else prefix + "\\"


@dataclass(frozen=True)
class Settings:
    """The Windows host the stand-in answers as. Defaults: a Windows Server Insider host."""

    backend: str = "unix:///var/run/docker.sock"
    build: int = 26100
    revision: int = 1
    branch: str = "rs_prerelease"
    build_date: str = "240401-1435"  # the BuildLabEx date stamp (yymmdd-hhmm)
    product_name: str = "Windows Server Datacenter"  # registry ProductName
    release_id: str = "2009"  # registry ReleaseId (frozen at 2009 since Windows 10 20H2)
    host_name: str = "WINSRV-LCOW"
    shares: tuple[Share, ...] = field(default_factory=tuple)
    idle_timeout: float = 3600.0  # seconds a relayed stream may stay silent before it is closed

    @property
    def backend_socket(self) -> str:
        if not self.backend.startswith("unix://"):
            raise ValueError(f"--backend {self.backend!r}: only unix:// sockets of this machine are supported")
        return self.backend[len("unix://") :]

    @property
    def build_lab_ex(self) -> str:
        return f"{self.build}.{self.revision}.amd64fre.{self.branch}.{self.build_date}"

    @property
    def kernel_version(self) -> str:
        # moby v20.10.24 pkg/parsers/kernel/kernel_windows.go VersionInfo.String: "%d.%d %d (%s)"
        return f"10.0 {self.build} ({self.build_lab_ex})"

    @property
    def operating_system(self) -> str:
        # moby v20.10.24 pkg/parsers/operatingsystem/operatingsystem_windows.go GetOperatingSystem:
        # "<ProductName> Version <ReleaseId> (OS Build <CurrentBuildNumber>.<UBR>)"
        return f"{self.product_name} Version {self.release_id} (OS Build {self.build}.{self.revision})"

    @property
    def os_version(self) -> str:
        # moby v20.10.24 pkg/parsers/operatingsystem/operatingsystem_windows.go GetOperatingSystemVersion
        return f"10.0.{self.build}"

    def to_linux(self, windows_path: str) -> str | None:
        for share in self.shares:
            mapped = share.to_linux(windows_path)
            if mapped is not None:
                return mapped
        return None

    def to_windows(self, linux_path: str) -> str | None:
        for share in self.shares:
            mapped = share.to_windows(linux_path)
            if mapped is not None:
                return mapped
        return None
