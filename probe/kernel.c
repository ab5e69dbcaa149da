/*
 * kernel.c - kernel interface ops: clone3 and its clone fallback, running a
 * program image (spawn), PER_LINUX32, SysV IPC and POSIX message queue
 * objects, eventfd, epoll, timerfd, signalfd, futex, an inotify queue
 * overflow, and the securebits.
 */
#include "probe.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435 /* the same number on every architecture */
#endif
#define FUTEX_WAIT_OP 0
#define FUTEX_WAKE_OP 1
#define FUTEX_PRIVATE 128

static long long mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Writes "exit_code" or "signal" of a wait status. */
static void j_status(int st) {
    if (WIFSIGNALED(st)) {
        char b[16];
        signame(WTERMSIG(st), b, sizeof b);
        jk_str("signal", b);
    } else {
        jk_int("exit_code", WEXITSTATUS(st));
    }
}

/* clone3: clone3({exit_signal = SIGCHLD}, 64 bytes), whose child exits 0 at
 * once; ok and errno are clone3's. Then the fallback libc takes on ENOSYS:
 * clone(SIGCHLD) with no other flag, whose child exits 7: "clone_exit". */
OPFN(op_clone3) {
    uint64_t args[8] = { 0, 0, 0, 0, SIGCHLD, 0, 0, 0 }; /* struct clone_args, version 0 */
    int st;
    long pid = syscall(SYS_clone3, args, sizeof args);
    int err = errno;
    if (pid == 0) _exit(0);
    if (pid > 0 && reap((pid_t)pid, &st) < 0) FAIL_RET("wait");
    if (pid < 0) report_errno(err);
    else jk_bool("ok", 1);
    pid = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
    if (pid == 0) _exit(7);
    j_key("clone_exit");
    if (pid < 0) j_str(errname(errno));
    else if (reap((pid_t)pid, &st) < 0) j_str(errname(errno));
    else j_int(WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
}

/* spawn PATH: fork and execve(PATH, {PATH}, {}) with stdin, stdout and stderr on
 * /dev/null; reports the child's exit_code (or signal), or execve's errno at stage
 * "execve". */
OPFN(op_spawn) {
    int p[2], st, e = 0;
    if (pipe2(p, O_CLOEXEC) < 0) FAIL_RET("pipe");
    pid_t pid = fork();
    if (pid < 0) {
        close_quiet(p[0]);
        close_quiet(p[1]);
        FAIL_RET("fork");
    }
    if (pid == 0) {
        /* stdio on /dev/null: what the program prints must not enter the probe's JSON */
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        char *argv0[] = { argv[0], NULL }, *envp[] = { NULL };
        execve(argv[0], argv0, envp);
        e = errno;
        (void)!write(p[1], &e, sizeof e);
        _exit(127);
    }
    close_quiet(p[1]);
    ssize_t n = read_full(p[0], &e, sizeof e);
    close_quiet(p[0]);
    if (reap(pid, &st) < 0) FAIL_RET("wait");
    if (n == (ssize_t)sizeof e) {
        report_fail("execve", e);
        return;
    }
    jk_bool("ok", 1);
    j_status(st);
}

/* run ARG...: fork and execv(ARG[0], ARG) in this environment, stdin on /dev/null,
 * stdout and stderr captured (up to RUN_CAP bytes each; "truncated" says if more
 * came); reports exit_code (or signal) and both outputs in hex. What testinfra's
 * commands cost as a request to the probe server rather than a docker exec. */
#define RUN_CAP (8u << 20)
struct capture { int fd; unsigned char *buf; size_t len; int truncated; };

static void drain(struct capture *c) {
    unsigned char chunk[65536];
    ssize_t n = read(c->fd, chunk, sizeof chunk);
    if (n <= 0) {
        if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            close_quiet(c->fd);
            c->fd = -1;
        }
        return;
    }
    size_t keep = (size_t)n;
    if (c->len + keep > RUN_CAP) {
        keep = RUN_CAP - c->len;
        c->truncated = 1;
    }
    memcpy(c->buf + c->len, chunk, keep);
    c->len += keep;
}

