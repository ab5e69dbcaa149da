"""Container lifecycle: exit statuses, stop and signals, init, restart, removal, pause, logs, exec."""

from __future__ import annotations

import json
import time

import docker.errors
import pytest
from docker.models.containers import Container

from parity.run.ahead import Record
from parity.run.resources import ResourceScope
from parity.workload.image import PROBE_PATH
from parity.workload.probe import Prober
from suites.lifecycle.waiting import pause, reached, signals_ready, wait_for


@pytest.mark.parametrize("code", [0, 1, 2, 42, 127, 128, 255])
def test_exit_status_is_the_main_process_exit_code(resources: ResourceScope, code: int) -> None:
    """The container's exit status (wait and inspect) is its main process's exit code.

    Source: Docker run reference "Exit status"; Engine API POST /containers/{id}/wait
    StatusCode; exit(3) (status & 0377).
    Level: MUST, https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Container/operation/ContainerWait
    """
    done = resources.run([PROBE_PATH, "exit", str(code)])
    assert (done.status, done.state["ExitCode"]) == (code, code)


def test_sigkill_from_the_engine_gives_137(resources: ResourceScope) -> None:
    """docker kill (SIGKILL) ends the container with exit status 137 (128 + 9).

    Source: Docker run reference "Exit status"; docker kill reference (default SIGKILL).
    Level: SHOULD, https://docs.docker.com/engine/containers/run/#exit-status
    """
    container = resources.container()
    container.kill()
    assert container.wait(timeout=30)["StatusCode"] == 137


def test_pid_1_survives_its_own_unhandled_signal(resources: ResourceScope) -> None:
    """A container's PID 1 is not killed by a signal it has no handler for, even one it
    raises itself: the kernel drops it.

    Source: pid_namespaces(7) ("the only signals that can be sent to the init process
    are those for which the init process has established a signal handler").
    Level: MUST, https://man7.org/linux/man-pages/man7/pid_namespaces.7.html
    """
    done = resources.run([PROBE_PATH, "kill-self", "SIGTERM"])
    assert (done.status, done.stderr) == (0, b"probe: kill-self SIGTERM: process survived the signal\n")


@pytest.mark.requires("init")
@pytest.mark.parametrize(("signal", "status"), [("SIGSEGV", 139), ("SIGABRT", 134), ("SIGKILL", 137)])
def test_init_exits_with_128_plus_the_signal_that_killed_the_command(
    resources: ResourceScope, signal: str, status: int
) -> None:
    """Under --init, a command killed by signal N makes the container exit with 128 + N.

    Source: Docker run reference "--init" (docker-init is tini); tini README ("if the
    child was killed by a signal, tini exits with 128 + signal number"); signal(7).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/#init
    """
    assert resources.run([PROBE_PATH, "kill-self", signal], init=True).status == status


def test_exec_exit_code(probe: Prober) -> None:
    """docker exec reports the exit code of the executed process.

    Source: Engine API GET /exec/{id}/json ExitCode.
    Level: MUST, https://docs.docker.com/reference/api/engine/version/v1.41/
    """
    codes = [probe.container.exec_run([PROBE_PATH, "exit", str(code)])[0] for code in (0, 3, 255)]
    assert codes == [0, 3, 255]


def test_missing_command_fails_to_start_with_127(resources: ResourceScope) -> None:
    """A container whose command does not exist fails to start, and inspect reports exit
    code 127 with the runtime's error.

    Source: Docker run reference "Exit status" ("127 if the contained command cannot be
    found"); Engine API State.ExitCode and State.Error.
    Level: SHOULD, https://docs.docker.com/engine/containers/run/#exit-status
    """
    with pytest.raises(docker.errors.APIError, match="no such file or directory"):
        resources.container(["/nonexistent"])
    container = resources.created[-1]
    assert isinstance(container, Container)
    container.reload()
    assert container.attrs["State"]["ExitCode"] == 127


