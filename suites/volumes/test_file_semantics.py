"""POSIX file semantics on each kind of storage: bind mount, named volume, tmpfs, rootfs."""

from __future__ import annotations

import functools

import pytest

from suites.volumes.conftest import Mounts


def test_chmod_persists(mounts: Mounts, kind: str) -> None:
    """chmod sets exactly the requested permission bits, as a later stat shows.

    Source: chmod(2), stat(2).
    Level: MUST, https://man7.org/linux/man-pages/man2/chmod.2.html
    """
    path = mounts.folder(kind) + "/file"
    _, _, stat = mounts.probe(("write", path, "O_WRONLY|O_CREAT", "0644", ""), ("chmod", path, "0640"), ("stat", path))
    assert stat["perm"] == 0o640


def test_setuid_and_setgid_bits_persist(mounts: Mounts, kind: str) -> None:
    """root can set the setuid, setgid and sticky bits, and they are kept.

    Source: chmod(2) (S_ISUID, S_ISGID, S_ISVTX); inode(7).
    Level: MUST, https://man7.org/linux/man-pages/man2/chmod.2.html
    """
    path = mounts.folder(kind) + "/file"
    _, _, stat = mounts.probe(("write", path, "O_WRONLY|O_CREAT", "0644", ""), ("chmod", path, "07755"), ("stat", path))
    assert stat["perm"] == 0o7755


def test_chown_persists(mounts: Mounts, kind: str) -> None:
    """chown by root (CAP_CHOWN) sets the owner and group exactly.

    Source: chown(2); Docker default capabilities include CHOWN.
    Level: SHOULD, https://docs.docker.com/engine/containers/run/#runtime-privilege-and-linux-capabilities
    """
    path = mounts.folder(kind) + "/file"
    _, _, stat = mounts.probe(
        ("write", path, "O_WRONLY|O_CREAT", "0644", ""), ("chown", path, "1000", "2000"), ("stat", path)
    )
    assert (stat["uid"], stat["gid"]) == (1000, 2000)


def test_utimes_sets_access_and_modification_times(mounts: Mounts, kind: str) -> None:
    """utimensat sets atime and mtime to the exact second given.

    Source: utimensat(2), inode(7) (st_atim, st_mtim).
    Level: MUST, https://man7.org/linux/man-pages/man2/utimensat.2.html
    """
    path = mounts.folder(kind) + "/file"
    _, _, stat = mounts.probe(
        ("write", path, "O_WRONLY|O_CREAT", "0644", ""), ("utimes", path, "1000000000", "1234567890"), ("stat", path)
    )
    assert (stat["atime_ns"], stat["mtime_ns"]) == (1000000000 * 10**9, 1234567890 * 10**9)


def test_symlink_and_readlink(mounts: Mounts, kind: str) -> None:
    """A symlink keeps its target text byte for byte and resolves to the target's content.

    Source: symlink(2), readlink(2), path_resolution(7).
    Level: MUST, https://man7.org/linux/man-pages/man2/symlink.2.html
    """
    folder = mounts.folder(kind)
    _, _, link, content, lstat = mounts.probe(
        ("write", f"{folder}/real", "O_WRONLY|O_CREAT", "0644", b"through the link".hex()),
        ("symlink", "real", f"{folder}/link"),
        ("readlink", f"{folder}/link"),
        ("read", f"{folder}/link"),
        ("lstat", f"{folder}/link"),
    )
    assert (link["target"], content["data"], lstat["type"]) == ("real", "through the link", "lnk")


def test_hard_link_counts_and_shares_the_inode(mounts: Mounts, kind: str) -> None:
    """After link(2), both names have st_nlink 2 and the same inode.

    Source: link(2), inode(7) (st_nlink).
    Level: MUST, https://man7.org/linux/man-pages/man2/link.2.html
    """
    folder = mounts.folder(kind)
    _, _, first, second = mounts.probe(
        ("write", f"{folder}/a", "O_WRONLY|O_CREAT", "0644", "00"),
        ("link", f"{folder}/a", f"{folder}/b"),
        ("stat", f"{folder}/a"),
        ("stat", f"{folder}/b"),
    )
    assert (first["nlink"], second["nlink"], first["ino"]) == (2, 2, second["ino"])


def test_mkfifo(mounts: Mounts, kind: str) -> None:
    """mkfifo creates a FIFO with the requested mode (umask 022 leaves 0640 intact).

    Source: mkfifo(3), fifo(7); Docker's default umask 0022.
    Level: MUST, https://man7.org/linux/man-pages/man3/mkfifo.3.html
    """
    path = mounts.folder(kind) + "/fifo"
    made, stat = mounts.probe(("mkfifo", path, "0640"), ("stat", path))
    assert (made.ok, made.errno, stat.get("type"), stat.get("perm")) == (True, None, "fifo", 0o640), (made, stat)


