/*
 * probe.c - observation probe for the "parity" container conformance suite.
 *
 * Runs inside a container, performs the requested operations and prints what
 * it observed as one JSON array (one object per op) on stdout:
 *
 *   probe OP [ARGS...] [-- OP [ARGS...]] ...
 *
 * README.md next to this file describes the contract and every op.
 * Build: python -m ziglang cc -target x86_64-linux-musl -static -O2 -Wall \
 *            -Wextra -Werror -Wl,--build-id=none -o probe probe.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/if_ether.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/quota.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1u << 20)   /* I/O chunk size; also the default read limit */
#define HEX_LIMIT 4096     /* received_hex is reported up to this many bytes */
#define KSIGRTMIN 34       /* SIGRTMIN as numbered by glibc, Go and Docker */
#define NSIGS 65           /* signals are 1..64 */
#ifndef NETLINK_AUDIT
#define NETLINK_AUDIT 9    /* musl has no <linux/netlink.h> */
#endif
#define FNV_BASIS 0xcbf29ce484222325ULL
#define COUNT(a) (sizeof(a) / sizeof *(a))
#define UNUSED __attribute__((unused))
#define OPFN(fn) static void fn(int argc UNUSED, char **argv UNUSED)
/* In op handlers: report the failed step with errno and return. */
#define FAIL_RET(st) do { report_fail(st, errno); return; } while (0)
/* In op handlers with locals `stage` and `err` and a cleanup label `out`. */
#define FAIL(st) do { stage = (st); err = errno; goto out; } while (0)
#define STAGE_RET() do { if (stage) { report_fail(stage, err); return; } } while (0)

/* ------------------------------------------------------------------------ */
/* Basic helpers                                                            */
/* ------------------------------------------------------------------------ */

static void usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("probe: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nusage: probe OP [ARGS...] [-- OP [ARGS...]] ...\n", stderr);
    exit(2);
}