OPFN(op_run) {
    int out[2], err[2], st;
    if (pipe2(out, O_CLOEXEC) < 0) FAIL_RET("pipe");
    if (pipe2(err, O_CLOEXEC) < 0) {
        close_quiet(out[0]);
        close_quiet(out[1]);
        FAIL_RET("pipe");
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        for (int k = 0; k < 2; k++) {
            close_quiet(out[k]);
            close_quiet(err[k]);
        }
        report_fail("fork", e);
        return;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) dup2(null, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close_quiet(out[1]);
    close_quiet(err[1]);
    struct capture c[2] = { { out[0], xmalloc(RUN_CAP), 0, 0 }, { err[0], xmalloc(RUN_CAP), 0, 0 } };
    while (c[0].fd >= 0 || c[1].fd >= 0) {
        struct pollfd p[2] = { { c[0].fd, POLLIN, 0 }, { c[1].fd, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0 && errno != EINTR) break;
        for (int k = 0; k < 2; k++)
            if (c[k].fd >= 0 && (p[k].revents & (POLLIN | POLLHUP | POLLERR))) drain(&c[k]);
    }
    for (int k = 0; k < 2; k++) close_quiet(c[k].fd);
    if (reap(pid, &st) < 0) {
        free(c[0].buf);
        free(c[1].buf);
        FAIL_RET("wait");
    }
    jk_bool("ok", 1);
    j_status(st);
    j_key("stdout");
    j_hex(c[0].buf, c[0].len);
    j_key("stderr");
    j_hex(c[1].buf, c[1].len);
    jk_bool("truncated", c[0].truncated || c[1].truncated);
    free(c[0].buf);
    free(c[1].buf);
}

struct linux32_msg { int err; long persona; char machine[65]; };

static void linux32_child(void *ctx UNUSED, void *msg) {
    struct linux32_msg *m = msg;
    struct utsname u;
    if (personality(PER_LINUX32) < 0 || uname(&u) < 0) {
        m->err = errno;
        return;
    }
    m->persona = personality(0xffffffff);
    snprintf(m->machine, sizeof m->machine, "%s", u.machine);
}

/* linux32-uname: in a child, personality(PER_LINUX32), then uname(2).
 * Reports machine and the personality read back. */
OPFN(op_linux32_uname) {
    struct linux32_msg m = { 0, -1, "" };
    if (in_child(linux32_child, NULL, &m, sizeof m) < 0) FAIL_RET("child");
    if (m.err) {
        report_fail("personality", m.err);
        return;
    }
    jk_bool("ok", 1);
    jk_str("machine", m.machine);
    jk_int("personality", m.persona);
}

/* ipc-make KEY, ipc-find KEY, ipc-remove KEY: a SysV message queue, a
 * 4 KiB shared memory segment and a set of one semaphore with key KEY, and
 * the POSIX message queue "/parity-KEY"; each reported as {ok, errno?}. */
enum { IPC_MAKE, IPC_FIND, IPC_REMOVE };

static void j_result(const char *key, int err) {
    j_key(key);
    j_obj();
    if (err) report_errno(err);
    else jk_bool("ok", 1);
    j_endobj();
}

static void ipc_objects(int action, const char *arg) {
    key_t key = (key_t)num(arg);
    int make = action == IPC_MAKE, remove = action == IPC_REMOVE;
    int flags = make ? IPC_CREAT | IPC_EXCL | 0600 : 0;
    char name[32];
    snprintf(name, sizeof name, "/parity-%s", arg);
    jk_bool("ok", 1);
    int id = msgget(key, flags);
    if (id >= 0 && remove) id = msgctl(id, IPC_RMID, NULL);
    j_result("msg", id < 0 ? errno : 0);
    id = shmget(key, make ? 4096 : 0, flags);
    if (id >= 0 && remove) id = shmctl(id, IPC_RMID, NULL);
    j_result("shm", id < 0 ? errno : 0);
    id = semget(key, make ? 1 : 0, flags);
    if (id >= 0 && remove) id = semctl(id, 0, IPC_RMID);
    j_result("sem", id < 0 ? errno : 0);
    if (remove) {
        j_result("mq", mq_unlink(name) < 0 ? errno : 0);
        return;
    }
    mqd_t q = make ? mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, NULL) : mq_open(name, O_RDONLY);
    j_result("mq", q == (mqd_t)-1 ? errno : 0);
    if (q != (mqd_t)-1) mq_close(q);
}

OPFN(op_ipc_make) { ipc_objects(IPC_MAKE, argv[0]); }
OPFN(op_ipc_find) { ipc_objects(IPC_FIND, argv[0]); }
OPFN(op_ipc_remove) { ipc_objects(IPC_REMOVE, argv[0]); }

/* Reads one uint64_t from fd: its value, or minus errno. */
static long long read_u64(int fd) {
    uint64_t v;
    return read(fd, &v, sizeof v) == (ssize_t)sizeof v ? (long long)v : -(long long)errno;
}

static int write_u64(int fd, uint64_t v) { return write(fd, &v, sizeof v) == (ssize_t)sizeof v ? 0 : -errno; }

static void jk_u64_or_errno(const char *k, long long v) {
    if (v < 0) jk_str(k, errname((int)-v));
    else jk_int(k, v);
}

/* eventfd: a counter at 0 reads EAGAIN (empty); 3 and 4 written read back as
 * 7 (sum); writing 0xffffffffffffffff fails (max_errno); with EFD_SEMAPHORE
 * and 2, three reads give 1, 1 and EAGAIN (semaphore). */
OPFN(op_eventfd) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), sem = -1;
    if (fd < 0) FAIL_RET("eventfd");
    jk_bool("ok", 1);
    jk_u64_or_errno("empty", read_u64(fd));
    int w = write_u64(fd, 3);
    if (!w) w = write_u64(fd, 4);
    jk_u64_or_errno("sum", w ? w : read_u64(fd));
    w = write_u64(fd, UINT64_MAX);
    jk_str("max_errno", w ? errname(-w) : "none");
    close_quiet(fd);
    if ((sem = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        jk_str("semaphore", errname(errno));
        return;
    }
    j_key("semaphore");
    j_arr();
    for (int i = 0; i < 3; i++) {
        long long v = read_u64(sem);
        if (v < 0) j_str(errname((int)-v));
        else j_int(v);
    }
    j_endarr();
    close_quiet(sem);
}

