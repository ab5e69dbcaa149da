"""What crosses a mount: host-side views of a bind mount, volume lifetime, mount options."""

from __future__ import annotations

import json
import os
import stat as stat_module
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker.models.containers import Container
from docker.types import Mount

from parity.run.resources import ResourceScope
from parity.run.target import Target
from parity.workload.image import PROBE_PATH
from parity.workload.probe import Prober
from plugins.workload import Observe, serving_container
from suites.verdicts import not_applicable
from suites.volumes.conftest import Mounts, mount_options

bind_only = pytest.mark.requires("bind_mounts")


@bind_only
def test_file_made_in_the_container_is_seen_on_the_host(mounts: Mounts) -> None:
    """A file written, chmod'ed and chown'ed in the container has that content, mode and
    owner on the host side of the bind mount.

    Source: Docker docs "Bind mounts" ("the file or directory is referenced by its
    absolute path on the host machine"); chmod(2), chown(2).
    Level: SHOULD, https://docs.docker.com/engine/storage/bind-mounts/
    """
    path = mounts.folder("bind") + "/made-inside"
    mounts.probe(
        ("write", path, "O_WRONLY|O_CREAT", "0644", b"inside".hex()),
        ("chmod", path, "0604"),
        ("chown", path, "1000", "2000"),
    )
    host = mounts.on_host(path)
    seen = host.stat()
    assert (host.read_bytes(), stat_module.S_IMODE(seen.st_mode), seen.st_uid, seen.st_gid) == (
        b"inside",
        0o604,
        1000,
        2000,
    )


@bind_only
def test_file_made_on_the_host_is_seen_in_the_container(mounts: Mounts) -> None:
    """A file the host creates with mode 0640 and owner 1000:2000 appears in the container
    with that content, mode and owner.

    Source: Docker docs "Bind mounts"; stat(2).
    Level: SHOULD, https://docs.docker.com/engine/storage/bind-mounts/
    """
    if os.geteuid() != 0:
        not_applicable("giving the host-side file another owner needs root here")
    folder = mounts.folder("bind")
    host = mounts.on_host(folder) / "made-outside"
    host.write_bytes(b"outside")
    os.chmod(host, 0o640)
    os.chown(host, 1000, 2000)
    content, stat = mounts.probe(("read", f"{folder}/made-outside"), ("stat", f"{folder}/made-outside"))
    assert (content["data"], stat["perm"], stat["uid"], stat["gid"]) == ("outside", 0o640, 1000, 2000)


@bind_only
def test_symlink_made_on_the_host_is_followed_in_the_container(mounts: Mounts) -> None:
    """A relative symlink created on the host resolves in the container.

    Source: symlink(7) (relative targets resolve against the link's folder); Docker docs
    "Bind mounts".
    Level: MUST, https://man7.org/linux/man-pages/man7/symlink.7.html
    """
    folder = mounts.folder("bind")
    (mounts.on_host(folder) / "real").write_bytes(b"target")
    os.symlink("real", mounts.on_host(folder) / "link")
    assert mounts.probe.one("read", f"{folder}/link")["data"] == "target"


@bind_only
def test_fifo_made_in_the_container_is_a_fifo_on_the_host(mounts: Mounts) -> None:
    """A FIFO created in the container is a FIFO on the host.

    Source: mkfifo(3), fifo(7); Docker docs "Bind mounts".
    Level: MUST, https://man7.org/linux/man-pages/man3/mkfifo.3.html
    """
    path = mounts.folder("bind") + "/fifo"
    assert mounts.probe.one("mkfifo", path, "0600").ok
    assert stat_module.S_ISFIFO(mounts.on_host(path).lstat().st_mode)


@bind_only
def test_hard_link_made_on_the_host_counts_in_the_container(mounts: Mounts) -> None:
    """A hard link made on the host shows st_nlink 2 in the container.

    Source: link(2), inode(7) st_nlink.
    Level: MUST, https://man7.org/linux/man-pages/man2/link.2.html
    """
    folder = mounts.folder("bind")
    (mounts.on_host(folder) / "a").write_bytes(b"x")
    os.link(mounts.on_host(folder) / "a", mounts.on_host(folder) / "b")
    assert mounts.probe.one("stat", f"{folder}/a")["nlink"] == 2


@bind_only
def test_inotify_sees_writes_made_on_the_host(mounts: Mounts) -> None:
    """inotify in the container reports IN_CREATE, IN_MODIFY and IN_CLOSE_WRITE for a file
    the host creates and writes in a bind-mounted folder.

    Source: inotify(7); Docker docs "Bind mounts" (same inode seen on both sides).
    Level: MUST, https://man7.org/linux/man-pages/man7/inotify.7.html
    """
    folder = mounts.folder("bind")
    watched, ready = f"{folder}/watched", f"{folder}/ready"
    mounts.probe.one("mkdir", watched, "755")
    output = f"{folder}/events.json"
    mounts.container.exec_run(
        ["/bin/sh", "-c", f"{PROBE_PATH} inotify {watched} 10000 4 {ready} > {output}"], detach=True
    )
    deadline = time.monotonic() + 10
    while not mounts.on_host(ready).exists():
        assert time.monotonic() < deadline, "the watcher did not start"
        time.sleep(0.02)
    (mounts.on_host(watched) / "new").write_bytes(b"data")
    result = mounts.on_host(output)
    while not result.exists() or not result.read_bytes().endswith(b"\n"):
        assert time.monotonic() < deadline + 10, "the watcher did not finish"
        time.sleep(0.05)
    events = json.loads(result.read_text())[0]["events"]
    assert [(e["name"], e["mask"]) for e in events] == [
        ("new", ["IN_CREATE"]),
        ("new", ["IN_OPEN"]),
        ("new", ["IN_MODIFY"]),
        ("new", ["IN_CLOSE_WRITE"]),
    ]


