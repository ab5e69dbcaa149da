#!/usr/bin/env python3
"""A Docker Desktop-style engine for the mobyvm target: dockerd inside a qemu VM.

Like Docker Desktop's LinuxKit VM, the engine runs in a VM with its own kernel (Debian's
linux-image-amd64), its API is forwarded to this machine (127.0.0.1 only), and a host
folder is shared into the guest at the same absolute path, so bind mounts of host
folders work unchanged. The guest's network is qemu user networking with restrict=on:
nothing it runs can leave this machine.

    python standins/mobyvm.py build            # the VM image (kernel + initramfs), cached by content
    python standins/mobyvm.py start [--port N] [--share DIR] [--share-mode 9p|smb]
    python standins/mobyvm.py stop
    python standins/mobyvm.py status

--share-mode says how the folder reaches the guest:
  9p   (the default) virtio 9p (qemu -virtfs), as Docker Desktop on WSL2 and LCOW's
       utility VMs share host folders.
  smb  SMB 3.02 and the kernel's cifs client, as Docker for Windows's Hyper-V Moby VM
       shared drives (Docker for Windows 1.12 to Desktop 2.x, before WSL2 and gRPC-FUSE):
       the Windows host served the drive over SMB on its Hyper-V switch and the VM mounted
       it with `mount -t cifs`. Here this machine's own smbd (Debian's samba) serves the
       folder, on 127.0.0.1 only, configured like a Windows share (case-insensitive names,
       no UNIX extensions, the client's user writes as the owner: root here); qemu
       forwards the guest's 10.0.2.100:445 to it; the guest mounts it with the options
       Docker for Windows used, as its logs quote them in docker/for-win issues #1125,
       #2067, #2717 and #4070 (CIFS_OPTIONS in standins/mobyvm.py).

It installs the Debian packages it needs. The run folder .cache/mobyvm/run-<port>/ holds
the qemu pid, the QMP socket and the guest console, and in smb mode smbd's pid, smb.conf,
password database, state and log; the console of the last VM on a port stays as
.cache/mobyvm/run-<port>.console.log after it stops (with what the guest printed when
asked for its stacks, where its engine did not answer at the stop), and smbd's log as
run-<port>.smbd.log.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "mobyvm"

# Debian packages the image is made of and the VM runs on (ipxe-qemu: virtio-net's boot ROM;
# samba: smbd for --share-mode smb).
PACKAGES = [
    "qemu-system-x86", "ipxe-qemu", "linux-image-amd64", "busybox-static", "docker.io", "iptables", "kmod",
    "cpio", "lz4", "e2fsprogs", "samba",
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
# Loaded in smb mode only: the cifs client, and what it asks the crypto API for (its
# softdeps, which modprobe --show-depends does not follow: cmac for SMB3 signing, ccm/gcm
# with ctr and ghash for SMB3 encryption, sha512 for 3.1.1's preauth hash, ecb; md5, hmac,
# sha256 and aes are built in), nls_utf8 for iocharset=utf8, and qemu_fw_cfg, which hands
# the guest smbd's password without putting it on a command line.
SMB_MODULES = [
    "nls_utf8", "cmac", "ecb", "ctr", "ccm", "ghash_generic", "gcm", "sha512_generic", "qemu_fw_cfg", "cifs",
]  # fmt: skip
SHARE_MODES = ("9p", "smb")
# smb mode: the guest reaches smbd at this address of qemu's user network (a guestfwd rule;
# the address is free in slirp's 10.0.2.0/24), as Docker for Windows's VM reached the
# Windows host at 10.0.75.1 on its DockerNAT switch.
SMB_GUEST_ADDRESS = "10.0.2.100"
SMB_SHARE = "parity"
SMB_USER = "root"  # the share's one user: smbd writes as root, so every file is writable
SMB_DOMAIN = "PARITYHOST"  # a Windows local account's domain is the computer's name
FW_CFG_PASSWORD = "opt/parity/smb-password"
# The guest's mount options: Docker for Windows's shared drives, as its logs quote the
# kernel options mount.cifs passed (docker/for-win #2717 and #4070, Desktop 2.0, 2018-19:
# "ip=10.0.75.1,unc=\\10.0.75.1\C,noperm,iocharset=utf8,dir_mode=0777,nobrl,mfsymlinks,
# vers=3.02,sec=ntlmsspi,user=...,domain=...,pass=..."; in 17.06, #1125: "noperm,iocharset=
# utf8,nobrl,mfsymlinks,vers=3.02,domain=..."), with this VM's address, share and user.
# busybox mount has no mount.cifs helper: ip= and unc= are the kernel's own options; the
# guest adds pass= from fw_cfg.
CIFS_OPTIONS = (
    f"ip={SMB_GUEST_ADDRESS},unc=\\\\{SMB_GUEST_ADDRESS}\\{SMB_SHARE},noperm,iocharset=utf8,dir_mode=0777,"
    f"nobrl,mfsymlinks,vers=3.02,sec=ntlmsspi,user={SMB_USER},domain={SMB_DOMAIN}"
)

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
# For a post-mortem of a hung guest: a task blocked for 30 s prints its stack on the
# console, and stop asks for the blocked tasks' and CPUs' (SysRq w, l) when the engine
# does not answer.
echo 30 > /proc/sys/kernel/hung_task_timeout_secs
echo 1 > /proc/sys/kernel/sysrq
echo "parity: $(cut -d' ' -f1 /proc/uptime) s: loading modules"
for module in $(cat /etc/modules); do modprobe "$module"; done
hostname parity-mobyvm
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
share=$(sed -n 's/.*parity.share=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
if [ -n "$share" ] && grep -q ' parity.sharemode=smb ' /proc/cmdline; then
  # SMB, as Docker for Windows's VM mounted shared drives: the host's smbd through qemu's
  # guestfwd, the password from fw_cfg (then the module goes, and the password with it).
  echo "parity: $(cut -d' ' -f1 /proc/uptime) s: mounting the SMB share"
  for module in $(cat /etc/modules-smb); do modprobe "$module"; done
  mkdir -p "$share"
  pass=$(cat /sys/firmware/qemu_fw_cfg/by_name/opt/parity/smb-password/raw)
  rmmod qemu_fw_cfg
  tries=0
  until mount -t cifs -o "$(cat /etc/cifs-options),pass=$pass" "//10.0.2.100/parity" "$share"; do
    tries=$((tries + 1))
    # no share, no engine: the VM powers off, and start shows this console's tail
    [ "$tries" -lt 5 ] || { echo "parity: the SMB share did not mount"; poweroff -f; }
    sleep 1
  done
  unset pass
elif [ -n "$share" ]; then
  mkdir -p "$share"
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 parity "$share"
fi
# Docker's data on an ext4 disk, as in Desktop's VM (tmpfs lacks O_DIRECT and user xattrs).
mkdir -p /var/lib/docker && mount -t ext4 /dev/vda /var/lib/docker
# The share sits at the host's own path (/tmp by default): the engine's temporary files
# (containerd's console sockets for -t among them) go to the guest's tmpfs, as /tmp is
# the VM's own in Desktop's VM.
mkdir -p /run/tmp && export TMPDIR=/run/tmp
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
        # apt's chatter (debconf's notes, for one) is kept back: this tool's stderr carries
        # its own messages and the guest console, which callers read line by line
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        ):
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
            if done.returncode != 0:
                sys.exit(f"standins/mobyvm.py: {' '.join(command)} failed:\n{done.stdout}{done.stderr}")


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
    for module in [*MODULES, *SMB_MODULES]:
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
    inputs = [
        *(INIT, OS_RELEASE, release, *BINARIES, *MODULES, *SMB_MODULES, CIFS_OPTIONS),
        *(p.name for p in sorted(XTABLES.glob("*.so"))),
    ]
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
            ("etc/modules-smb", "\n".join(SMB_MODULES) + "\n", 0o644),
            ("etc/cifs-options", CIFS_OPTIONS + "\n", 0o644),
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


def _live_pid(pid_file: Path, runs: Callable[[bytes], bool]) -> int | None:
    """The pid in ``pid_file`` if that process still runs what ``runs`` sees in its command line."""
    try:
        pid = int(pid_file.read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if runs(command) else None


def recorded_pid(port: int) -> int | None:
    """The qemu pid recorded for this port, if that process still runs qemu."""
    return _live_pid(run_dir(port) / "pid", lambda command: b"qemu-system" in command)


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


def smb_conf(state: Path, share: Path, smb_port: int) -> str:
    """smbd's whole configuration in smb mode: one share of `share`, set up as a Windows
    host's share looks to a cifs client (names case-insensitive but kept as written, no
    UNIX extensions, so the client cannot set modes or owners, nor make fifos or real
    symlinks), served to one user that is root here, on 127.0.0.1:smb_port only, with
    every file smbd keeps (passwords, state, locks, log) under the run folder."""
    smb = state / "smb"
    settings = {
        "server role": "standalone server",
        "workgroup": "WORKGROUP",
        "netbios name": SMB_DOMAIN,
        # loopback only, on a port of its own: qemu's guestfwd is its one client
        "interfaces": "127.0.0.1",
        "bind interfaces only": "yes",
        "smb ports": str(smb_port),
        # no nmbd, no printers, no name lookups, no RPC helper daemons to start
        "disable netbios": "yes",
        "hostname lookups": "no",
        "load printers": "no",
        "printing": "bsd",
        "printcap name": "/dev/null",
        "disable spoolss": "yes",
        "rpc start on demand helpers": "no",
        "security": "user",
        "map to guest": "never",
        "passdb backend": f"tdbsam:{smb / 'private' / 'passdb.tdb'}",
        "private dir": str(smb / "private"),
        "lock directory": str(smb / "lock"),
        "state directory": str(smb / "state"),
        "cache directory": str(smb / "cache"),
        "pid directory": str(smb),
        "ncalrpc dir": str(smb / "ncalrpc"),
        "winbindd socket directory": str(smb / "winbindd"),
        "binddns dir": str(smb / "bind-dns"),
        "logging": "file",
        "log file": str(smb / "log.smbd"),
        "max log size": "1000",
        "log level": "1",
        # a Windows server has no UNIX extensions (SMB1's, nor SMB3's POSIX ones)
        "unix extensions": "no",
    }
    if _samba_knows("smb3 unix extensions"):  # samba 4.17 has no such option (later ones do)
        settings["smb3 unix extensions"] = "no"
    share_settings = {
        "path": str(share),
        "read only": "no",
        "valid users": SMB_USER,
        # NTFS through a Windows share: names match whatever their case, and keep the case
        # they were made with
        "case sensitive": "no",
        "preserve case": "yes",
        "short preserve case": "yes",
        # Docker for Windows shared drives with `net share ... /CACHE:None`
        "csc policy": "disable",
    }
    lines = ["# standins/mobyvm.py --share-mode smb: this VM's share (written at each start)", "[global]"]
    lines += [f"  {key} = {value}" for key, value in settings.items()]
    lines += [f"[{SMB_SHARE}]"]
    lines += [f"  {key} = {value}" for key, value in share_settings.items()]
    return "\n".join(lines) + "\n"


def _samba_knows(parameter: str) -> bool:
    done = subprocess.run(
        ["testparm", "-s", "--parameter-name", parameter, os.devnull], capture_output=True, text=True, check=False
    )
    return done.returncode == 0


def smbd_pid(port: int) -> int | None:
    """The pid of this port's smbd (smb mode), if that process still runs it."""
    conf = str(run_dir(port) / "smb" / "smb.conf").encode()
    return _live_pid(run_dir(port) / "smbd.pid", lambda command: b"smbd" in command and conf in command)


