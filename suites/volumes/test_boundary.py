"""Files across the boundary: a file open on one side while the other side rewrites,
replaces or unlinks it; owners, modes, nanosecond times and names as the other side sees
them; executing files; bind propagation; `docker cp` (the Engine API's archive
endpoints) in both directions."""

from __future__ import annotations

import io
import json
import os
import stat as stat_module
import tarfile
import time
import unicodedata
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from docker.models.containers import Container
from docker.types import Mount

from parity.run.resources import ResourceScope
from parity.run.target import Target
from parity.workload import probe as probe_client
from parity.workload.image import PROBE_PATH
from parity.workload.probe import Observation, Op
from plugins.workload import Observe
from suites.volumes.conftest import Mounts

bind_only = pytest.mark.requires("bind_mounts")

SCRIPT = b"#!/bin/sh\nexit 7\n"  # /bin/sh is the workload's busybox
UTIME_OMIT = 1073741822  # ((1l << 30) - 2l), linux/stat.h; utimensat(2)
ST_NOSUID, ST_NODEV, ST_NOEXEC = 2, 4, 8  # statfs(2) f_flags, statvfs(3)


# --- a file held open in the container while the host changes it ---------------------


def _held_while(mounts: Mounts, act: Callable[[Path], None]) -> Observation:
    """The probe's `keep-open` in the shared container keeps {folder}/file open while `act`
    changes it from the host's side of the bind mount; what the descriptor and a fresh
    open read afterwards."""
    folder = mounts.folder("bind")
    host = mounts.on_host(folder)
    (host / "file").write_bytes(b"old")
    output = host / "held.json"
    mounts.container.exec_run(
        [
            "/bin/sh",
            "-c",
            f"{PROBE_PATH} keep-open {folder}/file {folder}/ready {folder}/go 10000 > {folder}/held.json",
        ],
        detach=True,
    )
    deadline = time.monotonic() + 10
    while not (host / "ready").exists():
        assert time.monotonic() < deadline, "the holder did not start"
        time.sleep(0.01)
    act(host / "file")
    (host / "go").write_bytes(b"")
    while not output.exists() or not output.read_bytes().endswith(b"\n"):
        assert time.monotonic() < deadline + 10, "the holder did not finish"
        time.sleep(0.01)
    (held,) = json.loads(output.read_text())
    assert held.get("before") == "old", held
    return Observation(held)


def _rewrite_in_place(path: Path) -> None:
    with path.open("r+b") as file:  # the same inode, rewritten from offset 0
        file.write(b"new")


def _rename_over(path: Path) -> None:
    replacement = path.with_name("replacement")
    replacement.write_bytes(b"new!")
    os.replace(replacement, path)


@bind_only
def test_host_rewrite_is_read_through_an_open_descriptor(mounts: Mounts) -> None:
    """After the host rewrites a bind-mounted file in place, a descriptor the container
    opened before reads the new bytes (no stale cache across the boundary).

    Source: write(2) ("POSIX requires that a read(2) which can be proved to occur after a
    write() has returned returns the new data"); Docker docs "Bind mounts".
    Level: MUST, https://man7.org/linux/man-pages/man2/write.2.html
    """
    held = _held_while(mounts, _rewrite_in_place)
    assert (held.errno, held.get("fd_after"), held.get("path_after"), held.get("fd_nlink")) == (
        None, "new", "new", 1,
    ), held  # fmt: skip


@bind_only
def test_host_rename_over_an_open_file_leaves_the_descriptor_on_the_old_file(mounts: Mounts) -> None:
    """When the host renames another file over a bind-mounted file the container holds
    open, the container's descriptor still reads the old content (now with no link) and a
    new open reads the new file.

    Source: rename(2) (newpath is atomically replaced; the replaced file is removed as by
    unlink), unlink(2) ("the file will remain in existence until the last file descriptor
    referring to it is closed").
    Level: MUST, https://man7.org/linux/man-pages/man2/rename.2.html
    """
    held = _held_while(mounts, _rename_over)
    assert (held.errno, held.get("fd_after"), held.get("fd_nlink"), held.get("path_after")) == (
        None, "old", 0, "new!",
    ), held  # fmt: skip


