/*
 * syscalls.c - the syscall op: one privileged call per NAME with fixed,
 * benign arguments (documented beside each function), and its name table.
 */
#include "probe.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/if_ether.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/quota.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#ifndef NETLINK_AUDIT
#define NETLINK_AUDIT 9    /* musl has no <linux/netlink.h> */
#endif

/* ------------------------------------------------------------------------ */
/* syscall NAME: one privileged call with fixed, benign arguments           */
/* ------------------------------------------------------------------------ */

struct sc_result {
    long ret;
    int err;            /* errno of the attempted call, 0 on success */
    int undo_err;       /* errno if undoing a successful call failed */
    const char *stage;  /* set when a preparatory step failed instead */
};

#define SCFN(fn) static void fn(struct sc_result *r UNUSED, long arg UNUSED)
/* Records the call's result (< 0 is failure) together with its errno. */
#define SET(expr) do { r->ret = (long)(expr); r->err = r->ret < 0 ? errno : 0; } while (0)
#define PREP_FAIL(st) do { r->ret = -1; r->err = errno; r->stage = (st); return; } while (0)
#define UNDO(expr) do { if ((long)(expr) < 0 && !r->undo_err) r->undo_err = errno; } while (0)
#define CLOSE_RET() do { if (r->ret >= 0) UNDO(close((int)r->ret)); } while (0)
/* (the four macros above are #undef'd after the syscall table) */

/* unshare(arg) with arg one CLONE_NEW* flag; run in a child. */
SCFN(sc_unshare) { SET(unshare((int)arg)); }

/* mkdir("/tmp/.parity-mnt", 0700) (a failure is ignored: mount answers for
 * itself, and seccomp refuses it before any path lookup), then
 * mount("parity", dir, "tmpfs", 0, NULL); umount2(dir, 0) and rmdir after. */
SCFN(sc_mount_tmpfs) {
    static const char dir[] = "/tmp/.parity-mnt";
    int made = mkdir(dir, 0700) == 0;
    SET(mount("parity", dir, "tmpfs", 0, NULL));
    if (r->ret == 0) UNDO(umount2(dir, 0));
    if (made) UNDO(rmdir(dir));
}

/* keyctl(KEYCTL_JOIN_SESSION_KEYRING=1, NULL); in a child. */
SCFN(sc_keyctl_join) { SET(syscall(SYS_keyctl, 1, NULL)); }
/* add_key("user", "parity", "x", 1, KEY_SPEC_PROCESS_KEYRING=-2); in a child. */
SCFN(sc_add_key) { SET(syscall(SYS_add_key, "user", "parity", "x", (size_t)1, -2)); }
/* request_key("user", "parity-none", NULL, 0): ENOKEY when permitted. */
SCFN(sc_request_key) { SET(syscall(SYS_request_key, "user", "parity-none", NULL, 0)); }
/* ptrace(PTRACE_TRACEME, 0, 0, 0); in a child. */
SCFN(sc_ptrace_traceme) { SET(ptrace(PTRACE_TRACEME, 0, 0, 0)); }

/* ptrace(PTRACE_ATTACH, <paused child>, 0, 0); then wait for the stop,
 * PTRACE_DETACH, SIGKILL and reap the child. */
SCFN(sc_ptrace_attach) {
    pid_t pid = fork();
    if (pid < 0) PREP_FAIL("fork");
    if (pid == 0)
        for (;;) pause();
    SET(ptrace(PTRACE_ATTACH, pid, 0, 0));
    if (r->ret == 0) {
        UNDO(reap(pid, NULL));
        UNDO(ptrace(PTRACE_DETACH, pid, 0, 0));
    }
    UNDO(kill(pid, SIGKILL));
    UNDO(reap(pid, NULL));
}

/* personality(0xffffffff): query only. */
SCFN(sc_personality_query) { SET(personality(0xffffffff)); }

/* personality(PER_LINUX32), then personality(<queried value>). */
SCFN(sc_personality_linux32) {
    int old = personality(0xffffffff);
    if (old < 0) PREP_FAIL("query");
    SET(personality(PER_LINUX32));
    if (r->ret >= 0) UNDO(personality((unsigned long)old));
}

