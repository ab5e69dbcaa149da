/*
 * boundary.c - ops about files across a mount's boundary: a file kept open
 * while it is rewritten, replaced or unlinked (by the probe itself or by the
 * other side of a bind mount), and nanosecond timestamps.
 */
#include "probe.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HELD_MAX 4096 /* bytes read from a held file, each time */

/* Up to HELD_MAX bytes of fd from offset 0, as the JSON string `key`; -1 with
 * errno when pread fails. */
static int held_read(int fd, const char *key) {
    char b[HELD_MAX];
    ssize_t n;
    while ((n = pread(fd, b, sizeof b, 0)) < 0 && errno == EINTR) {}
    if (n < 0) return -1;
    j_key(key);
    j_strn(b, (size_t)n);
    return 0;
}

/* What the held descriptor reads now (`fd_after`), its link count
 * (`fd_nlink`), and what a fresh open of PATH reads (`path_after`) or why it
 * fails (`path_errno`). */
static void report_held(int fd, const char *path) {
    struct stat st;
    if (fstat(fd, &st) < 0) FAIL_RET("fstat");
    jk_bool("ok", 1);
    jk_uint("fd_nlink", st.st_nlink);
    if (held_read(fd, "fd_after") < 0) FAIL_RET("pread");
    int again = open(path, O_RDONLY | O_CLOEXEC);
    if (again < 0) {
        jk_str("path_errno", errname(errno));
        return;
    }
    if (held_read(again, "path_after") < 0) jk_str("path_errno", errname(errno));
    close_quiet(again);
}

/* keep-open PATH READYFILE GOFILE TIMEOUT_MS: opens PATH, reads it (`before`),
 * creates READYFILE, waits until GOFILE exists (polling every 5 ms), then
 * reports as report_held does. The stage is open, pread, ready, wait (errno
 * ETIMEDOUT) or fstat. */
OPFN(op_keep_open) {
    int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
    if (fd < 0) FAIL_RET("open");
    const char *stage = NULL;
    int err = 0;
    if (held_read(fd, "before") < 0) FAIL("pread");
    int ready = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (ready < 0 || close(ready) < 0) FAIL("ready");
    long long deadline = now_ms() + num(argv[3]);
    struct stat st;
    while (stat(argv[2], &st) < 0) {
        if (now_ms() >= deadline) {
            errno = ETIMEDOUT;
            FAIL("wait");
        }
        sleep_ms(5);
    }
    report_held(fd, argv[0]);
out:
    if (stage) report_fail(stage, err);
    close_quiet(fd);
}

/* open-unlink PATH: opens PATH, unlinks it, reports as report_held does. */
OPFN(op_open_unlink) {
    int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
    if (fd < 0) FAIL_RET("open");
    if (unlink(argv[0]) < 0) report_fail("unlink", errno);
    else report_held(fd, argv[0]);
    close_quiet(fd);
}

/* open-rename SRC PATH: opens PATH, renames SRC over it, reports as
 * report_held does. */
OPFN(op_open_rename) {
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) FAIL_RET("open");
    if (rename(argv[0], argv[1]) < 0) report_fail("rename", errno);
    else report_held(fd, argv[1]);
    close_quiet(fd);
}

/* utimens PATH ATIME_S ATIME_NS MTIME_S MTIME_NS: utimensat with both
 * timestamps as given, following links; a NS of UTIME_NOW (1073741823) or
 * UTIME_OMIT (1073741822) means what it means to the kernel. */
OPFN(op_utimens) {
    struct timespec ts[2] = {
        { (time_t)num(argv[1]), (long)num(argv[2]) },
        { (time_t)num(argv[3]), (long)num(argv[4]) },
    };
    report_rc(utimensat(AT_FDCWD, argv[0], ts, 0));
}