static void die(const char *what) {
    fprintf(stderr, "probe: %s\n", what);
    _exit(1);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

static void *xrealloc(void *old, size_t n) {
    void *p = realloc(old, n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

static char *xstrdup(const char *s) {
    char *p = strdup(s);
    if (!p) die("out of memory");
    return p;
}

/* Writes everything or fails; async-signal-safe. */
static int write_all(int fd, const void *buf, size_t n) {
    for (const char *p = buf; n > 0;) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads until n bytes or EOF; returns the count or -1. */
static ssize_t read_full(int fd, void *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* For fds whose close cannot lose data (read-only, sockets, pipes). */
static void close_quiet(int fd) {
    if (fd >= 0) (void)close(fd);
}

static int reap(pid_t pid, int *status) {
    int st;
    while (waitpid(pid, &st, __WALL) < 0)
        if (errno != EINTR) return -1;
    if (status) *status = st;
    return 0;
}

static long long now_ms(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sleep_ms(long long ms) {
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
    while (nanosleep(&ts, &ts) < 0)
        if (errno != EINTR) return -1;
    return 0;
}

/* Polls one fd until an absolute monotonic deadline: 0 when ready, else -1
 * with errno (ETIMEDOUT when the deadline passed). */
static int wait_fd(int fd, short events, long long deadline) {
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = { .fd = fd, .events = events };
        int n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (n > 0) return 0;
        if (n < 0 && errno != EINTR) return -1;
    }
}

static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* ------------------------------------------------------------------------ */
/* Names of errno values and signals                                        */
/* ------------------------------------------------------------------------ */

#define N(x) [x] = #x
/* Aliases (EWOULDBLOCK, EDEADLOCK, ENOTSUP) are left out on purpose: they
 * share numbers with EAGAIN, EDEADLK and EOPNOTSUPP, which are printed.
 * 41 and 58 are unused on Linux and print as "E41"/"E58". */
static const char *const errno_names[134] = {
    N(EPERM), N(ENOENT), N(ESRCH), N(EINTR), N(EIO), N(ENXIO), N(E2BIG),
    N(ENOEXEC), N(EBADF), N(ECHILD), N(EAGAIN), N(ENOMEM), N(EACCES),
    N(EFAULT), N(ENOTBLK), N(EBUSY), N(EEXIST), N(EXDEV), N(ENODEV),
    N(ENOTDIR), N(EISDIR), N(EINVAL), N(ENFILE), N(EMFILE), N(ENOTTY),
    N(ETXTBSY), N(EFBIG), N(ENOSPC), N(ESPIPE), N(EROFS), N(EMLINK),
    N(EPIPE), N(EDOM), N(ERANGE), N(EDEADLK), N(ENAMETOOLONG), N(ENOLCK),
    N(ENOSYS), N(ENOTEMPTY), N(ELOOP), N(ENOMSG), N(EIDRM), N(ECHRNG),
    N(EL2NSYNC), N(EL3HLT), N(EL3RST), N(ELNRNG), N(EUNATCH), N(ENOCSI),
    N(EL2HLT), N(EBADE), N(EBADR), N(EXFULL), N(ENOANO), N(EBADRQC),
    N(EBADSLT), N(EBFONT), N(ENOSTR), N(ENODATA), N(ETIME), N(ENOSR),
    N(ENONET), N(ENOPKG), N(EREMOTE), N(ENOLINK), N(EADV), N(ESRMNT),
    N(ECOMM), N(EPROTO), N(EMULTIHOP), N(EDOTDOT), N(EBADMSG), N(EOVERFLOW),
    N(ENOTUNIQ), N(EBADFD), N(EREMCHG), N(ELIBACC), N(ELIBBAD), N(ELIBSCN),
    N(ELIBMAX), N(ELIBEXEC), N(EILSEQ), N(ERESTART), N(ESTRPIPE), N(EUSERS),
    N(ENOTSOCK), N(EDESTADDRREQ), N(EMSGSIZE), N(EPROTOTYPE), N(ENOPROTOOPT),
    N(EPROTONOSUPPORT), N(ESOCKTNOSUPPORT), N(EOPNOTSUPP), N(EPFNOSUPPORT),
    N(EAFNOSUPPORT), N(EADDRINUSE), N(EADDRNOTAVAIL), N(ENETDOWN),
    N(ENETUNREACH), N(ENETRESET), N(ECONNABORTED), N(ECONNRESET), N(ENOBUFS),
    N(EISCONN), N(ENOTCONN), N(ESHUTDOWN), N(ETOOMANYREFS), N(ETIMEDOUT),
    N(ECONNREFUSED), N(EHOSTDOWN), N(EHOSTUNREACH), N(EALREADY),
    N(EINPROGRESS), N(ESTALE), N(EUCLEAN), N(ENOTNAM), N(ENAVAIL), N(EISNAM),
    N(EREMOTEIO), N(EDQUOT), N(ENOMEDIUM), N(EMEDIUMTYPE), N(ECANCELED),
    N(ENOKEY), N(EKEYEXPIRED), N(EKEYREVOKED), N(EKEYREJECTED),
    N(EOWNERDEAD), N(ENOTRECOVERABLE), N(ERFKILL), N(EHWPOISON),
};

static const char *const sig_names[32] = {
    N(SIGHUP), N(SIGINT), N(SIGQUIT), N(SIGILL), N(SIGTRAP), N(SIGABRT),
    N(SIGBUS), N(SIGFPE), N(SIGKILL), N(SIGUSR1), N(SIGSEGV), N(SIGUSR2),
    N(SIGPIPE), N(SIGALRM), N(SIGTERM), N(SIGSTKFLT), N(SIGCHLD), N(SIGCONT),
    N(SIGSTOP), N(SIGTSTP), N(SIGTTIN), N(SIGTTOU), N(SIGURG), N(SIGXCPU),
    N(SIGXFSZ), N(SIGVTALRM), N(SIGPROF), N(SIGWINCH), N(SIGIO), N(SIGPWR),
    N(SIGSYS),
};
#undef N

static const char *errname(int e) {
    static char buf[16];
    if (e > 0 && e < (int)COUNT(errno_names) && errno_names[e]) return errno_names[e];
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
}

/* 1..31 by name; 34 "SIGRTMIN", 35..63 "SIGRTMIN+n", 64 "SIGRTMAX". */
static void signame(int sig, char *buf, size_t n) {
    if (sig > 0 && sig < 32 && sig_names[sig]) snprintf(buf, n, "%s", sig_names[sig]);
    else if (sig == KSIGRTMIN) snprintf(buf, n, "SIGRTMIN");
    else if (sig == NSIGS - 1) snprintf(buf, n, "SIGRTMAX");
    else if (sig > KSIGRTMIN && sig < NSIGS) snprintf(buf, n, "SIGRTMIN+%d", sig - KSIGRTMIN);
    else snprintf(buf, n, "SIG%d", sig);
}

/* Accepts "SIGTERM", "TERM", "15", "SIGRTMIN+3", "RTMAX-1"; -1 if invalid. */
static int parse_signal(const char *s) {
    char *end;
    if (*s >= '0' && *s <= '9') {
        long v = strtol(s, &end, 10);
        return (*end || v < 1 || v >= NSIGS) ? -1 : (int)v;
    }
    if (strncmp(s, "SIG", 3) == 0) s += 3;
    for (int i = 1; i < 32; i++)
        if (sig_names[i] && strcmp(s, sig_names[i] + 3) == 0) return i;
    int base = !strncmp(s, "RTMIN", 5) ? KSIGRTMIN : !strncmp(s, "RTMAX", 5) ? NSIGS - 1 : -1;
    if (base < 0) return -1;
    if (!*(s += 5)) return base;
    if ((*s != '+' && *s != '-') || s[1] < '0' || s[1] > '9') return -1;
    long v = base + strtol(s, &end, 10);
    return (*end || v < KSIGRTMIN || v >= NSIGS) ? -1 : (int)v;
}

/* ------------------------------------------------------------------------ */
/* JSON writer: builds the current op's object in memory                    */
/* ------------------------------------------------------------------------ */

static struct {
    char *buf;
    size_t len, cap;
    int depth;               /* nesting is fixed by the code: at most 4 */
    int after_key;           /* a key was just written: no comma before value */
    unsigned char comma[16]; /* per level: the next item needs a comma */
} J;

static void jraw(const void *s, size_t n) {
    if (n == 0) return;
    if (J.len + n > J.cap) {
        size_t c = J.cap ? J.cap : 4096;
        while (c < J.len + n) c *= 2;
        if (!(J.buf = realloc(J.buf, c))) die("out of memory");
        J.cap = c;
    }
    memcpy(J.buf + J.len, s, n);
    J.len += n;
}

static void jsep(void) {
    if (!J.after_key && J.comma[J.depth]) jraw(",", 1);
    J.after_key = 0;
    J.comma[J.depth] = 1;
}

/* Bytes outside printable ASCII become \u00XX, so a reader gets the raw
 * bytes back with s.encode("latin-1"). */
static void jquote(const void *s, size_t n) {
    const unsigned char *p = s;
    size_t run = 0; /* start of bytes not yet copied */
    jraw("\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') continue;
        char e[8];
        int k = snprintf(e, sizeof e, p[i] < 0x20 || p[i] >= 0x7f ? "\\u%04x" : "\\%c", p[i]);
        jraw(p + run, i - run);
        jraw(e, (size_t)k);
        run = i + 1;
    }
    jraw(p + run, n - run);
    jraw("\"", 1);
}

static void j_strn(const void *s, size_t n) { jsep(); jquote(s, n); }
static void j_str(const char *s) { j_strn(s, strlen(s)); }
static void j_lit(const char *s) { jsep(); jraw(s, strlen(s)); }
static void j_bool(int b) { j_lit(b ? "true" : "false"); }
static void j_int(long long v) { char b[24]; snprintf(b, sizeof b, "%lld", v); j_lit(b); }
static void j_uint(unsigned long long v) { char b[24]; snprintf(b, sizeof b, "%llu", v); j_lit(b); }
static void j_open(const char *c) { jsep(); jraw(c, 1); J.comma[++J.depth] = 0; }
static void j_close(const char *c) { J.depth--; jraw(c, 1); }
#define j_obj() j_open("{")
#define j_endobj() j_close("}")
#define j_arr() j_open("[")
#define j_endarr() j_close("]")

static void j_key(const char *k) {
    jsep();
    jquote(k, strlen(k));
    jraw(":", 1);
    J.after_key = 1;
}

static void j_hex(const unsigned char *p, size_t n) {
    static const char hx[] = "0123456789abcdef";
    char *h = xmalloc(2 * n);
    for (size_t i = 0; i < n; i++) {
        h[2 * i] = hx[p[i] >> 4];
        h[2 * i + 1] = hx[p[i] & 15];
    }
    jsep();
    jraw("\"", 1);
    jraw(h, 2 * n);
    jraw("\"", 1);
    free(h);
}

static void jk_str(const char *k, const char *v) { j_key(k); j_str(v); }
static void jk_int(const char *k, long long v) { j_key(k); j_int(v); }
static void jk_uint(const char *k, unsigned long long v) { j_key(k); j_uint(v); }
static void jk_bool(const char *k, int v) { j_key(k); j_bool(v); }

static void jk_hex64(const char *k, uint64_t v) {
    char b[17];
    snprintf(b, sizeof b, "%016llx", (unsigned long long)v);
    jk_str(k, b);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A list of strings sorted bytewise, duplicates removed. */
static void j_sorted(char **v, size_t n) {
    qsort(v, n, sizeof *v, cmp_str);
    j_arr();
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(v[i], v[i - 1]) != 0) j_str(v[i]);
    j_endarr();
}

static void report_errno(int e) {
    jk_bool("ok", 0);
    jk_str("errno", errname(e));
}

static void report_fail(const char *stage, int e) {
    report_errno(e);
    jk_str("stage", stage);
}

static void report_rc(long rc) {
    if (rc < 0) report_errno(errno);
    else jk_bool("ok", 1);
}

/* Output: finished objects are streamed one at a time, so nothing at all is
 * printed if the first op never finishes (e.g. alloc killed by the OOM killer). */
static int out_started;

static void out_write(const void *p, size_t n) {
    if (write_all(1, p, n) < 0) die("cannot write to stdout");
}

static void out_reset(void) {
    J.len = 0;
    J.depth = J.after_key = 0;
    J.comma[0] = 0;
}

static void out_emit(void) {
    out_write(out_started ? "," : "[", 1);
    out_started = 1;
    out_write(J.buf, J.len);
    out_reset();
}

static void out_finish(void) {
    if (!out_started) out_write("[", 1);
    out_write("]\n", 2);
}

/* ------------------------------------------------------------------------ */
/* Argument parsing (everything is validated before the first op runs)      */
/* ------------------------------------------------------------------------ */

static int parse_ll(const char *s, int base, long long lo, long long hi, long long *out) {
    char *end;
    if (!(*s == '-' || (*s >= '0' && *s <= '9'))) return -1;
    errno = 0;
    long long v = strtoll(s, &end, base);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* Accessors for arguments that check_arg() has already validated. */
static long long num(const char *s) {
    long long v = 0;
    (void)parse_ll(s, 10, LLONG_MIN, LLONG_MAX, &v);
    return v;
}

static mode_t octal(const char *s) {
    long long v = 0;
    (void)parse_ll(s, 8, 0, 07777, &v);
    return (mode_t)v;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes hex into a new buffer (caller frees); -1 if malformed. */
static int parse_hex(const char *s, unsigned char **out, size_t *len) {
    size_t n = strlen(s);
    if (n % 2) return -1;
    unsigned char *b = xmalloc(n / 2);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(b);
            return -1;
        }
        b[i] = (unsigned char)(hi << 4 | lo);
    }
    *out = b;
    *len = n / 2;
    return 0;
}

static const struct { const char *name; int flag; } open_flags[] = {
    { "O_RDONLY", O_RDONLY }, { "O_WRONLY", O_WRONLY }, { "O_RDWR", O_RDWR },
    { "O_CREAT", O_CREAT }, { "O_EXCL", O_EXCL }, { "O_TRUNC", O_TRUNC },
    { "O_APPEND", O_APPEND }, { "O_DIRECTORY", O_DIRECTORY },
    { "O_NOFOLLOW", O_NOFOLLOW }, { "O_DIRECT", O_DIRECT }, { "O_SYNC", O_SYNC },
    { "O_DSYNC", O_DSYNC }, { "O_NONBLOCK", O_NONBLOCK }, { "O_CLOEXEC", O_CLOEXEC },
    { "O_TMPFILE", O_TMPFILE }, { "O_NOATIME", O_NOATIME }, { "O_PATH", O_PATH },
};

/* "O_WRONLY|O_CREAT" -> flags; -1 if any name is unknown. */
static int parse_open_flags(const char *s) {
    int flags = 0;
    for (;;) {
        size_t n = strcspn(s, "|"), i;
        for (i = 0; i < COUNT(open_flags); i++)
            if (strlen(open_flags[i].name) == n && !strncmp(s, open_flags[i].name, n)) break;
        if (i == COUNT(open_flags)) return -1;
        flags |= open_flags[i].flag;
        if (!s[n]) return flags;
        s += n + 1;
    }
}

/* "rw" -> R_OK|W_OK, "f" -> F_OK; -1 if invalid. */
static int parse_access(const char *s) {
    int m = 0;
    if (!*s || strspn(s, "rwxf") != strlen(s)) return -1;
    for (; *s; s++) m |= *s == 'r' ? R_OK : *s == 'w' ? W_OK : *s == 'x' ? X_OK : F_OK;
    return m;
}

/* Numeric IPv4 or IPv6 literal -> socket address. */
static int parse_host(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *len = sizeof *s4;
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof *s6;
    } else {
        return -1;
    }
    return 0;
}

static int syscall_known(const char *name);

/*
 * Argument type letters used in the op table:
 *   s string   u unsigned decimal   d signed decimal   o octal mode (<= 07777)
 *   x hex bytes   f open flags   a access letters   k signal name
 *   e exit code 0..255   p port 0..65535   h numeric IP literal
 *   t mknod type c|b   r inet|inet6|any   c syscall name
 */
static int check_arg(char type, const char *s) {
    long long v;
    unsigned char *b;
    size_t n;
    struct sockaddr_storage ss;
    socklen_t sl;
    switch (type) {
    case 's': return 1;
    case 'u': return parse_ll(s, 10, 0, LLONG_MAX, &v) == 0;
    case 'd': return parse_ll(s, 10, LLONG_MIN, LLONG_MAX, &v) == 0;
    case 'o': return parse_ll(s, 8, 0, 07777, &v) == 0;
    case 'e': return parse_ll(s, 10, 0, 255, &v) == 0;
    case 'p': return parse_ll(s, 10, 0, 65535, &v) == 0;
    case 'x': if (parse_hex(s, &b, &n) < 0) return 0; free(b); return 1;
    case 'f': return parse_open_flags(s) >= 0;
    case 'a': return parse_access(s) >= 0;
    case 'k': return parse_signal(s) > 0;
    case 'h': return parse_host(s, 0, &ss, &sl) == 0;
    case 't': return !strcmp(s, "c") || !strcmp(s, "b");
    case 'r': return !strcmp(s, "inet") || !strcmp(s, "inet6") || !strcmp(s, "any");
    case 'c': return syscall_known(s);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Running code in a forked child                                           */
/* ------------------------------------------------------------------------ */

/* Runs fn(ctx, msg) in a forked child and copies msg back through a pipe, so
 * state-changing calls (unshare, setuid, locks...) never affect the probe.
 * Returns 0, or -1 with errno; EPIPE means the child died before reporting. */
static int in_child(void (*fn)(void *ctx, void *msg), void *ctx, void *msg, size_t len) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close_quiet(p[0]);
        close_quiet(p[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        close_quiet(p[0]);
        fn(ctx, msg);
        _exit(write_all(p[1], msg, len) < 0);
    }
    close_quiet(p[1]);
    ssize_t n = read_full(p[0], msg, len);
    int e = n < 0 ? errno : EPIPE;
    close_quiet(p[0]);
    if (reap(pid, NULL) < 0) return -1;
    if (n == (ssize_t)len) return 0;
    errno = e;
    return -1;
}

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

static int syscall_known(const char *name) { return sc_find(name) != NULL; }

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

/* ------------------------------------------------------------------------ */
/* File ops                                                                 */
/* ------------------------------------------------------------------------ */

static const char *type_name(mode_t m) {
    switch (m & S_IFMT) {
    case S_IFREG: return "reg";
    case S_IFDIR: return "dir";
    case S_IFLNK: return "lnk";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "sock";
    case S_IFCHR: return "chr";
    case S_IFBLK: return "blk";
    }
    return "unknown";
}

static long long ts_ns(struct timespec t) { return (long long)t.tv_sec * 1000000000LL + t.tv_nsec; }

static void report_stat(int rc, const struct stat *st) {
    if (rc < 0) {
        report_errno(errno);
        return;
    }
    jk_bool("ok", 1);
    jk_str("type", type_name(st->st_mode));
    jk_uint("mode", st->st_mode);
    jk_uint("perm", st->st_mode & 07777);
    jk_uint("uid", st->st_uid);
    jk_uint("gid", st->st_gid);
    jk_int("size", st->st_size);
    jk_uint("nlink", st->st_nlink);
    jk_uint("ino", st->st_ino);
    jk_uint("dev", st->st_dev);
    jk_uint("rdev_major", major(st->st_rdev));
    jk_uint("rdev_minor", minor(st->st_rdev));
    jk_int("blocks", st->st_blocks);
    jk_int("blksize", st->st_blksize);
    jk_int("atime_ns", ts_ns(st->st_atim));
    jk_int("mtime_ns", ts_ns(st->st_mtim));
    jk_int("ctime_ns", ts_ns(st->st_ctim));
}

OPFN(op_stat) { struct stat st; report_stat(stat(argv[0], &st), &st); }
OPFN(op_lstat) { struct stat st; report_stat(lstat(argv[0], &st), &st); }

OPFN(op_statfs) {
    struct statfs s;
    if (statfs(argv[0], &s) < 0) FAIL_RET("statfs");
    jk_bool("ok", 1);
    jk_uint("type", (unsigned long)s.f_type);
    jk_uint("bsize", (unsigned long)s.f_bsize);
    jk_uint("blocks", s.f_blocks);
    jk_uint("bfree", s.f_bfree);
    jk_uint("bavail", s.f_bavail);
    jk_uint("files", s.f_files);
    jk_uint("ffree", s.f_ffree);
    jk_uint("namelen", (unsigned long)s.f_namelen);
    jk_uint("flags", (unsigned long)s.f_flags);
}

OPFN(op_chmod) { report_rc(chmod(argv[0], octal(argv[1]))); }
OPFN(op_chown) { report_rc(chown(argv[0], (uid_t)num(argv[1]), (gid_t)num(argv[2]))); }
OPFN(op_lchown) { report_rc(lchown(argv[0], (uid_t)num(argv[1]), (gid_t)num(argv[2]))); }
OPFN(op_mkdir) { report_rc(mkdir(argv[0], octal(argv[1]))); }
OPFN(op_rmdir) { report_rc(rmdir(argv[0])); }
OPFN(op_unlink) { report_rc(unlink(argv[0])); }
OPFN(op_rename) { report_rc(rename(argv[0], argv[1])); }
OPFN(op_link) { report_rc(link(argv[0], argv[1])); }
OPFN(op_symlink) { report_rc(symlink(argv[0], argv[1])); }
OPFN(op_mkfifo) { report_rc(mkfifo(argv[0], octal(argv[1]))); }
OPFN(op_truncate) { report_rc(truncate(argv[0], (off_t)num(argv[1]))); }
OPFN(op_access) { report_rc(access(argv[0], parse_access(argv[1]))); }
OPFN(op_xattr_set) { report_rc(setxattr(argv[0], argv[1], argv[2], strlen(argv[2]), 0)); }
OPFN(op_xattr_remove) { report_rc(removexattr(argv[0], argv[1])); }

OPFN(op_utimes) {
    struct timespec ts[2] = { { (time_t)num(argv[1]), 0 }, { (time_t)num(argv[2]), 0 } };
    report_rc(utimensat(AT_FDCWD, argv[0], ts, 0));
}

OPFN(op_mknod) {
    mode_t type = argv[1][0] == 'c' ? S_IFCHR : S_IFBLK;
    report_rc(mknod(argv[0], type | octal(argv[4]), makedev((unsigned)num(argv[2]), (unsigned)num(argv[3]))));
}

OPFN(op_umask) {
    jk_bool("ok", 1);
    jk_uint("old", umask(octal(argv[0])));
}

OPFN(op_readlink) {
    for (size_t cap = 256;; cap *= 2) {
        char *b = xmalloc(cap);
        ssize_t n = readlink(argv[0], b, cap);
        if (n >= 0 && (size_t)n < cap) { /* n == cap: maybe truncated, retry */
            jk_bool("ok", 1);
            j_key("target");
            j_strn(b, (size_t)n);
        } else if (n < 0) {
            report_errno(errno);
        }
        free(b);
        if (n < 0 || (size_t)n < cap) return;
    }
}

OPFN(op_open) {
    int fd = open(argv[0], parse_open_flags(argv[1]), octal(argv[2]));
    if (fd < 0) report_errno(errno);
    else if (close(fd) < 0) report_fail("close", errno);
    else jk_bool("ok", 1);
}

OPFN(op_write) {
    unsigned char *data = NULL;
    size_t len = 0, done = 0;
    struct stat st;
    off_t off = 0;
    const char *stage = NULL;
    int err = 0, fd = open(argv[0], parse_open_flags(argv[1]), octal(argv[2]));
    if (fd < 0) FAIL_RET("open");
    if (parse_hex(argv[3], &data, &len) < 0) abort(); /* validated before any op ran */
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) FAIL("write");
        done += (size_t)w;
    }
    if ((off = lseek(fd, 0, SEEK_CUR)) < 0) FAIL("lseek");
    if (fstat(fd, &st) < 0) FAIL("fstat");
out:
    free(data);
    if (close(fd) < 0 && !stage) { /* e.g. deferred write-back errors */
        stage = "close";
        err = errno;
    }
    if (stage) report_fail(stage, err);
    else jk_bool("ok", 1);
    jk_uint("written", done);
    if (stage) return;
    jk_int("offset", off);
    jk_int("size", st.st_size);
}

/* read/readhex: up to MAXBYTES of PATH, plus its st_size. The buffer grows
 * as data arrives, so a large MAXBYTES costs nothing for small files. */
static void read_op(int argc, char **argv, int hex) {
    size_t max = argc > 1 ? (size_t)num(argv[1]) : CHUNK, len = 0, cap = max < 65536 ? max : 65536;
    struct stat st;
    ssize_t n = 0;
    int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
    if (fd < 0) FAIL_RET("open");
    unsigned char *b = xmalloc(cap);
    if (fstat(fd, &st) < 0) {
        report_fail("fstat", errno);
        goto out;
    }
    while (len < max) {
        if (len == cap) {
            cap = cap > max / 2 ? max : cap * 2;
            if (!(b = realloc(b, cap))) die("out of memory");
        }
        if ((n = read(fd, b + len, cap - len)) < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    if (n < 0) {
        report_fail("read", errno);
        goto out;
    }
    jk_bool("ok", 1);
    j_key(hex ? "hex" : "data");
    if (hex) j_hex(b, len);
    else j_strn(b, len);
    jk_int("size", st.st_size);
out:
    free(b);
    close_quiet(fd);
}

OPFN(op_read) { read_op(argc, argv, 0); }
OPFN(op_readhex) { read_op(argc, argv, 1); }

OPFN(op_readdir) {
    DIR *d = opendir(argv[0]);
    if (!d) FAIL_RET("opendir");
    size_t n = 0, cap = 64;
    char **names = xmalloc(cap * sizeof *names);
    struct dirent *de;
    for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (n == cap && !(names = realloc(names, (cap *= 2) * sizeof *names))) die("out of memory");
        names[n++] = xstrdup(de->d_name);
    }
    if (errno) {
        report_fail("readdir", errno);
    } else {
        jk_bool("ok", 1);
        j_key("names");
        j_sorted(names, n);
    }
    while (n > 0) free(names[--n]);
    free(names);
    (void)closedir(d); /* read-only directory stream */
}

/* fill: the byte at absolute file offset o is o % 251. */
OPFN(op_fill) {
    off_t pos = (off_t)num(argv[1]);
    unsigned long long left = (unsigned long long)num(argv[2]), written = 0;
    struct stat st;
    const char *stage = NULL;
    int err = 0, fd = open(argv[0], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) FAIL_RET("open");
    unsigned char *b = xmalloc(CHUNK);
    while (left > 0) {
        size_t n = left < CHUNK ? (size_t)left : CHUNK;
        for (size_t i = 0, v = (size_t)(pos % 251); i < n; i++, v = v == 250 ? 0 : v + 1)
            b[i] = (unsigned char)v;
        ssize_t w = pwrite(fd, b, n, pos);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) FAIL("write");
        pos += w;
        left -= (size_t)w;
        written += (size_t)w;
    }
    if (fstat(fd, &st) < 0) FAIL("fstat");
out:
    free(b);
    if (close(fd) < 0 && !stage) {
        stage = "close";
        err = errno;
    }
    if (stage) report_fail(stage, err);
    else jk_bool("ok", 1);
    jk_uint("written", written);
    if (!stage) jk_int("size", st.st_size);
}

OPFN(op_checksum) {
    uint64_t h = FNV_BASIS;
    unsigned long long size = 0;
    int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
    if (fd < 0) FAIL_RET("open");
    unsigned char *b = xmalloc(CHUNK);
    ssize_t n;
    while ((n = read(fd, b, CHUNK)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        h = fnv1a(h, b, (size_t)n);
        size += (size_t)n;
    }
    if (n < 0) {
        report_fail("read", errno);
    } else {
        jk_bool("ok", 1);
        jk_uint("size", size);
        jk_hex64("fnv1a64", h);
    }
    free(b);
    close_quiet(fd);
}

OPFN(op_fsync) {
    int fd = open(argv[0], O_RDWR | O_CLOEXEC);
    if (fd < 0) FAIL_RET("open");
    if (fsync(fd) < 0) report_fail("fsync", errno);
    else if (fdatasync(fd) < 0) report_fail("fdatasync", errno);
    else jk_bool("ok", 1);
    close_quiet(fd); /* already synced */
}

OPFN(op_odirect) {
    void *wb = NULL, *rb = NULL;
    ssize_t n;
    int e, fd = open(argv[0], O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);
    if (fd < 0) FAIL_RET("open");
    if ((e = posix_memalign(&wb, 4096, 4096)) != 0 || (e = posix_memalign(&rb, 4096, 4096)) != 0) {
        report_fail("alloc", e);
    } else {
        memset(wb, 'p', 4096);
        memset(rb, 0, 4096);
        if ((n = pwrite(fd, wb, 4096, 0)) != 4096) report_fail("write", n < 0 ? errno : EIO);
        else if ((n = pread(fd, rb, 4096, 0)) != 4096) report_fail("read", n < 0 ? errno : EIO);
        else {
            jk_bool("ok", 1);
            jk_bool("match", memcmp(wb, rb, 4096) == 0);
        }
    }
    free(wb);
    free(rb);
    close_quiet(fd); /* O_DIRECT: nothing buffered */
}

/* Reports size and blocks of fd after a successful step. */
static void report_size(int fd) {
    struct stat st;
    if (fstat(fd, &st) < 0) FAIL_RET("fstat");
    jk_bool("ok", 1);
    jk_int("size", st.st_size);
    jk_int("blocks", st.st_blocks);
}

OPFN(op_fallocate) {
    int fd = open(argv[0], O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) FAIL_RET("open");
    if (fallocate(fd, 0, 0, (off_t)num(argv[1])) < 0) report_fail("fallocate", errno);
    else report_size(fd);
    close_quiet(fd); /* no data written */
}

OPFN(op_sparse) {
    int fd = open(argv[0], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ssize_t n;
    if (fd < 0) FAIL_RET("open");
    if ((n = pwrite(fd, "x", 1, (off_t)num(argv[1]))) != 1) report_fail("write", n < 0 ? errno : EIO);
    else if (fsync(fd) < 0) report_fail("fsync", errno);
    else report_size(fd);
    close_quiet(fd); /* already synced */
}

/* getxattr (name) or listxattr (name NULL): size query, then fetch; retried
 * if the value grew in between (ERANGE). */
static ssize_t xattr_fetch(const char *path, const char *name, char **out) {
    for (;;) {
        ssize_t n = name ? getxattr(path, name, NULL, 0) : listxattr(path, NULL, 0);
        if (n < 0) return -1;
        char *b = xmalloc((size_t)n);
        ssize_t m = name ? getxattr(path, name, b, (size_t)n) : listxattr(path, b, (size_t)n);
        if (m >= 0) {
            *out = b;
            return m;
        }
        int e = errno;
        free(b);
        if ((errno = e) != ERANGE) return -1;
    }
}

OPFN(op_xattr_get) {
    char *v;
    ssize_t n = xattr_fetch(argv[0], argv[1], &v);
    if (n < 0) FAIL_RET("getxattr");
    jk_bool("ok", 1);
    j_key("value");
    j_strn(v, (size_t)n);
    free(v);
}

OPFN(op_xattr_list) {
    char *v;
    ssize_t n = xattr_fetch(argv[0], NULL, &v);
    if (n < 0) FAIL_RET("listxattr");
    char **names = xmalloc((size_t)n * sizeof *names); /* NUL-separated list */
    size_t k = 0;
    for (ssize_t i = 0; i < n; i += (ssize_t)strnlen(v + i, (size_t)(n - i)) + 1) names[k++] = v + i;
    jk_bool("ok", 1);
    j_key("names");
    j_sorted(names, k);
    free(names);
    free(v);
}

/* --- lock contention ---------------------------------------------------- */

enum lock_kind { LK_FLOCK, LK_FCNTL, LK_OFD };
struct attempt { int ok, err, has_getlk, getlk_type, getlk_pid, getlk_err; };
struct lock_ctx { const char *path; enum lock_kind kind; int want_getlk; };

/* Non-blocking exclusive lock (or unlock) of the whole file. */
static int lock_cmd(int fd, enum lock_kind kind, short type) {
    if (kind == LK_FLOCK) return flock(fd, type == F_UNLCK ? LOCK_UN : LOCK_EX | LOCK_NB);
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET };
    return fcntl(fd, kind == LK_OFD ? F_OFD_SETLK : F_SETLK, &fl);
}

/* One write-lock attempt on fd, preceded by F_GETLK/F_OFD_GETLK if wanted. */
static void lock_attempt(int fd, const struct lock_ctx *c, struct attempt *a) {
    if (c->want_getlk) {
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        if (fcntl(fd, c->kind == LK_OFD ? F_OFD_GETLK : F_GETLK, &fl) < 0) a->getlk_err = errno;
        else *a = (struct attempt){ .has_getlk = 1, .getlk_type = fl.l_type, .getlk_pid = fl.l_pid };
    }
    a->ok = lock_cmd(fd, c->kind, F_WRLCK) == 0;
    a->err = a->ok ? 0 : errno;
}

/* Child side: its own open of the path, then one attempt. */
static void lock_child(void *ctx, void *msg) {
    const struct lock_ctx *c = ctx;
    int fd = open(c->path, O_RDWR | O_CLOEXEC);
    if (fd < 0) ((struct attempt *)msg)->err = errno;
    else lock_attempt(fd, c, msg);
    close_quiet(fd);
}

static void j_attempt(const char *key, const struct attempt *a) {
    j_key(key);
    j_obj();
    jk_bool("ok", a->ok);
    if (!a->ok) jk_str("errno", errname(a->err));
    j_endobj();
}

/* The holder locks; a contender (forked child, or a second open file
 * description for OFD locks) tries; the holder unlocks; the contender retries. */
static void lock_contend(const char *path, enum lock_kind kind) {
    struct attempt holder = { 0 }, cont = { 0 }, after = { 0 };
    struct lock_ctx c = { path, kind, kind != LK_FLOCK };
    const char *stage = NULL;
    int err = 0, fd2 = -1, fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) FAIL_RET("open");
    holder.ok = lock_cmd(fd, kind, F_WRLCK) == 0;
    holder.err = holder.ok ? 0 : errno;
    if (kind == LK_OFD) {
        if ((fd2 = open(path, O_RDWR | O_CLOEXEC)) < 0) FAIL("open");
        lock_attempt(fd2, &c, &cont);
    } else if (in_child(lock_child, &c, &cont, sizeof cont) < 0) {
        FAIL("fork");
    }
    if (holder.ok && lock_cmd(fd, kind, F_UNLCK) < 0) FAIL("unlock");
    c.want_getlk = 0;
    if (kind == LK_OFD) lock_attempt(fd2, &c, &after);
    else if (in_child(lock_child, &c, &after, sizeof after) < 0) FAIL("fork");
out:
    close_quiet(fd2); /* closing drops any lock still held */
    close_quiet(fd);
    STAGE_RET();
    jk_bool("ok", 1);
    j_attempt("holder", &holder);
    j_attempt("contender", &cont);
    if (kind != LK_FLOCK) {
        j_key("getlk");
        if (!cont.has_getlk) {
            j_str(errname(cont.getlk_err));
        } else {
            j_obj();
            jk_str("type", cont.getlk_type == F_WRLCK ? "F_WRLCK" : cont.getlk_type == F_RDLCK ? "F_RDLCK" : "F_UNLCK");
            jk_int("pid", cont.getlk_pid);
            j_endobj();
        }
    }
    j_attempt("after_release", &after);
    if (kind == LK_FCNTL) jk_int("holder_pid", getpid()); /* to compare with getlk.pid */
}

OPFN(op_flock_contend) { lock_contend(argv[0], LK_FLOCK); }
OPFN(op_fcntl_contend) { lock_contend(argv[0], LK_FCNTL); }
OPFN(op_ofd_contend) { lock_contend(argv[0], LK_OFD); }

/* --- mmap ---------------------------------------------------------------- */

#define MAP_LEN 8192

static int pattern_ok(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i % 251)) return 0;
    return 1;
}

static void mmap_child(void *path, void *msg) {
    struct attempt *a = msg;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    void *m = fd < 0 ? MAP_FAILED : mmap(NULL, MAP_LEN, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) a->err = errno;
    else a->ok = pattern_ok(m, MAP_LEN); /* the child exits right after: no munmap */
    close_quiet(fd);
}

OPFN(op_mmap_shared) {
    struct attempt child = { 0 };
    unsigned char buf[MAP_LEN], *m;
    const char *stage = NULL;
    int err = 0, fd = open(argv[0], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ssize_t n = 0;
    if (fd < 0) FAIL_RET("open");
    if (ftruncate(fd, MAP_LEN) < 0) FAIL("ftruncate");
    if ((m = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) FAIL("mmap");
    for (size_t i = 0; i < MAP_LEN; i++) m[i] = (unsigned char)(i % 251);
    if (msync(m, MAP_LEN, MS_SYNC) < 0) {
        err = errno;
        (void)munmap(m, MAP_LEN);
        errno = err;
        FAIL("msync");
    }
    if (munmap(m, MAP_LEN) < 0) FAIL("munmap");
    if (in_child(mmap_child, argv[0], &child, sizeof child) < 0) FAIL("fork");
    if ((n = pread(fd, buf, MAP_LEN, 0)) < 0) FAIL("read");
out:
    close_quiet(fd); /* data already msync'ed */
    STAGE_RET();
    jk_bool("ok", 1);
    jk_bool("child_match", child.ok);
    if (child.err) jk_str("child_errno", errname(child.err));
    jk_bool("read_match", n == MAP_LEN && pattern_ok(buf, MAP_LEN));
}

/* --- inotify ------------------------------------------------------------- */

static const struct { uint32_t bit; const char *name; } in_bits[] = {
    { IN_ACCESS, "IN_ACCESS" }, { IN_MODIFY, "IN_MODIFY" }, { IN_ATTRIB, "IN_ATTRIB" },
    { IN_CLOSE_WRITE, "IN_CLOSE_WRITE" }, { IN_CLOSE_NOWRITE, "IN_CLOSE_NOWRITE" },
    { IN_OPEN, "IN_OPEN" }, { IN_MOVED_FROM, "IN_MOVED_FROM" }, { IN_MOVED_TO, "IN_MOVED_TO" },
    { IN_CREATE, "IN_CREATE" }, { IN_DELETE, "IN_DELETE" }, { IN_DELETE_SELF, "IN_DELETE_SELF" },
    { IN_MOVE_SELF, "IN_MOVE_SELF" }, { IN_UNMOUNT, "IN_UNMOUNT" },
    { IN_Q_OVERFLOW, "IN_Q_OVERFLOW" }, { IN_IGNORED, "IN_IGNORED" }, { IN_ISDIR, "IN_ISDIR" },
};

OPFN(op_inotify) {
    long long deadline = now_ms() + num(argv[1]), max = num(argv[2]), count = 0;
    _Alignas(struct inotify_event) char buf[16384];
    const char *stage = NULL;
    int rfd, fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd < 0) FAIL_RET("init");
    if (inotify_add_watch(fd, argv[0], IN_ALL_EVENTS) < 0) stage = "watch";
    else if ((rfd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0 || close(rfd) < 0)
        stage = "ready"; /* READYFILE tells the test to start producing events */
    if (stage) {
        report_fail(stage, errno);
        close_quiet(fd);
        return;
    }
    jk_bool("ok", 1);
    j_key("events");
    j_arr();
    while (count < max && wait_fd(fd, POLLIN, deadline) == 0) { /* until timeout */
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) break;
        for (ssize_t off = 0; off < n && count < max; count++) {
            const struct inotify_event *ev = (const struct inotify_event *)(buf + off);
            j_obj();
            j_key("name");
            j_strn(ev->name, strnlen(ev->name, ev->len));
            j_key("mask");
            j_arr();
            for (size_t i = 0; i < COUNT(in_bits); i++)
                if (ev->mask & in_bits[i].bit) j_str(in_bits[i].name);
            j_endarr();
            j_endobj();
            off += (ssize_t)(sizeof *ev + ev->len);
        }
    }
    j_endarr();
    close_quiet(fd);
}

/* --- unix socket --------------------------------------------------------- */

OPFN(op_unix_socket) {
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    char got[64];
    ssize_t n = 0;
    pid_t pid = -1;
    const char *stage = NULL;
    int err = 0, cfd = -1, fd = -1;
    if (strlen(argv[0]) >= sizeof sa.sun_path) {
        report_fail("bind", ENAMETOOLONG);
        return;
    }
    memcpy(sa.sun_path, argv[0], strlen(argv[0]));
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) FAIL("socket");
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) FAIL("bind");
    if (listen(fd, 1) < 0) FAIL("listen");
    if ((pid = fork()) < 0) FAIL("fork");
    if (pid == 0) {
        int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        _exit(c < 0 || connect(c, (struct sockaddr *)&sa, sizeof sa) < 0 ||
              send(c, "ping", 4, MSG_NOSIGNAL) != 4);
    }
    /* 5 s deadlines guard against a child that could not connect */
    if (wait_fd(fd, POLLIN, now_ms() + 5000) < 0 || (cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
        FAIL("accept");
    if (wait_fd(cfd, POLLIN, now_ms() + 5000) < 0 || (n = read_full(cfd, got, sizeof got)) < 0)
        FAIL("recv");
    if (lstat(argv[0], &st) < 0) FAIL("stat");
out:
    close_quiet(cfd);
    close_quiet(fd);
    if (pid > 0 && reap(pid, NULL) < 0 && !stage) FAIL_RET("wait");
    STAGE_RET();
    jk_bool("ok", 1);
    j_key("received");
    j_strn(got, (size_t)n);
    jk_str("stat_type", type_name(st.st_mode));
}

/* ------------------------------------------------------------------------ */
/* Network ops                                                              */
/* ------------------------------------------------------------------------ */

static int prefix_len(const struct sockaddr *mask) {
    int bits = 0;
    if (!mask) return 0;
    const unsigned char *p = mask->sa_family == AF_INET
        ? (const unsigned char *)&((const struct sockaddr_in *)mask)->sin_addr
        : (const unsigned char *)&((const struct sockaddr_in6 *)mask)->sin6_addr;
    for (int i = 0; i < (mask->sa_family == AF_INET ? 4 : 16); i++)
        for (int b = 0; b < 8; b++) bits += (p[i] >> b) & 1;
    return bits;
}

/* "addr/prefixlen" strings of one family for one interface, in kernel order. */
static void j_if_addrs(const struct ifaddrs *all, const char *name, int family) {
    j_arr();
    for (const struct ifaddrs *a = all; a; a = a->ifa_next) {
        char ip[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN + 8];
        if (!a->ifa_addr || a->ifa_addr->sa_family != family || strcmp(a->ifa_name, name)) continue;
        const void *src = family == AF_INET ? (const void *)&((const struct sockaddr_in *)a->ifa_addr)->sin_addr
                                            : (const void *)&((const struct sockaddr_in6 *)a->ifa_addr)->sin6_addr;
        if (!inet_ntop(family, src, ip, sizeof ip)) continue;
        snprintf(s, sizeof s, "%s/%d", ip, prefix_len(a->ifa_netmask));
        j_str(s);
    }
    j_endarr();
}

OPFN(op_ifaces) {
    static const struct { unsigned flag; const char *name; } fl[] = {
        { IFF_UP, "UP" }, { IFF_LOOPBACK, "LOOPBACK" }, { IFF_RUNNING, "RUNNING" },
        { IFF_MULTICAST, "MULTICAST" }, { IFF_BROADCAST, "BROADCAST" },
        { IFF_POINTOPOINT, "POINTOPOINT" }, { IFF_NOARP, "NOARP" },
    };
    struct ifaddrs *all;
    size_t n = 0;
    if (getifaddrs(&all) < 0) FAIL_RET("getifaddrs");
    for (struct ifaddrs *a = all; a; a = a->ifa_next) n++;
    char **names = xmalloc(n * sizeof *names);
    n = 0;
    for (struct ifaddrs *a = all; a; a = a->ifa_next) names[n++] = a->ifa_name;
    qsort(names, n, sizeof *names, cmp_str);
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); /* for SIOCGIFMTU; mtu null without it */
    jk_bool("ok", 1);
    j_key("interfaces");
    j_arr();
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && !strcmp(names[i], names[i - 1])) continue;
        unsigned flags = 0;
        for (struct ifaddrs *a = all; a; a = a->ifa_next)
            if (!strcmp(a->ifa_name, names[i])) flags |= a->ifa_flags;
        j_obj();
        jk_str("name", names[i]);
        j_key("flags");
        j_arr();
        for (size_t k = 0; k < COUNT(fl); k++)
            if (flags & fl[k].flag) j_str(fl[k].name);
        j_endarr();
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", names[i]);
        j_key("mtu");
        if (sock >= 0 && ioctl(sock, SIOCGIFMTU, &ifr) == 0) j_int(ifr.ifr_mtu);
        else j_lit("null");
        j_key("ipv4");
        j_if_addrs(all, names[i], AF_INET);
        j_key("ipv6");
        j_if_addrs(all, names[i], AF_INET6);
        j_endobj();
    }
    j_endarr();
    close_quiet(sock);
    free(names);
    freeifaddrs(all);
}

