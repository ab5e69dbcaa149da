"""Driving a whole inner parity run against engines started for one fault test."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import docker
import pytest

from parity.run.resources import LABEL_OBSERVES, LABEL_RUN

ROOT = Path(__file__).resolve().parent.parent.parent
CHECKS = "tests/faults/checks.py"

needs_engines = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("dockerd", "nsenter", "ip")),
    reason="not applicable: starting engines needs root, dockerd, nsenter and ip (iproute2)",
)


def write_matrix(path: Path, targets: dict[str, str]) -> Path:
    """A matrix of linux targets ``{name: url}``. Published ports of an engine in its own
    network namespace are not on this loopback, and this machine's runc cannot grant
    --privileged: both declared."""
    lines = ["targets:"]
    for name, url in targets.items():
        lines += [
            f"  - name: {name}",
            "    kind: linux",
            f"    engine: {{url: '{url}', timeout: 20}}",
            "    capabilities: {published_ports: {supported: false, because: an engine in its own network namespace publishes on the loopback of that namespace}, privileged: {supported: false, because: runc on this machine cannot grant --privileged}}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _default_sigint() -> None:
    """The inner run takes SIGINT as a terminal's Ctrl-C would reach it. A shell starts
    background jobs with SIGINT ignored, and an ignored signal stays ignored across exec
    (Python then installs no KeyboardInterrupt handler): a CI runner that starts us in
    the background must not make the SIGINT fault tests meaningless."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class InnerRun:
    """``pytest`` in a session of its own (so a signal to its group reaches it and its
    xdist workers only), its output in a file."""

    process: subprocess.Popen[bytes]
    output: Path
    started: float

    @classmethod
    def start(
        cls,
        tmp_path: Path,
        matrix: Path,
        *args: str,
        paths: Sequence[str] = (CHECKS,),
        env: dict[str, str] | None = None,
    ) -> InnerRun:
        output = tmp_path / f"inner-{time.monotonic_ns()}.log"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "pytest", *paths, "-p", "no:cacheprovider", "-o", "console_output_style=classic",
                 f"--matrix={matrix}", f"--reports={tmp_path / 'reports'}", *args],
                cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **(env or {})},
                preexec_fn=_default_sigint,  # noqa: PLW1509  # the only thing done between fork and exec
            )  # fmt: skip
        return cls(process, output, time.monotonic())

    def __enter__(self) -> InnerRun:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        """Never leave an inner run behind when the fault test itself fails."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
            raise AssertionError(f"inner run still running after {timeout:g} s:\n{self.text()[-3000:]}") from None

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def lines(self) -> list[str]:
        return self.text().splitlines()


def client(url: str) -> docker.DockerClient:
    return docker.DockerClient(base_url=url, version="1.41", timeout=20)


def labelled(url: str, label: str = LABEL_RUN) -> dict[str, list[str]]:
    """Names of the containers, networks and volumes on the engine carrying ``label``."""
    with closing(client(url)) as engine:
        filters: dict[str, Any] = {"label": [label]}
        return {
            "containers": sorted(
                c.name or "" for c in engine.containers.list(all=True, filters=filters, ignore_removed=True)
            ),
            "networks": sorted(n.name or "" for n in engine.networks.list(filters=filters)),
            "volumes": sorted(v.name or "" for v in engine.volumes.list(filters=filters)),
        }


EMPTY: dict[str, list[str]] = {"containers": [], "networks": [], "volumes": []}


def created_anything(url: str) -> dict[str, list[str]]:
    """Every container, volume and user network on the engine, labelled or not, and its images."""
    with closing(client(url)) as engine:
        return {
            "containers": sorted(c.name or "" for c in engine.containers.list(all=True)),
            "networks": sorted(
                n.name or "" for n in engine.networks.list() if n.name not in ("bridge", "host", "none")
            ),
            "volumes": sorted(v.name or "" for v in engine.volumes.list()),
            "images": sorted(i.id or "" for i in engine.images.list(all=True)),
        }


def wait_for_a_container(url: str, run: InnerRun, timeout: float = 120) -> None:
    """Until a container of the run's checks has been started on the engine (not the one
    that observes the platform before checks start): the moment to strike. Started, not
    merely listed: a container is listed while its create is still under way, and a
    create cut short by the strike left nothing (seen once here: the killed run left its
    networks and volume, no container)."""
    deadline = time.monotonic() + timeout
    with closing(client(url)) as engine:
        while time.monotonic() < deadline:
            # sparse: no inspect per container, which fails with 404 when the run removes
            # one between the list and the inspect
            listed = engine.containers.list(all=True, sparse=True, filters={"label": [LABEL_RUN]})
            if any(
                LABEL_OBSERVES not in (c.attrs.get("Labels") or {}) and c.attrs.get("State") in ("running", "exited")
                for c in listed
            ):
                return
            if run.process.poll() is not None:
                raise AssertionError(f"inner run ended before creating a container:\n{run.text()[-3000:]}")
            time.sleep(0.05)
    raise AssertionError(f"no container of the inner run within {timeout:g} s:\n{run.text()[-3000:]}")
