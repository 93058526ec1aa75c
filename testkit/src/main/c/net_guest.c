/*
 * A tiny stand-in for a converted container's emulator, to test the runner's socket calls end to end.
 * Like TinyEMU/Bochs built for WASI it finds its listening socket (--net=socket=listenfd=N, default 3),
 * accepts with a non-blocking flag (retrying on EAGAIN), then speaks the QEMU stream framing (4-byte
 * big-endian length + Ethernet frame) with non-blocking sock_recv/sock_send, waiting in poll_oneoff on
 * stdin, the socket and a 10 ms clock.
 *
 *   net_guest dhcp  [--net=socket=listenfd=N] [--want-server A.B.C.D] [--cat FILE]
 *       DHCP DISCOVER/REQUEST, prints "leased A.B.C.D via S.S.S.S", exits 0 (1 after 20 s without lease).
 *       --cat prints a file first (to show pre-opened directories work alongside the socket).
 *   net_guest junk  [same flags]
 *       first writes bytes that are not QEMU framing (an HTTP request), prints what send and recv then
 *       report, closes that connection, accepts a new one and does the DHCP exchange on it.
 *   net_guest serve [same flags]
 *       after the lease, answers ARP for its address and serves TCP port 80 with a fixed HTTP reply,
 *       until stdin reaches end of input or "quit" is read.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

static uint8_t my_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
static uint8_t gw_mac[6];
static uint32_t my_ip, want_server, server_ip;
static __wasi_fd_t conn = (__wasi_fd_t)-1;

static uint64_t now_ns(void) {
    __wasi_timestamp_t t = 0;
    (void)__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t);
    return t;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += get16(p + i);
    if (n & 1) sum += (uint32_t)p[n - 1] << 8;
    return sum;
}
static uint16_t csum_fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* ---- socket: send one QEMU-framed frame (all of it, retrying on EAGAIN) ---- */
static int send_all(const uint8_t *p, size_t n) {
    while (n > 0) {
        __wasi_ciovec_t iov = {p, n};
        __wasi_size_t sent = 0;
        __wasi_errno_t e = __wasi_sock_send(conn, &iov, 1, 0, &sent);
        if (e == __WASI_ERRNO_AGAIN) continue;
        if (e != 0) {
            fprintf(stderr, "sock_send: errno %d\n", e);
            return -1;
        }
        p += sent;
        n -= sent;
    }
    return 0;
}

static void send_frame(const uint8_t *frame, size_t len) {
    uint8_t buf[2048];
    put32(buf, (uint32_t)len);
    memcpy(buf + 4, frame, len);
    /* like Bochs: header and frame in one send; split in two to exercise reassembly when long */
    if (len > 300) {
        send_all(buf, 7);
        send_all(buf + 7, len + 4 - 7);
    } else {
        send_all(buf, len + 4);
    }
}

/* ---- stream reassembly of frames from the socket ---- */
static uint8_t rx[65536 + 4];
static size_t rx_len;

typedef void (*frame_fn)(const uint8_t *f, size_t n);

/* Reads what is there; calls fn for each whole frame. Returns -1 at end of stream. */
static int pump(frame_fn fn) {
    for (;;) {
        __wasi_iovec_t iov = {rx + rx_len, sizeof rx - rx_len};
        __wasi_size_t got = 0;
        __wasi_roflags_t rof = 0;
        __wasi_errno_t e = __wasi_sock_recv(conn, &iov, 1, 0, &got, &rof);
        if (e == __WASI_ERRNO_AGAIN) return 0;
        if (e != 0) {
            fprintf(stderr, "sock_recv: errno %d\n", e);
            return -1;
        }
        if (got == 0) return -1;
        rx_len += got;
        size_t off = 0;
        while (rx_len - off >= 4) {
            uint32_t n = get32(rx + off);
            if (n == 0 || n > 65536) {
                fprintf(stderr, "bad frame length %u\n", n);
                return -1;
            }
            if (rx_len - off < 4 + n) break;
            fn(rx + off + 4, n);
            off += 4 + n;
        }
        memmove(rx, rx + off, rx_len - off);
        rx_len -= off;
    }
}