static const char *gai_name(int rc) {
    switch (rc) {
    case EAI_BADFLAGS: return "EAI_BADFLAGS";
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_NODATA: return "EAI_NODATA";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_SOCKTYPE: return "EAI_SOCKTYPE";
    case EAI_SERVICE: return "EAI_SERVICE";
    case EAI_MEMORY: return "EAI_MEMORY";
    case EAI_SYSTEM: return "EAI_SYSTEM";
    case EAI_OVERFLOW: return "EAI_OVERFLOW";
    }
    return "EAI_UNKNOWN";
}

OPFN(op_resolve) {
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
    const char *fam = argc > 1 ? argv[1] : "any";
    hints.ai_family = !strcmp(fam, "inet") ? AF_INET : !strcmp(fam, "inet6") ? AF_INET6 : AF_UNSPEC;
    int rc = getaddrinfo(argv[0], NULL, &hints, &res);
    if (rc != 0) {
        int e = errno;
        jk_bool("ok", 0);
        jk_str("gai_error", gai_name(rc));
        if (rc == EAI_SYSTEM) jk_str("errno", errname(e));
        return;
    }
    size_t n = 0, k = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) n++;
    char **v = xmalloc(n * sizeof *v), host[NI_MAXHOST];
    for (struct addrinfo *a = res; a; a = a->ai_next)
        if (getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, NULL, 0, NI_NUMERICHOST) == 0)
            v[k++] = xstrdup(host);
    jk_bool("ok", 1);
    j_key("addresses");
    j_sorted(v, k);
    while (k > 0) free(v[--k]);
    free(v);
    freeaddrinfo(res);
}

