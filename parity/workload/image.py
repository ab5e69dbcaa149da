"""The workload image: the same bits on every target, built here without any registry.

The image is written directly in the ``docker save`` archive format with fixed
timestamps and owners, so its config digest, and hence its image id, depends only on
the probe's source, the busybox binary and this layout. Any engine that loads the
archive (Linux, a VM, Windows with LCOW) reports the same id. The tag is derived from
the same inputs, so a warm run finds the image and rebuilds nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import docker
import docker.errors
from filelock import FileLock

ROOT = Path(__file__).resolve().parents[2]
PROBE_FOLDER = ROOT / "probe"  # the probe's C sources (*.c) and headers (*.h)
CACHE = Path(os.environ.get("PARITY_CACHE", ROOT / ".cache"))
REPOSITORY = "parity-workload"
PROBE_PATH = "/usr/local/bin/probe"
# Bump when the layout below changes: it is part of the content hash.
LAYOUT_VERSION = "1"

# Docker architecture names -> zig target triples (static musl builds).
ZIG_TARGETS = {"amd64": "x86_64-linux-musl", "arm64": "aarch64-linux-musl"}
# Engine /info Architecture values (uname -m style) -> Docker architecture names.
ARCH_ALIASES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}

# Users and groups the checks refer to (--user parity, supplementary group parity-extra).
PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "parity:x:1000:1000:parity:/home/parity:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
)
GROUP = "root:x:0:\nparity:x:1000:\nparity-extra:x:2000:parity\nnobody:x:65534:\n"


class WorkloadError(Exception):
    """The workload cannot be built or loaded; the message says what to do."""


def docker_arch(engine_architecture: str) -> str:
    try:
        return ARCH_ALIASES[engine_architecture.lower()]
    except KeyError:
        raise WorkloadError(
            f"no workload build for architecture {engine_architecture!r} "
            f"(supported: {', '.join(sorted(set(ARCH_ALIASES.values())))})"
        ) from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def busybox_binary(arch: str) -> Path:
    """A statically linked busybox for ``arch``: Debian's busybox-static on this machine,
    or ``$PARITY_BUSYBOX_<ARCH>`` (e.g. one taken from busybox-static:arm64)."""
    override = os.environ.get(f"PARITY_BUSYBOX_{arch.upper()}")
    if override:
        path = Path(override)
    elif arch == host_arch():
        path = Path("/bin/busybox")
    else:
        raise WorkloadError(
            f"no busybox for {arch}: set PARITY_BUSYBOX_{arch.upper()} to a static busybox "
            f"binary for {arch} (Debian: busybox-static:{arch})"
        )
    if not path.is_file():
        raise WorkloadError(f"{path} not found: install Debian's busybox-static")
    if not _is_static_elf(path.read_bytes()):
        raise WorkloadError(f"{path} is dynamically linked: install Debian's busybox-static, not busybox")
    return path


def host_arch() -> str:
    return ARCH_ALIASES.get(os.uname().machine, os.uname().machine)


def _is_static_elf(data: bytes) -> bool:
    """True for an ELF executable without a PT_INTERP program header (no dynamic loader)."""
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit only
        return False
    order: Literal["little", "big"] = "little" if data[5] == 1 else "big"
    phoff = int.from_bytes(data[0x20:0x28], order)
    phentsize = int.from_bytes(data[0x36:0x38], order)
    phnum = int.from_bytes(data[0x38:0x3A], order)
    for index in range(phnum):
        start = phoff + index * phentsize
        if int.from_bytes(data[start : start + 4], order) == 3:  # PT_INTERP
            return False
    return True


def probe_source() -> bytes:
    """The probe's sources (every *.c and *.h, by name), as one text to key caches by."""
    return b"".join(path.name.encode() + b"\0" + path.read_bytes() for path in sorted(PROBE_FOLDER.glob("*.[ch]")))