def test_mknod_character_device(mounts: Mounts, kind: str) -> None:
    """mknod with CAP_MKNOD creates a character device with the given major and minor.

    Source: mknod(2); Docker default capabilities include MKNOD.
    Level: SHOULD, https://docs.docker.com/engine/containers/run/#runtime-privilege-and-linux-capabilities
    """
    path = mounts.folder(kind) + "/null"
    made, stat = mounts.probe(("mknod", path, "c", "1", "3", "0600"), ("stat", path))
    assert (made.ok, made.errno, stat.get("type"), stat.get("rdev_major"), stat.get("rdev_minor")) == (
        True, None, "chr", 1, 3,
    ), (made, stat)  # fmt: skip


def test_unix_socket(mounts: Mounts, kind: str) -> None:
    """A unix socket can be bound on the storage, accepts a connection, and stats as a socket.

    Source: unix(7) (pathname sockets), bind(2).
    Level: MUST, https://man7.org/linux/man-pages/man7/unix.7.html
    """
    observed = mounts.probe.one("unix-socket", mounts.folder(kind) + "/sock")
    assert (observed.ok, observed.errno, observed.get("received"), observed.get("stat_type")) == (
        True, None, "ping", "sock",
    ), observed  # fmt: skip


def test_flock_excludes_a_second_holder(mounts: Mounts, kind: str) -> None:
    """flock(LOCK_EX|LOCK_NB) by a second open file description fails with EWOULDBLOCK
    (EAGAIN) while the first holds the lock, and succeeds once it is released.

    Source: flock(2).
    Level: MUST, https://man7.org/linux/man-pages/man2/flock.2.html
    """
    observed = mounts.probe.one("flock-contend", mounts.folder(kind) + "/lock")
    assert (observed["holder"], observed["contender"], observed["after_release"]) == (
        {"ok": True}, {"ok": False, "errno": "EAGAIN"}, {"ok": True},
    )  # fmt: skip


def test_fcntl_record_lock_excludes_another_process(mounts: Mounts, kind: str) -> None:
    """A POSIX write lock held by one process makes F_SETLK in another fail with EAGAIN,
    and F_GETLK there reports the holder's pid.

    Source: fcntl(2), "Advisory record locking" (F_SETLK: EACCES or EAGAIN; Linux uses EAGAIN).
    Level: MUST, https://man7.org/linux/man-pages/man2/fcntl.2.html
    """
    observed = mounts.probe.one("fcntl-contend", mounts.folder(kind) + "/lock")
    assert observed["contender"] == {"ok": False, "errno": "EAGAIN"}
    assert observed["getlk"] == {"type": "F_WRLCK", "pid": observed["holder_pid"]}
    assert observed["after_release"] == {"ok": True}


def test_open_file_description_locks_conflict(mounts: Mounts, kind: str) -> None:
    """OFD locks of two open file descriptions conflict even within one process;
    F_OFD_GETLK reports pid -1.

    Source: fcntl(2), "Open file description locks (non-POSIX)".
    Level: MUST, https://man7.org/linux/man-pages/man2/fcntl.2.html
    """
    observed = mounts.probe.one("ofd-contend", mounts.folder(kind) + "/lock")
    assert observed["contender"] == {"ok": False, "errno": "EAGAIN"}
    assert observed["getlk"] == {"type": "F_WRLCK", "pid": -1}


def test_o_append_writes_at_the_end(mounts: Mounts, kind: str) -> None:
    """With O_APPEND every write goes to the end of the file.

    Source: open(2) O_APPEND ("the file offset is positioned at the end of the file").
    Level: MUST, https://man7.org/linux/man-pages/man2/open.2.html
    """
    path = mounts.folder(kind) + "/log"
    _, appended, content = mounts.probe(
        ("write", path, "O_WRONLY|O_CREAT", "0644", b"first,".hex()),
        ("write", path, "O_WRONLY|O_APPEND", "0644", b"second".hex()),
        ("read", path),
    )
    assert (appended["offset"], content["data"]) == (12, "first,second")