/* Received bytes: total length, FNV-1a, and the first HEX_LIMIT bytes. */
struct recv_acc { unsigned long long len; uint64_t fnv; unsigned char head[HEX_LIMIT]; };

static void acc_add(struct recv_acc *a, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n && a->len + i < HEX_LIMIT; i++) a->head[a->len + i] = p[i];
    a->fnv = fnv1a(a->fnv, p, n);
    a->len += n;
}

static void j_acc(const struct recv_acc *a) {
    jk_uint("received_len", a->len);
    jk_hex64("received_fnv1a64", a->fnv);
    if (a->len > HEX_LIMIT) return;
    j_key("received_hex");
    j_hex(a->head, (size_t)a->len);
}

/* Non-blocking connect bounded by the deadline; -1 with errno (ETIMEDOUT). */
static int connect_deadline(int fd, const struct sockaddr *sa, socklen_t len, long long deadline) {
    int err = 0;
    socklen_t el = sizeof err;
    if (connect(fd, sa, len) == 0) return 0;
    if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) < 0) return -1;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) return -1;
    errno = err;
    return err ? -1 : 0;
}

/* Send HEXDATA, shut down the write side, read until EOF; the whole exchange
 * is bounded by TIMEOUT_MS (stage "timeout" when it runs out). */