def test_named_volume_content_survives_container_removal(resources: ResourceScope, observe: Observe) -> None:
    """Data written to a named volume is there for the next container after the first is
    removed.

    Source: Docker docs "Volumes" ("volumes persist beyond the lifecycle of a container").
    Level: SHOULD, https://docs.docker.com/engine/storage/volumes/
    """
    volume = resources.volume()
    mounts = [Mount("/data", volume.name, type="volume")]
    [written] = observe(("write", "/data/kept", "O_WRONLY|O_CREAT", "0600", b"persisted".hex()), mounts=mounts)
    assert written.ok, written
    writer = next(made for made in reversed(resources.created) if isinstance(made, Container))
    writer.remove(force=True)
    content, stat = observe(("read", "/data/kept"), ("stat", "/data/kept"), mounts=mounts)
    assert (content["data"], stat["perm"]) == ("persisted", 0o600)


@pytest.mark.requires("volume_population")
def test_empty_volume_is_populated_from_the_image(resources: ResourceScope, observe: Observe) -> None:
    """An empty named volume mounted over a folder of the image gets the folder's content
    and ownership (the workload's /home/parity belongs to 1000:1000).

    Source: Docker docs "Volumes", "Populate a volume using a container".
    Level: SHOULD, https://docs.docker.com/engine/storage/volumes/
    """
    volume = resources.volume()
    [stat] = observe(("stat", "/home/parity"), mounts=[Mount("/home/parity", volume.name, type="volume")])
    assert (stat["uid"], stat["gid"], stat["perm"]) == (1000, 1000, 0o755)


@pytest.mark.requires("tmpfs_mounts")
def test_tmpfs_size_and_mode_options(observe_tmpfs: Prober) -> None:
    """--tmpfs /scratch:size=1m,mode=1770 gives a 1 MiB tmpfs whose root has mode 1770.

    Source: Docker run reference "--tmpfs" (size, mode); tmpfs(5).
    Level: MUST, https://man7.org/linux/man-pages/man5/tmpfs.5.html
    """
    stat, statfs = observe_tmpfs(("stat", "/scratch"), ("statfs", "/scratch"))
    assert (stat["perm"], statfs["type"], statfs["blocks"] * statfs["bsize"]) == (0o1770, 0x01021994, 1024 * 1024)


@pytest.mark.requires("tmpfs_mounts")
def test_tmpfs_size_limit_refuses_writes_with_enospc(observe_tmpfs: Prober) -> None:
    """Writing past a tmpfs's size fails with ENOSPC.

    Source: tmpfs(5) ("size ... the limit of allocated bytes"); write(2) ENOSPC.
    Level: MUST, https://man7.org/linux/man-pages/man5/tmpfs.5.html
    """
    filled = observe_tmpfs.one("fill", "/scratch/big", "0", str(2 * 1024 * 1024))
    assert (filled.ok, filled.errno) == (False, "ENOSPC")


@pytest.fixture
def observe_tmpfs(resources: ResourceScope) -> Prober:
    return Prober(resources.container(tmpfs={"/scratch": "size=1m,mode=1770"}))


@pytest.fixture(scope="module")
def read_only(
    target: Target, mounts: Mounts, own_network_mode: str | None, request: pytest.FixtureRequest
) -> Iterator[Prober]:
    """A container with the shared container's mounts, each made read-only: one for the
    three checks below, which each try a file name of their own."""
    options = mount_options(target, mounts.host_dir, mounts.volume, read_only=True)
    with serving_container(target, request.config, own_network_mode, mounts=options) as prober:
        yield prober


@pytest.mark.parametrize(
    "where",
    [
        pytest.param("/m/bind", marks=bind_only),
        "/m/volume",
        pytest.param("/m/tmpfs", marks=pytest.mark.requires("tmpfs_mounts")),
    ],
)
def test_read_only_mounts_refuse_writes_with_erofs(read_only: Prober, mounts: Mounts, where: str) -> None:
    """A mount made read-only refuses creating files with EROFS, while the shared
    container's read-write mount of the same kind (the same folder and volume; a tmpfs
    of its own) stays writable.

    Source: Docker docs "Bind mounts" / "Volumes" / "tmpfs mounts" (readonly option);
    open(2) EROFS.
    Level: MUST, https://man7.org/linux/man-pages/man2/open.2.html
    """
    name = uuid.uuid4().hex
    attempt = read_only.one("open", f"{where}/{name}", "O_WRONLY|O_CREAT", "0644")
    writable = mounts.probe.one("open", f"{where}/{name}", "O_WRONLY|O_CREAT", "0644")
    assert (attempt.ok, attempt.errno) == (False, "EROFS")
    assert (writable.ok, writable.errno) == (True, None)


@pytest.mark.requires("file_bind_mounts")
@bind_only
def test_single_file_bind_mount(resources: ResourceScope, tmp_path: Path) -> None:
    """A single host file can be bind-mounted; the container reads its content and its
    writes land in the host file.

    Source: Docker docs "Bind mounts" (a file or directory); mount(2) MS_BIND on a file.
    Level: MUST, https://man7.org/linux/man-pages/man2/mount.2.html
    """
    host_file = tmp_path / "parity.conf"
    host_file.write_bytes(b"from the host\n")
    container = resources.container(mounts=[Mount("/etc/parity.conf", str(host_file), type="bind")])
    content, _ = Prober(container)(
        ("read", "/etc/parity.conf"),
        ("write", "/etc/parity.conf", "O_WRONLY|O_APPEND", "0", b"from the container\n".hex()),
    )
    assert content["data"] == "from the host\n"
    assert host_file.read_bytes() == b"from the host\nfrom the container\n"
