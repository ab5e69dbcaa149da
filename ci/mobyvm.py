"""A Docker Desktop-style engine for the mobyvm target: dockerd inside a qemu VM.

Like Docker Desktop's LinuxKit VM, the engine runs in a VM with its own kernel (Debian's
linux-image-amd64), its API is forwarded to this machine (127.0.0.1 only), and a host
folder is shared into the guest over 9p at the same absolute path, so bind mounts of
host folders work unchanged. The guest's network is qemu user networking with
restrict=on: nothing it runs can leave this machine.

    python ci/mobyvm.py build            # the VM image (kernel + initramfs), cached by content
    python ci/mobyvm.py start [--port N] [--share DIR]
    python ci/mobyvm.py stop

Work in progress for the mobyvm issue: build and boot first.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "mobyvm"

# What the guest needs: dockerd and what it starts, iptables for its bridge.
BINARIES = [
    "/usr/sbin/dockerd", "/usr/bin/containerd", "/usr/bin/containerd-shim-runc-v2", "/usr/sbin/runc",
    "/usr/sbin/docker-proxy", "/usr/bin/docker-init", "/usr/sbin/xtables-legacy-multi",
]  # fmt: skip
IPTABLES_LINKS = ["iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"]
# Kernel modules for virtio devices, the 9p share, overlay2 and Docker's bridge network.
MODULES = [
    "virtio_pci", "virtio_net", "virtio_rng", "9p", "9pnet_virtio", "overlay", "bridge", "br_netfilter", "veth",
    "ip_tables", "iptable_nat", "iptable_filter", "xt_MASQUERADE", "xt_addrtype", "xt_conntrack", "xt_nat",
    "xt_tcpudp", "xt_mark", "ipt_REJECT", "nf_conntrack_netlink",
]  # fmt: skip

INIT = """#!/bin/sh
# parity mobyvm init: move to a tmpfs root (runc's pivot_root fails on an initramfs).
if [ "$$" = 1 ] && [ ! -e /.switched ]; then
  mount -t proc proc /proc
  mount -t tmpfs -o size=2g tmpfs /newroot
  cp -a /bin /etc /lib /lib64 /usr /sbin /init /newroot/ 2>/dev/null
  mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/run /newroot/tmp /newroot/var/lib/docker /newroot/mnt
  touch /newroot/.switched
  umount /proc
  exec switch_root /newroot /init
fi
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
for module in $(cat /etc/modules); do modprobe "$module"; done
hostname parity-mobyvm
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
share=$(sed -n 's/.*parity.share=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
if [ -n "$share" ]; then
  mkdir -p "$share"
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 parity "$share"
fi
echo "parity: starting dockerd"
exec dockerd -H tcp://0.0.0.0:2375 --tls=false --data-root /var/lib/docker
"""


def kernel_release() -> str:
    releases = sorted(
        p.name for p in Path("/usr/lib/modules").iterdir() if (Path("/boot") / f"vmlinuz-{p.name}").exists()
    )
    if not releases:
        sys.exit("ci/mobyvm.py: no kernel: apt-get install linux-image-amd64")
    return releases[-1]


def shared_libraries(binary: str) -> list[str]:
    done = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False)
    libraries = []
    for line in done.stdout.splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
        if path.startswith("/"):
            libraries.append(path)
    return libraries


def module_files(release: str) -> list[str]:
    """The modules and everything they depend on, in load order (modprobe's own answer)."""
    files: list[str] = []
    for module in MODULES:
        done = subprocess.run(
            ["modprobe", "-S", release, "--show-depends", module], capture_output=True, text=True, check=True
        )
        for line in done.stdout.splitlines():
            if line.startswith("insmod ") and line.split()[1] not in files:
                files.append(line.split()[1])
    return files


def build() -> Path:
    """Kernel and initramfs under .cache/mobyvm/<hash>/; a second build reuses them."""
    release = kernel_release()
    inputs = [INIT, release, *BINARIES, *MODULES]
    for path in [f"/boot/vmlinuz-{release}", "/bin/busybox", *BINARIES]:
        inputs.append(hashlib.sha256(Path(path).read_bytes()).hexdigest())
    key = hashlib.sha256("\n".join(inputs).encode()).hexdigest()[:16]
    out = CACHE / key
    if (out / "initramfs.gz").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(f"/boot/vmlinuz-{release}", out / "vmlinuz")
    files: dict[str, Path] = {"bin/busybox": Path("/bin/busybox")}
    for binary in BINARIES:
        files[binary.lstrip("/")] = Path(binary)
        for library in shared_libraries(binary):
            files[library.lstrip("/")] = Path(library)
    modules = module_files(release)
    # Debian's /lib is /usr/lib; the guest has no such link, and modprobe reads /lib/modules.
    for module in modules:
        files["lib/" + module.split("/lib/", 1)[1]] = Path(module)
    for name in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        source = Path(f"/usr/lib/modules/{release}/{name}")
        if source.exists():
            files[f"lib/modules/{release}/{name}"] = source
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for folder in ("proc", "sys", "dev", "run", "tmp", "newroot", "etc", "sbin", "usr/bin", "usr/sbin"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, source in sorted(files.items()):
            tar.add(str(source.resolve()), arcname=name)
        applets = subprocess.run(
            ["/bin/busybox", "--list-full"], capture_output=True, text=True, check=True
        ).stdout.split()
        for applet in applets:
            if applet.lstrip("/") not in files:
                link = tarfile.TarInfo(applet)
                link.type, link.linkname = tarfile.SYMTYPE, "/bin/busybox"
                tar.addfile(link)
        for name in IPTABLES_LINKS:
            link = tarfile.TarInfo(f"usr/sbin/{name}")
            link.type, link.linkname = tarfile.SYMTYPE, "/usr/sbin/xtables-legacy-multi"
            tar.addfile(link)
        for name, text, mode in [("init", INIT, 0o755), ("etc/modules", "\n".join(MODULES) + "\n", 0o644)]:
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    # depmod needs the tree on disk; unpack, index, and pack as a newc cpio.
    tree = out / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir()
    archive.seek(0)
    with tarfile.open(fileobj=archive) as tar:
        tar.extractall(tree, filter="fully_trusted")
    subprocess.run(["depmod", "-b", str(tree), release], check=True)
    cpio = subprocess.run(
        "find . | cpio -o -H newc --quiet", shell=True, cwd=tree, capture_output=True, check=True
    ).stdout
    (out / "initramfs.gz").write_bytes(gzip.compress(cpio, compresslevel=1))
    shutil.rmtree(tree)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["build"])
    arguments = parser.parse_args()
    if arguments.command == "build":
        print(build())


if __name__ == "__main__":
    os.umask(0o022)
    main()
