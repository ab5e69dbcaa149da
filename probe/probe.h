/*
 * probe.h - declarations shared by the probe's source files.
 *
 * main.c describes the program and its build; README.md next to this file
 * describes the contract and every op. Every .c file includes this header
 * first: it defines _GNU_SOURCE, which must come before any system header.
 */
#ifndef PROBE_H
#define PROBE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define KSIGRTMIN 34       /* SIGRTMIN as numbered by glibc, Go and Docker */
#define NSIGS 65           /* signals are 1..64 */
#define FNV_BASIS 0xcbf29ce484222325ULL
#define COUNT(a) (sizeof(a) / sizeof *(a))
#define UNUSED __attribute__((unused))
/* Defines an op handler: each is declared at the end of this file and listed
 * in ops[] in main.c. */
#define OPFN(fn) void fn(int argc UNUSED, char **argv UNUSED)
/* In op handlers: report the failed step with errno and return. */
#define FAIL_RET(st) do { report_fail(st, errno); return; } while (0)
/* In op handlers with locals `stage` and `err` and a cleanup label `out`. */
#define FAIL(st) do { stage = (st); err = errno; goto out; } while (0)
#define STAGE_RET() do { if (stage) { report_fail(stage, err); return; } } while (0)

/* --- util.c: basic helpers ---------------------------------------------- */

void usage(const char *fmt, ...);           /* message to stderr, exit 2 */
void die(const char *what);                 /* message to stderr, _exit 1 */
void *xmalloc(size_t n);
void *xrealloc(void *old, size_t n);
char *xstrdup(const char *s);
int write_all(int fd, const void *buf, size_t n);
ssize_t read_full(int fd, void *buf, size_t n);
void close_quiet(int fd);
int reap(pid_t pid, int *status);
long long now_ms(void);
int sleep_ms(long long ms);
int wait_fd(int fd, short events, long long deadline);
uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n);
int in_child(void (*fn)(void *ctx, void *msg), void *ctx, void *msg, size_t len);

/* --- util.c: errno and signal names ------------------------------------- */

const char *errname(int e);
void signame(int sig, char *buf, size_t n);
int parse_signal(const char *s);

/* --- util.c: argument parsing (check_arg() in main.c validates first) ---- */

int parse_ll(const char *s, int base, long long lo, long long hi, long long *out);
long long num(const char *s);
mode_t octal(const char *s);
int parse_hex(const char *s, unsigned char **out, size_t *len);
int parse_open_flags(const char *s);
int parse_access(const char *s);
int parse_host(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len);

/* --- json.c: the JSON writer and stdout --------------------------------- */

void j_strn(const void *s, size_t n);
void j_str(const char *s);
void j_lit(const char *s);
void j_int(long long v);
void j_uint(unsigned long long v);
void j_open(const char *c);
void j_close(const char *c);
#define j_obj() j_open("{")
#define j_endobj() j_close("}")
#define j_arr() j_open("[")
#define j_endarr() j_close("]")
void j_key(const char *k);
void j_hex(const unsigned char *p, size_t n);
void jk_str(const char *k, const char *v);
void jk_int(const char *k, long long v);
void jk_uint(const char *k, unsigned long long v);
void jk_bool(const char *k, int v);
void jk_hex64(const char *k, uint64_t v);
int cmp_str(const void *a, const void *b);
void j_sorted(char **v, size_t n);
void report_errno(int e);
void report_fail(const char *stage, int e);
void report_rc(long rc);
void out_reset(void);
void out_emit(void);
void out_finish(void);
void out_line(void);

/* --- helpers of the op files -------------------------------------------- */

int syscall_known(const char *name);       /* syscalls.c */
void install_exit_handlers(void);          /* process.c */
extern const char *self_path;              /* serve.c; set by main() */

/* --- op handlers, by file ------------------------------------------------ */

typedef void op_fn(int argc, char **argv);

/* process.c: identity and process, long-running, resources and process tree */
op_fn op_uname, op_ids, op_pids, op_caps, op_prctl, op_rlimits, op_clock, op_nproc,
    op_hostname, op_env, op_argv, op_exit, op_kill_self, op_sleep, op_idle, op_signals,
    op_fork_bomb, op_alloc, op_zombies, op_orphan;

/* syscalls.c */
op_fn op_syscall;

/* files.c */
op_fn op_stat, op_lstat, op_statfs, op_chmod, op_chown, op_lchown, op_utimes, op_mkdir,
    op_rmdir, op_unlink, op_rename, op_link, op_symlink, op_readlink, op_mkfifo, op_mknod,
    op_truncate, op_access, op_umask, op_open, op_write, op_read, op_readhex, op_readdir,
    op_fill, op_checksum, op_fsync, op_odirect, op_fallocate, op_sparse, op_xattr_set,
    op_xattr_get, op_xattr_list, op_xattr_remove, op_flock_contend, op_fcntl_contend,
    op_ofd_contend, op_mmap_shared, op_inotify, op_unix_socket;

/* net.c */
op_fn op_ifaces, op_resolve, op_tcp_connect, op_udp_send, op_tcp_listen_check,
    op_tcp_echo_server, op_udp_echo_server;

/* serve.c */
op_fn op_serve;

/* boundary.c: files kept open across changes, nanosecond times */
op_fn op_keep_open, op_open_unlink, op_open_rename, op_utimens;

/* netsec.c: network and security defaults */
op_fn op_tcp_keepalive, op_ping_socket;

/* kernel.c: clone3, spawn, PER_LINUX32, IPC objects, event interfaces, securebits */
op_fn op_clone3, op_spawn, op_run, op_linux32_uname, op_ipc_make, op_ipc_find, op_ipc_remove,
    op_eventfd, op_epoll, op_timerfd, op_signalfd, op_futex, op_inotify_overflow,
    op_securebits;

/* lifecycle.c: the terminal a process sees, memory held for the engine's stats */
op_fn op_isatty, op_winsize, op_hold;

#endif