@bind_only
def test_host_unlink_of_an_open_file_leaves_it_readable_in_the_container(mounts: Mounts) -> None:
    """When the host unlinks a bind-mounted file the container holds open, the container's
    descriptor still reads it (st_nlink 0) and a new open fails with ENOENT.

    Source: unlink(2) ("If the name was the last link to a file but any processes still
    have the file open, the file will remain in existence until the last file descriptor
    referring to it is closed").
    Level: MUST, https://man7.org/linux/man-pages/man2/unlink.2.html
    """
    held = _held_while(mounts, Path.unlink)
    assert (held.errno, held.get("fd_after"), held.get("fd_nlink"), held.get("path_errno")) == (
        None, "old", 0, "ENOENT",
    ), held  # fmt: skip


@bind_only
def test_container_append_is_read_through_a_host_descriptor(mounts: Mounts) -> None:
    """A descriptor the host opened on a bind-mounted file before the container appended
    to it reads the appended bytes next, and fstat shows the new size.

    Source: write(2) (a read(2) proved to occur after a write() has returned returns the
    new data); open(2) O_APPEND.
    Level: MUST, https://man7.org/linux/man-pages/man2/write.2.html
    """
    folder = mounts.folder("bind")
    host = mounts.on_host(folder) / "log"
    host.write_bytes(b"first,")
    with host.open("rb") as held:
        assert held.read() == b"first,"
        appended = mounts.probe.one("write", f"{folder}/log", "O_WRONLY|O_APPEND", "0", b"second".hex())
        assert (appended.errno, appended.get("size")) == (None, 12), appended
        assert (held.read(), os.fstat(held.fileno()).st_size) == (b"second", 12)


# --- open files on every kind of storage ---------------------------------------------


def test_unlinked_open_file_stays_readable(mounts: Mounts, kind: str) -> None:
    """A file unlinked while open stays readable through its descriptor with st_nlink 0,
    and its name is gone (ENOENT).

    Source: unlink(2) ("the file will remain in existence until the last file descriptor
    referring to it is closed").
    Level: MUST, https://man7.org/linux/man-pages/man2/unlink.2.html
    """
    path = mounts.folder(kind) + "/file"
    _, held = mounts.probe(("write", path, "O_WRONLY|O_CREAT", "0644", b"kept".hex()), ("open-unlink", path))
    assert (held.errno, held.get("fd_after"), held.get("fd_nlink"), held.get("path_errno")) == (
        None, "kept", 0, "ENOENT",
    ), held  # fmt: skip


def test_rename_over_an_open_file(mounts: Mounts, kind: str) -> None:
    """rename over a file that is open leaves the descriptor on the old file (st_nlink 0,
    old content) while the name opens the renamed file, with the renamed file's inode.

    Source: rename(2) ("If newpath already exists, it will be atomically replaced"),
    unlink(2).
    Level: MUST, https://man7.org/linux/man-pages/man2/rename.2.html
    """
    folder = mounts.folder(kind)
    *_, source, held, after = mounts.probe(
        ("write", f"{folder}/file", "O_WRONLY|O_CREAT", "0644", b"old".hex()),
        ("write", f"{folder}/new", "O_WRONLY|O_CREAT", "0644", b"new!".hex()),
        ("stat", f"{folder}/new"),
        ("open-rename", f"{folder}/new", f"{folder}/file"),
        ("stat", f"{folder}/file"),
    )
    assert (held.errno, held.get("fd_after"), held.get("fd_nlink"), held.get("path_after")) == (
        None, "old", 0, "new!",
    ), held  # fmt: skip
    assert after["ino"] == source["ino"]


# --- owner and mode of what a non-root user makes ------------------------------------


@bind_only
def test_non_root_user_files_keep_their_owner_and_mode_on_the_host(
    observe: Observe, target: Target, tmp_path: Path
) -> None:
    """A file and a folder that a container running as 1000:1000 creates in a bind mount
    belong to 1000:1000 on the host, with the modes requested less the umask 022.

    Source: open(2) and mkdir(2) (the owner is the process's effective user ID, the mode
    is mode & ~umask); Docker docs "Bind mounts"; the default umask 0022 (moby
    cmd/dockerd/daemon_unix.go). Docker Desktop maps owners on its file shares instead.
    Level: SHOULD, https://docs.docker.com/engine/storage/bind-mounts/
    """
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    file, folder = observe(
        ("write", "/data/mine", "O_WRONLY|O_CREAT", "0666", b"by 1000".hex()),
        ("mkdir", "/data/sub", "0777"),
        user="1000:1000",
        mounts=[Mount("/data", str(shared), type="bind")],
    )
    assert (file.errno, folder.errno) == (None, None), (file, folder)
    made_file, made_folder = (shared / "mine").stat(), (shared / "sub").stat()
    assert (made_file.st_uid, made_file.st_gid, made_file.st_mode & 0o7777) == (1000, 1000, 0o644)
    assert (made_folder.st_uid, made_folder.st_gid, made_folder.st_mode & 0o7777) == (1000, 1000, 0o755)
    assert (shared / "mine").read_bytes() == b"by 1000"