def test_stop_sends_sigterm(resources: ResourceScope) -> None:
    """docker stop sends SIGTERM to the main process; a process that exits on it ends
    the container with its own exit code (0).

    Source: docker stop reference ("The main process inside the container will receive
    SIGTERM, and after a grace period, SIGKILL").
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/stop/
    """
    container = resources.container([PROBE_PATH, "signals", "/tmp/signals", "EXIT_ON", "SIGTERM"])
    signals_ready(container)
    container.stop(timeout=10)
    container.reload()
    assert (container.logs(stderr=False), container.attrs["State"]["ExitCode"]) == (b"SIGTERM\n", 0)


def stopped_with_a_2_second_timeout(scope: ResourceScope) -> Record:
    """docker stop -t 2 of a process that ignores SIGTERM: how long it took, and the exit
    code."""
    container = scope.container([PROBE_PATH, "signals", "/tmp/signals", "EXIT_ON", "-", "IGNORE", "SIGTERM"])
    signals_ready(container)
    started = time.monotonic()
    container.stop(timeout=2)
    elapsed = time.monotonic() - started
    container.reload()
    return {"exit_code": container.attrs["State"]["ExitCode"], "elapsed": elapsed}


@pytest.mark.ahead(stopped_with_a_2_second_timeout, timeout=900)
def test_stop_kills_after_the_timeout(ahead: Record) -> None:
    """A process that ignores SIGTERM is killed with SIGKILL after the stop timeout it
    is given: exit status 137, not before the timeout, and well before the engine's 10 s
    default (the engine must not fall back to it). Mostly waits (2 s): its scenario runs
    ahead, in the background.

    Source: Engine API POST /containers/{id}/stop (t: "Number of seconds to wait before
    killing the container"); docker stop reference (-t, --time).
    Level: MUST, https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Container/operation/ContainerStop
    """
    assert ahead["exit_code"] == 137
    assert 2.0 <= ahead["elapsed"] < 10.0, f"stopped after {ahead['elapsed']:.2f} s"


@pytest.mark.requires("any_signal")
def test_stop_signal_option(resources: ResourceScope) -> None:
    """--stop-signal SIGUSR1 makes docker stop send SIGUSR1 instead of SIGTERM.

    Source: Docker run reference "--stop-signal"; Dockerfile STOPSIGNAL.
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/#stop-signal
    """
    container = resources.container(
        [PROBE_PATH, "signals", "/tmp/signals", "EXIT_ON", "SIGUSR1"], stop_signal="SIGUSR1"
    )
    signals_ready(container)
    container.stop(timeout=10)
    container.reload()
    assert (container.logs(stderr=False), container.attrs["State"]["ExitCode"]) == (b"SIGUSR1\n", 0)


@pytest.mark.requires("any_signal")
def test_kill_delivers_the_named_signal_to_pid_1(resources: ResourceScope) -> None:
    """docker kill -s SIGHUP delivers SIGHUP to the main process, which keeps running.

    Source: docker kill reference ("--signal"); signal(7).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/kill/
    """
    container = resources.container([PROBE_PATH, "signals", "/tmp/signals", "EXIT_ON", "SIGTERM"])
    signals_ready(container)
    container.kill(signal="SIGHUP")
    wait_for(container, "SIGHUP recorded", lambda c: c.logs(stderr=False) == b"SIGHUP\n")
    assert container.attrs["State"]["Running"] is True


@pytest.mark.requires("init")
def test_init_runs_docker_init_as_pid_1(resources: ResourceScope) -> None:
    """--init runs the engine's init (docker-init) as PID 1, with the command after "--".

    Source: Docker run reference "--init" ("... runs an init inside the container that
    forwards signals and reaps processes"); tini as docker-init.
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/#init
    """
    container = resources.container(init=True)
    cmdline = Prober(container).one("read", "/proc/1/cmdline")["data"]
    assert cmdline == f"/sbin/docker-init\x00--\x00{PROBE_PATH}\x00idle\x00"


def _orphaned(scope: ResourceScope, init: bool) -> Record:
    done = scope.run([PROBE_PATH, "orphan", "--", "sleep", "300", "--", "zombies"], init=init)
    return {"status": done.status, "stdout": done.stdout.decode("latin-1"), "stderr": done.stderr.decode("latin-1")}


def orphaned_under_init(scope: ResourceScope) -> Record:
    """A main process under --init that orphans a child, waits for it to exit, then
    counts the zombies: what it printed."""
    return _orphaned(scope, init=True)