def start_smbd(port: int, share: Path) -> int:
    """smbd for the VM on `port`, serving `share` on a free port of 127.0.0.1, in a process
    group of its own (stop ends the group); the port it listens on once it does."""
    state = run_dir(port)
    smb = state / "smb"
    for folder in ("private", "lock", "state", "cache", "ncalrpc", "winbindd", "bind-dns"):
        (smb / folder).mkdir(parents=True, exist_ok=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        smb_port = int(probe.getsockname()[1])
    conf = smb / "smb.conf"
    conf.write_text(smb_conf(state, share, smb_port))
    # A fresh password per boot. The guest gets it through qemu's fw_cfg from a file only
    # root can read: no command line (ps) shows it.
    password = secrets.token_hex(16)
    secret = os.open(state / "smb-password", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(secret, "w") as file:
        file.write(password)
    done = subprocess.run(
        ["smbpasswd", "-c", str(conf), "-s", "-a", SMB_USER],
        input=f"{password}\n{password}\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise VMError(f"smbpasswd failed: {(done.stderr or done.stdout).strip()}")
    # posix_spawn, not Popen: smbd outlives this program, and no Popen object is left to
    # warn that its process still runs. setsid: a session and process group of its own.
    pid = os.posix_spawnp(
        "smbd",
        ["smbd", "--foreground", "--no-process-group", "-s", str(conf)],
        os.environ,
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(smb / "smbd.out"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )
    (state / "smbd.pid").write_text(f"{pid}\n")
    deadline = time.monotonic() + 30
    while not _listens(smb_port):
        if _gone(pid) or time.monotonic() > deadline:
            why = "exited" if _gone(pid) else "does not listen after 30 s"
            raise VMError(f"smbd {why} on 127.0.0.1:{smb_port}; its log:\n{_smbd_log_tail(port)}")
        time.sleep(0.2)
    return smb_port


def _listens(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _smbd_log_tail(port: int, lines: int = 15) -> str:
    smb = run_dir(port) / "smb"
    text = ""
    for name in ("smbd.out", "log.smbd"):
        with contextlib.suppress(OSError):
            text += (smb / name).read_text(errors="replace")
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


def qemu_command(
    image: Path, port: int, share: Path, memory_mib: int, cpus: int, *, share_mode: str = "9p", smb_port: int = 0
) -> list[str]:
    state = run_dir(port)
    if share_mode == "smb":
        # The guest's 10.0.2.100:445 is forwarded to smbd on 127.0.0.1; restrict=on leaves
        # explicit forwarding rules working (qemu(1)). cmd: spawns a relay per connection,
        # so that a reconnecting cifs client gets a fresh stream to smbd (a tcp: chardev is
        # one connection, opened once when qemu starts). The password goes in by fw_cfg.
        append = f"console=ttyS0 parity.share={share} parity.sharemode=smb panic=-1 mitigations=off"
        guestfwd = f",guestfwd=tcp:{SMB_GUEST_ADDRESS}:445-cmd:/bin/busybox nc 127.0.0.1 {smb_port}"
        sharing = ["-fw_cfg", f"name={FW_CFG_PASSWORD},file={state / 'smb-password'}"]
    else:
        append = f"console=ttyS0 parity.share={share} panic=-1 mitigations=off"
        guestfwd = ""
        sharing = ["-virtfs", f"local,path={share},mount_tag=parity,security_model=passthrough,id=share0"]
    return [
        "qemu-system-x86_64",
        # KVM is present but aborts on this kind of machine; TCG is slower and works.
        # Westmere: emulated, the features of -cpu max cost more than they bring (5-level
        # paging, AVX and XSAVE state): a container start took 5.8 s and an exec 1.9 s
        # under max, 3.6 s and 0.9 s under Westmere (medians of 8 here, 2026-12-04).
        # -cx16: the one guest hang seen here had both vCPUs spinning in SLUB's
        # cmpxchg16b fast path under multi-threaded TCG; without cx16 SLUB locks instead.
        "-accel", "tcg,thread=multi", "-machine", "q35", "-cpu", "Westmere,-cx16",
        "-smp", str(cpus), "-m", str(memory_mib),
        "-kernel", str(image / "vmlinuz"), "-initrd", str(image / "initramfs.lz4"),
        # mitigations=off: the guest runs only the project's own workloads, and Spectre-era
        # mitigations cost much under emulation. panic=-1 with -no-reboot: when dockerd
        # (PID 1) exits, qemu exits.
        "-append", append,
        "-display", "none", "-serial", f"file:{state / 'console.log'}", "-no-reboot",
        # restrict=on: the guest reaches nothing but the forwarded port; 127.0.0.1 only.
        "-netdev", f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:2375{guestfwd}",
        "-device", "virtio-net-pci,netdev=n0",
        *sharing,
        "-device", "virtio-rng-pci",
        "-drive", f"file={state / 'docker.img'},if=virtio,format=raw,cache=unsafe",
        "-qmp", f"unix:{state / 'qmp.sock'},server=on,wait=off",
        "-pidfile", str(state / "pid"), "-daemonize",
    ]  # fmt: skip


def share_mode_of(port: int) -> str:
    """How the VM on this port shares its folder (9p for a VM started before modes)."""
    try:
        return (run_dir(port) / "share-mode").read_text().strip() or "9p"
    except OSError:
        return "9p"


def start(
    port: int, share: Path, wait: float, memory_mib: int, cpus: int, *, share_mode: str = "9p"
) -> tuple[str, bool]:
    """Boot the VM unless a healthy one runs on this port; a hung one is killed first.
    What happened, in one line, and whether this call booted it. A boot is ready once a
    first container has run; a boot where it did not is stopped and booted again, once."""
    if share_mode not in SHARE_MODES:
        raise VMError(f"share mode {share_mode}: not one of {', '.join(SHARE_MODES)}")
    if recorded_pid(port) is not None:
        if engine_answers(port):
            if share_mode_of(port) != share_mode:
                raise VMError(
                    f"the VM on port {port} shares over {share_mode_of(port)}, not {share_mode}; stop it first"
                )
            return f"running: engine on tcp://127.0.0.1:{port} (pid {recorded_pid(port)})", False
        stop(port)  # hung or half-booted: no engine answer means it cannot be used
    else:
        _stop_smbd(port)  # left by a VM that exited by itself
    if not port_is_free(port):
        raise VMError(f"127.0.0.1:{port} is in use by another program; choose another --port")
    if not share.is_dir():
        raise VMError(f"share {share}: no such folder")
    image = build()
    began = time.monotonic()
    settings = {"wait": wait, "memory_mib": memory_mib, "cpus": cpus, "share_mode": share_mode}
    why = _boot_and_run_a_container(image, port, share, **settings)
    again = ""
    if why is not None:
        # Multi-threaded TCG: a boot in a dozen or so hung at its first container start
        # (see the README). That is the emulation's, not a platform's: boot again, once.
        console = CACHE / f"run-{port}.first-boot.console.log"
        stop(port)
        with contextlib.suppress(FileNotFoundError):
            (CACHE / f"run-{port}.console.log").replace(console)
        if (second := _boot_and_run_a_container(image, port, share, **settings)) is not None:
            stop(port)
            raise VMError(f"twice, the first container did not run: {why}; then {second}")
        again = f" (booted twice: in the first boot, {why}; its console is {console})"
    return (
        f"booted in {time.monotonic() - began:.0f} s: engine on tcp://127.0.0.1:{port} (pid {recorded_pid(port)})"
        + again,
        True,
    )


def _boot_and_run_a_container(image: Path, port: int, share: Path, **settings: Any) -> str | None:
    """Boot, then run a first container: None once it ran, else why not (the VM still up)."""
    _boot(image, port, share, **settings)
    try:
        return first_container(port)
    except BaseException:  # also Ctrl-C and SIGTERM: never leave a VM that is not ready
        stop(port)
        raise


def _boot(image: Path, port: int, share: Path, *, wait: float, memory_mib: int, cpus: int, share_mode: str) -> None:
    """Start qemu (and smbd in smb mode) on a fresh disk, until the engine answers."""
    state = run_dir(port)
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    (state / "share-mode").write_text(f"{share_mode}\n")
    # A fresh, sparse disk per boot: no engine state survives from an earlier VM.
    with open(state / "docker.img", "wb") as disk:
        disk.truncate(DISK_BYTES)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "nodiscard", str(state / "docker.img")], check=True, timeout=120)
    began = time.monotonic()
    try:  # also Ctrl-C and SIGTERM: never leave a half-booted VM, nor its smbd
        smb_port = start_smbd(port, share) if share_mode == "smb" else 0
        done = subprocess.run(
            qemu_command(image, port, share, memory_mib, cpus, share_mode=share_mode, smb_port=smb_port),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise VMError(f"qemu did not start: {(done.stderr or done.stdout).strip()}")
        (state / "smb-password").unlink(missing_ok=True)  # qemu has read it into fw_cfg
        while not engine_answers(port):
            if recorded_pid(port) is None:
                raise VMError(f"the VM exited while booting; console:\n{console_tail(port)}")
            if time.monotonic() - began > wait:
                raise VMError(f"no engine on 127.0.0.1:{port} after {wait:g} s; console:\n{console_tail(port)}")
            time.sleep(1)
    except BaseException:
        stop(port)
        raise


FIRST_CONTAINER = "parity-first-container"
FIRST_CONTAINER_SECONDS = 120.0  # a start takes about 4 s under TCG here


def first_container(port: int, timeout: float = FIRST_CONTAINER_SECONDS) -> str | None:
    """Run one container to its end on the fresh engine (an image of busybox alone,
    imported, then removed with the container): None once it has, else why not."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        tar.add("/bin/busybox", arcname="bin/busybox")
    image = f"{FIRST_CONTAINER}:latest"
    deadline = time.monotonic() + timeout
    steps: list[tuple[str, str, bytes | None, int]] = [
        ("POST", f"/images/create?fromSrc=-&repo={FIRST_CONTAINER}&tag=latest", layer.getvalue(), 200),
        ("POST", f"/containers/create?name={FIRST_CONTAINER}",
         json.dumps({"Image": image, "Cmd": ["/bin/busybox", "true"]}).encode(), 201),
        ("POST", f"/containers/{FIRST_CONTAINER}/start", None, 204),
        ("POST", f"/containers/{FIRST_CONTAINER}/wait", None, 200),
        ("DELETE", f"/containers/{FIRST_CONTAINER}?force=1", None, 204),
        ("DELETE", f"/images/{image}", None, 200),
    ]  # fmt: skip
    for method, path, body, expected in steps:
        left = deadline - time.monotonic()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=max(left, 0.1))
            try:
                headers = {
                    "Content-Type": "application/x-tar" if path.startswith("/images/create") else "application/json"
                }
                connection.request(method, "/v1.41" + path, body=body, headers=headers)
                answer = connection.getresponse()
                text = answer.read()
            finally:
                connection.close()
        except OSError as exc:  # socket.timeout among them
            why = f"no answer within {timeout:g} s" if time.monotonic() >= deadline else str(exc)
            return f"{method} {path.split('?')[0]}: {why}"
        except http.client.HTTPException as exc:
            return f"{method} {path.split('?')[0]}: not an HTTP answer ({type(exc).__name__}: {str(exc).strip()!r})"
        if answer.status != expected:
            return f"{method} {path.split('?')[0]}: {answer.status} {text[:200].decode(errors='replace').strip()}"
    return None


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


def _gone(pid: int) -> bool:
    """The process has exited and been reaped: here if it is this program's own child
    (smbd, when a start fails), else by whoever its parent is."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return not Path(f"/proc/{pid}").exists()


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.2)
    return _gone(pid)


def stop(port: int, grace: float = 20) -> str:
    """Ctrl-Alt-Del (dockerd, PID 1, shuts down), then QMP quit, then SIGKILL of the
    recorded pid: a hung guest still goes. Then smbd's process group, in smb mode."""
    pid = recorded_pid(port)
    if pid is None:
        smbd = _stop_smbd(port)
        _forget(port)
        return f"not running{smbd}"
    how = "shut down"
    hung = ""
    if not engine_answers(port, timeout=5):
        hung = "; the engine did not answer"
        # For a post-mortem, to the console kept after the stop: the stacks of the guest's
        # blocked tasks (SysRq w) and of what each CPU runs (SysRq l). A guest spinning
        # with interrupts off takes no key: its console then ends without them.
        with contextlib.suppress(OSError):
            _send_keys(port, "alt", "sysrq", "w")
            _send_keys(port, "alt", "sysrq", "l")
            time.sleep(3)
            hung += f"; asked it for its blocked tasks and CPUs (SysRq w, l); its console: {CACHE / f'run-{port}.console.log'}"
    with contextlib.suppress(OSError):
        _send_keys(port, "ctrl", "alt", "delete")
    if not _wait_gone(pid, grace):
        how = "quit"
        with contextlib.suppress(OSError):
            _qmp(port, {"execute": "quit"}, timeout=5)
        if not _wait_gone(pid, 5):
            how = "killed"
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 5)
    smbd = _stop_smbd(port)
    _forget(port)
    return f"{how} (pid {pid}){smbd}{hung}"


def _send_keys(port: int, *keys: str) -> None:
    """Keys pressed together on the guest's keyboard (QMP send-key, QEMU's key codes)."""
    pressed = [{"type": "qcode", "data": key} for key in keys]
    _qmp(port, {"execute": "send-key", "arguments": {"keys": pressed}}, timeout=5)


def _stop_smbd(port: int) -> str:
    """SIGTERM to the recorded smbd's process group (it and the children it forked), then
    SIGKILL; what was done, as a suffix for stop's line ("" when there was no smbd)."""
    pid = smbd_pid(port)
    if pid is None:
        return ""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    if not _wait_gone(pid, 10):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        _wait_gone(pid, 5)
    deadline = time.monotonic() + 5  # its children (smbd-notifyd, cleanupd, one per client) follow it
    with contextlib.suppress(ProcessLookupError):
        while time.monotonic() < deadline:
            os.killpg(pid, 0)
            time.sleep(0.2)
    return f"; smbd stopped (pid {pid})"


def _forget(port: int) -> None:
    """Remove the VM's run folder; its console log and smbd's log stay beside it for a
    post-mortem."""
    for kept, name in (("console.log", "console.log"), ("smb/log.smbd", "smbd.log")):
        with contextlib.suppress(FileNotFoundError):
            (run_dir(port) / kept).replace(CACHE / f"run-{port}.{name}")
    shutil.rmtree(run_dir(port), ignore_errors=True)


def status(port: int) -> str:
    pid = recorded_pid(port)
    smbd = smbd_pid(port)
    if pid is None:
        return f"not running (smbd pid {smbd} is left: stop ends it)" if smbd else "not running"
    state = "engine answers" if engine_answers(port) else "engine does not answer"
    mode = share_mode_of(port)
    share = f"share over {mode}" + (f" (smbd pid {smbd})" if mode == "smb" else "")
    return f"pid {pid}: {state} on tcp://127.0.0.1:{port}; {share}"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    paragraphs = __doc__.split("\n\n")
    parser = argparse.ArgumentParser(
        description=paragraphs[0],
        epilog="\n\n".join(p for p in paragraphs if p.startswith("--share-mode")),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["build", "start", "stop", "status"])
    parser.add_argument("--port", type=int, default=23750, help="engine port on 127.0.0.1 (default 23750)")
    parser.add_argument("--share", type=Path, default=Path("/tmp"), help="host folder shared at the same path")
    parser.add_argument(
        "--share-mode",
        choices=SHARE_MODES,
        default="9p",
        help="how the folder reaches the guest: 9p (virtio 9p, as Docker Desktop on WSL2; the default) or smb "
        "(this machine's smbd on 127.0.0.1 and the kernel's cifs client, as Docker for Windows's Hyper-V VM "
        "mounted shared drives)",
    )
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
                arguments.port,
                arguments.share.resolve(),
                arguments.wait,
                arguments.memory,
                arguments.cpus,
                share_mode=arguments.share_mode,
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