# --- nanosecond timestamps -----------------------------------------------------------


def test_utimensat_nanoseconds_round_trip(mounts: Mounts, kind: str) -> None:
    """utimensat sets atime and mtime to the nanosecond, as a later stat shows.

    Source: utimensat(2) (timespec with tv_nsec), inode(7) (st_atim, st_mtim carry
    nanoseconds where the file system keeps them, as ext4, tmpfs, overlayfs, xfs and btrfs
    do).
    Level: MUST, https://man7.org/linux/man-pages/man2/utimensat.2.html
    """
    path = mounts.folder(kind) + "/file"
    _, set_times, stat = mounts.probe(
        ("write", path, "O_WRONLY|O_CREAT", "0644", ""),
        ("utimens", path, "1000000000", "123456789", "1234567890", "987654321"),
        ("stat", path),
    )
    assert set_times.errno is None, set_times
    assert (stat["atime_ns"], stat["mtime_ns"]) == (1000000000_123456789, 1234567890_987654321)


def test_utime_omit_keeps_that_timestamp(mounts: Mounts, kind: str) -> None:
    """utimensat with UTIME_OMIT for atime changes only mtime.

    Source: utimensat(2) ("If the tv_nsec field of one of the timespec structures has the
    special value UTIME_OMIT, then the corresponding file timestamp is left unchanged").
    Level: MUST, https://man7.org/linux/man-pages/man2/utimensat.2.html
    """
    path = mounts.folder(kind) + "/file"
    *_, omitted, stat = mounts.probe(
        ("write", path, "O_WRONLY|O_CREAT", "0644", ""),
        ("utimens", path, "1000000000", "111111111", "1000000000", "222222222"),
        ("utimens", path, "0", str(UTIME_OMIT), "1500000000", "333333333"),
        ("stat", path),
    )
    assert omitted.errno is None, omitted
    assert (stat["atime_ns"], stat["mtime_ns"]) == (1000000000_111111111, 1500000000_333333333)


def test_utimensat_refuses_nanoseconds_out_of_range(mounts: Mounts, kind: str) -> None:
    """utimensat with tv_nsec 1000000000 (neither UTIME_NOW nor UTIME_OMIT) fails with
    EINVAL and leaves the times as they were.

    Source: utimensat(2) ERRORS (EINVAL: a tv_nsec outside 0 to 999,999,999 that is
    neither UTIME_NOW nor UTIME_OMIT).
    Level: MUST, https://man7.org/linux/man-pages/man2/utimensat.2.html
    """
    path = mounts.folder(kind) + "/file"
    *_, refused, stat = mounts.probe(
        ("write", path, "O_WRONLY|O_CREAT", "0644", ""),
        ("utimens", path, "1000000000", "0", "1000000000", "0"),
        ("utimens", path, "1200000000", "0", "1200000000", "1000000000"),
        ("stat", path),
    )
    assert (refused.ok, refused.errno) == (False, "EINVAL")
    assert (stat["atime_ns"], stat["mtime_ns"]) == (1000000000 * 10**9, 1000000000 * 10**9)


@bind_only
def test_nanosecond_timestamps_cross_the_bind_mount(mounts: Mounts) -> None:
    """Times the host sets with nanoseconds are what the container stats, and times the
    container sets are what the host stats, to the nanosecond.

    Source: utimensat(2), inode(7) (st_atim, st_mtim); Docker docs "Bind mounts" (the
    same file on both sides).
    Level: MUST, https://man7.org/linux/man-pages/man2/utimensat.2.html
    """
    folder = mounts.folder("bind")
    host = mounts.on_host(folder)
    (host / "from-host").write_bytes(b"")
    os.utime(host / "from-host", ns=(1000000000_000000001, 1234567890_999999999))
    _, set_times, seen = mounts.probe(
        ("write", f"{folder}/from-container", "O_WRONLY|O_CREAT", "0644", ""),
        ("utimens", f"{folder}/from-container", "1100000000", "5", "1300000000", "999999998"),
        ("stat", f"{folder}/from-host"),
    )
    assert set_times.errno is None, set_times
    assert (seen["atime_ns"], seen["mtime_ns"]) == (1000000000_000000001, 1234567890_999999999)
    on_host = (host / "from-container").stat()
    assert (on_host.st_atime_ns, on_host.st_mtime_ns) == (1100000000_000000005, 1300000000_999999998)