def orphaned_without_init(scope: ResourceScope) -> Record:
    """The same main process as PID 1 itself, without --init."""
    return _orphaned(scope, init=False)


@pytest.mark.parametrize(
    ("init", "zombies"),
    [
        pytest.param(
            True, 0, marks=[pytest.mark.requires("init"), pytest.mark.ahead(orphaned_under_init, timeout=600)]
        ),
        pytest.param(False, 1, marks=pytest.mark.ahead(orphaned_without_init, timeout=600)),
    ],
)
def test_orphans_are_reaped_only_with_init(ahead: Record, init: bool, zombies: int) -> None:
    """An orphaned process that exits is reaped by --init's PID 1; a main process that
    does not wait for it leaves it a zombie. Mostly waits (the orphan's exit, then the
    reaping): its scenario runs ahead, in the background.

    Source: Docker run reference "--init"; wait(2) ("a child that terminates, but has
    not been waited for becomes a zombie"); PR_SET_CHILD_SUBREAPER / init reparenting.
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/#init
    """
    assert json.loads(ahead["stdout"])[2]["zombies"] == zombies, ahead


def restarted_twice(scope: ResourceScope) -> Record:
    """A container failing under --restart on-failure:2, until its second restart has
    exited: its state then."""
    container = scope.container(
        [PROBE_PATH, "exit", "3"], restart_policy={"Name": "on-failure", "MaximumRetryCount": 2}
    )
    done = reached(
        container, lambda c: c.attrs["RestartCount"] == 2 and c.attrs["State"]["Status"] == "exited", timeout=300
    )
    return {"reached": done, "restarts": container.attrs["RestartCount"], "state": container.attrs["State"]}


@pytest.mark.ahead(restarted_twice, timeout=900)
def test_restart_on_failure_stops_after_the_maximum(ahead: Record) -> None:
    """--restart on-failure:2 restarts a failing container twice, then leaves it exited.
    Mostly waits (the restart back-off): its scenario runs ahead, in the background.

    Source: Docker docs "Start containers automatically" (on-failure[:max-retries]);
    Engine API State and RestartCount.
    Level: MUST, https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Container/operation/ContainerCreate
    """
    assert ahead["reached"], f"not two restarts, then exited, within 300 s: {ahead['restarts']}, {ahead['state']}"
    assert ahead["state"]["ExitCode"] == 3


def test_auto_remove_deletes_the_container_after_it_exits(resources: ResourceScope) -> None:
    """--rm removes the container once its main process has exited.

    Source: Docker run reference "Clean up (--rm)".
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/#rm
    """
    container = resources.container([PROBE_PATH, "exit", "0"], auto_remove=True)
    began = time.monotonic()
    while time.monotonic() < began + 30:
        try:
            container.reload()
        except docker.errors.NotFound:
            return
        pause(time.monotonic() - began)
    raise AssertionError(f"{container.name} still exists 30 s after exiting: {container.attrs['State']}")


def test_pause_freezes_and_unpause_resumes(resources: ResourceScope) -> None:
    """Paused containers report Paused, refuse exec with 409 Conflict, and run again
    after unpause (once inspect reports them unpaused: the engine records the state from
    the runtime's event, so it may lag the API call by a moment).

    Source: docker pause / unpause reference (cgroup freezer); Engine API POST /exec:
    409 "container is paused".
    Level: MUST, https://docs.docker.com/reference/api/engine/version/v1.41/
    """
    container = resources.container()
    container.pause()
    wait_for(container, "paused", lambda c: c.attrs["State"]["Paused"] is True)
    assert container.status == "paused"
    with pytest.raises(docker.errors.APIError) as refused:
        container.exec_run([PROBE_PATH, "exit", "0"])
    assert refused.value.status_code == 409
    container.unpause()
    wait_for(container, "unpaused", lambda c: c.attrs["State"]["Paused"] is False)
    assert (container.status, container.exec_run([PROBE_PATH, "exit", "0"])[0]) == ("running", 0)


