"""The engine's lifecycle API on a running workload: health checks, stop timeouts,
updated limits, stats, the init process and the restart back-off."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from itertools import pairwise
from typing import Any, cast

import pytest
from docker.models.containers import Container
from docker.utils import version_lt

from parity.run.ahead import Record
from parity.run.resources import ResourceScope
from parity.run.target import Target
from parity.workload.image import PROBE_PATH
from parity.workload.probe import Prober
from plugins.workload import Observe
from suites.lifecycle.waiting import reached, signals_ready, wait_for

MiB = 1024 * 1024
MS = 1_000_000  # nanoseconds, the unit of HealthConfig durations


# --- health checks ---------------------------------------------------------------------

# Each run of this health command takes the next number k and waits until the check
# releases it by creating /tmp/health-<k>, which holds the run's exit code: every result
# the engine records is then one the check chose, in the order it chose.
GATED_HEALTH = (
    "k=$(( $(cat /tmp/health-runs 2>/dev/null || echo 0) + 1 )); echo $k > /tmp/health-runs; "
    'until [ -e /tmp/health-$k ]; do sleep 0.05; done; echo "run $k"; exit $(cat /tmp/health-$k)'
)


def health(container: Container) -> tuple[str, int, list[tuple[int, str]]]:
    """Status, FailingStreak and each logged result (exit code, output) of one inspect."""
    container.reload()
    state = container.attrs["State"]["Health"]
    log = [(entry["ExitCode"], entry["Output"]) for entry in state.get("Log") or []]
    return state["Status"], state["FailingStreak"], log


def results_logged(count: int) -> Callable[[Container], bool]:
    return lambda container: len(health(container)[2]) == count


def test_health_status_follows_each_probe_result(resources: ResourceScope) -> None:
    """With Retries 2, the health status is "starting" until the first result, "healthy"
    after a success and still after one failure, "unhealthy" after two consecutive
    failures, and "healthy" again after the next success; FailingStreak counts the
    consecutive failures and the log holds every result, oldest first, with its exit
    code and output. Mostly waits: one probe interval (100 ms) per result.

    Source: Engine API HealthConfig (Test "CMD", Interval, Timeout, Retries: "The number
    of consecutive failures needed to consider a container as unhealthy"), Health
    (Status "starting", "healthy", "unhealthy"; FailingStreak "the number of consecutive
    failures"; Log "the last few results (oldest first)"), HealthcheckResult (ExitCode 0
    healthy, 1 unhealthy).
    Level: MUST, https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Container/operation/ContainerInspect
    """
    container = resources.container(
        healthcheck={
            "test": ["CMD", "/bin/sh", "-c", GATED_HEALTH],
            "interval": 100 * MS,
            "timeout": 30_000 * MS,
            "retries": 2,
        }
    )
    prober = Prober(container)
    seen = [health(container)]
    for run, code in enumerate([0, 1, 1, 0], start=1):
        prober(
            ("write", "/tmp/health-next", "O_WRONLY|O_CREAT|O_TRUNC", "0644", str(code).encode().hex()),
            ("rename", "/tmp/health-next", f"/tmp/health-{run}"),
        )
        wait_for(container, f"health result {run} logged", results_logged(run))
        seen.append(health(container))
    log = [(0, "run 1\n"), (1, "run 2\n"), (1, "run 3\n"), (0, "run 4\n")]
    assert seen == [
        ("starting", 0, []),
        ("healthy", 0, log[:1]),
        ("healthy", 1, log[:2]),
        ("unhealthy", 2, log[:3]),
        ("healthy", 0, log[:4]),
    ]


def health_past_its_timeout(scope: ResourceScope) -> Record:
    """A container whose health command sleeps past its 500 ms Timeout, until its first
    result is logged: its health then."""
    container = scope.container(
        healthcheck={
            "test": ["CMD", PROBE_PATH, "sleep", "10000"],
            "interval": 200 * MS,
            "timeout": 500 * MS,
            "retries": 1,
        }
    )
    logged = reached(container, lambda c: len(health(c)[2]) >= 1)
    status, streak, log = health(container)
    return {"logged": logged, "status": status, "streak": streak, "log": log}


@pytest.mark.ahead(health_past_its_timeout, timeout=900)
def test_health_check_past_its_timeout_fails(ahead: Record) -> None:
    """A health command that runs past the Timeout is a failed check: the engine logs
    exit code -1 with "Health check exceeded timeout (500ms)", and with Retries 1 the
    container is unhealthy with one failure per logged result. Mostly waits (200 ms
    interval, 500 ms timeout): its scenario runs ahead, in the background.

    Source: Engine API HealthConfig Timeout ("If the health check command does not
    complete within this timeout, the check is considered failed and the health check
    process is forcibly terminated"); moby v20.10.24 daemon/health.go monitor (ExitCode
    -1, "Health check exceeded timeout (%v)").
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/daemon/health.go
    """
    log = [tuple(entry) for entry in ahead["log"]]
    assert ahead["logged"], f"no health result logged within 30 s: {ahead}"
    assert (ahead["status"], ahead["streak"]) == ("unhealthy", len(log))
    assert log == [(-1, "Health check exceeded timeout (500ms)")] * len(log)


# --- stop ------------------------------------------------------------------------------


def ignoring_sigterm(resources: ResourceScope) -> Container:
    """A running container whose main process ignores SIGTERM (and records other signals)."""
    container = resources.container([PROBE_PATH, "signals", "/tmp/signals", "EXIT_ON", "-", "IGNORE", "SIGTERM"])
    signals_ready(container)
    return container


def stopped_without_a_timeout(scope: ResourceScope) -> Record:
    """docker stop, without t, of a process that ignores SIGTERM: how long it took, and
    the exit code."""
    container = ignoring_sigterm(scope)
    started = time.monotonic()
    container.client.api.stop(str(container.id))  # type: ignore[union-attr]
    elapsed = time.monotonic() - started
    container.reload()
    return {"exit_code": container.attrs["State"]["ExitCode"], "elapsed": elapsed}


@pytest.mark.ahead(stopped_without_a_timeout, timeout=900)
def test_stop_waits_10_seconds_by_default(ahead: Record) -> None:
    """Without t (and without a StopTimeout of the container), docker stop gives the main process 10 s after SIGTERM,
    then kills it: a process that ignores SIGTERM exits with 137 after 10 s (and well
    before 20). Mostly waits (10 s): its scenario runs ahead, in the background.

    Source: docker stop reference ("after a grace period, SIGKILL"); moby v20.10.24
    container/container_unix.go (DefaultStopTimeout = 10; Windows daemons use 30,
    container/container_windows.go).
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/container/container_unix.go
    """
    assert ahead["exit_code"] == 137
    assert 10.0 <= ahead["elapsed"] < 20.0, f"stopped after {ahead['elapsed']:.2f} s"


# --- update ----------------------------------------------------------------------------


def limit_files(prober: Prober, version: str) -> tuple[str, ...]:
    """The memory limit, CPU quota (v1: quota; v2: "quota period") and pids limit of the
    container's cgroup, as the files read."""
    paths = (
        ("memory/memory.limit_in_bytes", "cpu/cpu.cfs_quota_us", "pids/pids.max")
        if version == "1"
        else ("memory.max", "cpu.max", "pids.max")
    )
    return tuple(str(o["data"]).strip() for o in prober(*(("read", f"/sys/fs/cgroup/{p}") for p in paths)))


@pytest.mark.requires("resource_limits")
def test_update_changes_the_limits_of_a_running_container(resources: ResourceScope, cgroup_version: str) -> None:
    """POST /containers/{id}/update on a running container rewrites its cgroup: memory
    64 MiB -> 96 MiB, CPUs 0.5 -> 0.75 (CFS quota 50000 -> 75000 us per 100000 us),
    pids 32 -> 64, as the container's own cgroup files show before and after.

    Source: Engine API POST /containers/{id}/update ("Change various configuration options
    of a container without having to recreate it"; Resources Memory, MemorySwap,
    NanoCpus, PidsLimit); docker update reference; Docker docs "Resource constraints"
    (--cpus = quota / period, period 100000); cgroup v1 memory.limit_in_bytes,
    cpu.cfs_quota_us, pids.max, cgroup v2 memory.max, cpu.max, pids.max.
    Level: SHOULD, https://docs.docker.com/engine/containers/resource_constraints/
    """
    container = resources.container(
        [PROBE_PATH, "idle"], mem_limit="64m", memswap_limit="64m", nano_cpus=500_000_000, pids_limit=32
    )
    prober = Prober(container)
    before = limit_files(prober, cgroup_version)
    api = container.client.api  # type: ignore[union-attr]
    answer = api.post(
        f"{api.base_url}/v{api.api_version}/containers/{container.id}/update",
        json={"Memory": 96 * MiB, "MemorySwap": 96 * MiB, "NanoCpus": 750_000_000, "PidsLimit": 64},
        timeout=60,
    )
    assert answer.status_code == 200, f"update refused: {answer.status_code} {answer.text}"
    after = limit_files(prober, cgroup_version)
    if cgroup_version == "1":
        assert (before, after) == ((f"{64 * MiB}", "50000", "32"), (f"{96 * MiB}", "75000", "64"))
    else:
        assert (before, after) == ((f"{64 * MiB}", "50000 100000", "32"), (f"{96 * MiB}", "75000 100000", "64"))


# --- stats -----------------------------------------------------------------------------


def engine_stats(container: Container, *, one_shot: bool = False) -> dict[str, Any]:
    """One GET /containers/{id}/stats?stream=false: the engine samples twice, a second
    apart, unless ``one_shot`` asks for a single sample (one-shot=true, API 1.41; an
    older API has no such parameter and gets the two samples)."""
    assert container.client is not None
    if one_shot and not version_lt(container.client.api.api_version, "1.41"):
        return cast("dict[str, Any]", container.stats(stream=False, one_shot=True))
    return cast("dict[str, Any]", container.stats(stream=False))


def stats_of_a_64_mib_holder(scope: ResourceScope) -> Record:
    """A container whose only process holds 64 MiB of touched memory: its name and id,
    and its stats (stream=false) once the memory is touched."""
    container = scope.container([PROBE_PATH, "hold", "64"])
    wait_for(container, "64 MiB touched", lambda c: c.logs() == b'{"op":"hold","ok":true,"touched_mb":64}\n')
    return {"id": container.id, "name": container.name, "stats": engine_stats(container)}


@pytest.mark.ahead(stats_of_a_64_mib_holder, timeout=900)
def test_stats_report_the_memory_and_processes_of_a_running_container(ahead: Record, cgroup_version: str) -> None:
    """GET /containers/{id}/stats?stream=false of a container whose only process holds
    64 MiB of touched memory names the container, counts exactly one process, and
    reports at least 64 MiB of used memory (usage minus the page cache, as the API
    documents it), no more than the memory limit it reports. Mostly waits (the engine
    samples twice, a second apart): its scenario runs ahead, in the background.

    Source: Engine API GET /containers/{id}/stats (id, name, pids_stats.current;
    "used_memory = memory_stats.usage - memory_stats.stats.cache (cgroups v1)",
    "memory_stats.usage - memory_stats.stats.inactive_file (cgroups v2)",
    "available_memory = memory_stats.limit").
    Level: MUST, https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Container/operation/ContainerStats
    """
    stats = ahead["stats"]
    memory = stats["memory_stats"]
    used = memory["usage"] - memory["stats"]["cache" if cgroup_version == "1" else "inactive_file"]
    assert (stats["id"], stats["name"], stats["pids_stats"]["current"]) == (ahead["id"], f"/{ahead['name']}", 1)
    assert 64 * MiB <= used <= memory["limit"], memory


def test_consistency_stats_memory_limit_is_the_engine_memory(probe: Prober, target: Target) -> None:
    """Consistency: without a memory limit, the stats of a container report the engine
    host's memory (GET /info MemTotal) as its memory limit; the memory of an engine host
    legitimately differs between platforms (a VM's size).

    Source: Engine API GET /containers/{id}/stats ("available_memory =
    memory_stats.limit"); moby v20.10.24 daemon/daemon_unix.go (statsV1, statsV2: "if the
    container does not set memory limit, use the machineMemory").
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/daemon/daemon_unix.go
    """
    assert engine_stats(probe.container, one_shot=True)["memory_stats"]["limit"] == target.facts.mem_total


# --- init ------------------------------------------------------------------------------


@pytest.mark.requires("init")
def test_init_runs_the_command_as_its_child_in_a_process_group_of_its_own(observe: Observe) -> None:
    """Under --init, the command is a child of PID 1 (docker-init, tini), in a process
    group of its own within PID 1's session.

    Source: Docker run reference "--init" (docker-init, tini, "forwards signals and reaps
    processes"); tini's spawn() (the child calls setpgid(0, 0) and, with a terminal,
    becomes its foreground process group); credentials(7) (process groups and sessions).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/#init
    """
    pids = observe(("pids",), init=True)[0]
    assert (pids["ppid"], pids["pgid"], pids["sid"]) == (1, pids["pid"], 1)


@pytest.mark.requires("init", "any_signal")
def test_init_forwards_signals_to_the_command(resources: ResourceScope) -> None:
    """Under --init, docker kill -s SIGUSR1 and docker stop's SIGTERM reach the command
    through docker-init: it records both and its exit status 0 becomes the container's.

    Source: Docker run reference "--init" ("an init process ... that forwards signals
    and reaps processes"); tini README (signals are forwarded to the child; tini exits
    with the child's exit code).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/#init
    """
    container = resources.container([PROBE_PATH, "signals", "/tmp/signals", "EXIT_ON", "SIGTERM"], init=True)
    signals_ready(container)
    container.kill(signal="SIGUSR1")
    wait_for(container, "SIGUSR1 recorded", lambda c: c.logs(stderr=False) == b"SIGUSR1\n")
    container.stop(timeout=10)
    assert (container.wait(timeout=30)["StatusCode"], container.logs(stderr=False)) == (0, b"SIGUSR1\nSIGTERM\n")


# --- restart back-off ------------------------------------------------------------------


def restarted_five_times(scope: ResourceScope) -> Record:
    """A container that fails at once under --restart on-failure:5, until its fifth
    restart has exited: each run's clock reading, and its state then."""
    container = scope.container(
        [PROBE_PATH, "clock", "--", "exit", "3"], restart_policy={"Name": "on-failure", "MaximumRetryCount": 5}
    )
    done = reached(
        container, lambda c: c.attrs["RestartCount"] == 5 and c.attrs["State"]["Status"] == "exited", timeout=300
    )
    runs = [json.loads(line)[0]["realtime_ns"] for line in container.logs(stdout=True, stderr=False).splitlines()]
    return {
        "reached": done,
        "runs": runs,
        "restarts": container.attrs["RestartCount"],
        "state": container.attrs["State"],
    }


@pytest.mark.ahead(restarted_five_times, timeout=900)
def test_restart_delays_double_from_100_ms(ahead: Record) -> None:
    """A container that fails at once under --restart on-failure:5 is restarted five
    times, each restart at least 100, 200, 400, 800 and 1600 ms after the previous run
    ended (delays double from 100 ms), as the runs' own clock readings show. Mostly
    waits (3.1 s of delays): its scenario runs ahead, in the background.

    Only lower bounds: each gap also holds the engine's own exit handling and start.

    Source: Engine API RestartPolicy ("An ever increasing delay (double the previous
    delay, starting at 100ms) is added before each restart to prevent flooding the
    server"), RestartCount; moby v20.10.24 restartmanager/restartmanager.go
    (defaultTimeout 100 ms, backoffMultiplier 2).
    Level: MUST, https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Container/operation/ContainerCreate
    """
    assert ahead["reached"], f"not five restarts, then exited, within 300 s: {ahead['restarts']}, {ahead['state']}"
    runs = ahead["runs"]
    gaps_ms = [(later - earlier) / MS for earlier, later in pairwise(runs)]
    assert (len(runs), ahead["state"]["ExitCode"]) == (6, 3)
    assert [gap >= floor for gap, floor in zip(gaps_ms, [100, 200, 400, 800, 1600], strict=True)] == [True] * 5, (
        f"gaps between runs: {[round(gap) for gap in gaps_ms]} ms"
    )
