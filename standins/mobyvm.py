#!/usr/bin/env python3
"""A Docker Desktop-style engine for the mobyvm target: dockerd inside a qemu VM.

Like Docker Desktop's LinuxKit VM, the engine runs in a VM with its own kernel (Debian's
linux-image-amd64), its API is forwarded to this machine (127.0.0.1 only), and a host
folder is shared into the guest over 9p at the same absolute path, so bind mounts of
host folders work unchanged. The guest's network is qemu user networking with
restrict=on: nothing it runs can leave this machine.

    python standins/mobyvm.py build            # the VM image (kernel + initramfs), cached by content
    python standins/mobyvm.py start [--port N] [--share DIR]
    python standins/mobyvm.py stop
    python standins/mobyvm.py status

It installs the Debian packages it needs. The run folder .cache/mobyvm/run-<port>/ holds
the qemu pid, the QMP socket and the guest console; the console of the last VM on a port
stays as .cache/mobyvm/run-<port>.console.log after it stops.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "mobyvm"

# Debian packages the image is made of and the VM runs on (ipxe-qemu: virtio-net's boot ROM).
PACKAGES = [
    "qemu-system-x86", "ipxe-qemu", "linux-image-amd64", "busybox-static", "docker.io", "iptables", "kmod",
    "cpio", "lz4", "e2fsprogs",
]  # fmt: skip
# What the guest needs: dockerd and what it starts, iptables for its bridge.
BINARIES = [
    "/usr/sbin/dockerd", "/usr/bin/containerd", "/usr/bin/containerd-shim-runc-v2", "/usr/sbin/runc",
    "/usr/sbin/docker-proxy", "/usr/bin/docker-init", "/usr/sbin/xtables-legacy-multi",
]  # fmt: skip
XTABLES = Path("/usr/lib/x86_64-linux-gnu/xtables")
IPTABLES_LINKS = ["iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"]
# The exit status of a start that found the VM running (parity.run.launch.ALREADY_UP; this
# program stands alone): a run that selected the target uses it and leaves it running.
ALREADY_UP = 3
# Kernel modules for virtio devices, the 9p share, overlay2 and Docker's bridge network.
MODULES = [
    "virtio_pci", "virtio_net", "virtio_rng", "9p", "9pnet_virtio", "overlay", "bridge", "br_netfilter", "veth",
    "ip_tables", "iptable_nat", "iptable_filter", "xt_MASQUERADE", "xt_addrtype", "xt_conntrack", "xt_nat",
    "xt_tcpudp", "xt_mark", "ipt_REJECT", "nf_conntrack_netlink", "virtio_blk", "ext4",
]  # fmt: skip

INIT = """#!/bin/sh
# parity mobyvm init. runc's pivot_root fails on the initramfs root itself, so the root
# is bind-mounted onto itself and moved over /, then init goes on in a chroot of it.
if [ ! -e /.moved ]; then
  mkdir -p /newroot && mount --bind / /newroot && touch /newroot/.moved
  cd /newroot && mount --move . / && exec chroot . /init
fi
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "parity: $(cut -d' ' -f1 /proc/uptime) s: loading modules"
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
# Docker's data on an ext4 disk, as in Desktop's VM (tmpfs lacks O_DIRECT and user xattrs).
mkdir -p /var/lib/docker && mount -t ext4 /dev/vda /var/lib/docker
echo "parity: $(cut -d' ' -f1 /proc/uptime) s: starting dockerd"
# dockerd is PID 1: Ctrl-Alt-Del (QMP send-key) sends it SIGINT and it shuts down cleanly.
# Warnings only: every line goes through the emulated serial console.
exec dockerd -H tcp://0.0.0.0:2375 --tls=false --data-root /var/lib/docker --log-level warn
"""


DISK_BYTES = 16 << 30  # sparse: only what the engine writes takes space
OS_RELEASE = 'NAME="parity mobyvm"\nID=parity-mobyvm\nPRETTY_NAME="parity mobyvm (Debian kernel {release})"\n'


def ensure_packages() -> None:
    """Install what is missing, once; a machine that has them all is not touched."""
    missing = [
        package
        for package in PACKAGES
        if "install ok installed"
        not in subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
        ).stdout
    ]
    if missing:
        print(f"standins/mobyvm.py: installing {' '.join(missing)}", file=sys.stderr)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            stdout=subprocess.DEVNULL,
        )


def kernel_release() -> str:
    releases = sorted(
        p.name for p in Path("/usr/lib/modules").iterdir() if (Path("/boot") / f"vmlinuz-{p.name}").exists()
    )
    if not releases:
        sys.exit("standins/mobyvm.py: no kernel: apt-get install linux-image-amd64")
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
    ensure_packages()
    release = kernel_release()
    inputs = [INIT, OS_RELEASE, release, *BINARIES, *MODULES, *(p.name for p in sorted(XTABLES.glob("*.so")))]
    for path in [f"/boot/vmlinuz-{release}", "/bin/busybox", *BINARIES]:
        inputs.append(hashlib.sha256(Path(path).read_bytes()).hexdigest())
    key = hashlib.sha256("\n".join(inputs).encode()).hexdigest()[:16]
    out = CACHE / key
    if (out / "initramfs.lz4").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(f"/boot/vmlinuz-{release}", out / "vmlinuz")
    files: dict[str, Path] = {"bin/busybox": Path("/bin/busybox")}
    for binary in BINARIES:
        files[binary.lstrip("/")] = Path(binary)
        for library in shared_libraries(binary):
            files[library.lstrip("/")] = Path(library)
    # iptables finds its match and target extensions (even "standard") as plugins here.
    for plugin in sorted(XTABLES.glob("*.so")):
        files[str(plugin).lstrip("/")] = plugin
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
        console = tarfile.TarInfo("dev/console")
        console.type, console.mode, console.devmajor, console.devminor = tarfile.CHRTYPE, 0o600, 5, 1
        tar.addfile(console)
        for folder in ("proc", "sys", "run", "tmp", "newroot", "etc", "sbin", "usr/bin", "usr/sbin"):
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
        for name, text, mode in [
            ("init", INIT, 0o755),
            ("etc/modules", "\n".join(MODULES) + "\n", 0o644),
            ("etc/os-release", OS_RELEASE.format(release=release), 0o644),  # dockerd's OperatingSystem
        ]:
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
    # lz4 (legacy frame, as the kernel reads it): unpacking under TCG is the cost, not size.
    subprocess.run(["lz4", "-l", "-1", "-q", "-f", "-", str(out / "initramfs.lz4")], input=cpio, check=True)
    shutil.rmtree(tree)
    return out


class VMError(Exception):
    """A VM that cannot be booted or stopped; str() says why, with the console's tail."""


