"""uname, hostname and user identity as a container sees them."""

from __future__ import annotations

import time

import pytest
from docker.models.containers import Container

from parity.run.target import Target
from parity.workload.image import docker_arch
from parity.workload.probe import Prober
from plugins.workload import Observe
from suites.linux import UNAME_MACHINE
from suites.verdicts import not_applicable


def declared_architecture(target: Target) -> str | None:
    """The architecture of the target's declared platform (matrix.yaml ``platform:
    os/arch``), in Docker's spelling, or None when it declares none."""
    parts = (target.spec.platform or "").split("/")
    return docker_arch(parts[1]) if len(parts) > 1 and parts[1] else None


def test_uname_reports_linux_on_the_declared_architecture(probe: Prober, target: Target) -> None:
    """uname(2) in a container reports sysname "Linux" and the machine of the platform the
    target declares (amd64: x86_64, arm64: aarch64).

    Source: uname(2); matrix.yaml `platform` (os/arch, the OCI platform of the workload);
    the kernel's UTS_MACHINE (arch/x86/Makefile, arch/arm64/Makefile).
    Level: MUST, https://man7.org/linux/man-pages/man2/uname.2.html
    """
    declared = declared_architecture(target)
    if declared is None:
        not_applicable(f"target {target.name} declares no platform architecture (matrix.yaml platform)")
    uname = probe.one("uname")
    assert (uname["sysname"], uname["machine"]) == ("Linux", UNAME_MACHINE[declared])


def test_consistency_uname_reports_linux_on_the_engine_architecture(probe: Prober, target: Target) -> None:
    """Consistency: where the target declares no platform, uname(2) in a container reports
    sysname "Linux" and the machine the engine says it runs on.

    This compares the container with the engine's own report, so it cannot see an engine
    that misreports both alike; test_uname_reports_linux_on_the_declared_architecture
    judges targets that declare their platform.

    Source: uname(2); Engine API GET /info "Architecture" (the engine host's `uname -m`).
    Level: MUST, https://man7.org/linux/man-pages/man2/uname.2.html
    """
    if declared_architecture(target) is not None:
        not_applicable(f"target {target.name} declares its platform: the declared architecture is checked instead")
    uname = probe.one("uname")
    assert (uname["sysname"], uname["machine"]) == ("Linux", target.facts.architecture)


def test_consistency_uname_release_matches_engine_kernel(probe: Prober, target: Target) -> None:
    """Consistency: containers share the engine host's kernel, so uname -r equals the
    engine's KernelVersion (the kernel release legitimately differs between platforms:
    only the engine can say which one it runs).

    Source: Docker overview, "containers share the host kernel"; GET /info "KernelVersion".
    Level: MUST, https://docs.docker.com/reference/api/engine/version/v1.41/
    """
    assert probe.one("uname")["release"] == target.facts.kernel_version


def test_default_hostname_is_the_short_container_id(probe: Prober, workload: Container) -> None:
    """Without --hostname, the container's hostname is the first 12 characters of its id.

    Source: Docker run reference, "Network settings": "--hostname ... defaults to the
    container's ID"; docker/cli stringid.TruncateID (12 characters).
    Level: SHOULD, https://docs.docker.com/engine/network/
    """
    observed = probe(("uname",), ("hostname",))
    assert workload.id is not None
    assert observed[0]["nodename"] == observed[1]["hostname"] == workload.id[:12]


def test_hostname_and_domainname_options(observe: Observe) -> None:
    """--hostname and --domainname set the UTS nodename and domainname exactly.

    Source: Docker run reference (--hostname, --domainname); uname(2), getdomainname(2).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    uname = observe(("uname",), hostname="parity-host", domainname="parity.test")[0]
    assert (uname["nodename"], uname["domainname"]) == ("parity-host", "parity.test")


def test_default_user_is_root_with_group_root(probe: Prober) -> None:
    """Without USER or --user, the process runs as uid 0, gid 0, supplementary groups [0].

    Source: Docker run reference, "USER" ("the default user within a container is
    root (uid = 0)"); runc sets the user's groups from /etc/group of the image.
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    ids = probe.one("ids")
    assert (ids["uid"], ids["euid"], ids["suid"], ids["gid"], ids["egid"], ids["sgid"], ids["groups"]) == (
        0, 0, 0, 0, 0, 0, [0],
    )  # fmt: skip


def test_user_by_name_takes_ids_and_groups_from_the_image(observe: Observe) -> None:
    """--user NAME resolves uid, gid and supplementary groups from the image's /etc/passwd
    and /etc/group (the workload's user parity is 1000:1000, member of parity-extra 2000).

    Source: Docker run reference, "USER"; runc libcontainer/user GetExecUser.
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    ids = observe(("ids",), user="parity")[0]
    assert (ids["uid"], ids["euid"], ids["gid"], ids["egid"], ids["groups"]) == (1000, 1000, 1000, 1000, [1000, 2000])


@pytest.mark.requires("group_add")
def test_numeric_user_and_group_add(observe: Observe) -> None:
    """--user UID:GID sets exactly those ids; --group-add adds a supplementary group.

    Source: Docker run reference, "USER" and "--group-add: Add additional groups to join".
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    ids = observe(("ids",), user="1000:1000", group_add=["3000"])[0]
    assert (ids["uid"], ids["gid"], ids["groups"]) == (1000, 1000, [1000, 3000])


@pytest.mark.parametrize("variable", ["PATH=/usr/local/bin:/bin", "HOSTNAME", "HOME=/root"])
def test_default_environment(probe: Prober, workload: Container, variable: str) -> None:
    """The process environment holds the image's ENV and HOSTNAME=<container hostname>.

    Source: Docker run reference, "ENV (environment variables)": Docker sets HOSTNAME
    (and HOME when unset) for every container.
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    environment = probe.one("env")["env"]
    assert workload.id is not None
    expected = variable if "=" in variable else f"{variable}={workload.id[:12]}"
    assert expected in environment


# How far a container's clock may be from this machine's, beyond the request's own
# duration: two machines kept by NTP agree to well under a second.
CLOCK_TOLERANCE_NS = 2 * 10**9


def test_realtime_clock_agrees_with_the_machine_running_pytest(probe: Prober) -> None:
    """Containers have no time namespace and see the engine host's clocks, which keep real
    time: CLOCK_REALTIME in a container is within 2 s of the clock of the machine running
    pytest, read before and after the request (so the request's own duration is allowed
    on top of the 2 s); CLOCK_MONOTONIC never goes backwards between calls. An engine VM
    whose clock drifted (Docker Desktop after the host slept, docker/for-mac#2076) fails.

    Source: clock_gettime(2) (CLOCK_REALTIME: "system-wide clock that measures real
    time"); time_namespaces(7) (not used by Docker: the host's clocks).
    Level: MUST, https://man7.org/linux/man-pages/man2/clock_gettime.2.html
    """
    before = time.time_ns()
    first, second = probe(("clock",), ("clock",))
    after = time.time_ns()
    offset = first["realtime_ns"] - (before + after) // 2
    assert before - CLOCK_TOLERANCE_NS <= first["realtime_ns"] <= after + CLOCK_TOLERANCE_NS, (
        f"the container's clock is {offset / 1e9:+.3f} s from this machine's "
        f"(request took {(after - before) / 1e9:.3f} s)"
    )
    assert first["monotonic_ns"] <= second["monotonic_ns"]