/* epoll: an eventfd registered for EPOLLIN with data 42. Reports the ready
 * count before a write ("before"), after it ("after", "events", "data"), on
 * a second wait (level-triggered: "again"), the errno of registering it
 * twice ("twice_errno") and of registering the directory / ("dir_errno"). */
OPFN(op_epoll) {
    const char *stage = NULL;
    int err = 0, ep = epoll_create1(EPOLL_CLOEXEC), efd = -1, dir = -1;
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, got[4];
    if (ep < 0) FAIL("epoll_create1");
    if ((efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) FAIL("eventfd");
    if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0) FAIL("epoll_ctl");
    int before = epoll_wait(ep, got, 4, 0);
    if (write_u64(efd, 1)) FAIL("write");
    memset(got, 0, sizeof got);
    int after = epoll_wait(ep, got, 4, 0);
    uint32_t events = got[0].events;
    uint64_t data = got[0].data.u64;
    int again = epoll_wait(ep, got, 4, 0);
    int twice = epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0 ? errno : 0;
    if ((dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) FAIL("open");
    int dir_err = epoll_ctl(ep, EPOLL_CTL_ADD, dir, &ev) < 0 ? errno : 0;
    jk_bool("ok", 1);
    jk_int("before", before);
    jk_int("after", after);
    jk_uint("events", events);
    jk_uint("data", data);
    jk_int("again", again);
    jk_str("twice_errno", twice ? errname(twice) : "none");
    jk_str("dir_errno", dir_err ? errname(dir_err) : "none");
out:
    close_quiet(dir);
    close_quiet(efd);
    close_quiet(ep);
    STAGE_RET();
}

/* timerfd: a CLOCK_MONOTONIC one-shot timer of 20 ms. Reports the blocking
 * read's expirations, whether it returned no earlier than 20 ms after the
 * timer was armed ("waited"), the time left after it ("remaining_ns"), and a
 * non-blocking read after it ("again"). */
OPFN(op_timerfd) {
    const char *stage = NULL;
    int err = 0, fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec spec = { .it_value = { 0, 20 * 1000000L } }, left;
    if (fd < 0) FAIL("timerfd_create");
    long long start = mono_ns();
    if (timerfd_settime(fd, 0, &spec, NULL) < 0) FAIL("timerfd_settime");
    long long expirations = read_u64(fd), waited = mono_ns() - start;
    if (timerfd_gettime(fd, &left) < 0) FAIL("timerfd_gettime");
    if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) FAIL("fcntl");
    jk_bool("ok", 1);
    jk_u64_or_errno("expirations", expirations);
    jk_bool("waited", waited >= 20 * 1000000LL);
    jk_int("remaining_ns", (long long)left.it_value.tv_sec * 1000000000LL + left.it_value.tv_nsec);
    jk_u64_or_errno("again", read_u64(fd));
out:
    close_quiet(fd);
    STAGE_RET();
}