def test_logs_separate_stdout_and_stderr_in_order(resources: ResourceScope) -> None:
    """Logs keep stdout and stderr apart, each in the order written.

    Source: docker logs reference; Engine API GET /containers/{id}/logs (stdout, stderr).
    Level: MUST, https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Container/operation/ContainerLogs
    """
    done = resources.run(["/bin/sh", "-c", "echo out1; echo err1 >&2; echo out2; echo err2 >&2"])
    assert (done.stdout, done.stderr) == (b"out1\nout2\n", b"err1\nerr2\n")


def test_large_output_is_logged_completely(resources: ResourceScope) -> None:
    """4 MiB written to stdout come back from the logs byte for byte.

    The container stays up after writing: when a container exits, the engine waits at
    most 2 s for its output streams to drain before closing them (moby daemon/monitor.go,
    StreamConfig.Wait with a 2-second context), so on a slow engine the tail of a large
    output written just before the exit can be lost by design. That bound is the same on
    every platform; completeness of the log is what this check is about.

    Source: Docker docs "JSON File logging driver" (default); docker logs reference.
    Level: SHOULD, https://docs.docker.com/engine/logging/drivers/json-file/
    """
    size = 4 * 1024 * 1024
    line = "parity-" + "x" * 56  # 64-byte lines: 65536 log messages (the driver's cost is per message)
    container = resources.container(
        ["/bin/sh", "-c", f"yes {line} | head -c {size}; echo parity-end; exec {PROBE_PATH} idle"]
    )
    # polls the last line only: the whole 4 MiB is read once, below
    wait_for(
        container, "the last line logged", lambda c: c.logs(stdout=True, stderr=False, tail=1) == b"parity-end\n", 120
    )
    logs = container.logs(stdout=True, stderr=False)
    assert logs == (f"{line}\n".encode() * (size // 64))[:size] + b"parity-end\n"


def test_environment_is_passed_byte_exact(resources: ResourceScope) -> None:
    """Environment values reach the process byte for byte: spaces, '=', tabs, UTF-8, empty.

    Source: Docker run reference "ENV (environment variables)"; environ(7).
    Level: MUST, https://man7.org/linux/man-pages/man7/environ.7.html
    """
    values = {
        "PARITY_SPACES": " a  b ",
        "PARITY_EQUALS": "x=y=z",
        "PARITY_TAB": "a\tb",
        "PARITY_UTF8": "\u00e9\u540d",
        "PARITY_EMPTY": "",
    }
    done = resources.run([PROBE_PATH, "env"], environment=values)
    environment = [entry.encode("latin-1") for entry in json.loads(done.stdout)[0]["env"]]
    assert [e for e in environment if e.startswith(b"PARITY_")] == [f"{k}={v}".encode() for k, v in values.items()]


def test_argv_is_passed_byte_exact(resources: ResourceScope) -> None:
    """Command arguments reach the process byte for byte, including empty ones, "--",
    whitespace and UTF-8.

    Source: Docker run reference "CMD (default command or options)" (exec form, no shell);
    execve(2).
    Level: MUST, https://man7.org/linux/man-pages/man2/execve.2.html
    """
    arguments = ["", " ", "--", "a\tb", "line\nbreak", "\u00e9", "$HOME", "'quoted'"]
    done = resources.run([PROBE_PATH, "argv", *arguments])
    assert [a.encode("latin-1") for a in json.loads(done.stdout)[0]["argv"]] == [a.encode() for a in arguments]


@pytest.mark.requires("exec_user")
def test_exec_environment_user_and_working_directory(probe: Prober) -> None:
    """docker exec runs with the given environment, user and working directory.

    Source: docker exec reference (--env, --user, --workdir); Engine API POST
    /containers/{id}/exec (Env, User, WorkingDir).
    Level: MUST, https://docs.docker.com/reference/api/engine/version/v1.41/
    """
    env, ids = probe(
        ("env",), ("ids",), user="1000:1000", environment={"PARITY_EXEC": "1"}, workdir="/tmp", through_exec=True
    )
    cwd = probe.container.exec_run(["/bin/sh", "-c", "pwd"], workdir="/tmp")[1]
    assert "PARITY_EXEC=1" in env["env"]
    assert (ids["uid"], ids["gid"], cwd) == (1000, 1000, b"/tmp\n")
