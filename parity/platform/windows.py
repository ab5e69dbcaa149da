"""A Windows engine host's build, revision and branch, parsed from what /info says."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WINDOWS_KERNEL = re.compile(r"^\d+\.\d+ (\d+) \((\d+)\.(\d+)\.[^.]+\.([^.]+)\.")
_OS_BUILD = re.compile(r"OS Build (\d+)\.(\d+)")
_OS_VERSION = re.compile(r"^\d+\.\d+[. ](\d+)(?: \(\d+\.(\d+)\)|\.(\d+))$")


@dataclass(frozen=True)
class WindowsBuild:
    """A Windows engine host's build as /info tells it.

    ``build`` is the build number of KernelVersion ('10.0 <build> (<BuildLabEx>)', the
    field moby's own tests split on); ``revision`` the update build revision (UBR) from
    OperatingSystem ('... (OS Build 17763.1039)') or OSVersion, "" when the engine does not
    say; ``branch`` the BuildLabEx branch, e.g. 'rs5_release' or 'rs_prerelease' (Insider).
    """

    build: str
    revision: str
    branch: str

    def __str__(self) -> str:
        return f"{self.build}.{self.revision}" if self.revision else self.build

    @property
    def insider(self) -> bool:
        """Insider (pre-release) builds come from the rs_prerelease branch."""
        return self.branch == "rs_prerelease"


def parse_windows_build(kernel_version: str, operating_system: str = "", os_version: str = "") -> WindowsBuild | None:
    """The build, revision and branch of a Windows engine, or None when KernelVersion is
    not in the Windows format."""
    match = _WINDOWS_KERNEL.match(kernel_version)
    if not match:
        return None
    build, branch = match.group(1), match.group(4)
    revision = ""
    os_build = _OS_BUILD.search(operating_system)
    if os_build and os_build.group(1) == build:
        revision = os_build.group(2)
    else:
        version = _OS_VERSION.match(os_version.strip())
        if version and version.group(1) == build:
            revision = version.group(2) or version.group(3)
    return WindowsBuild(build, revision, branch)