def test_o_excl_refuses_an_existing_file(mounts: Mounts, kind: str) -> None:
    """O_CREAT|O_EXCL on an existing name fails with EEXIST.

    Source: open(2) O_EXCL, EEXIST.
    Level: MUST, https://man7.org/linux/man-pages/man2/open.2.html
    """
    path = mounts.folder(kind) + "/file"
    _, again = mounts.probe(
        ("open", path, "O_WRONLY|O_CREAT|O_EXCL", "0644"), ("open", path, "O_WRONLY|O_CREAT|O_EXCL", "0644")
    )
    assert (again.ok, again.errno) == (False, "EEXIST")


def test_o_trunc_empties_the_file(mounts: Mounts, kind: str) -> None:
    """O_TRUNC on a regular file opened for writing truncates it to length 0.

    Source: open(2) O_TRUNC.
    Level: MUST, https://man7.org/linux/man-pages/man2/open.2.html
    """
    path = mounts.folder(kind) + "/file"
    _, _, stat = mounts.probe(
        ("write", path, "O_WRONLY|O_CREAT", "0644", "ff" * 100), ("open", path, "O_WRONLY|O_TRUNC", "0"), ("stat", path)
    )
    assert stat["size"] == 0


@pytest.mark.since(
    "kernel",
    "6.6",
    "Linux 6.6: 'tmpfs: trivial support for direct IO'; before it open(2) O_DIRECT fails with EINVAL",
    params={"kind": "tmpfs"},
)
def test_o_direct_round_trip(mounts: Mounts, kind: str) -> None:
    """An aligned 4 KiB block written with O_DIRECT reads back identical.

    Source: open(2) O_DIRECT (aligned buffers, offsets and lengths); tmpfs accepts
    O_DIRECT since Linux 6.6 (commit "tmpfs: trivial support for direct IO").
    Level: MUST, https://man7.org/linux/man-pages/man2/open.2.html
    """
    observed = mounts.probe.one("odirect", mounts.folder(kind) + "/direct")
    assert (observed.ok, observed.errno, observed.get("match")) == (True, None, True), observed


@pytest.mark.since(
    "kernel",
    "6.6",
    "Linux 6.6: 'tmpfs,xattr: enable limited user extended attributes' (tmpfs(5))",
    params={"kind": "tmpfs"},
)
def test_user_xattrs(mounts: Mounts, kind: str) -> None:
    """user.* extended attributes can be set, read back and listed.

    Source: xattr(7) (user namespace), setxattr(2), getxattr(2), listxattr(2); tmpfs has
    user.* attributes since Linux 6.6 (Documentation/filesystems/tmpfs.rst).
    Level: MUST, https://man7.org/linux/man-pages/man7/xattr.7.html
    """
    path = mounts.folder(kind) + "/file"
    _, _, value, names = mounts.probe(
        ("write", path, "O_WRONLY|O_CREAT", "0644", ""),
        ("xattr-set", path, "user.parity", "value-1"),
        ("xattr-get", path, "user.parity"),
        ("xattr-list", path),
    )
    assert (value.errno, value.get("value"), names.get("names")) == (None, "value-1", ["user.parity"]), (value, names)


def test_names_are_case_sensitive(mounts: Mounts, kind: str) -> None:
    """ "Parity" and "parity" are two different files.

    Source: path_resolution(7) (Linux file names are byte strings; no case folding).
    Level: MUST, https://man7.org/linux/man-pages/man7/path_resolution.7.html
    """
    folder = mounts.folder(kind)
    *_, listing = mounts.probe(
        ("write", f"{folder}/Parity", "O_WRONLY|O_CREAT", "0644", "41"),
        ("write", f"{folder}/parity", "O_WRONLY|O_CREAT", "0644", "61"),
        ("readdir", folder),
    )
    assert listing["names"] == ["Parity", "parity"]


def test_unicode_names_are_kept_byte_for_byte(mounts: Mounts, kind: str) -> None:
    """A UTF-8 name (NFD e + combining acute, CJK) is stored and listed byte for byte.

    Source: path_resolution(7) (names are byte strings); no normalisation on Linux.
    Level: MUST, https://man7.org/linux/man-pages/man7/path_resolution.7.html
    """
    folder = mounts.folder(kind)
    name = "cafe\u0301-\u540d\u524d"  # exec passes arguments as UTF-8
    _, listing = mounts.probe(("open", f"{folder}/{name}", "O_WRONLY|O_CREAT", "0644"), ("readdir", folder))
    assert [entry.encode("latin-1") for entry in listing["names"]] == [name.encode()]


