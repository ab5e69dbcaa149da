/*
 * net.c - network ops (ifaces, resolve, tcp-connect, udp-send,
 * tcp-listen-check) and the long-running tcp and udp echo servers.
 */
#include "probe.h"
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEX_LIMIT 4096     /* received_hex is reported up to this many bytes */

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
/* Echo servers: each must be the only op and prints its own output         */
/* ------------------------------------------------------------------------ */

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
    out_line();
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