# --- executing files -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["bind", "volume", "rootfs"], indirect=True)
def test_executable_script_runs_from_the_storage(mounts: Mounts, kind: str) -> None:
    """A script written with mode 0755 runs, and its exit status comes back (bind mounts,
    volumes and the container's own files are not mounted noexec).

    Source: execve(2) (a script starting with "#!" runs its interpreter; EACCES only without
    execute permission or on a noexec mount); Docker docs "Bind mounts" and "Volumes" (no
    noexec among their options by default).
    Level: MUST, https://man7.org/linux/man-pages/man2/execve.2.html
    """
    path = mounts.folder(kind) + "/script"
    _, ran = mounts.probe(("write", path, "O_WRONLY|O_CREAT", "0755", SCRIPT.hex()), ("spawn", path))
    assert (ran.errno, ran.get("exit_code")) == (None, 7), ran


def test_file_without_execute_bits_is_refused_with_eacces(mounts: Mounts, kind: str) -> None:
    """execve of a 0644 file fails with EACCES, also for root.

    Source: execve(2) ERRORS (EACCES: "Execute permission is denied for the file");
    path_resolution(7) (a privileged process is granted execute permission on a file only
    when at least one of its execute bits is set).
    Level: MUST, https://man7.org/linux/man-pages/man2/execve.2.html
    """
    path = mounts.folder(kind) + "/script"
    _, ran = mounts.probe(("write", path, "O_WRONLY|O_CREAT", "0644", SCRIPT.hex()), ("spawn", path))
    assert (ran.ok, ran.errno) == (False, "EACCES"), ran


@pytest.mark.requires("tmpfs_mounts")
def test_tmpfs_mount_is_noexec_nosuid_nodev(mounts: Mounts) -> None:
    """A tmpfs mount (--mount type=tmpfs) is mounted noexec, nosuid and nodev: statfs
    reports the three flags and an executable script on it is refused with EACCES.

    Source: moby v20.10.24 daemon/oci_linux.go setMounts (tmpfs options start with
    "noexec", "nosuid", "nodev"); docker/docs#8138; statfs(2) f_flags ST_NOEXEC,
    ST_NOSUID, ST_NODEV; execve(2) EACCES on a noexec mount.
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/daemon/oci_linux.go
    """
    path = mounts.folder("tmpfs") + "/script"
    statfs, _, ran = mounts.probe(
        ("statfs", "/m/tmpfs"), ("write", path, "O_WRONLY|O_CREAT", "0755", SCRIPT.hex()), ("spawn", path)
    )
    flags = ST_NOEXEC | ST_NOSUID | ST_NODEV
    assert (statfs["flags"] & flags, ran.ok, ran.errno) == (flags, False, "EACCES"), (statfs, ran)


@bind_only
def test_execute_bit_set_on_the_host_decides_in_the_container(mounts: Mounts) -> None:
    """A script the host writes into a bind mount runs in the container while its mode is
    0755, and is refused with EACCES once the host makes it 0644.

    Source: execve(2) (EACCES "Execute permission is denied for the file"); chmod(2); Docker
    docs "Bind mounts" (the host's file, its mode included).
    Level: MUST, https://man7.org/linux/man-pages/man2/execve.2.html
    """
    folder = mounts.folder("bind")
    script = mounts.on_host(folder) / "script"
    script.write_bytes(SCRIPT)
    script.chmod(0o755)
    runs = mounts.probe.one("spawn", f"{folder}/script")
    script.chmod(0o644)
    refused = mounts.probe.one("spawn", f"{folder}/script")
    assert (runs.errno, runs.get("exit_code"), refused.errno) == (None, 7, "EACCES"), (runs, refused)


# --- names ---------------------------------------------------------------------------


NAMES = ["Parity", "parity", unicodedata.normalize("NFC", "caf\u00e9"), unicodedata.normalize("NFD", "caf\u00e9")]