/* reboot(0xfee1dead, 672274793, LINUX_REBOOT_CMD_CAD_OFF=0, NULL). Succeeds
 * only for root in the initial PID namespace (containers get EINVAL); then
 * CAD_ON (0x89abcdef) is restored unless /proc said Ctrl-Alt-Del was off. */
SCFN(sc_reboot_cad_off) {
    char was = '1';
    int fd = open("/proc/sys/kernel/ctrl-alt-del", O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && read(fd, &was, 1) != 1) was = '1';
    close_quiet(fd);
    SET(syscall(SYS_reboot, 0xfee1deadUL, 672274793UL, 0UL, NULL));
    if (r->ret == 0 && was != '0') UNDO(syscall(SYS_reboot, 0xfee1deadUL, 672274793UL, 0x89abcdefUL, NULL));
}

/* sethostname(<current hostname>): a no-op when permitted. */
SCFN(sc_sethostname) {
    char b[HOST_NAME_MAX + 2] = "";
    if (gethostname(b, sizeof b - 1) < 0) PREP_FAIL("gethostname");
    SET(sethostname(b, strlen(b)));
}

/* setdomainname(<current domainname>): a no-op when permitted. */
SCFN(sc_setdomainname) {
    char b[HOST_NAME_MAX + 2] = "";
    if (getdomainname(b, sizeof b - 1) < 0) PREP_FAIL("getdomainname");
    SET(setdomainname(b, strlen(b)));
}

/* clock_settime(CLOCK_REALTIME, <value just read>). */
SCFN(sc_clock_settime) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) < 0) PREP_FAIL("clock_gettime");
    SET(clock_settime(CLOCK_REALTIME, &ts));
}

/* settimeofday(<value just read>, NULL). */
SCFN(sc_settimeofday) {
    struct timeval tv;
    if (gettimeofday(&tv, NULL) < 0) PREP_FAIL("gettimeofday");
    SET(settimeofday(&tv, NULL));
}

/* adjtimex({.modes = 0}): read-only, allowed for everyone. */
SCFN(sc_adjtimex) {
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    SET(adjtimex(&tx));
}

/* swapon("/nonexistent-parity", 0) / swapoff(same): ENOENT when permitted. */
SCFN(sc_swapon) { SET(swapon("/nonexistent-parity", 0)); }
SCFN(sc_swapoff) { SET(swapoff("/nonexistent-parity")); }
/* chroot("/"): a no-op when permitted. */
SCFN(sc_chroot) { SET(chroot("/")); }

/* chdir("/") then pivot_root(".", "."), in a child. new_root is the current
 * root, so even a permitted caller gets EBUSY and nothing moves. */
SCFN(sc_pivot_root) {
    if (chdir("/") < 0) PREP_FAIL("chdir");
    SET(syscall(SYS_pivot_root, ".", "."));
}

/* init_module(NULL, 0, ""). */
SCFN(sc_init_module) { SET(syscall(SYS_init_module, NULL, 0UL, "")); }
/* finit_module(-1, "", 0): EBADF when permitted. */
SCFN(sc_finit_module) { SET(syscall(SYS_finit_module, -1, "", 0)); }
/* delete_module("parity_none", O_NONBLOCK): ENOENT when permitted. */
SCFN(sc_delete_module) { SET(syscall(SYS_delete_module, "parity_none", O_NONBLOCK)); }
/* acct(NULL): switches process accounting off (normally already off). */
SCFN(sc_acct) { SET(acct(NULL)); }
/* kexec_load(0, 0, NULL, 0xffff0000): a foreign KEXEC_ARCH in flags makes a
 * permitted call fail with EINVAL; all-zero flags would unload a loaded image. */
SCFN(sc_kexec_load) { SET(syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0xffff0000UL)); }

/* bpf(BPF_MAP_CREATE=0, <zeroed 128-byte attr>, 128): EINVAL when permitted. */
SCFN(sc_bpf) {
    union { unsigned char b[128]; uint64_t align; } attr;
    memset(&attr, 0, sizeof attr);
    SET(syscall(SYS_bpf, 0, &attr, sizeof attr));
    CLOSE_RET();
}

/* perf_event_open({PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, disabled},
 * pid 0, cpu -1, group -1, flags 0); the attr layout is PERF_ATTR_SIZE_VER0. */