OPFN(op_tcp_connect) {
    struct sockaddr_storage ss;
    socklen_t sl;
    unsigned char *data, buf[65536];
    size_t len, sent = 0;
    struct recv_acc acc = { .fnv = FNV_BASIS };
    long long deadline = now_ms() + num(argv[3]);
    const char *stage = NULL;
    int err = 0, connected = 0, fd;
    ssize_t n;
    if (parse_host(argv[0], (int)num(argv[1]), &ss, &sl) < 0 || parse_hex(argv[2], &data, &len) < 0)
        abort(); /* validated before any op ran */
    if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) FAIL("socket");
    if (connect_deadline(fd, (struct sockaddr *)&ss, sl, deadline) < 0)
        FAIL(errno == ETIMEDOUT ? "timeout" : "connect");
    connected = 1;
    while (sent < len) {
        if (wait_fd(fd, POLLOUT, deadline) < 0) FAIL(errno == ETIMEDOUT ? "timeout" : "send");
        if ((n = send(fd, data + sent, len - sent, MSG_NOSIGNAL)) < 0 && errno != EAGAIN && errno != EINTR)
            FAIL("send");
        if (n > 0) sent += (size_t)n;
    }
    if (shutdown(fd, SHUT_WR) < 0) FAIL("send");
    for (;;) {
        if (wait_fd(fd, POLLIN, deadline) < 0) FAIL(errno == ETIMEDOUT ? "timeout" : "recv");
        if ((n = recv(fd, buf, sizeof buf, 0)) == 0) break;
        if (n < 0 && errno != EAGAIN && errno != EINTR) FAIL("recv");
        if (n > 0) acc_add(&acc, buf, (size_t)n);
    }
