/*
 * netsec.c - network and security defaults as a process sees them: a new TCP
 * socket's keepalive settings and whether an ICMP datagram ("ping") socket can
 * be opened. Neither op sends a packet.
 */
#include "probe.h"
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

/* A new TCP socket's SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT,
 * then SO_KEEPALIVE as read back after setting it to 1. */
OPFN(op_tcp_keepalive) {
    static const struct { const char *key; int level, opt; } q[] = {
        { "keepalive", SOL_SOCKET, SO_KEEPALIVE }, { "idle", IPPROTO_TCP, TCP_KEEPIDLE },
        { "intvl", IPPROTO_TCP, TCP_KEEPINTVL }, { "cnt", IPPROTO_TCP, TCP_KEEPCNT },
    };
    int values[COUNT(q)], one = 1, after = 0, err = 0, fd;
    socklen_t len;
    const char *stage = NULL;
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) FAIL("socket");
    for (size_t i = 0; i < COUNT(q); i++) {
        len = sizeof values[i];
        if (getsockopt(fd, q[i].level, q[i].opt, &values[i], &len) < 0) FAIL("getsockopt");
    }
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) < 0) FAIL("setsockopt");
    len = sizeof after;
    if (getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &after, &len) < 0) FAIL("getsockopt");
out:
    close_quiet(fd);
    STAGE_RET();
    jk_bool("ok", 1);
    for (size_t i = 0; i < COUNT(q); i++) jk_int(q[i].key, values[i]);
    jk_int("keepalive_after_set", after);
}

/* socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), closed at once: allowed to a
 * process whose group is in net.ipv4.ping_group_range (icmp(7)). */
OPFN(op_ping_socket) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0) FAIL_RET("socket");
    close_quiet(fd);
    jk_bool("ok", 1);
}