def run_dir(port: int) -> Path:
    """A VM's pid file, QMP socket, console log and settings, keyed by its engine port."""
    return CACHE / f"run-{port}"


def recorded_pid(port: int) -> int | None:
    """The qemu pid recorded for this port, if that process still runs qemu."""
    try:
        pid = int((run_dir(port) / "pid").read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"qemu-system" in command else None


def engine_answers(port: int, timeout: float = 2.0) -> bool:
    """GET /_ping on the forwarded port answers OK."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(b"GET /_ping HTTP/1.0\r\nHost: parity\r\n\r\n")
            answer = b""
            while chunk := conn.recv(4096):
                answer += chunk
    except OSError:
        return False
    return answer.startswith(b"HTTP/1.") and answer.endswith(b"OK")


def console_tail(port: int, lines: int = 25) -> str:
    try:
        text = (run_dir(port) / "console.log").read_text(errors="replace")
    except OSError:
        return "(no console output)"
    tail = text.replace("\r", "").splitlines()[-lines:]
    return "\n".join(tail) if tail else "(the guest printed nothing)"


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        # as qemu's hostfwd does, so that connections in TIME_WAIT do not count as in use
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def qemu_command(image: Path, port: int, share: Path, memory_mib: int, cpus: int) -> list[str]:
    state = run_dir(port)
    return [
        "qemu-system-x86_64",
        # KVM is present but aborts on this kind of machine; TCG is slower and works.
        # -cx16: the one guest hang seen here had both vCPUs spinning in SLUB's
        # cmpxchg16b fast path under multi-threaded TCG; without cx16 SLUB locks instead.
        "-accel", "tcg,thread=multi", "-machine", "q35", "-cpu", "max,-cx16",
        "-smp", str(cpus), "-m", str(memory_mib),
        "-kernel", str(image / "vmlinuz"), "-initrd", str(image / "initramfs.lz4"),
        # mitigations=off: the guest runs only the project's own workloads, and Spectre-era
        # mitigations cost much under emulation. panic=-1 with -no-reboot: when dockerd
        # (PID 1) exits, qemu exits.
        "-append", f"console=ttyS0 parity.share={share} panic=-1 mitigations=off",
        "-display", "none", "-serial", f"file:{state / 'console.log'}", "-no-reboot",
        # restrict=on: the guest reaches nothing but the forwarded port; 127.0.0.1 only.
        "-netdev", f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:2375",
        "-device", "virtio-net-pci,netdev=n0",
        "-virtfs", f"local,path={share},mount_tag=parity,security_model=passthrough,id=share0",
        "-device", "virtio-rng-pci",
        "-drive", f"file={state / 'docker.img'},if=virtio,format=raw,cache=unsafe",
        "-qmp", f"unix:{state / 'qmp.sock'},server=on,wait=off",
        "-pidfile", str(state / "pid"), "-daemonize",
    ]  # fmt: skip


def start(port: int, share: Path, wait: float, memory_mib: int, cpus: int) -> tuple[str, bool]:
    """Boot the VM unless a healthy one runs on this port; a hung one is killed first.
    What happened, in one line, and whether this call booted it."""
    if recorded_pid(port) is not None:
        if engine_answers(port):
            return f"running: engine on tcp://127.0.0.1:{port} (pid {recorded_pid(port)})", False
        stop(port)  # hung or half-booted: no engine answer means it cannot be used
    if not port_is_free(port):
        raise VMError(f"127.0.0.1:{port} is in use by another program; choose another --port")
    if not share.is_dir():
        raise VMError(f"share {share}: no such folder")
    image = build()
    state = run_dir(port)
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    # A fresh, sparse disk per boot: no engine state survives from an earlier VM.
    with open(state / "docker.img", "wb") as disk:
        disk.truncate(DISK_BYTES)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "nodiscard", str(state / "docker.img")], check=True, timeout=120)
    began = time.monotonic()
    done = subprocess.run(
        qemu_command(image, port, share, memory_mib, cpus), capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise VMError(f"qemu did not start: {(done.stderr or done.stdout).strip()}")
    try:
        while not engine_answers(port):
            if recorded_pid(port) is None:
                raise VMError(f"the VM exited while booting; console:\n{console_tail(port)}")
            if time.monotonic() - began > wait:
                raise VMError(f"no engine on 127.0.0.1:{port} after {wait:g} s; console:\n{console_tail(port)}")
            time.sleep(1)
    except BaseException:  # also Ctrl-C and SIGTERM: never leave a half-booted VM
        stop(port)
        raise
    return (
        f"booted in {time.monotonic() - began:.0f} s: engine on tcp://127.0.0.1:{port} (pid {recorded_pid(port)})",
        True,
    )


def _qmp(port: int, command: dict[str, object], timeout: float) -> None:
    """One QMP command (after the handshake); errors are the caller's fallback cue."""
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(timeout)
        conn.connect(str(run_dir(port) / "qmp.sock"))
        replies = conn.makefile("rb")
        replies.readline()  # greeting
        for message in ({"execute": "qmp_capabilities"}, command):
            conn.sendall(json.dumps(message).encode() + b"\n")
            while b'"return"' not in (line := replies.readline()):
                if not line or b'"error"' in line:
                    raise OSError(f"QMP: {line!r}")


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.2)
    return not Path(f"/proc/{pid}").exists()