out:
    if (stage) report_fail(stage, err);
    else jk_bool("ok", 1);
    jk_bool("connected", connected);
    jk_uint("sent", sent);
    j_acc(&acc);
    free(data);
    close_quiet(fd);
}

OPFN(op_udp_send) {
    struct sockaddr_storage ss;
    socklen_t sl;
    unsigned char *data, buf[65536];
    size_t len;
    struct recv_acc acc = { .fnv = FNV_BASIS };
    long long deadline = now_ms() + num(argv[3]);
    const char *stage = NULL;
    int err = 0, fd;
    ssize_t n;
    if (parse_host(argv[0], (int)num(argv[1]), &ss, &sl) < 0 || parse_hex(argv[2], &data, &len) < 0)
        abort(); /* validated before any op ran */
    if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) FAIL("socket");
    /* connected, so ICMP errors surface (e.g. ECONNREFUSED on recv) */
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0) FAIL("connect");
    if (send(fd, data, len, 0) < 0) FAIL("send");
    if (wait_fd(fd, POLLIN, deadline) < 0) FAIL(errno == ETIMEDOUT ? "timeout" : "recv");
    if ((n = recv(fd, buf, sizeof buf, 0)) < 0) FAIL("recv");
    acc_add(&acc, buf, (size_t)n);