def test_name_length_limit_is_255_bytes(mounts: Mounts, kind: str) -> None:
    """A 255-byte name can be created; a 256-byte one fails with ENAMETOOLONG.

    Source: open(2) ENAMETOOLONG; NAME_MAX = 255 (limits.h).
    Level: MUST, https://man7.org/linux/man-pages/man2/open.2.html
    """
    folder = mounts.folder(kind)
    longest, too_long = mounts.probe(
        ("open", f"{folder}/{'n' * 255}", "O_WRONLY|O_CREAT", "0644"),
        ("open", f"{folder}/{'n' * 256}", "O_WRONLY|O_CREAT", "0644"),
    )
    assert (longest.ok, too_long.ok, too_long.errno) == (True, False, "ENAMETOOLONG")


def test_sparse_file_allocates_only_what_was_written(mounts: Mounts, kind: str) -> None:
    """One byte written at offset 1 GiB gives size 1 GiB + 1 with at most one block allocated.

    Source: lseek(2) ("holes ... do not occupy disk space"); stat(2) st_blocks (512-byte units).
    Level: MUST, https://man7.org/linux/man-pages/man2/lseek.2.html
    """
    observed = mounts.probe.one("sparse", mounts.folder(kind) + "/sparse", str(1 << 30))
    assert observed["size"] == (1 << 30) + 1
    assert observed["blocks"] * 512 <= 4096


FNV_PRIME, FNV_MASK = 0x100000001B3, 0xFFFFFFFFFFFFFFFF


@functools.cache  # a pure function of its arguments: the 3 MiB file's digest is the same for every kind
def fnv1a64(length: int, hole: int = 0) -> str:
    """FNV-1a 64 of what the probe's `fill` leaves in a new file written at offset `hole`:
    `hole` zero bytes, then `length` bytes where the byte at file offset o is o % 251."""
    # xor with a zero byte changes nothing, so the hole multiplies by the prime `hole` times
    value = (0xCBF29CE484222325 * pow(FNV_PRIME, hole, FNV_MASK + 1)) & FNV_MASK
    for position in range(hole, hole + length):
        value = ((value ^ (position % 251)) * FNV_PRIME) & FNV_MASK
    return f"{value:016x}"


def test_large_file_content_is_exact(mounts: Mounts, kind: str) -> None:
    """A 3 MiB file written in 1 MiB chunks reads back with the same FNV-1a digest.

    Source: write(2), read(2) (a regular file stores exactly the bytes written).
    Level: MUST, https://man7.org/linux/man-pages/man2/write.2.html
    """
    path = mounts.folder(kind) + "/large"
    length = 3 * 1024 * 1024 + 7
    written, summed = mounts.probe(("fill", path, "0", str(length)), ("checksum", path))
    assert (written["written"], summed["size"], summed["fnv1a64"]) == (length, length, fnv1a64(length))


def test_fsync_and_fdatasync_succeed(mounts: Mounts, kind: str) -> None:
    """fsync and fdatasync on a regular file return 0.

    Source: fsync(2) (EINVAL only for special files that do not support synchronisation).
    Level: MUST, https://man7.org/linux/man-pages/man2/fsync.2.html
    """
    path = mounts.folder(kind) + "/synced"
    _, synced = mounts.probe(("write", path, "O_WRONLY|O_CREAT", "0644", "00"), ("fsync", path))
    assert (synced.ok, synced.errno) == (True, None)


def test_shared_mmap_writes_are_seen_by_another_process(mounts: Mounts, kind: str) -> None:
    """Writes through a MAP_SHARED mapping are seen by read(2) and by another process's
    mapping of the same file.

    Source: mmap(2) MAP_SHARED ("updates to the mapping are visible to other processes
    mapping the same region").
    Level: MUST, https://man7.org/linux/man-pages/man2/mmap.2.html
    """
    observed = mounts.probe.one("mmap-shared", mounts.folder(kind) + "/mapped")
    assert (observed.errno, observed.get("read_match"), observed.get("child_match")) == (None, True, True), observed


@pytest.mark.parametrize("mode", ["0700", "0750", "01777", "02775"])
def test_mkdir_mode(mounts: Mounts, kind: str, mode: str) -> None:
    """mkdir creates a folder with mode & ~umask & 01777: Linux honours the sticky bit
    of mode but not setgid (a folder inherits setgid from its parent only).

    Source: mkdir(2) ("whether other mode bits are honored for the created directory
    depends on the operating system. For Linux, see NOTES": only S_ISVTX); umask 0022.
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/cmd/dockerd/daemon_unix.go
    """
    path = mounts.folder(kind) + "/sub"
    _, stat = mounts.probe(("mkdir", path, mode), ("stat", path))
    assert (stat["type"], stat["perm"]) == ("dir", int(mode, 8) & ~0o022 & 0o1777)
