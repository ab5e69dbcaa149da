"""Processes and the kernel: clone3, foreign and 32-bit programs, IPC namespaces, the
event interfaces (eventfd, epoll, timerfd, signalfd, futex, inotify), and the kernel
features a container platform needs, read from what a container sees."""

from __future__ import annotations

import gzip
import re
import struct

import pytest

from parity.run.resources import ResourceScope
from parity.run.target import Target
from parity.workload.probe import Prober
from plugins.workload import Observe
from suites.verdicts import not_applicable

SECCOMP = pytest.mark.requires("seccomp")

# --- programs the checks run -----------------------------------------------------------

# Machine code of a program that exits with status 42 (the Linux system call ABI of each:
# x86_64 `exit` is 60 through `syscall`, i386 `exit` is 1 through `int 0x80`, aarch64
# `exit` is 93 through `svc #0`), and each ELF machine number (elf(5), EM_*).
EXIT_42 = {
    "x86_64": bytes.fromhex("bf2a000000 b83c000000 0f05"),  # mov edi,42; mov eax,60; syscall
    "i386": bytes.fromhex("bb2a000000 b801000000 cd80"),  # mov ebx,42; mov eax,1; int 0x80
    "aarch64": struct.pack("<3I", 0xD2800540, 0xD2800BA8, 0xD4000001),  # mov x0,42; mov x8,93; svc 0
}
ELF_MACHINE = {"x86_64": 62, "i386": 3, "aarch64": 183}


def elf_exit_42(machine: str) -> bytes:
    """A minimal static ELF executable (one PT_LOAD segment, no sections) for ``machine``
    that exits with status 42: 64-bit for x86_64 and aarch64, 32-bit for i386 (elf(5))."""
    code, number = EXIT_42[machine], ELF_MACHINE[machine]
    if machine == "i386":
        base, header, program = 0x08048000, 52, 32
        size = header + program + len(code)
        ident = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)  # ELFCLASS32, little-endian, version 1
        ehdr = ident + struct.pack("<HHIIIIIHHHHHH", 2, number, 1, base + header + program, header, 0, 0,
                                   header, program, 1, 0, 0, 0)  # fmt: skip
        phdr = struct.pack("<8I", 1, 0, base, base, size, size, 5, 0x1000)  # PT_LOAD, R+X
        return ehdr + phdr + code
    base, header, program = 0x400000, 64, 56
    size = header + program + len(code)
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)  # ELFCLASS64, little-endian, version 1
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, number, 1, base + header + program, header, 0, 0,
                               header, program, 1, 0, 0, 0)  # fmt: skip
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)  # PT_LOAD, R+X
    return ehdr + phdr + code


# The machine of the other architecture the workload is built for: a program for it is
# foreign on this one.
FOREIGN = {"x86_64": "aarch64", "aarch64": "x86_64"}


def run_program(probe: Prober, name: str, image: bytes) -> tuple[bool, str | None, int | None]:
    """Writes ``image`` to /tmp/``name`` (mode 0755) in the shared container and executes it:
    (execve succeeded, its errno, the exit status)."""
    path = f"/tmp/{name}"
    written, spawned = probe(("write", path, "O_WRONLY|O_CREAT|O_TRUNC", "0755", image.hex()), ("spawn", path))
    assert written.ok, written
    return spawned.ok, spawned.errno, spawned.get("exit_code")


# --- clone3 ------------------------------------------------------------------------------


