"""Capability sets of the container's process under the default set, --cap-add and --cap-drop."""

from __future__ import annotations

import pytest

from parity.workload.probe import Prober
from plugins.workload import Observe
from suites.linux import DOCKER_DEFAULT_CAPABILITIES, capability_mask

DEFAULT = capability_mask(DOCKER_DEFAULT_CAPABILITIES)
NONE = "0" * 16


def test_root_gets_exactly_the_default_capabilities(probe: Prober) -> None:
    """A root process gets exactly Docker's 14 default capabilities as effective, permitted
    and bounding sets, and no inheritable or ambient ones.

    Source: Docker run reference, "Runtime privilege and Linux capabilities"; moby
    oci/caps/defaults.go; capabilities(7).
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    caps = probe.one("caps")
    assert (caps["effective"], caps["permitted"], caps["bounding"]) == (DEFAULT, DEFAULT, DEFAULT)
    assert (caps["inheritable"], caps["ambient"]) == (NONE, NONE)


def test_proc_status_agrees_with_capget(probe: Prober) -> None:
    """/proc/self/status CapEff/CapPrm/CapBnd show the same sets as capget(2).

    Source: proc(5), /proc/pid/status "CapEff"; capget(2).
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    status = probe.one("read", "/proc/self/status")["data"]
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if line.startswith("Cap"))
    assert (fields["CapEff"], fields["CapPrm"], fields["CapBnd"], fields["CapAmb"]) == (DEFAULT, DEFAULT, DEFAULT, NONE)


def test_cap_drop_all_leaves_no_capability(observe: Observe) -> None:
    """--cap-drop ALL empties every capability set.

    Source: Docker run reference, "--cap-drop"; capabilities(7).
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    caps = observe(("caps",), cap_drop=["ALL"])[0]
    assert {caps[key] for key in ("effective", "permitted", "bounding", "inheritable", "ambient")} == {NONE}


def test_cap_add_adds_exactly_one(observe: Observe) -> None:
    """--cap-add SYS_ADMIN adds bit 21 to the default effective and bounding sets.

    Source: Docker run reference, "--cap-add"; capabilities(7) (CAP_SYS_ADMIN = 21).
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    caps = observe(("caps",), cap_add=["SYS_ADMIN"])[0]
    expected = capability_mask([*DOCKER_DEFAULT_CAPABILITIES, "SYS_ADMIN"])
    assert (caps["effective"], caps["bounding"]) == (expected, expected)


def test_cap_drop_net_raw_refuses_raw_sockets(observe: Observe) -> None:
    """--cap-drop NET_RAW removes bit 13, and socket(AF_INET, SOCK_RAW) then fails with EPERM.

    Source: capabilities(7) CAP_NET_RAW; raw(7): "Only processes with an effective user
    ID of 0 or the CAP_NET_RAW capability are allowed to open raw sockets" (EPERM).
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    caps, raw = observe(("caps",), ("syscall", "socket-raw-icmp"), cap_drop=["NET_RAW"])
    without = capability_mask(c for c in DOCKER_DEFAULT_CAPABILITIES if c != "NET_RAW")
    assert caps["effective"] == without
    assert (raw.ok, raw.errno) == (False, "EPERM")


def test_default_capabilities_allow_raw_sockets(probe: Prober) -> None:
    """With the default set (which has NET_RAW) a raw ICMP socket can be opened.

    Source: Docker run reference, default capabilities include NET_RAW; raw(7).
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    assert probe.one("syscall", "socket-raw-icmp").ok


def test_non_root_user_has_no_effective_capabilities(observe: Observe) -> None:
    """A non-root --user has empty effective and permitted sets; the bounding set stays
    the default one.

    Source: capabilities(7), "Effect of user ID changes on capabilities" (execve as a
    non-zero uid clears permitted and effective); runc keeps the configured bounding set.
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    caps = observe(("caps",), user="1000:1000")[0]
    assert (caps["effective"], caps["permitted"], caps["bounding"]) == (NONE, NONE, DEFAULT)


@pytest.mark.parametrize(
    ("operation", "errno"),
    [
        (("syscall", "chown-root-file"), None),  # CAP_CHOWN, on a file of its own
        (("syscall", "chroot"), None),  # CAP_SYS_CHROOT
        (("syscall", "mknod-char"), None),  # CAP_MKNOD
        (("syscall", "sethostname"), "EPERM"),  # CAP_SYS_ADMIN, not granted
        (("syscall", "mount-tmpfs"), "EPERM"),  # CAP_SYS_ADMIN, not granted
        (("syscall", "clock_settime"), "EPERM"),  # CAP_SYS_TIME, not granted
        (("syscall", "setpriority-neg"), "EACCES"),  # CAP_SYS_NICE, not granted
    ],
    ids=lambda value: value[-1] if isinstance(value, tuple) else (value or "ok"),
)
def test_default_capabilities_decide_privileged_operations(
    probe: Prober, operation: tuple[str, ...], errno: str | None
) -> None:
    """Operations gated by a default capability succeed; those gated by a capability
    outside the default set fail with the errno their man page gives.

    Source: capabilities(7); chown(2), chroot(2), mknod(2) (EPERM without the cap);
    sethostname(2), mount(2), clock_settime(2): EPERM; setpriority(2): EACCES when
    lowering the nice value without CAP_SYS_NICE.
    Level: SHOULD, https://docs.docker.com/engine/containers/run/
    """
    observed = probe(tuple(operation))[0]
    assert (observed.ok, observed.errno) == (errno is None, errno)