SCFN(sc_perf_event_open) {
    struct {
        uint32_t type, size;
        uint64_t config, sample_period, sample_type, read_format, flags;
        uint32_t wakeup_events, bp_type;
        uint64_t bp_addr;
    } attr;
    memset(&attr, 0, sizeof attr);
    attr.type = 1; /* PERF_TYPE_SOFTWARE; config 0 = PERF_COUNT_SW_CPU_CLOCK */
    attr.size = sizeof attr;
    attr.flags = 1; /* disabled */
    SET(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0UL));
    CLOSE_RET();
}

#ifdef SYS_userfaultfd
/* userfaultfd(0). */
SCFN(sc_userfaultfd) { SET(syscall(SYS_userfaultfd, 0)); CLOSE_RET(); }
#else
#define sc_userfaultfd NULL
#endif

#ifdef SYS_iopl
/* iopl(3), then iopl(0). x86 only. */
SCFN(sc_iopl) {
    SET(syscall(SYS_iopl, 3));
    if (r->ret == 0) UNDO(syscall(SYS_iopl, 0));
}
#else
#define sc_iopl NULL
#endif

#ifdef SYS_ioperm
/* ioperm(0x80, 1, 1), then ioperm(0x80, 1, 0). x86 only. */
SCFN(sc_ioperm) {
    SET(syscall(SYS_ioperm, 0x80UL, 1UL, 1));
    if (r->ret == 0) UNDO(syscall(SYS_ioperm, 0x80UL, 1UL, 0));
}
#else
#define sc_ioperm NULL
#endif

/* syslog(SYSLOG_ACTION_SIZE_BUFFER=10, NULL, 0). */
SCFN(sc_syslog) { SET(klogctl(10, NULL, 0)); }

/* setns(open("/proc/self/ns/net"), CLONE_NEWNET): re-joins the current netns. */
SCFN(sc_setns_net) {
    int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0) PREP_FAIL("open");
    SET(setns(fd, CLONE_NEWNET));
    close_quiet(fd);
}

/* mknod("/tmp/.parity-null", S_IFCHR|0600, makedev(1, 3)); unlink if ok. */
SCFN(sc_mknod_char) {
    SET(mknod("/tmp/.parity-null", S_IFCHR | 0600, makedev(1, 3)));
    if (r->ret == 0) UNDO(unlink("/tmp/.parity-null"));
}

/* mlock(<one 4096-byte page>, 4096), then munlock. */
SCFN(sc_mlock) {
    static _Alignas(4096) char page[4096];
    SET(mlock(page, sizeof page));
    if (r->ret == 0) UNDO(munlock(page, sizeof page));
}

/* setpriority(PRIO_PROCESS, 0, -1), then restore the previous nice value. */
SCFN(sc_setpriority) {
    errno = 0;
    int old = getpriority(PRIO_PROCESS, 0);
    if (old == -1 && errno) PREP_FAIL("getpriority");
    SET(setpriority(PRIO_PROCESS, 0, -1));
    if (r->ret == 0) UNDO(setpriority(PRIO_PROCESS, 0, old));
}

/* sched_setscheduler(0, SCHED_FIFO, {1}), then restore the old policy and
 * parameters. Raw syscalls: musl's wrappers deliberately return ENOSYS. */
SCFN(sc_sched_fifo) {
    struct sched_param old, fifo = { .sched_priority = 1 };
    long policy = syscall(SYS_sched_getscheduler, 0);
    if (policy < 0 || syscall(SYS_sched_getparam, 0, &old) < 0) PREP_FAIL("query");
    SET(syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &fifo));
    if (r->ret == 0) UNDO(syscall(SYS_sched_setscheduler, 0, policy, &old));
}

/* quotactl(QCMD(Q_GETFMT, USRQUOTA), "/", 0, buf): ENOTBLK when permitted. */
SCFN(sc_quotactl) {
    char buf[64];
    SET(quotactl(QCMD(Q_GETFMT, USRQUOTA), "/", 0, buf));
}