/* ---- poll: socket, stdin and a 10 ms clock, like the emulators' main loop ---- */
static int stdin_ready;
static void wait_io(__wasi_fd_t fd) {
    __wasi_subscription_t s[3];
    __wasi_event_t ev[3];
    __wasi_size_t n = 0;
    memset(s, 0, sizeof s);
    s[0].userdata = 1;
    s[0].u.tag = __WASI_EVENTTYPE_FD_READ;
    s[0].u.u.fd_read.file_descriptor = fd;
    s[1].userdata = 2;
    s[1].u.tag = __WASI_EVENTTYPE_FD_READ;
    s[1].u.u.fd_read.file_descriptor = 0;
    s[2].userdata = 3;
    s[2].u.tag = __WASI_EVENTTYPE_CLOCK;
    s[2].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    s[2].u.u.clock.timeout = 10 * 1000 * 1000;
    stdin_ready = 0;
    if (__wasi_poll_oneoff(s, ev, 3, &n) != 0) return;
    for (__wasi_size_t i = 0; i < n; i++)
        if (ev[i].userdata == 2 && ev[i].error == 0) stdin_ready = 1;
}

/* ---- DHCP ---- */
static const uint32_t XID = 0x1c2a3b4c;
static int dhcp_state; /* 0 discovering, 1 requesting, 2 bound */
static uint32_t offered;

static size_t ipv4_udp(uint8_t *f, const uint8_t *dst_mac, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                       const uint8_t *payload, size_t plen) {
    memcpy(f, dst_mac, 6);
    memcpy(f + 6, my_mac, 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + 8 + plen));
    ip[8] = 64;
    ip[9] = 17;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
    uint8_t *udp = ip + 20;
    put16(udp, sport);
    put16(udp + 2, dport);
    put16(udp + 4, (uint16_t)(8 + plen));
    put16(udp + 6, 0);
    memcpy(udp + 8, payload, plen);
    return 14 + 20 + 8 + plen;
}

static void dhcp_send(int type) {
    uint8_t b[300];
    memset(b, 0, sizeof b);
    b[0] = 1;
    b[1] = 1;
    b[2] = 6;
    put32(b + 4, XID);
    put16(b + 10, 0x8000);
    memcpy(b + 28, my_mac, 6);
    put32(b + 236, 0x63825363);
    uint8_t *o = b + 240;
    *o++ = 53; *o++ = 1; *o++ = (uint8_t)type;
    if (type == 3) {
        *o++ = 50; *o++ = 4; put32(o, offered); o += 4;
        *o++ = 54; *o++ = 4; put32(o, server_ip); o += 4;
    }
    *o++ = 55; *o++ = 3; *o++ = 1; *o++ = 3; *o++ = 6;
    *o++ = 255;
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t f[400];
    size_t n = ipv4_udp(f, bcast, 0, 0xffffffff, 68, 67, b, sizeof b);
    send_frame(f, n);
}

static void on_dhcp(const uint8_t *f, size_t n) {
    if (n < 14 + 20 + 8 + 240 || get16(f + 12) != 0x0800) return;
    const uint8_t *ip = f + 14;
    size_t ihl = (ip[0] & 15) * 4;
    if (ip[9] != 17 || n < 14 + ihl + 8 + 240) return;
    const uint8_t *udp = ip + ihl;
    if (get16(udp + 2) != 68) return;
    const uint8_t *b = udp + 8;
    size_t blen = n - 14 - ihl - 8;
    if (b[0] != 2 || get32(b + 4) != XID || get32(b + 236) != 0x63825363) return;
    int type = 0;
    uint32_t sid = 0;
    for (size_t i = 240; i + 1 < blen && b[i] != 255;) {
        if (b[i] == 0) { i++; continue; }
        uint8_t code = b[i], len = b[i + 1];
        if (i + 2 + len > blen) break;
        if (code == 53 && len == 1) type = b[i + 2];
        if (code == 54 && len == 4) sid = get32(b + i + 2);
        i += 2 + len;
    }
    if (want_server && sid != want_server) return;
    if (type == 2 && dhcp_state == 0) {
        offered = get32(b + 16);
        server_ip = sid;
        memcpy(gw_mac, f + 6, 6);
        dhcp_state = 1;
        dhcp_send(3);
    } else if (type == 5 && dhcp_state == 1) {
        my_ip = get32(b + 16);
        dhcp_state = 2;
    } else if (type == 6 && dhcp_state == 1) {
        dhcp_state = 0;
    }
}

/* ---- ARP and a minimal TCP responder on port 80 ---- */
static const char REPLY_BODY[] = "hello from the wasi guest\n";
struct tcb { int used; uint8_t mac[6]; uint32_t ip; uint16_t port; uint32_t snd_nxt, rcv_nxt; int replied; };
static struct tcb tcbs[8];