/* signalfd: SIGUSR1 blocked and read through a non-blocking signalfd.
 * Reports a read before any signal ("before", an errno name), then the
 * siginfo of kill(getpid(), SIGUSR1): "signal", "code" and whether pid and
 * uid are the probe's ("from_self"). The mask is restored after. */
OPFN(op_signalfd) {
    const char *stage = NULL;
    int err = 0, fd = -1;
    sigset_t set, old;
    struct signalfd_siginfo si;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    if (sigprocmask(SIG_BLOCK, &set, &old) < 0) FAIL_RET("sigprocmask");
    if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) FAIL("signalfd");
    int before = read(fd, &si, sizeof si) < 0 ? errno : 0;
    if (kill(getpid(), SIGUSR1) < 0) FAIL("kill");
    if (read(fd, &si, sizeof si) != (ssize_t)sizeof si) FAIL("read");
    char name[16];
    signame((int)si.ssi_signo, name, sizeof name);
    jk_bool("ok", 1);
    jk_str("before", before ? errname(before) : "none");
    jk_str("signal", name);
    jk_int("code", si.ssi_code);
    jk_bool("from_self", si.ssi_pid == (uint32_t)getpid() && si.ssi_uid == (uint32_t)getuid());
out:
    close_quiet(fd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    STAGE_RET();
}

static long futex(uint32_t *addr, int op, uint32_t val, const struct timespec *timeout) {
    return syscall(SYS_futex, addr, op, val, timeout, NULL, 0);
}

/* The state letter of /proc/PID/stat, or 0. */
static char proc_state(pid_t pid) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close_quiet(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' ? paren[2] : 0;
}

/* futex: FUTEX_WAIT on a word that differs from the expected value
 * ("mismatch", an errno name); FUTEX_WAIT with a 10 ms timeout ("timeout");
 * FUTEX_WAKE with no waiter ("woken_none"). Then a child waits on a shared
 * word; once it sleeps, the word is set and FUTEX_WAKE wakes "woken" waiters;
 * the child exits 0 when it saw the new value ("child_exit"). */