/* open_by_handle_at(AT_FDCWD, <zeroed handle, handle_bytes 8>, O_RDONLY). */
SCFN(sc_open_by_handle) {
    _Alignas(struct file_handle) unsigned char buf[sizeof(struct file_handle) + 8] = { 0 };
    ((struct file_handle *)buf)->handle_bytes = 8;
    SET(open_by_handle_at(AT_FDCWD, (struct file_handle *)buf, O_RDONLY | O_CLOEXEC));
    CLOSE_RET();
}

/* name_to_handle_at(AT_FDCWD, "/", <MAX_HANDLE_SZ buffer>, &mount_id, 0). */
SCFN(sc_name_to_handle) {
    _Alignas(struct file_handle) unsigned char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ] = { 0 };
    int mount_id;
    ((struct file_handle *)buf)->handle_bytes = MAX_HANDLE_SZ;
    SET(name_to_handle_at(AT_FDCWD, "/", (struct file_handle *)buf, &mount_id, 0));
}

/* socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)); closed if ok. */
SCFN(sc_socket_packet) { SET(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL))); CLOSE_RET(); }
/* socket(AF_INET, SOCK_RAW, IPPROTO_ICMP); closed if ok. */
SCFN(sc_socket_icmp) { SET(socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP)); CLOSE_RET(); }
/* socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT); closed if ok. */
SCFN(sc_socket_audit) { SET(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT)); CLOSE_RET(); }

/* setsid() then vhangup(), in a child: without a controlling terminal a
 * permitted vhangup hangs up nothing. */
SCFN(sc_vhangup) {
    if (setsid() < 0) PREP_FAIL("setsid");
    SET(vhangup());
}

/* setuid(0) / setgid(0), in a child. */
SCFN(sc_setuid0) { SET(setuid(0)); }
SCFN(sc_setgid0) { SET(setgid(0)); }

/* Create /tmp/.parity-own (0600), chown(path, 1, 1), unlink. */
SCFN(sc_chown_root_file) {
    static const char path[] = "/tmp/.parity-own";
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) PREP_FAIL("create");
    close_quiet(fd);
    SET(chown(path, 1, 1));
    UNDO(unlink(path));
}

#ifdef SYS_lookup_dcookie
/* lookup_dcookie(0, NULL, 0); removed in Linux 6.8 (ENOSYS there). */
SCFN(sc_lookup_dcookie) { SET(syscall(SYS_lookup_dcookie, 0ULL, NULL, 0UL)); }
#else
#define sc_lookup_dcookie NULL
#endif

#ifdef SYS_fsopen
/* fsopen("tmpfs", 0); closed if ok. */
SCFN(sc_fsopen) { SET(syscall(SYS_fsopen, "tmpfs", 0U)); CLOSE_RET(); }
#else
#define sc_fsopen NULL
#endif

#ifdef SYS_move_mount
/* move_mount(-1, "", -1, "", 0): names nothing, so a permitted call fails
 * with ENOENT and moves nothing. */
SCFN(sc_move_mount) { SET(syscall(SYS_move_mount, -1, "", -1, "", 0U)); }
#else
#define sc_move_mount NULL
#endif

#define SC_CHILD 1 /* run in a forked child so the probe itself is unchanged */

