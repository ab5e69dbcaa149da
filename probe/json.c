/*
 * json.c - the JSON writer: builds the current op's object in memory, then
 * streams finished objects to stdout as one array.
 */
#include "probe.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void j_strn(const void *s, size_t n) { jsep(); jquote(s, n); }
void j_str(const char *s) { j_strn(s, strlen(s)); }
void j_lit(const char *s) { jsep(); jraw(s, strlen(s)); }
static void j_bool(int b) { j_lit(b ? "true" : "false"); }
void j_int(long long v) { char b[24]; snprintf(b, sizeof b, "%lld", v); j_lit(b); }
void j_uint(unsigned long long v) { char b[24]; snprintf(b, sizeof b, "%llu", v); j_lit(b); }
void j_open(const char *c) { jsep(); jraw(c, 1); J.comma[++J.depth] = 0; }
void j_close(const char *c) { J.depth--; jraw(c, 1); }

void j_key(const char *k) {
    jsep();
    jquote(k, strlen(k));
    jraw(":", 1);
    J.after_key = 1;
}

void j_hex(const unsigned char *p, size_t n) {
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

void jk_str(const char *k, const char *v) { j_key(k); j_str(v); }
void jk_int(const char *k, long long v) { j_key(k); j_int(v); }
void jk_uint(const char *k, unsigned long long v) { j_key(k); j_uint(v); }
void jk_bool(const char *k, int v) { j_key(k); j_bool(v); }

void jk_hex64(const char *k, uint64_t v) {
    char b[17];
    snprintf(b, sizeof b, "%016llx", (unsigned long long)v);
    jk_str(k, b);
}

int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A list of strings sorted bytewise, duplicates removed. */
void j_sorted(char **v, size_t n) {
    qsort(v, n, sizeof *v, cmp_str);
    j_arr();
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(v[i], v[i - 1]) != 0) j_str(v[i]);
    j_endarr();
}

void report_errno(int e) {
    jk_bool("ok", 0);
    jk_str("errno", errname(e));
}

void report_fail(const char *stage, int e) {
    report_errno(e);
    jk_str("stage", stage);
}

void report_rc(long rc) {
    if (rc < 0) report_errno(errno);
    else jk_bool("ok", 1);
}

/* Output: finished objects are streamed one at a time, so nothing at all is
 * printed if the first op never finishes (e.g. alloc killed by the OOM killer). */
static int out_started;

static void out_write(const void *p, size_t n) {
    if (write_all(1, p, n) < 0) die("cannot write to stdout");
}

void out_reset(void) {
    J.len = 0;
    J.depth = J.after_key = 0;
    J.comma[0] = 0;
}

void out_emit(void) {
    out_write(out_started ? "," : "[", 1);
    out_started = 1;
    out_write(J.buf, J.len);
    out_reset();
}

void out_finish(void) {
    if (!out_started) out_write("[", 1);
    out_write("]\n", 2);
}

/* Writes the object built so far and a newline straight to stdout, outside
 * the array: the one status line of the echo servers. */
void out_line(void) {
    jraw("\n", 1);
    out_write(J.buf, J.len);
}
