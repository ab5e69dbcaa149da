/*
 * lifecycle.c - ops of the lifecycle and API checks: the terminal a process
 * sees (isatty, winsize) and hold, which keeps memory in use while the
 * engine's stats are read.
 */
#include "probe.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

OPFN(op_isatty) {
    static const char *const key[] = { "stdin", "stdout", "stderr" };
    jk_bool("ok", 1);
    for (int fd = 0; fd < 3; fd++) jk_bool(key[fd], isatty(fd));
}

/* winsize PATH: opens PATH without making it the controlling terminal. */
OPFN(op_winsize) {
    struct winsize ws;
    struct termios t;
    const char *stage = NULL;
    int err = 0, fd = open(argv[0], O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) FAIL_RET("open");
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0) FAIL("ioctl");
    if (tcgetattr(fd, &t) < 0) FAIL("tcgetattr");
out:
    close_quiet(fd);
    STAGE_RET();
    jk_bool("ok", 1);
    jk_int("rows", ws.ws_row);
    jk_int("cols", ws.ws_col);
    jk_bool("onlcr", (t.c_oflag & ONLCR) != 0);
    jk_bool("icrnl", (t.c_iflag & ICRNL) != 0);
    jk_bool("icanon", (t.c_lflag & ICANON) != 0);
    jk_bool("echo", (t.c_lflag & ECHO) != 0);
}

/* hold MB: touches MB MiB of private anonymous memory, prints its one status
 * line, and keeps the memory until SIGTERM or SIGINT (exit 0). */
OPFN(op_hold) {
    unsigned long long mb = (unsigned long long)num(argv[0]);
    unsigned char *p = NULL;
    int err = 0;
    size_t len = mb > SIZE_MAX >> 20 ? 0 : (size_t)mb << 20;
    if (mb > SIZE_MAX >> 20) err = ENOMEM;
    else if (len && (p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
        err = errno;
    else
        for (size_t off = 0; off < len; off += 4096) p[off] = 1;
    install_exit_handlers();
    j_obj();
    jk_str("op", "hold");
    if (err) report_fail("mmap", err);
    else {
        jk_bool("ok", 1);
        jk_uint("touched_mb", mb);
    }
    j_endobj();
    out_line();
    if (err) exit(1);
    for (;;) pause();
}