def build_probe(arch: str) -> Path:
    """Compile the probe for ``arch`` with zig (from PyPI); cached by source content."""
    sources = sorted(PROBE_FOLDER.glob("*.c"))
    source = probe_source()
    zig_version = _zig_version()
    key = _sha256(source + zig_version.encode() + arch.encode())[:16]
    out = CACHE / "probe" / f"probe-{arch}-{key}"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")  # concurrent builds (xdist workers) each write their own
    command = [
        sys.executable, "-m", "ziglang", "cc", "-target", ZIG_TARGETS[arch], "-static", "-O2",
        "-std=c11", "-Wall", "-Wextra", "-Werror", "-Wl,--build-id=none",
        "-I", str(PROBE_FOLDER), "-o", str(tmp), *map(str, sources),
    ]  # fmt: skip
    env = dict(os.environ, ZIG_GLOBAL_CACHE_DIR=str(CACHE / "zig"), ZIG_LOCAL_CACHE_DIR=str(CACHE / "zig"))
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
    if done.returncode != 0:
        raise WorkloadError(f"building the probe for {arch} failed:\n{done.stderr.strip()}")
    tmp.replace(out)
    return out


def _zig_version() -> str:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ziglang", "version"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        raise WorkloadError(f"zig is not usable ({exc}): pip install ziglang") from None
    return done.stdout.strip()


def _busybox_applets(busybox: Path, arch: str) -> list[str]:
    """Applet names, asked from the binary when it runs here, else from a cached list."""
    listing = CACHE / "busybox" / f"applets-{_sha256(busybox.read_bytes())[:16]}.txt"
    if listing.is_file():
        return listing.read_text().split()
    if arch != host_arch():
        raise WorkloadError(f"cannot list the applets of a {arch} busybox on this machine")
    done = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, timeout=30, check=True)
    applets = sorted(set(done.stdout.split()) - {"busybox"})
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text("\n".join(applets) + "\n")
    return applets


@dataclass(frozen=True)
class Workload:
    arch: str
    tag: str  # parity-workload:<content hash>
    image_id: str  # sha256:<config digest>, the same on every engine
    archive: Path  # a docker-save archive of the image


def build(arch: str) -> Workload:
    """Build (or find cached) the workload archive for ``arch``. Processes of one run
    (xdist workers) take turns, so the first builds and the others find the cache."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with FileLock(CACHE / f"build-{arch}.lock", timeout=900):
        return _build(arch)


def _build(arch: str) -> Workload:
    probe = build_probe(arch)
    busybox = busybox_binary(arch)
    probe_bytes, busybox_bytes = probe.read_bytes(), busybox.read_bytes()
    content = _sha256(LAYOUT_VERSION.encode() + probe_source() + _sha256(busybox_bytes).encode() + arch.encode())[:16]
    tag = f"{REPOSITORY}:{content}-{arch}"
    archive = CACHE / "workload" / f"{content}-{arch}.tar"
    meta = archive.with_suffix(".json")
    if archive.is_file() and meta.is_file():
        return Workload(arch, tag, json.loads(meta.read_text())["image_id"], archive)

    layer = _layer(probe_bytes, busybox_bytes, _busybox_applets(busybox, arch))
    diff_id = "sha256:" + _sha256(layer)
    config = {
        "architecture": arch,
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "Cmd": [PROBE_PATH, "idle"],
            "Env": ["PATH=/usr/local/bin:/bin"],
            "WorkingDir": "/",
            "Labels": {"org.opencontainers.image.title": "parity workload", "parity.workload": content},
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": f"parity workload layout {LAYOUT_VERSION}"}],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    image_id = "sha256:" + _sha256(config_bytes)
    manifest = [{"Config": f"{image_id[7:]}.json", "RepoTags": [tag], "Layers": [f"{diff_id[7:]}/layer.tar"]}]
    outer = io.BytesIO()
    with tarfile.open(fileobj=outer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        _add_dir(tar, diff_id[7:])
        _add_file(tar, f"{diff_id[7:]}/layer.tar", layer, 0o644)
        _add_file(tar, f"{image_id[7:]}.json", config_bytes, 0o644)
        _add_file(tar, "manifest.json", json.dumps(manifest).encode(), 0o644)
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.with_suffix(".tmp").write_bytes(outer.getvalue())
    archive.with_suffix(".tmp").replace(archive)
    meta.write_text(json.dumps({"image_id": image_id, "tag": tag}))
    return Workload(arch, tag, image_id, archive)


def _layer(probe: bytes, busybox: bytes, applets: list[str]) -> bytes:
    """The image's only layer: a tiny root filesystem, deterministic to the byte."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for folder, mode in [("bin", 0o755), ("dev", 0o755), ("etc", 0o755), ("home", 0o755),
                             ("proc", 0o555), ("root", 0o700), ("sys", 0o555), ("tmp", 0o1777),
                             ("usr", 0o755), ("usr/local", 0o755), ("usr/local/bin", 0o755),
                             ("var", 0o755)]:  # fmt: skip
            _add_dir(tar, folder, mode)
        _add_dir(tar, "home/parity", 0o755, uid=1000, gid=1000)
        _add_file(tar, "bin/busybox", busybox, 0o755)
        for applet in applets:
            _add_symlink(tar, f"bin/{applet}", "busybox")
        _add_file(tar, PROBE_PATH.lstrip("/"), probe, 0o755)
        _add_file(tar, "etc/passwd", PASSWD.encode(), 0o644)
        _add_file(tar, "etc/group", GROUP.encode(), 0o644)
    return buffer.getvalue()


