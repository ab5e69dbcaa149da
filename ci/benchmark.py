"""Measure a full run against the container-operation floor; print figures, judge nothing.

    .venv/bin/python ci/benchmark.py [--url unix:///var/run/docker.sock]

Without --url, the local engine is an engine started for the benchmark (a second
dockerd in its own network namespace, tests/sensitivity/engines.py), so the figures do
not depend on what else the machine's main engine runs. For each configuration (serial,
-n 2, and two targets in one run with one xdist group per target), it prints the wall
time, the container creates, starts and execs the run performed (from the engine's
events for the run's label), the floor (each count times the engine's own median
latency for that operation, measured with a tiny container right before the
configuration runs), and the ratio of wall time to floor. Whether the warm runs built
anything is read from the cache.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import docker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from parity.run.resources import LABEL_RUN  # noqa: E402
from parity.workload import image as workload  # noqa: E402  # the project root is on the path only now
from tests.sensitivity.engines import SecondEngine  # noqa: E402

OPS = ("create", "start", "exec")
BUILT = ("probe", "busybox", "workload", "zig")  # the cache's folders of the workload build
SAMPLES = 15


def client(url: str) -> docker.DockerClient:
    return docker.DockerClient(base_url=url, version="1.41", timeout=120)


def median_latencies(url: str) -> dict[str, float]:
    """The engine's own median seconds for create, start and exec of a tiny container."""
    built = workload.build("amd64")
    times: dict[str, list[float]] = {op: [] for op in OPS}
    with closing(client(url)) as engine:
        workload.ensure_loaded(engine, built)
        for _ in range(SAMPLES):
            began = time.perf_counter()
            container = engine.containers.create(built.image_id, [workload.PROBE_PATH, "idle"], network_mode="none")
            times["create"].append(time.perf_counter() - began)
            began = time.perf_counter()
            container.start()
            times["start"].append(time.perf_counter() - began)
            began = time.perf_counter()
            container.exec_run([workload.PROBE_PATH, "exit", "0"])
            times["exec"].append(time.perf_counter() - began)
            container.remove(force=True)
    return {op: statistics.median(values) for op, values in times.items()}


class Operations:
    """Container creates, starts and execs on an engine, counted from its event stream
    while a run goes on (the engine keeps only its last 256 events for later queries)."""

    def __init__(self, url: str) -> None:
        self.engine = client(url)
        self.events: list[dict[str, Any]] = []
        self.stream = self.engine.events(decode=True, filters={"type": "container", "label": LABEL_RUN})
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            self.events.extend(self.stream)
        except Exception:  # the stream is closed when the run is over
            return

    def stop(self, run_id: str) -> Counter[str]:
        time.sleep(1)  # the last events of the run are on their way
        self.stream.close()
        self.thread.join(10)
        self.engine.close()
        counted: Counter[str] = Counter()
        for event in self.events:
            if (event.get("Actor") or {}).get("Attributes", {}).get(LABEL_RUN) != run_id:
                continue
            action = str(event.get("Action") or "")
            if action in ("create", "start"):
                counted[action] += 1
            elif action.startswith("exec_start"):
                counted["exec"] += 1
        return counted


def cache_state() -> dict[str, float]:
    """What the workload build keeps in the cache (not the logs of engines run from it)."""
    return {str(p): p.stat().st_mtime for kept in BUILT for p in (workload.CACHE / kept).rglob("*") if p.is_file()}


def run_suites(matrix: Path, *args: str) -> tuple[float, str, str]:
    """Wall seconds, run id and last line of ``pytest suites`` with this matrix."""
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "suites", "-p", "no:cacheprovider", f"--matrix={matrix}", *args],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.monotonic() - began
    found = re.search(r"^parity run ([0-9a-f]+):", done.stdout, re.MULTILINE)
    if not found:
        raise SystemExit(f"benchmark: no run id in the output:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    failed = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    return wall, found.group(1), "; ".join([lines[-1].strip("= "), *failed]) if lines else ""


def matrix_file(folder: Path, urls: dict[str, str]) -> Path:
    path = folder / f"matrix-{len(urls)}.yaml"
    lines = ["targets:"]
    for name, url in urls.items():
        # an engine in its own network namespace publishes ports on that namespace's
        # loopback; this machine's runc cannot grant --privileged
        lines += [f"  - name: {name}", "    kind: linux", f"    engine: {{url: '{url}'}}",
                  "    capabilities: {published_ports: {supported: false, because: an engine in its own network namespace publishes on the loopback of that namespace}, privileged: {supported: false, because: runc on this machine cannot grant --privileged}}"]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def report(label: str, wall: float, floors: list[tuple[Counter[str], dict[str, float]]], last: str) -> None:
    """One configuration: wall, counts, floor (the slowest engine's, engines run side by side)."""
    per_engine = [sum(counts[op] * latency[op] for op in OPS) for counts, latency in floors]
    floor = max(per_engine)
    counts = sum((c for c, _ in floors), Counter())
    print(
        f"{label:<28} wall {wall:7.1f} s | creates {counts['create']:4d} starts {counts['start']:4d} "
        f"execs {counts['exec']:4d} | floor {floor:6.1f} s | ratio {wall / floor:5.2f} | {last}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="the local engine (default: one started for the benchmark)")
    options = parser.parse_args()
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="parity-bench-") as tmp:
        folder = Path(tmp)
        local = options.url or stack.enter_context(SecondEngine([])).url
        second = stack.enter_context(SecondEngine([])).url
        print(f"benchmark: local engine {local}; second engine {second}")
        before = cache_state()
        one = matrix_file(folder, {"local": local})
        two = matrix_file(folder, {"local": local, "second": second})
        for label, matrix, args, urls in (
            ("serial", one, (), [local]),
            ("-n 2", one, ("-n", "2"), [local]),
            ("two targets, -n 2 loadgroup", two, ("-n", "2", "--dist", "loadgroup"), [local, second]),
        ):
            # the engine's latency drifts over minutes (116 to 156 ms a start within a day),
            # so each configuration's floor is measured right before it
            latency = {url: median_latencies(url) for url in urls}
            for url, medians in latency.items():
                print(f"  median latency at {url}: " + ", ".join(f"{op} {medians[op] * 1000:.0f} ms" for op in OPS))
            watching = [Operations(url) for url in urls]
            wall, run_id, last = run_suites(matrix, *args)
            report(label, wall, [(w.stop(run_id), latency[url]) for w, url in zip(watching, urls, strict=True)], last)
        after = cache_state()
        rebuilt = sorted(path for path, mtime in after.items() if before.get(path) != mtime)
        print("warm runs built: " + (", ".join(rebuilt) if rebuilt else "nothing"))


if __name__ == "__main__":
    main()