static void tcp_send(struct tcb *t, uint8_t flags, const uint8_t *data, size_t len) {
    uint8_t f[1600];
    memcpy(f, t->mac, 6);
    memcpy(f + 6, my_mac, 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + 20 + len));
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = 6;
    put32(ip + 12, my_ip);
    put32(ip + 16, t->ip);
    put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
    uint8_t *tcp = ip + 20;
    memset(tcp, 0, 20);
    put16(tcp, 80);
    put16(tcp + 2, t->port);
    put32(tcp + 4, t->snd_nxt);
    put32(tcp + 8, t->rcv_nxt);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    memcpy(tcp + 20, data, len);
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put16(pseudo + 10, (uint16_t)(20 + len));
    put16(tcp + 16, csum_fold(csum_add(csum_add(0, pseudo, 12), tcp, 20 + len)));
    send_frame(f, 14 + 20 + 20 + len);
}

static void on_serve(const uint8_t *f, size_t n) {
    if (n < 14) return;
    uint16_t type = get16(f + 12);
    if (type == 0x0806 && n >= 42) {
        const uint8_t *a = f + 14;
        if (get16(a + 6) == 1 && get32(a + 24) == my_ip) {
            uint8_t r[42];
            memcpy(r, f + 6, 6);
            memcpy(r + 6, my_mac, 6);
            put16(r + 12, 0x0806);
            uint8_t *ra = r + 14;
            put16(ra, 1); put16(ra + 2, 0x0800); ra[4] = 6; ra[5] = 4; put16(ra + 6, 2);
            memcpy(ra + 8, my_mac, 6);
            put32(ra + 14, my_ip);
            memcpy(ra + 18, a + 8, 6);
            memcpy(ra + 24, a + 14, 4);
            send_frame(r, sizeof r);
        }
        return;
    }
    if (type != 0x0800 || n < 14 + 20) return;
    const uint8_t *ip = f + 14;
    size_t ihl = (ip[0] & 15) * 4;
    size_t tot = get16(ip + 2);
    if (ip[9] != 6 || get32(ip + 16) != my_ip || tot > n - 14 || tot < ihl + 20) return;
    const uint8_t *tcp = ip + ihl;
    size_t doff = (tcp[12] >> 4) * 4;
    if (doff < 20 || ihl + doff > tot) return;
    if (get16(tcp + 2) != 80) return;
    uint32_t src = get32(ip + 12);
    uint16_t sport = get16(tcp);
    uint32_t seq = get32(tcp + 4);
    uint8_t fl = tcp[13];
    size_t dlen = tot - ihl - doff;
    struct tcb *t = NULL, *freeslot = NULL;
    for (int i = 0; i < 8; i++) {
        if (tcbs[i].used && tcbs[i].ip == src && tcbs[i].port == sport) t = &tcbs[i];
        else if (!tcbs[i].used && !freeslot) freeslot = &tcbs[i];
    }
    if (fl & 0x04) { /* RST */
        if (t) t->used = 0;
        return;
    }
    if (fl & 0x02) { /* SYN */
        if (!t) t = freeslot;
        if (!t) return;
        memset(t, 0, sizeof *t);
        t->used = 1;
        memcpy(t->mac, f + 6, 6);
        t->ip = src;
        t->port = sport;
        t->snd_nxt = 0x10000000;
        t->rcv_nxt = seq + 1;
        tcp_send(t, 0x12, NULL, 0); /* SYN|ACK */
        t->snd_nxt++;
        return;
    }
    if (!t) return;
    if (dlen > 0 && seq == t->rcv_nxt) {
        t->rcv_nxt += (uint32_t)dlen;
        if (!t->replied) {
            char reply[256];
            int len = snprintf(reply, sizeof reply, "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
                               strlen(REPLY_BODY), REPLY_BODY);
            tcp_send(t, 0x18 | 0x01, (const uint8_t *)reply, (size_t)len); /* ACK|PSH|FIN */
            t->snd_nxt += (uint32_t)len + 1;
            t->replied = 1;
        } else {
            tcp_send(t, 0x10, NULL, 0);
        }
    }
    if (fl & 0x01) { /* FIN */
        t->rcv_nxt = seq + (uint32_t)dlen + 1;
        tcp_send(t, 0x10, NULL, 0);
        if (t->replied) t->used = 0;
    }
}

static uint32_t parse_ip(const char *s) {
    unsigned a, b, c, d;
    if (sscanf(s, "%u.%u.%u.%u", &a, &b, &c, &d) != 4) return 0;
    return a << 24 | b << 16 | c << 8 | d;
}

