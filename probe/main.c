/*
 * probe - observation probe for the "parity" container conformance suite.
 *
 * Runs inside a container, performs the requested operations and prints what
 * it observed as one JSON array (one object per op) on stdout:
 *
 *   probe OP [ARGS...] [-- OP [ARGS...]] ...
 *
 * README.md next to this file describes the contract and every op. This file
 * holds the op table, the argument checks and main(); probe.h says which file
 * holds which op. Build from the repository root, with every .c file in probe/
 * as input, in sorted order:
 *   python -m ziglang cc -target x86_64-linux-musl -static -O2 -std=c11 -Wall \
 *       -Wextra -Werror -Wl,--build-id=none -Iprobe -o probe-amd64 \
 *       probe/boundary.c probe/files.c probe/json.c probe/kernel.c \
 *       probe/lifecycle.c probe/main.c probe/net.c probe/netsec.c \
 *       probe/process.c probe/serve.c probe/syscalls.c probe/util.c
 */
#include "probe.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ------------------------------------------------------------------------ */
/* Argument checks (everything is validated before the first op runs)       */
/* ------------------------------------------------------------------------ */

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
    { "keep-open", 4, 4, "sssu", op_keep_open, 0 },
    { "open-unlink", 1, 1, "s", op_open_unlink, 0 },
    { "open-rename", 2, 2, "ss", op_open_rename, 0 },
    { "utimens", 5, 5, "sdddd", op_utimens, 0 },
    { "tcp-keepalive", 0, 0, "", op_tcp_keepalive, 0 },
    { "ping-socket", 0, 0, "", op_ping_socket, 0 },
    { "clone3", 0, 0, "", op_clone3, 0 },
    { "spawn", 1, 1, "s", op_spawn, 0 },
    { "run", 1, -1, "s", op_run, OP_REST },
    { "linux32-uname", 0, 0, "", op_linux32_uname, 0 },
    { "ipc-make", 1, 1, "u", op_ipc_make, 0 },
    { "ipc-find", 1, 1, "u", op_ipc_find, 0 },
    { "ipc-remove", 1, 1, "u", op_ipc_remove, 0 },
    { "eventfd", 0, 0, "", op_eventfd, 0 },
    { "epoll", 0, 0, "", op_epoll, 0 },
    { "timerfd", 0, 0, "", op_timerfd, 0 },
    { "signalfd", 0, 0, "", op_signalfd, 0 },
    { "futex", 0, 0, "", op_futex, 0 },
    { "inotify-overflow", 1, 1, "s", op_inotify_overflow, 0 },
    { "securebits", 0, 0, "", op_securebits, 0 },
    { "isatty", 0, 0, "", op_isatty, 0 },
    { "winsize", 1, 1, "s", op_winsize, 0 },
    { "hold", 1, 1, "u", op_hold, OP_ALONE },
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