@SECCOMP
@pytest.mark.since(
    "engine_version",
    "20.10.10",
    "Docker 20.10.10: the default seccomp profile answers clone3 with ENOSYS "
    "(moby commit 567c01f, a backport of moby/moby#42681); before it, EPERM",
)
def test_clone3_is_enosys_so_libc_falls_back_to_clone(probe: Prober) -> None:
    """In a default container (no CAP_SYS_ADMIN), clone3(2) fails with ENOSYS, which C
    libraries take as "no clone3 on this kernel" and fall back to clone(2), which works:
    its child runs and exits with its own status (7).

    Source: moby profiles/seccomp/default.json (clone3: SCMP_ACT_ERRNO, errnoRet 38 =
    ENOSYS, excludes CAP_SYS_ADMIN), moby/moby#42681 (EPERM made glibc 2.34 images fail to
    start threads); clone(2) ("ENOSYS clone3() is not available in this kernel").
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/profiles/seccomp/default.json
    """
    observed = probe.one("clone3")
    assert (observed.ok, observed.errno, observed["clone_exit"]) == (False, "ENOSYS", 7)


@SECCOMP
@pytest.mark.since("kernel", "5.3", "Linux 5.3 added clone3(2); before it, ENOSYS without any profile")
def test_clone3_is_refused_by_the_profile_only(observe: Observe) -> None:
    """Under --security-opt seccomp=unconfined the same clone3(2) call succeeds: the ENOSYS
    of a default container comes from the profile, not from the kernel.

    Source: moby profiles/seccomp/default.json; clone(2) (clone3 since Linux 5.3); Docker
    docs "Seccomp security profiles for Docker" ("Run without the default seccomp profile").
    Level: SHOULD, https://docs.docker.com/engine/security/seccomp/
    """
    observed = observe(("clone3",), security_opt=["seccomp=unconfined"])[0]
    assert (observed.ok, observed.errno, observed["clone_exit"]) == (True, None, 7)


# --- foreign and 32-bit programs ---------------------------------------------------------


def test_foreign_architecture_program_is_enoexec_or_emulated(probe: Prober) -> None:
    """execve(2) of a valid static ELF program of the other architecture (aarch64 on x86_64,
    x86_64 on aarch64) either fails with exactly ENOEXEC, which is what Linux itself
    answers (binfmt_elf refuses a foreign e_machine, and no other handler of the kernel
    claims it), or, where the platform registered an emulator for that format with
    binfmt_misc, runs the program to its own exit status 42. Anything else (EACCES, ENOENT
    from an emulator registered without the F flag, whose interpreter is not in the
    container, a crash, another status) fails.

    Source: execve(2) ENOEXEC ("... is for the wrong architecture"); the kernel's
    Documentation/admin-guide/binfmt-misc.rst (flag F: the interpreter is opened when the
    format is registered, so it works in other mount namespaces); Docker docs
    "Multi-platform builds" (QEMU emulation registered by the platform).
    Level: MUST, https://man7.org/linux/man-pages/man2/execve.2.html
    """
    machine = probe.one("uname")["machine"]
    if machine not in FOREIGN:
        not_applicable(f"no foreign test program is built for a {machine} container")
    outcome = run_program(probe, "parity-foreign", elf_exit_42(FOREIGN[machine]))
    assert outcome in ((False, "ENOEXEC", None), (True, None, 42))


def test_i386_program_runs_on_x86_64(probe: Prober) -> None:
    """On an x86_64 target, a static i386 (32-bit) ELF program runs natively and exits with
    its own status 42: the kernel runs 32-bit x86 programs (IA32 emulation) and the default
    seccomp profile admits the x86 system call ABI beside the x86_64 one.

    Source: moby profiles/seccomp/default.json archMap (SCMP_ARCH_X86_64 with the
    sub-architectures SCMP_ARCH_X86 and SCMP_ARCH_X32); elf(5) (ELFCLASS32, EM_386);
    the kernel's arch/x86/Kconfig IA32_EMULATION; execve(2).
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/profiles/seccomp/default.json
    """
    machine = probe.one("uname")["machine"]
    if machine != "x86_64":
        not_applicable(f"i386 programs are x86_64's 32-bit ABI; this container's machine is {machine}")
    assert run_program(probe, "parity-i386", elf_exit_42("i386")) == (True, None, 42)


