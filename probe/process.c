/*
 * process.c - identity and process ops (uname, ids, caps, prctl, rlimits,
 * clock, env, exit, kill-self, ...), the long-running idle and signals ops,
 * and the resource and process-tree ops (fork-bomb, alloc, zombies, orphan).
 */
#include "probe.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Identity / process ops                                                   */
/* ------------------------------------------------------------------------ */

OPFN(op_uname) {
    struct utsname u;
    if (uname(&u) < 0) FAIL_RET("uname");
    jk_bool("ok", 1);
    jk_str("sysname", u.sysname);
    jk_str("nodename", u.nodename);
    jk_str("release", u.release);
    jk_str("version", u.version);
    jk_str("machine", u.machine);
    jk_str("domainname", u.domainname);
}

OPFN(op_ids) {
    uid_t ru, eu, su;
    gid_t rg, eg, sg, *g;
    if (getresuid(&ru, &eu, &su) < 0) FAIL_RET("getresuid");
    if (getresgid(&rg, &eg, &sg) < 0) FAIL_RET("getresgid");
    int n = getgroups(0, NULL);
    if (n < 0) FAIL_RET("getgroups");
    g = xmalloc((size_t)n * sizeof *g);
    if ((n = getgroups(n, g)) < 0) {
        free(g);
        FAIL_RET("getgroups");
    }
    jk_bool("ok", 1);
    jk_uint("uid", ru);
    jk_uint("gid", rg);
    jk_uint("euid", eu);
    jk_uint("egid", eg);
    jk_uint("suid", su);
    jk_uint("sgid", sg);
    j_key("groups");
    j_arr();
    for (int i = 0; i < n; i++) j_uint(g[i]);
    j_endarr();
    free(g);
}

OPFN(op_pids) {
    pid_t pgid = getpgid(0), sid = getsid(0);
    if (pgid < 0 || sid < 0) FAIL_RET(pgid < 0 ? "getpgid" : "getsid");
    jk_bool("ok", 1);
    jk_int("pid", getpid());
    jk_int("ppid", getppid());
    jk_int("pgid", pgid);
    jk_int("sid", sid);
}

/* Bitmask of the caps for which prctl(opt, [sub,] cap) returns 1; stops at the
 * first error (EINVAL past the last capability the kernel knows). */
static uint64_t cap_mask(int opt, int sub) {
    uint64_t m = 0;
    for (int c = 0; c < 64; c++) {
        int r = sub ? prctl(opt, sub, c, 0, 0) : prctl(opt, c, 0, 0, 0);
        if (r < 0) break;
        if (r) m |= 1ULL << c;
    }
    return m;
}

OPFN(op_caps) {
    struct { uint32_t version; int pid; } hdr = { 0x20080522 /* v3 */, 0 };
    struct { uint32_t effective, permitted, inheritable; } d[2];
    if (syscall(SYS_capget, &hdr, d) < 0) FAIL_RET("capget");
    jk_bool("ok", 1);
    jk_hex64("effective", (uint64_t)d[1].effective << 32 | d[0].effective);
    jk_hex64("permitted", (uint64_t)d[1].permitted << 32 | d[0].permitted);
    jk_hex64("inheritable", (uint64_t)d[1].inheritable << 32 | d[0].inheritable);
    jk_hex64("bounding", cap_mask(PR_CAPBSET_READ, 0));
    jk_hex64("ambient", cap_mask(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET));
}

OPFN(op_prctl) {
    static const struct { const char *key; int opt; } q[] = {
        { "no_new_privs", PR_GET_NO_NEW_PRIVS }, { "seccomp", PR_GET_SECCOMP },
        { "dumpable", PR_GET_DUMPABLE }, { "keepcaps", PR_GET_KEEPCAPS },
        { "child_subreaper", PR_GET_CHILD_SUBREAPER },
    };
    jk_bool("ok", 1);
    for (size_t i = 0; i < COUNT(q); i++) {
        int v = 0, sub = q[i].opt == PR_GET_CHILD_SUBREAPER; /* answers via &v */
        int rc = prctl(q[i].opt, sub ? (unsigned long)&v : 0UL, 0UL, 0UL, 0UL); /* others need 0 */
        j_key(q[i].key);
        if (rc < 0) j_str(errname(errno)); /* value is the errno name if the query fails */
        else j_int(sub ? v : rc);
    }
}