@bind_only
def test_names_differing_by_case_or_normalisation_are_distinct_across_the_bind_mount(mounts: Mounts) -> None:
    """Names that differ only by case or by Unicode normalisation (NFC and NFD "café") are
    four files on both sides of a bind mount, whichever side makes them.

    Source: path_resolution(7) (names are byte strings: no case folding, no normalisation
    on Linux); Docker docs "Bind mounts".
    Level: MUST, https://man7.org/linux/man-pages/man7/path_resolution.7.html
    """
    made_inside, made_outside = mounts.folder("bind"), mounts.folder("bind")
    expected = sorted(name.encode() for name in NAMES)
    mounts.probe(*(("open", f"{made_inside}/{name}", "O_WRONLY|O_CREAT|O_EXCL", "0644") for name in NAMES))
    for name in NAMES:
        (mounts.on_host(made_outside) / name).touch(exist_ok=False)
    listing = mounts.probe.one("readdir", made_outside)
    assert sorted(os.listdir(os.fsencode(mounts.on_host(made_inside)))) == expected
    assert sorted(entry.encode("latin-1") for entry in listing["names"]) == expected


# --- bind propagation ----------------------------------------------------------------


def _optional_fields(mountinfo: str, mount_point: str) -> list[str]:
    """The optional fields (shared:N, master:N, propagate_from:N, unbindable) of the
    mount at `mount_point` in /proc/self/mountinfo, which must hold exactly one."""
    lines = [line.split() for line in mountinfo.splitlines()]
    (fields,) = [f for f in lines if len(f) > 6 and f[4] == mount_point]
    return fields[6 : fields.index("-")]


@bind_only
def test_bind_mount_propagation_is_private_by_default(mounts: Mounts) -> None:
    """A bind mount made without a propagation option is private in the container:
    /proc/self/mountinfo shows no shared, master or unbindable field for it.

    Source: Docker docs "Bind mounts", "Configure bind propagation" (the default is
    rprivate); proc(5) /proc/pid/mountinfo (optional fields: shared:N, master:N,
    propagate_from:N, unbindable; none for a private mount).
    Level: SHOULD, https://docs.docker.com/engine/storage/bind-mounts/
    """
    mountinfo = mounts.probe.one("read", "/proc/self/mountinfo")
    assert _optional_fields(mountinfo["data"], "/m/bind") == []


# --- docker cp: the archive endpoints ------------------------------------------------

WHERE = [
    pytest.param("rootfs", id="rootfs"),
    pytest.param("volume", id="volume"),
    pytest.param("bind", id="bind", marks=bind_only),
]


def _storage(where: str, resources: ResourceScope, tmp_path: Path) -> tuple[str, list[Mount]]:
    """A folder of the container on this kind of storage, and the mounts it needs."""
    if where == "volume":
        volume = resources.volume().name
        assert volume is not None
        return "/m/volume", [Mount("/m/volume", volume, type="volume")]
    if where == "bind":
        return "/m/bind", [Mount("/m/bind", str(tmp_path), type="bind")]
    return "/home", []


def _run_to_end(container: Container, ops: list[Op]) -> list[Observation]:
    container.start()
    status = container.wait(timeout=60)["StatusCode"]
    stdout = container.logs(stdout=True, stderr=False)
    assert status == 0, (status, stdout, container.logs(stdout=False, stderr=True))
    return probe_client.parse(stdout, ops)