out:
    if (stage) report_fail(stage, err);
    else jk_bool("ok", 1);
    j_acc(&acc);
    free(data);
    close_quiet(fd);
}

OPFN(op_tcp_listen_check) {
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)num(argv[0])) };
    socklen_t sl = sizeof sa;
    const char *stage = NULL;
    int err = 0, one = 1, l = -1, c = -1, a = -1;
    if ((l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) FAIL("socket");
    if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) FAIL("setsockopt");
    if (bind(l, (struct sockaddr *)&sa, sizeof sa) < 0) FAIL("bind");
    if (listen(l, 4) < 0) FAIL("listen");
    if (getsockname(l, (struct sockaddr *)&sa, &sl) < 0) FAIL("getsockname"); /* port 0 -> real one */
    if ((c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) FAIL("socket");
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c, (struct sockaddr *)&sa, sizeof sa) < 0) FAIL("connect");
    if ((a = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0) FAIL("accept");
out:
    close_quiet(a);
    close_quiet(c);
    close_quiet(l);
    STAGE_RET();
    jk_bool("ok", 1);
    jk_int("port", ntohs(sa.sin_port));
}

/* ------------------------------------------------------------------------ */
/* Long-running ops: each must be the only op and prints its own output     */
/* ------------------------------------------------------------------------ */

static void exit_handler(int sig UNUSED) { _exit(0); }

/* As PID 1 of a container, signals without a handler are ignored, so SIGTERM
 * and SIGINT need one for the container to stop promptly. */
static void install_exit_handlers(void) {
    struct sigaction sa = { .sa_handler = exit_handler };
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) die("sigaction failed");
}

/* Prints the server's one status line; exits 1 if setup failed. */
static void server_line(const char *op, int fd, const char *stage, int err) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (!stage && getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        stage = "getsockname";
        err = errno;
    }
    j_obj();
    jk_str("op", op);
    if (stage) {
        report_fail(stage, err);
    } else {
        jk_bool("ok", 1);
        jk_int("port", ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                      : ((struct sockaddr_in *)&ss)->sin_port));
    }
    j_endobj();
    jraw("\n", 1);
    out_write(J.buf, J.len);
    if (stage) exit(1);
}

/* SO_REUSEADDR for TCP only (for UDP it would allow duplicate servers). */
static int reuse_addr(int fd, int type) {
    int one = 1;
    return type == SOCK_STREAM ? setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) : 0;
}

/* Binds [::]:port dual-stack, or 0.0.0.0:port where IPv6 is unavailable.
 * Returns the fd, or -1 with errno and *stage naming the failed step. */
static int bind_any(int type, int port, const char **stage) {
    struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
    struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int zero = 0, e, fd = socket(AF_INET6, type | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        *stage = "setsockopt";
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) == 0 && reuse_addr(fd, type) == 0) {
            *stage = "bind";
            if (bind(fd, (struct sockaddr *)&s6, sizeof s6) == 0) return fd;
        }
        e = errno;
        close_quiet(fd);
        if ((errno = e) != EADDRNOTAVAIL) return -1; /* EADDRNOTAVAIL: IPv6 disabled */
    } else if (errno != EAFNOSUPPORT) {
        *stage = "socket";
        return -1;
    }
    *stage = "socket";
    if ((fd = socket(AF_INET, type | SOCK_CLOEXEC, 0)) < 0) return -1;
    *stage = "bind";
    if (reuse_addr(fd, type) == 0 && bind(fd, (struct sockaddr *)&s4, sizeof s4) == 0) return fd;
    e = errno;
    close_quiet(fd);
    errno = e;
    return -1;
}

static void echo_conn(int c) {
    char buf[65536];
    ssize_t n;
    while ((n = recv(c, buf, sizeof buf, 0)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || write_all(c, buf, (size_t)n) < 0) return;
    }
}

OPFN(op_tcp_echo_server) {
    const char *stage = NULL, *bind_stage;
    int err = 0, fd = -1;
    install_exit_handlers();
    /* SIGPIPE: a peer may vanish mid-echo; SIGCHLD: auto-reap connection children */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR || signal(SIGCHLD, SIG_IGN) == SIG_ERR) FAIL("signal");
    if ((fd = bind_any(SOCK_STREAM, (int)num(argv[0]), &bind_stage)) < 0) FAIL(bind_stage);
    if (listen(fd, 64) < 0) FAIL("listen");
out:
    server_line("tcp-echo-server", fd, stage, err);
    for (;;) {
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno != EINTR && errno != ECONNABORTED) fprintf(stderr, "probe: accept: %s\n", strerror(errno));
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close_quiet(fd);
            echo_conn(c);
            _exit(0);
        }
        if (pid < 0) echo_conn(c); /* cannot fork: serve this one inline */
        close_quiet(c);
    }
}

OPFN(op_udp_echo_server) {
    const char *stage = NULL;
    char buf[65536];
    install_exit_handlers();
    int fd = bind_any(SOCK_DGRAM, (int)num(argv[0]), &stage);
    server_line("udp-echo-server", fd, fd < 0 ? stage : NULL, errno);
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t pl = sizeof peer;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &pl);
        if (n < 0 && errno != EINTR) fprintf(stderr, "probe: recvfrom: %s\n", strerror(errno));
        if (n >= 0 && sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, pl) < 0)
            fprintf(stderr, "probe: sendto: %s\n", strerror(errno));
    }
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

/* The path this program was started as, so that serve can start it again. */
static const char *self_path;

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* One request line: arguments as lowercase hex, separated by single spaces. Decoded
 * in place into argv (after argv[0]); returns the count, or -1 if malformed. */
static int decode_request(char *line, char **argv, int max) {
    int argc = 1;
    for (char *field = *line ? line : NULL; field;) {
        if (argc >= max - 1) return -1;
        char *end = strchr(field, ' ');
        if (end) *end = '\0';
        size_t len = strlen(field);
        if (len % 2) return -1;
        for (size_t i = 0; i < len / 2; i++) {
            int hi = hex_value(field[2 * i]), lo = hex_value(field[2 * i + 1]);
            if (hi < 0 || lo < 0 || (hi | lo) == 0) return -1; /* NUL cannot be in argv */
            field[i] = (char)(hi << 4 | lo);
        }
        field[len / 2] = '\0';
        argv[argc++] = field;
        field = end ? end + 1 : NULL;
    }
    argv[argc] = NULL;
    return argc;
}

/* Runs each request as a fresh probe process (fork + exec of this program, stdin on
 * /dev/null as under docker exec) and answers with its stdout, then RS, its status
 * (exit code, or minus the signal that killed it) and a newline. The probe's output is
 * ASCII JSON, so RS (0x1e) cannot occur in it. This saves one exec per batch, which
 * costs seconds in a VM under emulation. */
