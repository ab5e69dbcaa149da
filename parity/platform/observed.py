"""What a container on a target actually sees, observed once per target per run: the
kernel it runs on and, for each kind of storage the suite mounts, the file system type and
mount options (a bind mount is ext4 on a Linux host, 9p, virtiofs, fuse.grpcfuse or cifs
where a VM stands between the host and the engine).

The engine's /info cannot say these: Docker Desktop reports its VM's kernel, LCOW the
Windows host's, and no engine says how host folders reach its containers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The storage kinds the suite mounts, each at a fixed path of the observing container.
STORAGE_MOUNTS = {"bind": "/m/bind", "volume": "/m/volume", "tmpfs": "/m/tmpfs"}


@dataclass(frozen=True)
class MountFacts:
    """A mount as /proc/self/mountinfo shows it (proc(5)): file system type, and the
    per-mount and per-superblock options together."""

    fstype: str
    options: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.fstype} ({','.join(self.options)})"


@dataclass(frozen=True)
class ObservedPlatform:
    """What one container on the target saw; ``unobserved`` says why something is missing."""

    kernel: str = ""  # uname -r in a container
    storage: dict[str, MountFacts] = field(default_factory=dict)  # storage kind -> mount
    unobserved: str = ""  # one line: why the observation failed, else empty

    def to_json(self) -> dict[str, Any]:
        return {
            "kernel": self.kernel,
            "storage": {kind: {"fstype": m.fstype, "options": list(m.options)} for kind, m in self.storage.items()},
            "unobserved": self.unobserved,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObservedPlatform:
        storage = {
            kind: MountFacts(str(m["fstype"]), tuple(str(o) for o in m["options"]))
            for kind, m in data.get("storage", {}).items()
        }
        return cls(str(data.get("kernel", "")), storage, str(data.get("unobserved", "")))


def _unescape(path: str) -> str:
    r"""mountinfo escapes space, tab, newline and backslash as \ooo octal."""
    out, index = [], 0
    while index < len(path):
        if path[index] == "\\" and path[index + 1 : index + 4].isdigit():
            out.append(chr(int(path[index + 1 : index + 4], 8)))
            index += 4
        else:
            out.append(path[index])
            index += 1
    return "".join(out)


def parse_mountinfo(text: str) -> dict[str, MountFacts]:
    """Mount point -> its facts, from /proc/self/mountinfo (proc(5)): fields are id,
    parent, major:minor, root, mount point, mount options, optional fields ending with
    '-', then type, source and superblock options. A later mount over the same point
    hides an earlier one, as in the kernel."""
    mounts: dict[str, MountFacts] = {}
    for line in text.splitlines():
        fields = line.split(" ")
        if "-" not in fields[6:] or len(fields) < 10:
            continue
        separator = fields.index("-", 6)
        if len(fields) < separator + 4:
            continue
        options = fields[5].split(",") + [o for o in fields[separator + 3].split(",") if o]
        unique = tuple(dict.fromkeys(options))  # rw appears in both lists
        mounts[_unescape(fields[4])] = MountFacts(fields[separator + 1], unique)
    return mounts


def storage_facts(mountinfo: str) -> dict[str, MountFacts]:
    """The suite's storage kinds as the observing container's mountinfo shows them;
    a kind the target cannot mount is absent."""
    mounts = parse_mountinfo(mountinfo)
    return {kind: mounts[path] for kind, path in STORAGE_MOUNTS.items() if path in mounts}