def _tar_info(name: str, kind: bytes, mode: int, mtime: int, *, data: bytes = b"", link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.mtime, info.linkname = kind, mode, 1234, 5678, mtime, link
    info.size = len(data)
    return info


def _archive() -> bytes:
    """A folder d (0750), a file d/f (0640) and a symlink d/l -> f, all 1234:5678, with
    their own whole-second mtimes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_tar_info("d", tarfile.DIRTYPE, 0o750, 1111111111))
        tar.addfile(_tar_info("d/f", tarfile.REGTYPE, 0o640, 1234567890, data=b"copied"), io.BytesIO(b"copied"))
        tar.addfile(_tar_info("d/l", tarfile.SYMTYPE, 0o777, 1222222222, link="f"))
    return buffer.getvalue()


@pytest.mark.parametrize("where", WHERE)
def test_archive_put_keeps_mode_owner_times_and_symlinks(resources: ResourceScope, tmp_path: Path, where: str) -> None:
    """An archive uploaded with PUT /containers/{id}/archive (docker cp into a container)
    is extracted with each entry's mode, owner and mtime, and a symlink stays a symlink
    with its target text.

    Source: Engine API "Extract an archive of files or folders to a directory in a
    container"; moby v20.10.24 daemon/archive.go containerExtractToDir (without copyUIDGID
    the archive's own owners are kept) and pkg/archive/archive.go createTarFile (Lchown,
    Chmod, Chtimes / LUtimesNano from the header); docker/cli#6870.
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/pkg/archive/archive.go
    """
    into, mounts = _storage(where, resources, tmp_path)
    ops: list[Op] = [("stat", f"{into}/d"), ("stat", f"{into}/d/f"), ("read", f"{into}/d/f"),
                     ("lstat", f"{into}/d/l"), ("readlink", f"{into}/d/l")]  # fmt: skip
    container = resources.container(probe_client.command(ops), start=False, mounts=mounts)
    assert container.put_archive(into, _archive()) is True
    folder, file, content, link, target = _run_to_end(container, ops)

    def seen(stat: Observation) -> tuple[Any, ...]:
        return stat["type"], stat["perm"], stat["uid"], stat["gid"], stat["mtime_ns"] // 10**9

    assert seen(folder) == ("dir", 0o750, 1234, 5678, 1111111111)
    assert seen(file) == ("reg", 0o640, 1234, 5678, 1234567890)
    assert (content["data"], target["target"]) == ("copied", "f")
    assert seen(link) == ("lnk", 0o777, 1234, 5678, 1222222222)


@pytest.mark.parametrize("where", WHERE)
def test_archive_get_keeps_mode_owner_times_and_symlinks(resources: ResourceScope, tmp_path: Path, where: str) -> None:
    """GET /containers/{id}/archive (docker cp out of a container) returns a tar whose
    entries carry each file's mode, owner, mtime and symlink target, and a path-stat
    header naming the folder with its Go file mode.

    Source: Engine API "Get an archive of a filesystem resource in a container" (the
    X-Docker-Container-Path-Stat header); moby v20.10.24 pkg/archive/archive.go
    (FileInfoHeader: permission bits, uid, gid, mtime truncated to the second; the link's
    target);
    Go io/fs FileMode (ModeDir is 1 << 31).
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/pkg/archive/archive.go
    """
    into, mounts = _storage(where, resources, tmp_path)
    ops: list[Op] = [
        ("mkdir", f"{into}/d", "0750"),
        ("write", f"{into}/d/f", "O_WRONLY|O_CREAT", "0640", b"copied".hex()),
        ("symlink", "f", f"{into}/d/l"),
        ("lchown", f"{into}/d/l", "1234", "5678"),
        ("chown", f"{into}/d/f", "1234", "5678"),
        ("utimes", f"{into}/d/f", "1000000000", "1234567890"),
        ("chown", f"{into}/d", "1234", "5678"),
        ("utimes", f"{into}/d", "1000000000", "1111111111"),
    ]
    container = resources.container(probe_client.command(ops), start=False, mounts=mounts)
    made = _run_to_end(container, ops)
    assert [op.errno for op in made] == [None] * len(ops), made
    stream, stat = container.get_archive(f"{into}/d")
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream)), mode="r:") as tar:
        entries = {
            m.name: (m.type, stat_module.S_IMODE(m.mode), m.uid, m.gid, int(m.mtime), m.linkname)
            for m in tar.getmembers()
        }
        content = tar.extractfile("d/f")
        assert content is not None
        data = content.read()
    assert entries["d"] == (tarfile.DIRTYPE, 0o750, 1234, 5678, 1111111111, "")
    assert entries["d/f"] == (tarfile.REGTYPE, 0o640, 1234, 5678, 1234567890, "")
    assert entries["d/l"][:4] == (tarfile.SYMTYPE, 0o777, 1234, 5678)
    assert (entries["d/l"][5], data, sorted(entries)) == ("f", b"copied", ["d", "d/f", "d/l"])
    assert stat is not None
    assert (stat["name"], stat["mode"]) == ("d", (1 << 31) | 0o750)


def test_archive_of_a_missing_path_is_not_found(resources: ResourceScope) -> None:
    """GET /containers/{id}/archive of a path that does not exist answers 404.

    Source: Engine API ContainerArchive responses ("404 Container or path does not
    exist").
    Level: MUST, https://docs.docker.com/reference/api/engine/version/v1.41/
    """
    container = resources.container(start=False)
    with pytest.raises(docker.errors.NotFound) as refused:
        container.get_archive(f"/{uuid.uuid4().hex}")
    assert refused.value.status_code == 404