static void print_ip(const char *label, uint32_t ip) {
    printf("%s%u.%u.%u.%u", label, ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: net_guest dhcp|serve [--net=socket=listenfd=N] [--want-server IP] [--cat FILE]\n");
        return 2;
    }
    int serve = !strcmp(argv[1], "serve");
    __wasi_fd_t listen_fd = 3;
    const char *cat = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strncmp(argv[i], "--net=socket", 12)) {
            const char *p = strstr(argv[i], "listenfd=");
            if (p) listen_fd = (__wasi_fd_t)atoi(p + 9);
        } else if (!strcmp(argv[i], "--want-server") && i + 1 < argc) {
            want_server = parse_ip(argv[++i]);
        } else if (!strcmp(argv[i], "--cat") && i + 1 < argc) {
            cat = argv[++i];
        }
    }
    if (cat) {
        FILE *f = fopen(cat, "r");
        if (!f) {
            printf("cannot open %s: %s\n", cat, strerror(errno));
            return 1;
        }
        char line[256];
        while (fgets(line, sizeof line, f)) printf("file: %s", line);
        fclose(f);
    }
    __wasi_fdstat_t st;
    if (__wasi_fd_fdstat_get(listen_fd, &st) != 0 || st.fs_filetype != __WASI_FILETYPE_SOCKET_STREAM) {
        printf("fd %u is not a socket\n", listen_fd);
        return 1;
    }
    uint64_t deadline = now_ns() + 20ULL * 1000 * 1000 * 1000;
    int junk = !strcmp(argv[1], "junk");
    int tries = 0;
again:
    for (;;) {
        __wasi_errno_t e = __wasi_sock_accept(listen_fd, __WASI_FDFLAGS_NONBLOCK, &conn);
        if (e == 0) break;
        if (e != __WASI_ERRNO_AGAIN) {
            printf("sock_accept: errno %d\n", e);
            return 1;
        }
        if (++tries > 2000) {
            printf("no connection\n");
            return 1;
        }
        wait_io(listen_fd);
    }
    printf("accepted fd %u\n", conn);
    fflush(stdout);
    if (junk) {
        static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        __wasi_ciovec_t iov = {(const uint8_t *)req, sizeof req - 1};
        __wasi_size_t sent = 0;
        printf("junk send: errno %d\n", __wasi_sock_send(conn, &iov, 1, 0, &sent));
        uint8_t b[16];
        __wasi_iovec_t riov = {b, sizeof b};
        __wasi_size_t got = 99;
        __wasi_roflags_t rof;
        __wasi_errno_t e = __wasi_sock_recv(conn, &riov, 1, 0, &got, &rof);
        printf("then recv: errno %d, %u bytes\n", e, (unsigned)got);
        printf("close: errno %d\n", __wasi_fd_close(conn));
        fflush(stdout);
        junk = 0;
        goto again;
    }
    dhcp_send(1);
    uint64_t resend = now_ns() + 1000ULL * 1000 * 1000;
    while (dhcp_state != 2) {
        if (pump(on_dhcp) < 0) {
            printf("connection closed\n");
            return 1;
        }
        if (dhcp_state == 2) break;
        if (now_ns() > deadline) {
            printf("no lease\n");
            return 1;
        }
        if (now_ns() > resend) {
            dhcp_state = 0;
            dhcp_send(1);
            resend = now_ns() + 1000ULL * 1000 * 1000;
        }
        wait_io(conn);
    }
    print_ip("leased ", my_ip);
    print_ip(" via ", server_ip);
    printf("\n");
    fflush(stdout);
    if (!serve) {
        (void)__wasi_sock_shutdown(conn, __WASI_SDFLAGS_RD | __WASI_SDFLAGS_WR);
        return 0;
    }
    printf("serving port 80\n");
    fflush(stdout);
    char line[64];
    size_t line_len = 0;
    for (;;) {
        if (pump(on_serve) < 0) {
            printf("connection closed\n");
            return 1;
        }
        wait_io(conn);
        if (stdin_ready) {
            char c[64];
            __wasi_iovec_t iov = {(uint8_t *)c, sizeof c};
            __wasi_size_t got = 0;
            __wasi_errno_t e = __wasi_fd_read(0, &iov, 1, &got);
            if (e == 0 && got == 0) break; /* end of input */
            for (__wasi_size_t i = 0; e == 0 && i < got; i++) {
                if (c[i] == '\n') {
                    line[line_len] = 0;
                    if (!strcmp(line, "quit")) goto done;
                    line_len = 0;
                } else if (line_len < sizeof line - 1) {
                    line[line_len++] = c[i];
                }
            }
        }
    }
done:
    printf("bye\n");
    return 0;
}
