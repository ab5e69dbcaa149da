/*
 * files.c - file ops: stat, the plain path calls, read/write, fill, checksum,
 * fsync, O_DIRECT, fallocate, xattrs, lock contention, mmap, inotify and the
 * unix-socket op.
 */
#include "probe.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1u << 20)   /* I/O chunk size; also the default read limit */

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
