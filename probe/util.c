/*
 * util.c - basic helpers (memory, I/O, time, FNV-1a), errno and signal names,
 * the argument parsers behind check_arg() in main.c, and in_child().
 */
#include "probe.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Basic helpers                                                            */
/* ------------------------------------------------------------------------ */

void usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("probe: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nusage: probe OP [ARGS...] [-- OP [ARGS...]] ...\n", stderr);
    exit(2);
}

void die(const char *what) {
    fprintf(stderr, "probe: %s\n", what);
    _exit(1);
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

void *xrealloc(void *old, size_t n) {
    void *p = realloc(old, n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

char *xstrdup(const char *s) {
    char *p = strdup(s);
    if (!p) die("out of memory");
    return p;
}

/* Writes everything or fails; async-signal-safe. */
int write_all(int fd, const void *buf, size_t n) {
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
ssize_t read_full(int fd, void *buf, size_t n) {
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
void close_quiet(int fd) {
    if (fd >= 0) (void)close(fd);
}

int reap(pid_t pid, int *status) {
    int st;
    while (waitpid(pid, &st, __WALL) < 0)
        if (errno != EINTR) return -1;
    if (status) *status = st;
    return 0;
}

long long now_ms(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sleep_ms(long long ms) {
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
    while (nanosleep(&ts, &ts) < 0)
        if (errno != EINTR) return -1;
    return 0;
}

/* Polls one fd until an absolute monotonic deadline: 0 when ready, else -1
 * with errno (ETIMEDOUT when the deadline passed). */
int wait_fd(int fd, short events, long long deadline) {
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

uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n) {
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

const char *errname(int e) {
    static char buf[16];
    if (e > 0 && e < (int)COUNT(errno_names) && errno_names[e]) return errno_names[e];
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
}

/* 1..31 by name; 34 "SIGRTMIN", 35..63 "SIGRTMIN+n", 64 "SIGRTMAX". */
void signame(int sig, char *buf, size_t n) {
    if (sig > 0 && sig < 32 && sig_names[sig]) snprintf(buf, n, "%s", sig_names[sig]);
    else if (sig == KSIGRTMIN) snprintf(buf, n, "SIGRTMIN");
    else if (sig == NSIGS - 1) snprintf(buf, n, "SIGRTMAX");
    else if (sig > KSIGRTMIN && sig < NSIGS) snprintf(buf, n, "SIGRTMIN+%d", sig - KSIGRTMIN);
    else snprintf(buf, n, "SIG%d", sig);
}

/* Accepts "SIGTERM", "TERM", "15", "SIGRTMIN+3", "RTMAX-1"; -1 if invalid. */
int parse_signal(const char *s) {
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
/* Argument parsing (everything is validated before the first op runs)      */
/* ------------------------------------------------------------------------ */

int parse_ll(const char *s, int base, long long lo, long long hi, long long *out) {
    char *end;
    if (!(*s == '-' || (*s >= '0' && *s <= '9'))) return -1;
    errno = 0;
    long long v = strtoll(s, &end, base);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* Accessors for arguments that check_arg() has already validated. */
long long num(const char *s) {
    long long v = 0;
    (void)parse_ll(s, 10, LLONG_MIN, LLONG_MAX, &v);
    return v;
}

mode_t octal(const char *s) {
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
int parse_hex(const char *s, unsigned char **out, size_t *len) {
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
int parse_open_flags(const char *s) {
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
int parse_access(const char *s) {
    int m = 0;
    if (!*s || strspn(s, "rwxf") != strlen(s)) return -1;
    for (; *s; s++) m |= *s == 'r' ? R_OK : *s == 'w' ? W_OK : *s == 'x' ? X_OK : F_OK;
    return m;
}

/* Numeric IPv4 or IPv6 literal -> socket address. */
int parse_host(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len) {
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

/* ------------------------------------------------------------------------ */
/* Running code in a forked child                                           */
/* ------------------------------------------------------------------------ */

/* Runs fn(ctx, msg) in a forked child and copies msg back through a pipe, so
 * state-changing calls (unshare, setuid, locks...) never affect the probe.
 * Returns 0, or -1 with errno; EPIPE means the child died before reporting. */
int in_child(void (*fn)(void *ctx, void *msg), void *ctx, void *msg, size_t len) {
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
