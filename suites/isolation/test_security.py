"""Security defaults of a container: its AppArmor profile, no_new_privs, and the paths of
/proc and /sys that the runtime masks or makes read-only."""

from __future__ import annotations

import docker.errors
import pytest

from parity.run.resources import ResourceScope
from parity.run.target import Target
from parity.workload.probe import Prober
from plugins.workload import Observe
from suites.verdicts import not_applicable

# moby v20.10.24 oci/defaults.go DefaultLinuxSpec: MaskedPaths and ReadonlyPaths. runc
# masks a file with a bind mount of /dev/null and a folder with an empty read-only tmpfs,
# remounts a read-only path read-only, and skips a path the kernel does not have (OCI
# runtime spec config-linux.md "Masked Paths", "Readonly Paths").
MASKED_FILES = (
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
)
MASKED_FOLDERS = ("/proc/asound", "/proc/acpi", "/proc/scsi", "/sys/firmware")
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


def apparmor_listed(target: Target) -> bool:
    return any(o == "name=apparmor" or o.startswith("name=apparmor,") for o in target.facts.security_options)


def require_apparmor(target: Target) -> None:
    if not apparmor_listed(target):
        not_applicable(
            f"target {target.name}: the engine lists no AppArmor in its security options "
            f"(GET /info SecurityOptions {list(target.facts.security_options)})"
        )


def test_apparmor_confines_containers_with_docker_default(probe: Prober, target: Target) -> None:
    """Where the engine reports AppArmor (GET /info SecurityOptions "name=apparmor"), a
    container's processes, exec'd ones included, run under the docker-default profile in
    enforce mode: /proc/self/attr/current reads "docker-default (enforce)".

    Source: Docker docs "AppArmor security profiles for Docker" ("When you run a container,
    it uses the docker-default policy unless you override it"); moby v20.10.24
    daemon/apparmor_default.go, daemon/exec_linux.go; proc(5) /proc/pid/attr/current.
    Level: SHOULD, https://docs.docker.com/engine/security/apparmor/
    """
    require_apparmor(target)
    assert probe.one("read", "/proc/self/attr/current")["data"] == "docker-default (enforce)\n"


def test_apparmor_unconfined_option(observe: Observe, target: Target) -> None:
    """Where the engine reports AppArmor, --security-opt apparmor=unconfined runs the
    container's process unconfined: /proc/self/attr/current reads "unconfined".

    Source: Docker docs "AppArmor security profiles for Docker" (--security-opt
    apparmor=<profile>); moby v20.10.24 daemon/daemon_unix.go parseSecurityOpt; proc(5).
    Level: SHOULD, https://docs.docker.com/engine/security/apparmor/
    """
    require_apparmor(target)
    (label,) = observe(("read", "/proc/self/attr/current"), security_opt=["apparmor=unconfined"])
    assert label["data"] == "unconfined\n"


@pytest.mark.requires("no_new_privileges")
def test_no_new_privileges_reaches_exec_processes(resources: ResourceScope) -> None:
    """In a container started with --security-opt no-new-privileges, a process started by
    docker exec has no_new_privs 1 too (the exec's process is built from the container's).

    Source: Docker run reference, "Security configuration" (no-new-privileges); moby
    v20.10.24 daemon/exec.go (the exec process starts from the container spec's process,
    NoNewPrivileges included); prctl(2) PR_GET_NO_NEW_PRIVS; proc(5) NoNewPrivs.
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    container = resources.container(security_opt=["no-new-privileges"])
    prctl, status = Prober(container)(("prctl",), ("read", "/proc/self/status"))
    assert prctl["no_new_privs"] == 1
    assert "NoNewPrivs:\t1" in status["data"].splitlines()


@pytest.mark.requires("no_new_privileges")
@pytest.mark.parametrize(("option", "bit"), [("no-new-privileges=true", 1), ("no-new-privileges=false", 0)])
def test_no_new_privileges_takes_a_boolean(observe: Observe, option: str, bit: int) -> None:
    """--security-opt no-new-privileges=true sets the no_new_privs bit, =false leaves it 0.

    Source: Docker run reference, "Security configuration" (no-new-privileges); moby
    v20.10.24 daemon/daemon_unix.go parseSecurityOpt (strconv.ParseBool of the value);
    prctl(2) PR_GET_NO_NEW_PRIVS.
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    assert observe(("prctl",), security_opt=[option])[0]["no_new_privs"] == bit