OPFN(op_serve) {
    size_t cap = 65536, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        char *newline = memchr(buf, '\n', len);
        if (!newline) {
            if (len == cap) buf = xrealloc(buf, cap *= 2);
            ssize_t n = read(0, buf + len, cap - len);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) exit(n < 0);
            len += (size_t)n;
            continue;
        }
        *newline = '\0';
        size_t line_len = (size_t)(newline - buf) + 1;
        int max = (int)line_len + 2;
        char **args = xmalloc((size_t)max * sizeof *args);
        args[0] = (char *)self_path;
        char status[32];
        if (decode_request(buf, args, max) < 0) {
            snprintf(status, sizeof status, "\x1e" "2\n");
            fputs("probe: serve: malformed request\n", stderr);
        } else {
            pid_t child = fork();
            if (child == 0) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0) _exit(126);
                execv(self_path, args);
                _exit(127);
            }
            int st = 0;
            if (child < 0 || reap(child, &st) < 0) die("serve: fork or wait");
            snprintf(status, sizeof status, "\x1e%d\n", WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st));
        }
        free(args);
        if (write_all(1, status, strlen(status)) < 0) die("cannot write to stdout");
        memmove(buf, buf + line_len, len - line_len);
        len -= line_len;
    }
}

/* ------------------------------------------------------------------------ */
/* Op table and main                                                        */
/* ------------------------------------------------------------------------ */

#define OP_ALONE 1 /* long-running, prints its own output: must be the only op */
#define OP_REST 2  /* consumes every remaining argument, including "--" */

static const struct op {
    const char *name;
    int min_args, max_args; /* max -1: unbounded */
    const char *types;      /* check_arg() letter per positional argument */
    void (*fn)(int argc, char **argv);
    int flags;
} ops[] = {
    { "uname", 0, 0, "", op_uname, 0 },
    { "ids", 0, 0, "", op_ids, 0 },
    { "pids", 0, 0, "", op_pids, 0 },
    { "caps", 0, 0, "", op_caps, 0 },
    { "prctl", 0, 0, "", op_prctl, 0 },
    { "rlimits", 0, 0, "", op_rlimits, 0 },
    { "clock", 0, 0, "", op_clock, 0 },
    { "nproc", 0, 0, "", op_nproc, 0 },
    { "hostname", 0, 0, "", op_hostname, 0 },
    { "env", 0, 0, "", op_env, 0 },
    { "argv", 0, -1, "", op_argv, OP_REST },
    { "exit", 1, 1, "e", op_exit, 0 },
    { "kill-self", 1, 1, "k", op_kill_self, 0 },
    { "sleep", 1, 1, "u", op_sleep, 0 },
    { "syscall", 1, 1, "c", op_syscall, 0 },
    { "stat", 1, 1, "s", op_stat, 0 },
    { "lstat", 1, 1, "s", op_lstat, 0 },
    { "statfs", 1, 1, "s", op_statfs, 0 },
    { "chmod", 2, 2, "so", op_chmod, 0 },
    { "chown", 3, 3, "sdd", op_chown, 0 },
    { "lchown", 3, 3, "sdd", op_lchown, 0 },
    { "utimes", 3, 3, "sdd", op_utimes, 0 },
    { "mkdir", 2, 2, "so", op_mkdir, 0 },
    { "rmdir", 1, 1, "s", op_rmdir, 0 },
    { "unlink", 1, 1, "s", op_unlink, 0 },
    { "rename", 2, 2, "ss", op_rename, 0 },
    { "link", 2, 2, "ss", op_link, 0 },
    { "symlink", 2, 2, "ss", op_symlink, 0 },
    { "readlink", 1, 1, "s", op_readlink, 0 },
    { "mkfifo", 2, 2, "so", op_mkfifo, 0 },
    { "mknod", 5, 5, "stuuo", op_mknod, 0 },
    { "truncate", 2, 2, "su", op_truncate, 0 },
    { "access", 2, 2, "sa", op_access, 0 },
    { "umask", 1, 1, "o", op_umask, 0 },
    { "open", 3, 3, "sfo", op_open, 0 },
    { "write", 4, 4, "sfox", op_write, 0 },
    { "read", 1, 2, "su", op_read, 0 },
    { "readhex", 1, 2, "su", op_readhex, 0 },
    { "readdir", 1, 1, "s", op_readdir, 0 },
    { "fill", 3, 3, "suu", op_fill, 0 },
    { "checksum", 1, 1, "s", op_checksum, 0 },
    { "fsync", 1, 1, "s", op_fsync, 0 },
    { "odirect", 1, 1, "s", op_odirect, 0 },
    { "fallocate", 2, 2, "su", op_fallocate, 0 },
    { "sparse", 2, 2, "su", op_sparse, 0 },
    { "xattr-set", 3, 3, "sss", op_xattr_set, 0 },
    { "xattr-get", 2, 2, "ss", op_xattr_get, 0 },
    { "xattr-list", 1, 1, "s", op_xattr_list, 0 },
    { "xattr-remove", 2, 2, "ss", op_xattr_remove, 0 },
    { "flock-contend", 1, 1, "s", op_flock_contend, 0 },
    { "fcntl-contend", 1, 1, "s", op_fcntl_contend, 0 },
    { "ofd-contend", 1, 1, "s", op_ofd_contend, 0 },
    { "mmap-shared", 1, 1, "s", op_mmap_shared, 0 },
    { "inotify", 4, 4, "suus", op_inotify, 0 },
    { "unix-socket", 1, 1, "s", op_unix_socket, 0 },
    { "ifaces", 0, 0, "", op_ifaces, 0 },
    { "resolve", 1, 2, "sr", op_resolve, 0 },
    { "tcp-connect", 4, 4, "hpxu", op_tcp_connect, 0 },
    { "udp-send", 4, 4, "hpxu", op_udp_send, 0 },
    { "tcp-listen-check", 1, 1, "p", op_tcp_listen_check, 0 },
    { "tcp-echo-server", 1, 1, "p", op_tcp_echo_server, OP_ALONE },
    { "udp-echo-server", 1, 1, "p", op_udp_echo_server, OP_ALONE },
    { "idle", 0, 0, "", op_idle, OP_ALONE },
    { "serve", 0, 0, "", op_serve, OP_ALONE },
    { "signals", 1, -1, "s", op_signals, OP_ALONE },
    { "fork-bomb", 2, 2, "uu", op_fork_bomb, 0 },
    { "alloc", 1, 1, "u", op_alloc, 0 },
    { "zombies", 0, 0, "", op_zombies, 0 },
    { "orphan", 0, 0, "", op_orphan, 0 },
};

struct call { const struct op *op; int argc; char **argv; };

/* Splits the command line into calls and validates all of them before any
 * runs, so a usage error never leaves partial output or side effects. */
static size_t parse_calls(int argc, char **argv, struct call *calls) {
    size_t n = 0;
    for (int i = 1; i < argc;) {
        const struct op *op = NULL;
        for (size_t k = 0; k < COUNT(ops) && !op; k++)
            if (!strcmp(ops[k].name, argv[i])) op = &ops[k];
        if (!op) usage("unknown op '%s'", argv[i]);
        int start = ++i;
        while (i < argc && ((op->flags & OP_REST) || strcmp(argv[i], "--") != 0)) i++;
        int na = i - start;
        if (na < op->min_args || (op->max_args >= 0 && na > op->max_args))
            usage("op %s: wrong number of arguments (%d)", op->name, na);
        for (int k = 0; k < na && op->types[k]; k++)
            if (!check_arg(op->types[k], argv[start + k]))
                usage("op %s: bad argument '%s'", op->name, argv[start + k]);
        calls[n++] = (struct call){ op, na, argv + start };
        if (i < argc && ++i == argc) usage("trailing '--'");
    }
    if (n == 0) usage("no op given");
    for (size_t k = 0; k < n; k++)
        if ((calls[k].op->flags & OP_ALONE) && n > 1) usage("op %s must be the only op", calls[k].op->name);
    return n;
}

int main(int argc, char **argv) {
    self_path = argv[0];
    struct call *calls = xmalloc((size_t)argc * sizeof *calls);
    size_t n = parse_calls(argc, argv, calls);
    if (calls[0].op->flags & OP_ALONE) {
        calls[0].op->fn(calls[0].argc, calls[0].argv); /* never returns */
        return 0;
    }
    for (size_t k = 0; k < n; k++) {
        j_obj();
        jk_str("op", calls[k].op->name);
        calls[k].op->fn(calls[k].argc, calls[k].argv);
        j_endobj();
        out_emit();
    }
    out_finish();
    free(calls);
    return 0;
}
