"""The default seccomp profile: filter mode, what it refuses and what it still allows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from parity.run.target import Target
from parity.workload.probe import Prober
from plugins.workload import Observe, serving_container
from suites.verdicts import not_applicable

# Whether a target applies seccomp is its declaration (its kind's default, or matrix.yaml
# capabilities), never what its engine says of itself: an engine that drops seccomp where
# it is declared fails these checks instead of escaping them.
SECCOMP = pytest.mark.requires("seccomp")


@SECCOMP
def test_seccomp_filter_mode_is_active(probe: Prober) -> None:
    """A target that declares seccomp runs containers in seccomp filter mode (2), with one
    filter, and /proc/self/status says the same.

    Source: Docker docs "Seccomp security profiles for Docker"; prctl(2) PR_GET_SECCOMP;
    proc(5) "Seccomp" and "Seccomp_filters".
    Level: SHOULD, https://docs.docker.com/engine/security/seccomp/
    """
    mode, status = probe(("prctl",), ("read", "/proc/self/status"))
    fields = dict(line.split(":\t", 1) for line in status["data"].splitlines() if ":\t" in line)
    assert (mode["seccomp"], fields["Seccomp"], fields["Seccomp_filters"]) == (2, "2", "1")


@pytest.fixture(scope="module")
def unconfined(target: Target, own_network_mode: str | None, request: pytest.FixtureRequest) -> Iterator[Prober]:
    """One container under --security-opt seccomp=unconfined for the checks here: each
    of its probe's requests is a fresh process, and the calls made in it change nothing
    another request sees (keyring calls run in a child, on its own keyring)."""
    with serving_container(target, request.config, own_network_mode, security_opt=["seccomp=unconfined"]) as prober:
        yield prober


@SECCOMP
def test_unconfined_has_no_filter(unconfined: Prober) -> None:
    """--security-opt seccomp=unconfined runs the container's processes without any
    seccomp filter.

    Source: Docker docs "Seccomp security profiles for Docker", "Run without the default
    seccomp profile".
    Level: SHOULD, https://docs.docker.com/engine/security/seccomp/
    """
    assert unconfined.one("prctl")["seccomp"] == 0


# Refused with EPERM in a default container: by the default profile (default action
# SCMP_ACT_ERRNO, EPERM), by the missing capability, or by both. Source: Docker docs
# "Seccomp security profiles for Docker", table "Significant syscalls blocked by the
# default profile"; moby profiles/seccomp/default.json; capabilities(7).
REFUSED = [
    "unshare-user",  # unshare: "Deny cloning new namespaces"
    "unshare-mnt",
    "unshare-uts",
    "unshare-net",
    "keyctl-join",  # keyctl: "Prevent containers from using the kernel keyring"
    "add_key",
    "request_key",
    "userfaultfd",  # "Userspace page fault handling, largely needed for process migration"
    "perf_event_open",  # "Tracing/profiling syscall"
    "bpf",  # "Deny loading potentially persistent bpf programs into kernel"
    "acct",  # "Accounting syscall which could let containers disable their own resource limits"
    "swapon",  # "Deny swap on/off for the container"
    "swapoff",
    "reboot-cad-off",  # "Don't let containers reboot the host"
    "init_module",  # "Deny manipulation and functions on kernel modules"
    "finit_module",
    "delete_module",
    "kexec_load",  # "Deny loading a new kernel for later execution"
    "settimeofday",  # "Time/date is not namespaced"
    "syslog-read",  # "Prevent container from using kernel syslog"
    "open_by_handle_at",  # "Cause of an old container breakout"
    "quotactl",  # "Quota syscall which could let containers disable their own resource limits"
    "iopl",  # "Deny I/O privilege level changes"
    "ioperm",
]


@SECCOMP
@pytest.mark.parametrize("syscall", REFUSED)
def test_default_container_refuses_with_eperm(probe: Prober, syscall: str) -> None:
    """A default container (default seccomp profile, default capabilities) is refused
    this system call with EPERM.

    Source: Docker docs "Seccomp security profiles for Docker" (blocked syscalls table,
    errno EPERM); capabilities(7) (EPERM without the capability the call needs).
    Level: SHOULD, https://docs.docker.com/engine/security/seccomp/
    """
    observed = probe.one("syscall", syscall)
    if observed.get("unsupported"):
        not_applicable(f"{syscall} does not exist on {observed.get('arch', 'this architecture')}")
    assert (observed.ok, observed.errno) == (False, "EPERM")


# Refused by the profile alone: the same container without a filter gets another answer.
# Source: moby profiles/seccomp/default.json (unshare, keyctl, add_key, request_key are
# not allowed for a container without CAP_SYS_ADMIN); unshare(2), keyctl(2), add_key(2),
# request_key(2) (ENOKEY: no such key).
PROFILE_ONLY = [("unshare-user", None), ("keyctl-join", None), ("add_key", None), ("request_key", "ENOKEY")]


@SECCOMP
@pytest.mark.parametrize(("syscall", "without_filter"), PROFILE_ONLY, ids=[s for s, _ in PROFILE_ONLY])
def test_the_profile_is_what_refuses(
    probe: Prober, unconfined: Prober, syscall: str, without_filter: str | None
) -> None:
    """These calls are refused (EPERM) by the default seccomp profile itself: under
    --security-opt seccomp=unconfined the same call succeeds or fails for its own reason.

    Source: Docker docs "Seccomp security profiles for Docker"; moby
    profiles/seccomp/default.json; the man page of each call for its unconfined result.
    Level: SHOULD, https://docs.docker.com/engine/security/seccomp/
    """
    confined = probe.one("syscall", syscall)
    free = unconfined.one("syscall", syscall)
    assert (confined.ok, confined.errno) == (False, "EPERM")
    assert (free.ok, free.errno) == (without_filter is None, without_filter)


# Allowed by the default profile (and by the default capabilities).
# Source: moby profiles/seccomp/default.json: ptrace allowed on kernels >= 4.8 (since
# Docker 19.03); personality allowed for 0x0, 0x8 (PER_LINUX32), 0x20000, 0x20008 and
# 0xffffffff (query); chroot allowed with CAP_SYS_CHROOT; mlock on small ranges.
ALLOWED = ["ptrace-traceme", "personality-query", "personality-linux32", "chroot", "mlock", "adjtimex-read"]


@SECCOMP
@pytest.mark.parametrize("syscall", ALLOWED)
def test_default_profile_allows(probe: Prober, syscall: str) -> None:
    """The default seccomp profile lets this system call through, and it succeeds.

    Source: moby profiles/seccomp/default.json (allow list and its conditional rules);
    Docker docs "Seccomp security profiles for Docker".
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/profiles/seccomp/default.json
    """
    observed = probe.one("syscall", syscall)
    assert (observed.ok, observed.errno) == (True, None)


def test_no_new_privileges_is_off_by_default(probe: Prober) -> None:
    """Without --security-opt no-new-privileges, the no_new_privs bit is 0.

    Source: Docker run reference, "Security configuration" (no-new-privileges);
    prctl(2) PR_GET_NO_NEW_PRIVS.
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    assert probe.one("prctl")["no_new_privs"] == 0


@pytest.mark.requires("no_new_privileges")
def test_no_new_privileges_option_sets_the_bit(observe: Observe) -> None:
    """--security-opt no-new-privileges sets no_new_privs to 1 for the container process.

    Source: Docker run reference, "Security configuration"; prctl(2) PR_SET_NO_NEW_PRIVS.
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    prctl, status = observe(("prctl",), ("read", "/proc/self/status"), security_opt=["no-new-privileges"])
    assert prctl["no_new_privs"] == 1
    assert "NoNewPrivs:\t1" in status["data"].splitlines()