@pytest.mark.requires("no_new_privileges")
def test_no_new_privileges_refuses_a_value_that_is_not_a_boolean(resources: ResourceScope) -> None:
    """--security-opt no-new-privileges=maybe is refused when the container is created,
    and the refusal names the option ("invalid --security-opt").

    Source: moby v20.10.24 daemon/daemon_unix.go parseSecurityOpt (strconv.ParseBool of
    the value fails: "invalid --security-opt 2: ..."), called by POST /containers/create.
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/daemon/daemon_unix.go
    """
    with pytest.raises(docker.errors.APIError) as refused:
        resources.container(security_opt=["no-new-privileges=maybe"], start=False)
    explanation = str(refused.value.explanation)
    assert ("invalid --security-opt" in explanation, "no-new-privileges=maybe" in explanation) == (True, True), (
        explanation
    )


def mounts_by_point(mountinfo: str) -> dict[str, tuple[str, str]]:
    """mount point -> (fstype, per-mount options) from /proc/self/mountinfo (proc(5)); the
    last mount at a point is the one seen."""
    mounts = {}
    for line in mountinfo.splitlines():
        before, after = line.split(" - ", 1)
        fields = before.split()
        mounts[fields[4]] = (after.split()[0], fields[5])
    return mounts


def test_masked_and_readonly_paths_are_exactly_the_defaults(probe: Prober) -> None:
    """Below /proc, and at /sys/firmware, the container has a mount at exactly the paths
    of moby's MaskedPaths and ReadonlyPaths that its kernel has, and no other: each masked
    file is /dev/null (character device 1:3), each masked folder an empty read-only tmpfs,
    each read-only path a read-only proc mount.

    Source: moby v20.10.24 oci/defaults.go MaskedPaths, ReadonlyPaths; OCI runtime spec
    config-linux.md "Masked Paths", "Readonly Paths"; proc(5) /proc/pid/mountinfo.
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/oci/defaults.go
    """
    paths = (*MASKED_FILES, *MASKED_FOLDERS, *READONLY_PATHS)
    mountinfo, *stats = probe(("read", "/proc/self/mountinfo"), *(("stat", path) for path in paths))
    present = {path: stat for path, stat in zip(paths, stats, strict=True) if stat.errno != "ENOENT"}
    mounts = mounts_by_point(mountinfo["data"])
    below = sorted(point for point in mounts if point.startswith("/proc/") or point == "/sys/firmware")
    assert below == sorted(present)
    for path, stat in present.items():
        fstype, options = mounts[path]
        if path in MASKED_FILES:
            assert (path, stat["type"], stat["rdev_major"], stat["rdev_minor"]) == (path, "chr", 1, 3)
        elif path in MASKED_FOLDERS:
            assert (path, stat["type"], fstype, "ro" in options.split(",")) == (path, "dir", "tmpfs", True)
        else:
            assert (path, fstype, "ro" in options.split(",")) == (path, "proc", True)
    listings = probe(*(("readdir", path) for path in MASKED_FOLDERS if path in present))
    assert all(listing["names"] == [] for listing in listings), listings


@pytest.mark.parametrize("path", ["/proc/bus", "/proc/fs", "/proc/sysrq-trigger"])
def test_readonly_paths_refuse_changes(probe: Prober, path: str) -> None:
    """/proc/bus, /proc/fs and /proc/sysrq-trigger refuse a change of their attributes
    (chmod to the mode they already have) with EROFS, and /proc/sysrq-trigger refuses to
    be opened for writing with EROFS (nothing is written to it).

    Source: moby v20.10.24 oci/defaults.go ReadonlyPaths; OCI runtime spec "Readonly
    Paths"; chmod(2) and open(2) EROFS.
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/oci/defaults.go
    """
    stat = probe.one("stat", path)
    if stat.errno == "ENOENT":
        not_applicable(f"the container's kernel has no {path}")
    ops: list[tuple[str, ...]] = [("chmod", path, f"{stat['perm']:o}")]
    if stat["type"] == "reg":
        ops.append(("open", path, "O_WRONLY", "0"))
    assert [(o.ok, o.errno) for o in probe(*ops)] == [(False, "EROFS")] * len(ops)
