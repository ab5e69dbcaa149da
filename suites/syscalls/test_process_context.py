"""The default process context: what a container's first process, and a process exec'd
into a running container, inherit when nothing is asked for (environment, file-creation
mask, OOM score adjustment, security bits, signal dispositions, personality)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from docker.models.containers import Container

from parity.run.observe import main_process
from parity.run.resources import ResourceScope
from parity.run.target import Target
from parity.workload.probe import Observation, Op, Prober
from plugins.state import close_scope
from plugins.workload import Observe

# The process a check observes: the main process of a new default container ("main"), or
# a process started by docker exec in a running one ("exec").
PROCESSES = ["main", "exec"]

# Every op the checks below read from a default process: run once per kind of process
# (one batch as the main process of one new default container, one exec of its own in the
# shared container), not once per check. The umask op sets 022 and reports the mask it
# found, so no other op of the batch depends on it.
CONTEXT_OPS: list[Op] = [
    ("umask", "022"),
    ("read", "/proc/self/oom_score_adj"),
    ("securebits",),
    ("prctl",),
    ("read", "/proc/self/status"),
    ("read", "/proc/self/personality"),
    ("env",),
]


@dataclass(frozen=True)
class ProcessContext:
    """What one default process observed (by op), and its container's hostname."""

    observed: dict[Op, Observation]
    hostname: str


class DefaultProcesses:
    """The context of a default main process and of a default exec'd one, each observed
    on first use."""

    def __init__(self, target: Target, probe: Prober, workload: Container) -> None:
        self.target, self.probe, self.workload = target, probe, workload
        self.scope: ResourceScope | None = None
        self.seen: dict[str, ProcessContext] = {}

    def of(self, process: str) -> ProcessContext:
        if process not in self.seen:
            if process == "main":
                self.scope = self.scope or self.target.scope()
                observed, done = main_process(self.scope, CONTEXT_OPS, timeout=self.target.timeout)
                hostname = str(done.container.id)[:12]
            else:
                observed, hostname = self.probe(*CONTEXT_OPS, through_exec=True), str(self.workload.id)[:12]
            self.seen[process] = ProcessContext(dict(zip(CONTEXT_OPS, observed, strict=True)), hostname)
        return self.seen[process]


@pytest.fixture(scope="module")
def default_processes(
    target: Target, probe: Prober, workload: Container, request: pytest.FixtureRequest
) -> Iterator[DefaultProcesses]:
    processes = DefaultProcesses(target, probe, workload)
    yield processes
    if processes.scope is not None:
        close_scope(request.config, target, processes.scope)


def observe_in(process: str, processes: DefaultProcesses, op: Op) -> Observation:
    """What ``op`` (one of CONTEXT_OPS) observed in the main process of a new default
    container, or in an exec of its own in the shared one."""
    return processes.of(process).observed[op]


def status_fields(status: Observation) -> dict[str, str]:
    """/proc/self/status as a mapping of field name to value."""
    return dict(line.split(":\t", 1) for line in status["data"].splitlines() if ":\t" in line)


# The image's ENV (the workload's Dockerfile equivalent: PATH only).
IMAGE_PATH = "PATH=/usr/local/bin:/bin"


@pytest.mark.parametrize("process", ["main", "exec", "main with a terminal"])
def test_environment_is_exactly_the_documented_one(
    default_processes: DefaultProcesses, resources: ResourceScope, process: str
) -> None:
    """Without -e or --env-file, a process's environment is exactly the image's ENV (here
    PATH), HOSTNAME (the container's hostname, its short id), HOME (the user's home, /root
    for root) and, with -t only, TERM=xterm: nothing else, each once. A docker exec gets
    the same.

    Source: Docker run reference, "ENV (environment variables)" (Docker sets HOME, HOSTNAME,
    PATH, and TERM=xterm when the container has a pseudo-TTY); moby
    daemon/container.go CreateDaemonEnvironment.
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    if process in PROCESSES:
        context = default_processes.of(process)
        environment, hostname = context.observed[("env",)]["env"], context.hostname
    else:
        (observed,), done = main_process(resources, [("env",)], tty=True)
        environment, hostname = observed["env"], str(done.container.id)[:12]
    expected = [IMAGE_PATH, f"HOSTNAME={hostname}", "HOME=/root"] + (["TERM=xterm"] if "terminal" in process else [])
    assert sorted(environment) == sorted(expected)


def test_home_is_the_users_home_from_the_image(observe: Observe) -> None:
    """With --user NAME and no HOME in the image or the options, HOME is that user's home
    directory from the image's /etc/passwd (the workload's user parity: /home/parity).

    Source: Docker run reference, "ENV (environment variables)" (HOME "set based on the
    value of USER"); runc libcontainer/init_linux.go (HOME from the user's passwd entry
    when unset).
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    environment = observe(("env",), user="parity")[0]["env"]
    assert [entry for entry in environment if entry.startswith("HOME=")] == ["HOME=/home/parity"]