OPFN(op_futex) {
    uint32_t word = 1;
    struct timespec ten_ms = { 0, 10 * 1000000L }, five_s = { 5, 0 };
    long mismatch = futex(&word, FUTEX_WAIT_OP | FUTEX_PRIVATE, 0, NULL);
    int mismatch_err = errno;
    long timeout = futex(&word, FUTEX_WAIT_OP | FUTEX_PRIVATE, 1, &ten_ms);
    int timeout_err = errno;
    long none = futex(&word, FUTEX_WAKE_OP | FUTEX_PRIVATE, 1, NULL);
    uint32_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) FAIL_RET("mmap");
    *shared = 0;
    pid_t pid = fork();
    if (pid < 0) {
        munmap(shared, 4096);
        FAIL_RET("fork");
    }
    if (pid == 0) {
        while (__atomic_load_n(shared, __ATOMIC_SEQ_CST) == 0)
            if (futex(shared, FUTEX_WAIT_OP, 0, &five_s) < 0 && errno == ETIMEDOUT) _exit(1);
        _exit(0);
    }
    long long deadline = now_ms() + 5000;
    while (proc_state(pid) != 'S' && now_ms() < deadline) sleep_ms(1);
    __atomic_store_n(shared, 1, __ATOMIC_SEQ_CST);
    long woken = futex(shared, FUTEX_WAKE_OP, 1, NULL);
    int st;
    int reaped = reap(pid, &st);
    munmap(shared, 4096);
    if (reaped < 0) FAIL_RET("wait");
    jk_bool("ok", 1);
    jk_str("mismatch", mismatch < 0 ? errname(mismatch_err) : "none");
    jk_str("timeout", timeout < 0 ? errname(timeout_err) : "none");
    jk_int("woken_none", none);
    jk_int("woken", woken);
    jk_int("child_exit", WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
}

#define INOTIFY_MAX_EVENTS 4194304 /* bound on the events this op generates */

/* inotify-overflow DIR: watches DIR for IN_OPEN | IN_CLOSE_NOWRITE, then
 * opens and closes DIR/.parity-overflow until it has caused more events than
 * /proc/sys/fs/inotify/max_queued_events, without reading any. Reports that
 * limit, the events then read ("events", the IN_Q_OVERFLOW one included),
 * how many were IN_Q_OVERFLOW with wd -1 ("overflows") and whether the last
 * one was ("last_is_overflow"). The file is removed after. */
OPFN(op_inotify_overflow) {
    const char *stage = NULL;
    int err = 0, in = -1;
    char path[PATH_MAX], buf[256];
    long long events = 0, overflows = 0, last_overflow = 0;
    snprintf(path, sizeof path, "%s/.parity-overflow", argv[0]);
    int fd = open("/proc/sys/fs/inotify/max_queued_events", O_RDONLY | O_CLOEXEC);
    if (fd < 0) FAIL_RET("max_queued_events");
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close_quiet(fd);
    if (n <= 0) FAIL_RET("max_queued_events");
    buf[n] = 0;
    long long limit = strtoll(buf, NULL, 10);
    if (limit <= 0 || limit > INOTIFY_MAX_EVENTS) {
        report_fail("max_queued_events", E2BIG);
        return;
    }
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) FAIL_RET("create");
    close_quiet(fd);
    if ((in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) FAIL("inotify_init1");
    if (inotify_add_watch(in, argv[0], IN_OPEN | IN_CLOSE_NOWRITE) < 0) FAIL("inotify_add_watch");
    for (long long i = 0; i <= limit / 2; i++) { /* two events each, alternating: never merged */
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) FAIL("open");
        close_quiet(fd);
    }
    static char events_buf[65536] __attribute__((aligned(8)));
    for (;;) {
        ssize_t got = read(in, events_buf, sizeof events_buf);
        if (got < 0 && errno == EAGAIN) break;
        if (got <= 0) FAIL("read");
        for (char *p = events_buf; p < events_buf + got;) {
            struct inotify_event *e = (struct inotify_event *)(void *)p;
            last_overflow = (e->mask & IN_Q_OVERFLOW) && e->wd == -1;
            overflows += last_overflow;
            events++;
            p += sizeof *e + e->len;
        }
    }
    jk_bool("ok", 1);
    jk_int("max_queued_events", limit);
    jk_int("events", events);
    jk_int("overflows", overflows);
    jk_bool("last_is_overflow", (int)last_overflow);
out:
    close_quiet(in);
    unlink(path);
    STAGE_RET();
}

/* securebits: prctl(PR_GET_SECUREBITS), as "securebits". */
OPFN(op_securebits) {
    int bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
    if (bits < 0) FAIL_RET("prctl");
    jk_bool("ok", 1);
    jk_int("securebits", bits);
}
