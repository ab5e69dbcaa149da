"""uname, hostname and user identity as a container sees them."""

from __future__ import annotations

import datetime

import pytest
from docker.models.containers import Container

from parity.run.target import Target
from parity.workload.probe import Prober
from plugins.workload import Observe


def test_uname_reports_linux_on_the_engine_architecture(probe: Prober, target: Target) -> None:
    """uname(2) in a container reports sysname "Linux" and the machine the engine runs on.

    Source: uname(2); Engine API GET /info "Architecture" (the engine host's `uname -m`).
    """
    uname = probe.one("uname")
    assert (uname["sysname"], uname["machine"]) == ("Linux", target.facts.architecture)


def test_uname_release_is_the_engine_kernel(probe: Prober, target: Target) -> None:
    """Containers share the engine host's kernel: uname -r equals the engine's KernelVersion.

    Source: Docker overview, "containers share the host kernel"; GET /info "KernelVersion".
    """
    assert probe.one("uname")["release"] == target.facts.kernel_version


def test_default_hostname_is_the_short_container_id(probe: Prober, workload: Container) -> None:
    """Without --hostname, the container's hostname is the first 12 characters of its id.

    Source: Docker run reference, "Network settings": "--hostname ... defaults to the
    container's ID"; docker/cli stringid.TruncateID (12 characters).
    """
    observed = probe(("uname",), ("hostname",))
    assert workload.id is not None
    assert observed[0]["nodename"] == observed[1]["hostname"] == workload.id[:12]


def test_hostname_and_domainname_options(observe: Observe) -> None:
    """--hostname and --domainname set the UTS nodename and domainname exactly.

    Source: Docker run reference (--hostname, --domainname); uname(2), getdomainname(2).
    """
    uname = observe(("uname",), hostname="parity-host", domainname="parity.test")[0]
    assert (uname["nodename"], uname["domainname"]) == ("parity-host", "parity.test")


def test_default_user_is_root_with_group_root(probe: Prober) -> None:
    """Without USER or --user, the process runs as uid 0, gid 0, supplementary groups [0].

    Source: Docker run reference, "USER" ("the default user within a container is
    root (uid = 0)"); runc sets the user's groups from /etc/group of the image.
    """
    ids = probe.one("ids")
    assert (ids["uid"], ids["euid"], ids["suid"], ids["gid"], ids["egid"], ids["sgid"], ids["groups"]) == (
        0, 0, 0, 0, 0, 0, [0],
    )  # fmt: skip


def test_user_by_name_takes_ids_and_groups_from_the_image(observe: Observe) -> None:
    """--user NAME resolves uid, gid and supplementary groups from the image's /etc/passwd
    and /etc/group (the workload's user parity is 1000:1000, member of parity-extra 2000).

    Source: Docker run reference, "USER"; runc libcontainer/user GetExecUser.
    """
    ids = observe(("ids",), user="parity")[0]
    assert (ids["uid"], ids["euid"], ids["gid"], ids["egid"], ids["groups"]) == (1000, 1000, 1000, 1000, [1000, 2000])


@pytest.mark.requires("group_add")
def test_numeric_user_and_group_add(observe: Observe) -> None:
    """--user UID:GID sets exactly those ids; --group-add adds a supplementary group.

    Source: Docker run reference, "USER" and "--group-add: Add additional groups to join".
    """
    ids = observe(("ids",), user="1000:1000", group_add=["3000"])[0]
    assert (ids["uid"], ids["gid"], ids["groups"]) == (1000, 1000, [1000, 3000])


@pytest.mark.parametrize("variable", ["PATH=/usr/local/bin:/bin", "HOSTNAME", "HOME=/root"])
def test_default_environment(probe: Prober, workload: Container, variable: str) -> None:
    """The process environment holds the image's ENV and HOSTNAME=<container hostname>.

    Source: Docker run reference, "ENV (environment variables)": Docker sets HOSTNAME
    (and HOME when unset) for every container.
    """
    environment = probe.one("env")["env"]
    assert workload.id is not None
    expected = variable if "=" in variable else f"{variable}={workload.id[:12]}"
    assert expected in environment


def engine_time_ns(target: Target) -> int:
    """The engine host's clock, from GET /info SystemTime (RFC 3339, nanoseconds)."""
    stamp = str(target.client.info()["SystemTime"])
    seconds, _, fraction = stamp.rstrip("Z").partition(".")
    whole = datetime.datetime.fromisoformat(seconds[:19]).replace(tzinfo=datetime.UTC)
    return int(whole.timestamp()) * 10**9 + int((fraction.split("+")[0] + "000000000")[:9])


def test_clocks_are_the_engine_hosts(probe: Prober, target: Target) -> None:
    """Containers have no time namespace: CLOCK_REALTIME in a container agrees with the
    engine host's clock (GET /info SystemTime) to within a second, and CLOCK_MONOTONIC
    never goes backwards between calls.

    Source: clock_gettime(2); time_namespaces(7) (not used by Docker, so the host's
    clocks); Engine API GET /info SystemTime.
    """
    before = engine_time_ns(target)
    first, second = probe(("clock",), ("clock",))
    after = engine_time_ns(target)
    assert before - 10**9 <= first["realtime_ns"] <= after + 10**9
    assert first["monotonic_ns"] <= second["monotonic_ns"]