def test_linux32_personality_reports_i686_on_x86_64(probe: Prober) -> None:
    """On an x86_64 target, personality(PER_LINUX32) is allowed and makes uname(2) report
    the machine i686 (what `linux32` and `setarch i686` rely on); the personality reads
    back as PER_LINUX32 (8).

    Source: personality(2); the kernel's arch/x86/include/asm/compat.h COMPAT_UTS_MACHINE
    "i686" and kernel/sys.c override_architecture; moby profiles/seccomp/default.json
    (personality allowed for 0x8, PER_LINUX32).
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/profiles/seccomp/default.json
    """
    machine = probe.one("uname")["machine"]
    if machine != "x86_64":
        not_applicable(f"PER_LINUX32 is checked on x86_64 (i686); this container's machine is {machine}")
    observed = probe.one("linux32-uname")
    assert (observed.ok, observed.get("machine"), observed.get("personality")) == (True, "i686", 8), observed


# --- IPC namespaces ----------------------------------------------------------------------

IPC_KEY = "31337"
OBJECTS = ("msg", "shm", "sem", "mq")
MQUEUE_SUPER_MAGIC = 0x19800202  # include/uapi/linux/magic.h


def test_ipc_objects_belong_to_the_containers_ipc_namespace(probe: Prober, resources: ResourceScope) -> None:
    """A SysV message queue, shared memory segment and semaphore set, and a POSIX message
    queue made in one container are found there by key and name (and the POSIX queue is a
    file of its /dev/mqueue, an mqueue mount), and are not found (ENOENT) in a sibling
    container with default settings.

    Source: ipc_namespaces(7) (SysV IPC identifiers and the POSIX message queue file
    system are per IPC namespace); msgget(2), shmget(2), semget(2), mq_open(3) ENOENT;
    mq_overview(7) (/dev/mqueue); Docker run reference "IPC settings (--ipc)" (private
    by default); moby oci/defaults.go (/dev/mqueue mount).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    owner = Prober(resources.container())
    made, found, listing, statfs = owner(
        ("ipc-make", IPC_KEY), ("ipc-find", IPC_KEY), ("readdir", "/dev/mqueue"), ("statfs", "/dev/mqueue")
    )
    elsewhere = probe.one("ipc-find", IPC_KEY)
    assert {name: made[name]["ok"] for name in OBJECTS} == dict.fromkeys(OBJECTS, True), made
    assert {name: found[name]["ok"] for name in OBJECTS} == dict.fromkeys(OBJECTS, True), found
    assert (listing["names"], statfs["type"]) == ([f"parity-{IPC_KEY}"], MQUEUE_SUPER_MAGIC)
    assert {name: elsewhere[name].get("errno") for name in OBJECTS} == dict.fromkeys(OBJECTS, "ENOENT")


# The limits a new IPC namespace starts with, whatever the host's are: ipc/msg.c
# msg_init_ns, ipc/sem.c sem_init_ns, ipc/shm.c shm_init_ns, ipc/mqueue.c mq_init_ns set
# the compiled-in defaults, which the man pages document: msgget(2) MSGMNI 32000 (since
# Linux 3.19), msgsnd(2) MSGMAX 8192 and MSGMNB 16384, semget(2) SEMMSL 32000, SEMMNS
# 1024000000 and SEMMNI 32000 (since 3.19), semop(2) SEMOPM 500, shmget(2) SHMMAX and
# SHMALL ULONG_MAX - 2^24 (since 3.16, 64-bit) and SHMMNI 4096, proc(5) shm_rmid_forced
# 0; mq_overview(7) msg_default 10, msg_max 10, msgsize_default 8192, msgsize_max 8192,
# queues_max 256.
NEW_IPC_NAMESPACE_LIMITS = {
    "/proc/sys/kernel/msgmni": "32000",
    "/proc/sys/kernel/msgmax": "8192",
    "/proc/sys/kernel/msgmnb": "16384",
    "/proc/sys/kernel/sem": "32000\t1024000000\t500\t32000",
    "/proc/sys/kernel/shmmax": str(2**64 - 1 - 2**24),
    "/proc/sys/kernel/shmall": str(2**64 - 1 - 2**24),
    "/proc/sys/kernel/shmmni": "4096",
    "/proc/sys/kernel/shm_rmid_forced": "0",
    "/proc/sys/fs/mqueue/msg_default": "10",
    "/proc/sys/fs/mqueue/msg_max": "10",
    "/proc/sys/fs/mqueue/msgsize_default": "8192",
    "/proc/sys/fs/mqueue/msgsize_max": "8192",
    "/proc/sys/fs/mqueue/queues_max": "256",
}


def test_ipc_limits_are_those_of_a_new_ipc_namespace(probe: Prober) -> None:
    """A default container has an IPC namespace of its own, so its SysV IPC and POSIX
    message queue limits are the kernel's defaults for a new IPC namespace, not the
    host's tuning: msgmni 32000, msgmax 8192, msgmnb 16384, sem 32000 1024000000 500
    32000, shmmax and shmall 18446744073692774399, shmmni 4096, shm_rmid_forced 0, and
    mqueue msg_default 10, msg_max 10, msgsize_default 8192, msgsize_max 8192,
    queues_max 256.

    Source: ipc_namespaces(7) (these /proc files are per IPC namespace); msgget(2),
    msgsnd(2), semget(2), semop(2), shmget(2), proc(5), mq_overview(7) (the defaults);
    Docker run reference "IPC settings (--ipc)" (a private IPC namespace by default).
    Level: SHOULD, https://docs.docker.com/reference/cli/docker/container/run/
    """
    paths = list(NEW_IPC_NAMESPACE_LIMITS)
    observed = probe(*(("read", path) for path in paths))
    assert {path: read["data"].strip() for path, read in zip(paths, observed, strict=True)} == NEW_IPC_NAMESPACE_LIMITS


# --- event interfaces --------------------------------------------------------------------


def test_eventfd_counter_and_semaphore(probe: Prober) -> None:
    """eventfd: a non-blocking counter at 0 reads EAGAIN; 3 and 4 written read back as 7;
    writing 0xffffffffffffffff fails with EINVAL; with EFD_SEMAPHORE and an initial 2,
    reads give 1, 1, then EAGAIN.

    Source: eventfd(2).
    Level: MUST, https://man7.org/linux/man-pages/man2/eventfd.2.html
    """
    observed = probe.one("eventfd")
    assert (observed["empty"], observed["sum"], observed["max_errno"], observed["semaphore"]) == (
        "EAGAIN", 7, "EINVAL", [1, 1, "EAGAIN"],
    )  # fmt: skip


def test_epoll_reports_readiness_level_triggered(probe: Prober) -> None:
    """epoll: an eventfd registered for EPOLLIN (data 42) is not ready before a write, is
    ready with EPOLLIN and data 42 after it, and again on the next wait (level-triggered);
    registering it twice fails with EEXIST, registering a directory with EPERM.

    Source: epoll(7) (level-triggered by default); epoll_ctl(2) EEXIST, EPERM ("The target
    file fd does not support epoll ... a regular file or a directory"); epoll_wait(2).
    Level: MUST, https://man7.org/linux/man-pages/man7/epoll.7.html
    """
    observed = probe.one("epoll")
    epollin = 0x001
    fields = ("before", "after", "events", "data", "again", "twice_errno", "dir_errno")
    assert tuple(observed[name] for name in fields) == (0, 1, epollin, 42, 1, "EEXIST", "EPERM")


def test_timerfd_one_shot_expires_once(probe: Prober) -> None:
    """timerfd: a one-shot CLOCK_MONOTONIC timer of 20 ms blocks a read until it expires
    (no earlier than 20 ms after it was armed), which returns 1 expiration; it is then
    disarmed (0 ns left) and a non-blocking read fails with EAGAIN.

    Source: timerfd_create(2) (read(2): the number of expirations; EAGAIN; timerfd_gettime
    "a value of zero ... the timer is currently disarmed").
    Level: MUST, https://man7.org/linux/man-pages/man2/timerfd_create.2.html
    """
    observed = probe.one("timerfd")
    fields = ("expirations", "waited", "remaining_ns", "again")
    assert tuple(observed[name] for name in fields) == (1, True, 0, "EAGAIN")


def test_signalfd_reads_a_blocked_signal(probe: Prober) -> None:
    """signalfd: with SIGUSR1 blocked, a non-blocking signalfd reads EAGAIN until the
    process sends itself SIGUSR1 with kill(2), then reads it: signal SIGUSR1, si_code
    SI_USER (0), the sender's pid and uid being the process's own.

    Source: signalfd(2) (struct signalfd_siginfo); sigaction(2) (SI_USER: kill(2)).
    Level: MUST, https://man7.org/linux/man-pages/man2/signalfd.2.html
    """
    observed = probe.one("signalfd")
    fields = ("before", "signal", "code", "from_self")
    assert tuple(observed[name] for name in fields) == ("EAGAIN", "SIGUSR1", 0, True)


def test_futex_wait_and_wake(probe: Prober) -> None:
    """futex: FUTEX_WAIT on a word that no longer has the expected value fails with
    EAGAIN; with a 10 ms timeout it fails with ETIMEDOUT; FUTEX_WAKE without waiters wakes
    0; a process sleeping in FUTEX_WAIT on a shared word is woken (1) and sees the new
    value.

    Source: futex(2) (FUTEX_WAIT EAGAIN, ETIMEDOUT; FUTEX_WAKE returns the number woken).
    Level: MUST, https://man7.org/linux/man-pages/man2/futex.2.html
    """
    observed = probe.one("futex")
    fields = ("mismatch", "timeout", "woken_none", "woken", "child_exit")
    assert tuple(observed[name] for name in fields) == ("EAGAIN", "ETIMEDOUT", 0, 1, 0)


def test_inotify_queue_overflows_at_max_queued_events(probe: Prober) -> None:
    """inotify: a queue nobody reads holds exactly /proc/sys/fs/inotify/max_queued_events
    events, then one IN_Q_OVERFLOW event (wd -1), and drops the rest; the limit is
    readable in a container.

    Source: inotify(7) ("/proc/sys/fs/inotify/max_queued_events ... events in excess of
    this limit are dropped, but an IN_Q_OVERFLOW event is always generated"; IN_Q_OVERFLOW
    has wd -1).
    Level: MUST, https://man7.org/linux/man-pages/man7/inotify.7.html
    """
    folder = "/tmp/parity-overflow"
    _, observed = probe(("mkdir", folder, "755"), ("inotify-overflow", folder))
    assert observed.ok, observed
    limit = observed["max_queued_events"]
    assert (observed["events"], observed["overflows"], observed["last_is_overflow"]) == (limit + 1, 1, True)


# --- kernel features a container platform needs -----------------------------------------

# The namespaces Docker puts a container in or offers (Docker overview "The underlying
# technology"; --userns-remap, --cgroupns), as /proc/self/ns names them (namespaces(7)).
# Linux 5.6 added the time namespace (time, time_for_children), which Docker does not use.
NAMESPACE_LINKS = {
    "cgroup": "cgroup", "ipc": "ipc", "mnt": "mnt", "net": "net", "pid": "pid",
    "pid_for_children": "pid", "user": "user", "uts": "uts",
}  # fmt: skip
TIME_LINKS = {"time": "time", "time_for_children": "time"}


def test_proc_self_ns_names_every_namespace_type(probe: Prober) -> None:
    """/proc/self/ns of a container holds a link for each namespace type a container
    platform uses (cgroup, ipc, mnt, net, pid, pid_for_children, user, uts), each reading
    TYPE:[INODE], and nothing else but the time namespace pair (both or neither).

    Source: namespaces(7) ("The /proc/[pid]/ns/ directory"); moby contrib/check-config.sh
    (NAMESPACES, NET_NS, PID_NS, IPC_NS, UTS_NS, USER_NS); Docker overview, "The
    underlying technology".
    Level: SHOULD, https://docs.docker.com/get-started/docker-overview/
    """
    names = probe.one("readdir", "/proc/self/ns")["names"]
    links = probe(*(("readlink", f"/proc/self/ns/{name}") for name in names))
    kinds = {}
    for name, link in zip(names, links, strict=True):
        matched = re.fullmatch(r"([a-z]+):\[(\d+)\]", link["target"])
        assert matched, f"/proc/self/ns/{name} -> {link['target']!r}"
        kinds[name] = matched[1]
    expected = NAMESPACE_LINKS | (TIME_LINKS if "time" in kinds or "time_for_children" in kinds else {})
    assert kinds == expected


# moby contrib/check-config.sh "Generally Necessary" flags (y or m), without the one that
# serves only swarm services' load balancing (NETFILTER_XT_MATCH_IPVS, libnetwork's ipvs
# service routing), plus the cgroup v1 controllers it asks for on cgroup v1, CGROUP_BPF
# (device control on cgroup v2, Linux 4.15 and later), SECCOMP and SECCOMP_FILTER (the
# default profile) and OVERLAY_FS (the overlay2 storage driver).
KERNEL_CONFIG_NEEDED = (
    "NAMESPACES", "NET_NS", "PID_NS", "IPC_NS", "UTS_NS", "CGROUPS", "CGROUP_SCHED", "KEYS",
    "VETH", "BRIDGE", "BRIDGE_NETFILTER", "IP_NF_FILTER", "IP_NF_TARGET_MASQUERADE",
    "NETFILTER_XT_MATCH_ADDRTYPE", "NETFILTER_XT_MATCH_CONNTRACK", "IP_NF_NAT", "NF_NAT",
    "POSIX_MQUEUE", "CGROUP_BPF", "SECCOMP", "SECCOMP_FILTER", "OVERLAY_FS",
)  # fmt: skip
KERNEL_CONFIG_NEEDED_ON_CGROUP_V1 = ("CGROUP_FREEZER", "CGROUP_DEVICE", "CPUSETS", "CGROUP_CPUACCT", "MEMCG")


def test_kernel_config_has_what_docker_needs(probe: Prober, cgroup_version: str) -> None:
    """Where the kernel publishes its configuration (/proc/config.gz, as LinuxKit's kernels
    do), a container reads it and it enables, built in or as modules, every option moby's
    check-config.sh calls generally necessary for containers (namespaces, cgroups and
    their v1 controllers, veth, bridge and the netfilter NAT rules of the bridge network,
    POSIX message queues, keys), and seccomp filters and overlayfs.

    Source: moby contrib/check-config.sh ("Generally Necessary"; "Optional Features"
    SECCOMP, SECCOMP_FILTER; storage driver overlay: OVERLAY_FS); LinuxKit's kernel
    config tests read /proc/config.gz the same way; proc(5) /proc/config.gz.
    Level: SHOULD, https://github.com/moby/moby/blob/v20.10.24/contrib/check-config.sh
    """
    read = probe.one("readhex", "/proc/config.gz")
    if not read.ok:
        not_applicable(f"the kernel publishes no /proc/config.gz ({read.errno}): CONFIG_IKCONFIG_PROC is off")
    config = gzip.decompress(bytes.fromhex(read["hex"])).decode("ascii", "replace")
    values = dict(re.findall(r"^CONFIG_(\w+)=(\S+)$", config, flags=re.MULTILINE))
    needed: tuple[str, ...] = KERNEL_CONFIG_NEEDED
    if cgroup_version == "1":
        needed += KERNEL_CONFIG_NEEDED_ON_CGROUP_V1
    assert {name: values.get(name, "not set") for name in needed if values.get(name) not in ("y", "m")} == {}


# The controllers Docker's resource options write (Docker docs "Resource constraints"):
# memory, cpu (quota, shares), cpuset, pids, and block I/O (blkio on v1, io on v2);
# cgroup v1 also needs devices (the device allowlist) and freezer (docker pause).
CONTROLLERS = {"1": {"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"},
               "2": {"cpu", "cpuset", "io", "memory", "pids"}}  # fmt: skip


@pytest.mark.requires("resource_limits")
def test_cgroup_controllers_docker_limits_need(probe: Prober, cgroup_version: str) -> None:
    """A container's /sys/fs/cgroup offers every controller Docker's resource options use:
    on cgroup v1 a hierarchy each for blkio, cpu, cpuacct, cpuset, devices, freezer, memory
    and pids; on cgroup v2, cpu, cpuset, io, memory and pids in cgroup.controllers.

    Source: Docker docs "Resource constraints"; cgroups(7); the kernel's
    Documentation/admin-guide/cgroup-v2.rst ("cgroup.controllers"); moby
    contrib/check-config.sh (CGROUP_FREEZER, CGROUP_DEVICE, CPUSETS, CGROUP_CPUACCT, MEMCG).
    Level: SHOULD, https://docs.docker.com/engine/containers/resource_constraints/
    """
    if cgroup_version == "2":
        present = set(probe.one("read", "/sys/fs/cgroup/cgroup.controllers")["data"].split())
    else:
        present = set(probe.one("readdir", "/sys/fs/cgroup")["names"])
    assert CONTROLLERS[cgroup_version] - present == set()


@pytest.mark.requires("resource_limits")
def test_consistency_cpuinfo_lists_every_engine_cpu_under_a_cpuset(observe: Observe, target: Target) -> None:
    """Consistency: under --cpuset-cpus 0, /proc/self/status says the process may run on
    CPU 0 only (Cpus_allowed_list "0"), while /proc/cpuinfo, which is not virtualised,
    still describes every CPU the engine reports (GET /info NCPU).

    Source: proc(5) (/proc/cpuinfo; /proc/pid/status Cpus_allowed_list); cpuset(7);
    Docker docs "Resource constraints" (--cpuset-cpus); GET /info NCPU.
    Level: MUST, https://man7.org/linux/man-pages/man5/proc.5.html
    """
    cpuinfo, status = observe(("read", "/proc/cpuinfo"), ("read", "/proc/self/status"), cpuset_cpus="0")
    processors = [line for line in cpuinfo["data"].splitlines() if re.match(r"processor\s*:", line)]
    fields = dict(line.split(":\t", 1) for line in status["data"].splitlines() if ":\t" in line)
    assert (len(processors), fields["Cpus_allowed_list"]) == (target.facts.ncpu, "0")


def test_consistency_overlay2_roots_are_overlay_mounts(probe: Prober, target: Target) -> None:
    """Consistency: where the engine reports the overlay2 storage driver, the kernel has the
    overlay file system registered (/proc/filesystems) and a container's root is an
    overlay mount (/proc/self/mountinfo).

    Source: GET /info Driver; Docker docs "OverlayFS storage driver"; proc(5)
    /proc/filesystems and /proc/pid/mountinfo.
    Level: MUST, https://docs.docker.com/reference/api/engine/version/v1.41/
    """
    if target.facts.storage_driver != "overlay2":
        not_applicable(f"the engine reports the storage driver {target.facts.storage_driver!r}, not overlay2")
    filesystems, mountinfo = probe(("read", "/proc/filesystems"), ("read", "/proc/self/mountinfo"))
    registered = {line.split()[-1] for line in filesystems["data"].splitlines() if line.strip()}
    roots = [line.split(" - ")[1].split()[0] for line in mountinfo["data"].splitlines() if line.split()[4] == "/"]
    assert ("overlay" in registered, roots) == (True, ["overlay"])