@pytest.mark.parametrize("process", PROCESSES)
def test_file_creation_mask_is_0022(default_processes: DefaultProcesses, process: str) -> None:
    """A container's main process and an exec'd process start with the file-creation mask
    0022 (so files are created 0644 and folders 0755 unless asked otherwise).

    Source: umask(2); OCI runtime spec config.md process.user.umask (optional; Docker
    sets none); runc libcontainer/rootfs_linux.go finalizeRootfs (umask 0022 when the
    spec sets none); an exec inherits the runtime's, 0022 on every engine host service.
    Level: SHOULD, https://github.com/opencontainers/runc/blob/v1.1.5/libcontainer/rootfs_linux.go
    """
    assert observe_in(process, default_processes, ("umask", "022"))["old"] == 0o022


@pytest.mark.parametrize("process", PROCESSES)
def test_oom_score_adjustment_is_0(default_processes: DefaultProcesses, process: str) -> None:
    """Without --oom-score-adj, a container's main process and an exec'd process have the
    OOM score adjustment 0, whatever the engine's own processes have (dockerd and
    containerd run with a negative adjustment to survive the OOM killer).

    Source: Docker run reference "--oom-score-adj" (the default is 0); Engine API
    HostConfig.OomScoreAdj; proc(5) /proc/pid/oom_score_adj (inherited across fork).
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    assert observe_in(process, default_processes, ("read", "/proc/self/oom_score_adj"))["data"] == "0\n"


@pytest.mark.parametrize("process", PROCESSES)
def test_securebits_and_no_new_privs_are_clear(default_processes: DefaultProcesses, process: str) -> None:
    """A container's main process and an exec'd process run with no securebits set (0: the
    root user keeps its capability semantics) and no_new_privs 0, as Docker sets neither
    unless asked (--security-opt no-new-privileges).

    Source: capabilities(7) "The securebits flags"; prctl(2) PR_GET_SECUREBITS,
    PR_GET_NO_NEW_PRIVS; Docker run reference "Security configuration".
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    securebits, prctl = (observe_in(process, default_processes, op) for op in [("securebits",), ("prctl",)])
    assert (securebits["securebits"], prctl["no_new_privs"]) == (0, 0)


@pytest.mark.parametrize("process", PROCESSES)
def test_no_signal_is_blocked_or_ignored(default_processes: DefaultProcesses, process: str) -> None:
    """A container's main process and an exec'd process start with an empty signal mask and
    no ignored signal (SigBlk and SigIgn 0): the engine's and runtime's own dispositions
    (a Go runtime that ignores SIGPIPE) must not leak into containers, where a shell can
    then neither trap nor be killed by such a signal.

    Source: signal(7) ("A child created via fork(2) inherits a copy of its parent's signal
    mask ... preserved across execve(2)"; ignored dispositions survive execve); proc(5)
    /proc/pid/status SigBlk, SigIgn; containers/crun#2058 (SIGPIPE inherited as ignored
    broke trapping it in containers).
    Level: SHOULD, https://github.com/containers/crun/issues/2058
    """
    fields = status_fields(observe_in(process, default_processes, ("read", "/proc/self/status")))
    assert (fields["SigBlk"], fields["SigIgn"]) == ("0" * 16, "0" * 16)


@pytest.mark.parametrize("process", PROCESSES)
def test_personality_is_plain_linux(default_processes: DefaultProcesses, process: str) -> None:
    """A container's main process and an exec'd process run with the personality PER_LINUX
    (0) and no flag (no ADDR_NO_RANDOMIZE, no READ_IMPLIES_EXEC): Docker sets no
    personality unless asked.

    Source: personality(2); proc(5) /proc/pid/personality; OCI runtime spec 1.1
    config-linux.md "Personality" (optional; moby v20.10.24 oci/defaults.go sets none).
    Level: SHOULD, https://man7.org/linux/man-pages/man2/personality.2.html
    """
    assert observe_in(process, default_processes, ("read", "/proc/self/personality"))["data"] == "00000000\n"