def _info(name: str, kind: bytes, mode: int, uid: int = 0, gid: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.mtime = kind, mode, uid, gid, 0
    info.uname = info.gname = ""
    return info


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
    tar.addfile(_info(name, tarfile.DIRTYPE, mode, uid, gid))


def _add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = _info(name, tarfile.REGTYPE, mode)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _add_symlink(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = _info(name, tarfile.SYMTYPE, 0o777)
    info.linkname = target
    tar.addfile(info)


def ensure_loaded(client: docker.DockerClient, workload: Workload) -> str:
    """Load the workload into the engine unless it is there already; return its id."""
    try:
        if client.images.get(workload.tag).id == workload.image_id:
            return workload.image_id
    except docker.errors.ImageNotFound:
        pass
    with workload.archive.open("rb") as archive:
        loaded = client.images.load(archive.read())
    ids = {image.id for image in loaded if image.id}
    if workload.image_id not in ids:
        raise WorkloadError(
            f"the engine loaded {sorted(ids)} from {workload.archive.name}, expected {workload.image_id}"
        )
    return workload.image_id


ARCHIVE_ENV = "PARITY_WORKLOAD_ARCHIVE"


def from_archive(path: Path) -> Workload:
    """The workload as written by ``save``: read back from its archive, so a machine
    that cannot build it (a Windows agent: no zig target, no busybox) loads the same
    bits, and the image id is checked against the archive's own config digest."""
    try:
        with tarfile.open(path) as tar:
            manifest = json.loads(_member(tar, "manifest.json"))
            (entry,) = manifest
            config_bytes = _member(tar, entry["Config"])
    except (OSError, tarfile.TarError, ValueError, KeyError) as exc:
        raise WorkloadError(f"{path}: not a workload archive ({exc})") from None
    config = json.loads(config_bytes)
    tags = entry.get("RepoTags") or []
    if not tags or not str(tags[0]).startswith(f"{REPOSITORY}:"):
        raise WorkloadError(f"{path}: not a workload archive (tags {tags})")
    return Workload(str(config["architecture"]), str(tags[0]), "sha256:" + _sha256(config_bytes), path)


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.extractfile(name)
    if member is None:
        raise KeyError(name)
    return member.read()


def provide(arch: str) -> Workload:
    """The workload for ``arch``: from ``$PARITY_WORKLOAD_ARCHIVE`` when set (built by
    another job), else built here."""
    given = os.environ.get(ARCHIVE_ENV)
    if not given:
        return build(arch)
    workload = from_archive(Path(given))
    if workload.arch != arch:
        raise WorkloadError(f"{given} holds the {workload.arch} workload; the target needs {arch}")
    return workload
