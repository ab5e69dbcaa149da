/*
 * serve.c - the serve op: runs batches read from stdin, one request line
 * each, as fresh probe processes.
 */
#include "probe.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The path this program was started as, so that serve can start it again. */
const char *self_path;

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