static void j_rlim(rlim_t v) {
    if (v == RLIM_INFINITY) j_str("unlimited");
    else j_uint(v);
}

OPFN(op_rlimits) {
    static const struct { const char *name; int res; } lim[] = {
        { "as", RLIMIT_AS }, { "core", RLIMIT_CORE }, { "cpu", RLIMIT_CPU },
        { "data", RLIMIT_DATA }, { "fsize", RLIMIT_FSIZE }, { "locks", RLIMIT_LOCKS },
        { "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE },
        { "nice", RLIMIT_NICE }, { "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC },
        { "rss", RLIMIT_RSS }, { "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME },
        { "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK },
    };
    jk_bool("ok", 1);
    j_key("limits");
    j_obj();
    for (size_t i = 0; i < COUNT(lim); i++) {
        struct rlimit rl;
        j_key(lim[i].name);
        if (getrlimit(lim[i].res, &rl) < 0) {
            j_str(errname(errno));
            continue;
        }
        j_obj();
        j_key("soft");
        j_rlim(rl.rlim_cur);
        j_key("hard");
        j_rlim(rl.rlim_max);
        j_endobj();
    }
    j_endobj();
}

OPFN(op_clock) {
    static const struct { const char *key; clockid_t id; } c[] = {
        { "realtime_ns", CLOCK_REALTIME }, { "monotonic_ns", CLOCK_MONOTONIC },
        { "boottime_ns", CLOCK_BOOTTIME },
    };
    struct timespec ts[3];
    for (int i = 0; i < 3; i++)
        if (clock_gettime(c[i].id, &ts[i]) < 0) FAIL_RET(c[i].key);
    jk_bool("ok", 1);
    for (int i = 0; i < 3; i++) jk_int(c[i].key, (long long)ts[i].tv_sec * 1000000000LL + ts[i].tv_nsec);
}

OPFN(op_nproc) {
    cpu_set_t set;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (online < 0) FAIL_RET("sysconf");
    if (sched_getaffinity(0, sizeof set, &set) < 0) FAIL_RET("sched_getaffinity");
    jk_bool("ok", 1);
    jk_int("online", online);
    jk_int("affinity", CPU_COUNT(&set));
}

OPFN(op_hostname) {
    char host[HOST_NAME_MAX + 2] = "", dom[HOST_NAME_MAX + 2] = "";
    if (gethostname(host, sizeof host - 1) < 0) FAIL_RET("gethostname");
    if (getdomainname(dom, sizeof dom - 1) < 0) FAIL_RET("getdomainname");
    jk_bool("ok", 1);
    jk_str("hostname", host);
    jk_str("domainname", dom);
}

extern char **environ;

OPFN(op_env) {
    jk_bool("ok", 1);
    j_key("env");
    j_arr();
    for (char **e = environ; e && *e; e++) j_str(*e);
    j_endarr();
}

OPFN(op_argv) {
    jk_bool("ok", 1);
    j_key("argv");
    j_arr();
    for (int i = 0; i < argc; i++) j_str(argv[i]);
    j_endarr();
}

OPFN(op_exit) {
    out_reset(); /* this op prints nothing itself */
    out_finish();
    _exit((int)num(argv[0]));
}

OPFN(op_kill_self) {
    int sig = parse_signal(argv[0]);
    sigset_t set;
    out_reset();
    out_finish();
    /* signal() fails with EINVAL for SIGKILL/SIGSTOP, which are always default */
    if ((signal(sig, SIG_DFL) == SIG_ERR && errno != EINVAL) || sigemptyset(&set) < 0 ||
        sigaddset(&set, sig) < 0 || sigprocmask(SIG_UNBLOCK, &set, NULL) < 0 || raise(sig) != 0) {
        fprintf(stderr, "probe: kill-self %s: %s\n", argv[0], strerror(errno));
        _exit(1);
    }
    /* Still alive: the signal is ignored by default, or we are PID 1 of a PID
     * namespace, where the kernel drops self-sent signals without a handler. */
    fprintf(stderr, "probe: kill-self %s: process survived the signal\n", argv[0]);
    _exit(0);
}

OPFN(op_sleep) { report_rc(sleep_ms(num(argv[0]))); }

/* ------------------------------------------------------------------------ */
/* Long-running ops: each must be the only op and prints its own output     */
/* ------------------------------------------------------------------------ */

static void exit_handler(int sig UNUSED) { _exit(0); }

/* As PID 1 of a container, signals without a handler are ignored, so SIGTERM
 * and SIGINT need one for the container to stop promptly. Also used by the
 * echo servers in net.c. */
void install_exit_handlers(void) {
    struct sigaction sa = { .sa_handler = exit_handler };
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) die("sigaction failed");
}

OPFN(op_idle) {
    /* No SIGCHLD handling on purpose: zombies of reparented orphans must stay
     * visible so tests can tell whether an init process reaps them. */
    install_exit_handlers();
    for (;;) pause();
}

/* State for the signals handler, which only uses async-signal-safe calls. */
static const char *sig_outfile;
static int sig_exit_on;
static char sig_line[NSIGS][24];

static void record_line(const char *line) {
    int fd = open(sig_outfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return; /* nowhere to report it from a handler */
    (void)write_all(fd, line, strlen(line));
    (void)close(fd);
}

static void record_signal(int sig) {
    int saved = errno;
    record_line(sig_line[sig]);
    (void)write_all(1, sig_line[sig], strlen(sig_line[sig]));
    if (sig == sig_exit_on) _exit(0);
    errno = saved;
}

/* signals OUTFILE [EXIT_ON SIGNAME|-] [IGNORE SIGNAME...] */
OPFN(op_signals) {
    int ignore[NSIGS] = { 0 }, i = 1;
    sig_outfile = argv[0];
    if (i + 1 < argc && !strcmp(argv[i], "EXIT_ON")) {
        if (strcmp(argv[i + 1], "-") && (sig_exit_on = parse_signal(argv[i + 1])) < 0)
            usage("signals: bad signal name '%s'", argv[i + 1]);
        i += 2;
    }
    if (i < argc && !strcmp(argv[i], "IGNORE"))
        for (i++; i < argc; i++) {
            int s = parse_signal(argv[i]);
            if (s < 0) usage("signals: bad signal name '%s'", argv[i]);
            ignore[s] = 1;
        }
    if (i < argc) usage("signals: unexpected argument '%s'", argv[i]);

    struct sigaction sa = { .sa_handler = record_signal, .sa_flags = SA_RESTART };
    struct sigaction ign = { .sa_handler = SIG_IGN };
    if (sigfillset(&sa.sa_mask) < 0) die("sigfillset failed"); /* serialize handlers */
    for (int s = 1; s < NSIGS; s++) {
        /* SIGKILL/SIGSTOP cannot be caught; musl reserves 32..34 for itself. */
        if (s == SIGKILL || s == SIGSTOP || (s >= 32 && s <= 34)) continue;
        signame(s, sig_line[s], sizeof sig_line[s] - 1);
        strcat(sig_line[s], "\n");
        if (sigaction(s, ignore[s] ? &ign : &sa, NULL) < 0)
            fprintf(stderr, "probe: signals: sigaction(%d): %s\n", s, strerror(errno));
    }
    record_line("ready\n");
    /* and on stderr, so that a client waits by reading the logs, not by an exec */
    (void)write_all(2, "ready\n", 6);
    for (;;) pause();
}

/* ------------------------------------------------------------------------ */
/* Resource and process-tree ops                                            */
/* ------------------------------------------------------------------------ */

OPFN(op_fork_bomb) {
    long long want = num(argv[0]), hold = num(argv[1]), forked = 0;
    int err = 0, cleanup_err = 0;
    if ((unsigned long long)want > SIZE_MAX / sizeof(pid_t)) {
        report_errno(ENOMEM);
        return;
    }
    pid_t *pids = xmalloc((size_t)want * sizeof *pids);
    while (forked < want) {
        pid_t p = fork();
        if (p < 0) {
            err = errno;
            break;
        }
        if (p == 0) _exit(sleep_ms(hold) < 0);
        pids[forked++] = p;
    }
    for (long long i = 0; i < forked; i++)
        if ((kill(pids[i], SIGKILL) < 0 || reap(pids[i], NULL) < 0) && !cleanup_err) cleanup_err = errno;
    free(pids);
    jk_bool("ok", err == 0);
    jk_int("forked", forked);
    if (err) jk_str("errno", errname(err));
    if (cleanup_err) jk_str("cleanup_errno", errname(cleanup_err));
}

OPFN(op_alloc) {
    unsigned long long mb = (unsigned long long)num(argv[0]);
    unsigned char *p = NULL;
    if (mb > SIZE_MAX >> 20) {
        report_errno(ENOMEM);
        return;
    }
    size_t len = (size_t)mb << 20;
    if (len && (p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
        FAIL_RET("mmap");
    for (size_t off = 0; off < len; off += 4096) p[off] = 1;
    if (len && munmap(p, len) < 0) FAIL_RET("munmap");
    jk_bool("ok", 1);
    jk_uint("touched_mb", mb);
}

OPFN(op_zombies) {
    long long procs = 0, zombies = 0;
    struct dirent *de;
    DIR *d = opendir("/proc");
    if (!d) FAIL_RET("opendir");
    while ((de = readdir(d)) != NULL) {
        char path[300], buf[1024];
        if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue; /* exited meanwhile */
        ssize_t n = read_full(fd, buf, sizeof buf - 1);
        close_quiet(fd);
        if (n <= 0) continue;
        buf[n] = '\0';
        char *rp = strrchr(buf, ')'); /* comm may itself contain spaces and ')' */
        if (!rp || rp[1] != ' ') continue;
        procs++;
        zombies += rp[2] == 'Z';
    }
    (void)closedir(d);
    jk_bool("ok", 1);
    jk_int("zombies", zombies);
    jk_int("processes", procs);
}

OPFN(op_orphan) {
    int p[2], st;
    pid_t gpid = 0; /* the grandchild's pid, or -errno of its fork */
    if (pipe2(p, O_CLOEXEC) < 0) FAIL_RET("pipe");
    pid_t child = fork();
    if (child == 0) {
        close_quiet(p[0]);
        pid_t g = fork();
        if (g == 0) _exit(sleep_ms(200) < 0);
        if (g < 0) g = -errno;
        _exit(write_all(p[1], &g, sizeof g) < 0); /* exiting at once orphans g */
    }
    int e = errno;
    close_quiet(p[1]);
    ssize_t n = child < 0 ? 0 : read_full(p[0], &gpid, sizeof gpid);
    close_quiet(p[0]);
    if (child < 0) report_fail("fork", e);
    else if (reap(child, &st) < 0) report_fail("wait", errno);
    else if (n != (ssize_t)sizeof gpid) report_fail("child", EPIPE);
    else if (gpid < 0) report_fail("fork", -gpid);
    else if (sleep_ms(600) < 0) report_fail("sleep", errno);
    else {
        jk_bool("ok", 1);
        jk_int("grandchild_pid", gpid);
    }
}
