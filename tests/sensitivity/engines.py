"""A second Docker Engine on this machine, configured to diverge, for sensitivity tests.

It runs in a network namespace of its own (entered with nsenter, which leaves the mount
namespace and so the cgroup mounts alone), with its own docker0 and iptables rules: it
cannot disturb the main engine's bridge or firewall, and what it runs cannot reach
anything outside that namespace. Its API is a unix socket on this machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType

import docker


class SecondEngine:
    """``with SecondEngine(["--icc=false"]) as engine:`` an engine at ``engine.url``."""

    def __init__(self, flags: list[str], start_timeout: float = 60) -> None:
        self.flags = flags
        self.start_timeout = start_timeout
        self.root = Path(tempfile.mkdtemp(prefix="parity-engine-"))  # short: socket paths are limited
        self.netns = f"parity-{uuid.uuid4().hex[:8]}"
        self.socket = self.root / "docker.sock"
        self.log = self.root / "dockerd.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def __enter__(self) -> SecondEngine:
        try:
            subprocess.run(["ip", "netns", "add", self.netns], check=True, capture_output=True, timeout=30)
            self._in_netns(["ip", "link", "set", "lo", "up"])
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                ["nsenter", f"--net=/var/run/netns/{self.netns}", "dockerd",
                 "-H", self.url, "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
                 "--pidfile", str(self.root / "dockerd.pid"), *self.flags],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self._wait_until_it_answers()

    def kill(self) -> None:
        """SIGKILL the engine, as a crash would: its containers and containerd live on."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(30)

    def restart(self) -> None:
        """Start the engine again on the same data and socket (after ``kill``)."""
        assert self.process is not None
        assert self.process.poll() is not None
        self.socket.unlink(missing_ok=True)
        self._start()

    def _stop_leftovers(self) -> None:
        """After a ``kill`` without ``restart``, containerd and its shims outlive dockerd:
        stop the processes whose command line names this engine's own folder."""
        marker = str(self.root).encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if marker in (entry / "cmdline").read_bytes():
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                continue

    def _in_netns(self, command: list[str]) -> None:
        subprocess.run(
            ["nsenter", f"--net=/var/run/netns/{self.netns}", *command], check=True, capture_output=True, timeout=30
        )

    def _wait_until_it_answers(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                break
            if self.socket.exists():
                client = docker.DockerClient(base_url=self.url, version="1.41", timeout=5)
                try:
                    client.ping()
                    return
                except docker.errors.DockerException:
                    pass
                finally:
                    client.close()
            time.sleep(0.2)
        tail = self.log.read_text(errors="replace").splitlines()[-15:]
        raise RuntimeError(
            f"dockerd {' '.join(self.flags)} did not answer within {self.start_timeout:g} s:\n" + "\n".join(tail)
        )

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._stop_leftovers()
        subprocess.run(["ip", "netns", "delete", self.netns], check=False, capture_output=True, timeout=30)
        # dockerd leaves its namespace bind mounts (exec-root/netns/...) behind: unmount
        # whatever is still mounted below the engine's folder, deepest first.
        prefix = f"{self.root}/"
        mounted = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
        for mountpoint in sorted((m for m in mounted if m.startswith(prefix)), key=len, reverse=True):
            subprocess.run(["umount", "-l", mountpoint], check=False, capture_output=True, timeout=30)
        shutil.rmtree(self.root)