def stop(port: int, grace: float = 20) -> str:
    """Ctrl-Alt-Del (dockerd, PID 1, shuts down), then QMP quit, then SIGKILL of the
    recorded pid: a hung guest still goes."""
    pid = recorded_pid(port)
    if pid is None:
        _forget(port)
        return "not running"
    how = "shut down"
    keys = [{"type": "qcode", "data": key} for key in ("ctrl", "alt", "delete")]
    with contextlib.suppress(OSError):
        _qmp(port, {"execute": "send-key", "arguments": {"keys": keys}}, timeout=5)
    if not _wait_gone(pid, grace):
        how = "quit"
        with contextlib.suppress(OSError):
            _qmp(port, {"execute": "quit"}, timeout=5)
        if not _wait_gone(pid, 5):
            how = "killed"
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 5)
    _forget(port)
    return f"{how} (pid {pid})"


def _forget(port: int) -> None:
    """Remove the VM's run folder; its console log stays beside it for a post-mortem."""
    console = run_dir(port) / "console.log"
    if console.exists():
        console.replace(CACHE / f"run-{port}.console.log")
    shutil.rmtree(run_dir(port), ignore_errors=True)


def status(port: int) -> str:
    pid = recorded_pid(port)
    if pid is None:
        return "not running"
    state = "engine answers" if engine_answers(port) else "engine does not answer"
    return f"pid {pid}: {state} on tcp://127.0.0.1:{port}"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["build", "start", "stop", "status"])
    parser.add_argument("--port", type=int, default=23750, help="engine port on 127.0.0.1 (default 23750)")
    parser.add_argument("--share", type=Path, default=Path("/tmp"), help="host folder shared at the same path")
    parser.add_argument("--wait", type=float, default=420, help="seconds to wait for the engine at boot")
    parser.add_argument("--memory", type=int, default=3072, help="guest memory in MiB")
    parser.add_argument("--cpus", type=int, default=min(2, os.cpu_count() or 1), help="guest CPUs")
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if arguments.command == "build":
            print(build())
        elif arguments.command == "start":
            said, booted = start(
                arguments.port, arguments.share.resolve(), arguments.wait, arguments.memory, arguments.cpus
            )
            print(said)
            if not booted:
                sys.exit(ALREADY_UP)
        elif arguments.command == "stop":
            print(stop(arguments.port))
        else:
            print(status(arguments.port))
    except VMError as exc:
        sys.exit(f"standins/mobyvm.py {arguments.command}: {exc}")
    except KeyboardInterrupt:
        sys.exit(f"standins/mobyvm.py {arguments.command}: interrupted")


if __name__ == "__main__":
    os.umask(0o022)
    main()