static const struct sc_entry {
    const char *name;
    void (*fn)(struct sc_result *r, long arg); /* NULL: not on this architecture */
    long arg;
    int flags;
} sc_table[] = {
    { "unshare-user", sc_unshare, CLONE_NEWUSER, SC_CHILD },
    { "unshare-mnt", sc_unshare, CLONE_NEWNS, SC_CHILD },
    { "unshare-uts", sc_unshare, CLONE_NEWUTS, SC_CHILD },
    { "unshare-ipc", sc_unshare, CLONE_NEWIPC, SC_CHILD },
    { "unshare-net", sc_unshare, CLONE_NEWNET, SC_CHILD },
    { "unshare-pid", sc_unshare, CLONE_NEWPID, SC_CHILD },
    { "unshare-cgroup", sc_unshare, CLONE_NEWCGROUP, SC_CHILD },
    { "mount-tmpfs", sc_mount_tmpfs, 0, 0 },
    { "keyctl-join", sc_keyctl_join, 0, SC_CHILD },
    { "add_key", sc_add_key, 0, SC_CHILD },
    { "request_key", sc_request_key, 0, 0 },
    { "ptrace-traceme", sc_ptrace_traceme, 0, SC_CHILD },
    { "ptrace-attach-child", sc_ptrace_attach, 0, 0 },
    { "personality-query", sc_personality_query, 0, 0 },
    { "personality-linux32", sc_personality_linux32, 0, 0 },
    { "reboot-cad-off", sc_reboot_cad_off, 0, 0 },
    { "sethostname", sc_sethostname, 0, 0 },
    { "setdomainname", sc_setdomainname, 0, 0 },
    { "clock_settime", sc_clock_settime, 0, 0 },
    { "settimeofday", sc_settimeofday, 0, 0 },
    { "adjtimex-read", sc_adjtimex, 0, 0 },
    { "swapon", sc_swapon, 0, 0 },
    { "swapoff", sc_swapoff, 0, 0 },
    { "chroot", sc_chroot, 0, 0 },
    { "pivot_root", sc_pivot_root, 0, SC_CHILD },
    { "init_module", sc_init_module, 0, 0 },
    { "finit_module", sc_finit_module, 0, 0 },
    { "delete_module", sc_delete_module, 0, 0 },
    { "acct", sc_acct, 0, 0 },
    { "kexec_load", sc_kexec_load, 0, 0 },
    { "bpf", sc_bpf, 0, 0 },
    { "perf_event_open", sc_perf_event_open, 0, 0 },
    { "userfaultfd", sc_userfaultfd, 0, 0 },
    { "iopl", sc_iopl, 0, 0 },
    { "ioperm", sc_ioperm, 0, 0 },
    { "syslog-read", sc_syslog, 0, 0 },
    { "setns-self-net", sc_setns_net, 0, 0 },
    { "mknod-char", sc_mknod_char, 0, 0 },
    { "mlock", sc_mlock, 0, 0 },
    { "setpriority-neg", sc_setpriority, 0, 0 },
    { "sched-fifo", sc_sched_fifo, 0, 0 },
    { "quotactl", sc_quotactl, 0, 0 },
    { "open_by_handle_at", sc_open_by_handle, 0, 0 },
    { "name_to_handle_at", sc_name_to_handle, 0, 0 },
    { "socket-packet", sc_socket_packet, 0, 0 },
    { "socket-raw-icmp", sc_socket_icmp, 0, 0 },
    { "socket-netlink-audit", sc_socket_audit, 0, 0 },
    { "vhangup", sc_vhangup, 0, SC_CHILD },
    { "setuid-0", sc_setuid0, 0, SC_CHILD },
    { "setgid-0", sc_setgid0, 0, SC_CHILD },
    { "chown-root-file", sc_chown_root_file, 0, 0 },
    { "lookup_dcookie", sc_lookup_dcookie, 0, 0 },
    { "fsopen", sc_fsopen, 0, 0 },
    { "move_mount", sc_move_mount, 0, 0 },
};

#undef SET
#undef PREP_FAIL
#undef UNDO
#undef CLOSE_RET

static const struct sc_entry *sc_find(const char *name) {
    for (size_t i = 0; i < COUNT(sc_table); i++)
        if (!strcmp(sc_table[i].name, name)) return &sc_table[i];
    return NULL;
}

int syscall_known(const char *name) { return sc_find(name) != NULL; }

static void sc_in_child(void *ctx, void *msg) {
    const struct sc_entry *e = ctx;
    e->fn(msg, e->arg);
}

OPFN(op_syscall) {
    const struct sc_entry *e = sc_find(argv[0]);
    struct sc_result res = { 0, 0, 0, NULL }, *r = &res;
    jk_str("name", e->name);
    if (!e->fn) {
        report_errno(ENOSYS);
        jk_bool("unsupported", 1);
        return;
    }
    if (!(e->flags & SC_CHILD)) e->fn(r, e->arg);
    else if (in_child(sc_in_child, (void *)e, r, sizeof *r) < 0) {
        r->ret = -1;
        r->err = errno;
        r->stage = "child";
    }
    jk_bool("ok", r->err == 0);
    jk_int("ret", r->ret);
    if (r->err) jk_str("errno", errname(r->err));
    if (r->stage) jk_str("stage", r->stage);
    if (r->undo_err) jk_str("undo_errno", errname(r->undo_err));
}
