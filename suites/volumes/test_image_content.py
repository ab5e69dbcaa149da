"""The container's filesystem holds the image's layer exactly: modes, owners, links, times.

The workload's single layer is written by parity/workload/image.py with known modes, owners
and mtime 0; an engine that unpacks layers differently (another storage driver, a
Windows host) shows here. testinfra reads these the way an operator would.
"""

from __future__ import annotations

import pytest
from testinfra.host import Host

from parity.workload.image import GROUP, PASSWD, PROBE_PATH
from parity.workload.probe import Prober


@pytest.mark.parametrize(
    ("path", "mode", "owner"),
    [
        ("/tmp", 0o1777, (0, 0)),
        ("/root", 0o700, (0, 0)),
        ("/home/parity", 0o755, (1000, 1000)),
        (PROBE_PATH, 0o755, (0, 0)),
        ("/etc/passwd", 0o644, (0, 0)),
    ],
)
def test_layer_modes_and_owners_are_kept(host: Host, path: str, mode: int, owner: tuple[int, int]) -> None:
    """Files and folders of an image layer keep their tar mode bits (sticky included)
    and numeric owner in the container.

    Source: OCI image spec layer.md ("changesets ... file attributes: mode, uid, gid");
    Docker docs "Storage drivers" (image layers are read-only, as built).
    Level: MUST, https://github.com/opencontainers/image-spec/blob/v1.0.2/layer.md
    """
    file = host.file(path)
    assert (file.exists, file.mode, file.uid, file.gid) == (True, mode, *owner)


def test_layer_file_content_is_exact(host: Host) -> None:
    """/etc/passwd and /etc/group hold exactly the bytes the image's layer holds.

    Source: OCI image spec layer.md (regular file content); the workload layout in
    parity/workload/image.py.
    Level: MUST, https://github.com/opencontainers/image-spec/blob/v1.0.2/layer.md
    """
    assert (host.file("/etc/passwd").content_string, host.file("/etc/group").content_string) == (PASSWD, GROUP)


def test_layer_symlinks_are_kept(host: Host, probe: Prober) -> None:
    """/bin/sh is the layer's symlink with the relative target "busybox", resolving to
    /bin/busybox.

    Source: OCI image spec layer.md (symbolic links: linkname); readlink(2).
    Level: MUST, https://github.com/opencontainers/image-spec/blob/v1.0.2/layer.md
    """
    file = host.file("/bin/sh")
    assert (file.is_symlink, file.linked_to, probe.one("readlink", "/bin/sh")["target"]) == (
        True,
        "/bin/busybox",
        "busybox",
    )


def test_layer_modification_times_are_kept(probe: Prober) -> None:
    """A file's mtime in the container is the layer's tar mtime (here 0, the epoch).

    Source: OCI image spec layer.md ("mtime" among the attributes a changeset carries).
    Level: MUST, https://github.com/opencontainers/image-spec/blob/v1.0.2/layer.md
    """
    assert [probe.one("lstat", path)["mtime_ns"] for path in ("/etc/group", PROBE_PATH, "/bin/sh")] == [0, 0, 0]


def test_image_users_and_groups_resolve(host: Host) -> None:
    """id resolves the image's user parity to uid 1000 in groups parity and parity-extra.

    Source: id(1); the image's /etc/passwd and /etc/group (group(5)).
    Level: MUST, https://man7.org/linux/man-pages/man1/id.1.html
    """
    user = host.user("parity")
    assert (user.uid, user.gid, sorted(user.groups)) == (1000, 1000, ["parity", "parity-extra"])
