/*
 * probe: TCP request/response, connection-rate and many-flow measurements.
 *
 *   probe server ECHO_PORT SINK_PORT     listen on 127.0.0.1: ECHO_PORT echoes every byte;
 *                                        SINK_PORT discards; SINK_PORT+1 answers one line
 *                                        "BYTES OPEN EOFS" (sink totals) and closes
 *   probe stats PORT                     print that line (run on the host)
 *   probe rr HOST PORT N                 N 1-byte round trips on one connection (TCP_NODELAY)
 *   probe connect HOST PORT N            N sequential connect + 1-byte round trip + close
 *   probe flows HOST PORT N SECONDS      N concurrent connections to a sink, each sending for
 *                                        SECONDS; prints "connected" on stderr when all are
 *                                        open and "sent" when the sending phase ends, so the
 *                                        caller can sample the sink's byte count in between
 *
 * The client modes print one line of JSON on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

static struct sockaddr_in addr_of(const char *host, const char *port) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(port))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "probe: bad address %s\n", host);
        exit(2);
    }
    return sa;
}

static void raise_nofile(void) {
    struct rlimit rl = {65536, 65536};
    setrlimit(RLIMIT_NOFILE, &rl);
}

/* ---------------- server ---------------- */

struct conn {
    int fd;
    int kind; /* 0 echo listener, 1 sink listener, 2 echo conn, 3 sink conn, 4 stats listener */
    uint64_t count;
};

static int listen_on(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) die("probe: bind");
    if (listen(fd, 4096) != 0) die("probe: listen");
    return fd;
}

static int server(int echo_port, int sink_port) {
    raise_nofile();
    int ep = epoll_create1(0);
    int ports[3] = {echo_port, sink_port, sink_port + 1};
    uint64_t sink_bytes = 0, sink_open = 0, sink_eofs = 0;
    for (int k = 0; k < 3; k++) {
        struct conn *c = calloc(1, sizeof *c);
        c->fd = listen_on(ports[k]);
        c->kind = k == 2 ? 4 : k;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    static char buf[256 * 1024];
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("probe: epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->kind == 2 + 2) {
                int fd = accept(c->fd, NULL, NULL);
                if (fd >= 0) {
                    char line[128];
                    int len = snprintf(line, sizeof line, "%llu %llu %llu\n", (unsigned long long)sink_bytes,
                                       (unsigned long long)sink_open, (unsigned long long)sink_eofs);
                    if (write(fd, line, len) != len) { /* the caller sees a short line */ }
                    close(fd);
                }
                continue;
            }
            if (c->kind < 2) {
                for (;;) {
                    int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0) break;
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *d = calloc(1, sizeof *d);
                    d->fd = fd;
                    d->kind = c->kind + 2;
                    if (d->kind == 3) sink_open++;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = d};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            for (;;) {
                ssize_t r = read(c->fd, buf, sizeof buf);
                if (r > 0) {
                    c->count += (uint64_t)r;
                    if (c->kind == 3) sink_bytes += (uint64_t)r;
                    if (c->kind == 2) {
                        /* echo: a blocking-ish write is fine for the tiny ping-pong payloads */
                        ssize_t off = 0;
                        while (off < r) {
                            ssize_t w = write(c->fd, buf + off, r - off);
                            if (w < 0 && errno == EAGAIN) continue;
                            if (w <= 0) break;
                            off += w;
                        }
                    }
                    continue;
                }
                if (r < 0 && errno == EAGAIN) break;
                if (c->kind == 3) {
                    sink_open--;
                    if (r == 0) sink_eofs++;
                }
                close(c->fd);
                free(c);
                break;
            }
        }
    }
    return 0;
}

/* ---------------- clients ---------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int connect_blocking(struct sockaddr_in *sa) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)sa, sizeof *sa) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int rr(struct sockaddr_in *sa, int n) {
    int fd = connect_blocking(sa);
    if (fd < 0) die("probe: connect");
    double *lat = malloc(sizeof(double) * n);
    char b = 'x';
    int warm = n / 10 + 1;
    for (int i = -warm; i < n; i++) {
        double t0 = now();
        if (write(fd, &b, 1) != 1) die("probe: write");
        if (read(fd, &b, 1) != 1) die("probe: read");
        if (i >= 0) lat[i] = (now() - t0) * 1e6;
    }
    close(fd);
    qsort(lat, n, sizeof(double), cmp_double);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += lat[i];
    printf("{\"round_trips\":%d,\"p50_us\":%.1f,\"p99_us\":%.1f,\"mean_us\":%.1f}\n", n, lat[n / 2],
           lat[(int)(n * 0.99)], sum / n);
    return 0;
}

static int connect_rate(struct sockaddr_in *sa, int n) {
    int errors = 0;
    double t0 = now();
    for (int i = 0; i < n; i++) {
        int fd = connect_blocking(sa);
        if (fd < 0) {
            errors++;
            continue;
        }
        char b = 'c';
        if (write(fd, &b, 1) != 1 || read(fd, &b, 1) != 1) errors++;
        /* RST instead of FIN: no TIME_WAIT pile-up on the client side across 1000 connections */
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
    }
    double dt = now() - t0;
    printf("{\"connections\":%d,\"errors\":%d,\"seconds\":%.3f,\"per_second\":%.1f}\n", n, errors, dt,
           (n - errors) / dt);
    return 0;
}

static int flows(struct sockaddr_in *sa, int n, double seconds) {
    raise_nofile();
    int *fds = calloc(n, sizeof(int));
    int connect_errors = 0, write_errors = 0, open_count = 0;
    /* connect one after the other: the SYN handling of a stack is measured by "connect", not here */
    for (int i = 0; i < n; i++) {
        fds[i] = connect_blocking(sa);
        if (fds[i] < 0) connect_errors++;
        else {
            open_count++;
            fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        }
    }
    fprintf(stderr, "connected\n");
    fflush(stderr);
    static char buf[16384];
    memset(buf, 'f', sizeof buf);
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        if (fds[i] < 0) continue;
        struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    double t0 = now();
    uint64_t written = 0;
    int *active = calloc(n, sizeof(int));
    struct epoll_event evs[512];
    while (now() - t0 < seconds) {
        int k = epoll_wait(ep, evs, 512, 100);
        for (int j = 0; j < k; j++) {
            int i = evs[j].data.u32;
            if (fds[i] < 0) continue;
            ssize_t w = write(fds[i], buf, sizeof buf);
            if (w > 0) {
                written += (uint64_t)w;
                active[i] = 1;
            } else if (w < 0 && errno != EAGAIN) {
                write_errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
                close(fds[i]);
                fds[i] = -1;
            }
        }
    }
    double dt = now() - t0;
    fprintf(stderr, "sent\n");
    fflush(stderr);
    int starved = 0;
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0 && !active[i]) starved++;
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) close(fds[i]);
    printf("{\"flows\":%d,\"opened\":%d,\"connect_errors\":%d,\"write_errors\":%d,\"flows_never_writable\":%d,"
           "\"bytes_written\":%llu,\"seconds\":%.3f}\n",
           n, open_count, connect_errors, write_errors, starved, (unsigned long long)written, dt);
    return 0;
}

static int stats(int port) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = connect_blocking(&sa);
    if (fd < 0) die("probe: stats connect");
    char line[128];
    ssize_t r = read(fd, line, sizeof line - 1);
    if (r <= 0) die("probe: stats read");
    line[r] = 0;
    fputs(line, stdout);
    return 0;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    if (argc == 4 && strcmp(argv[1], "server") == 0) return server(atoi(argv[2]), atoi(argv[3]));
    if (argc == 3 && strcmp(argv[1], "stats") == 0) return stats(atoi(argv[2]));
    if (argc == 5 && strcmp(argv[1], "rr") == 0) {
        struct sockaddr_in sa = addr_of(argv[2], argv[3]);
        return rr(&sa, atoi(argv[4]));
    }
    if (argc == 5 && strcmp(argv[1], "connect") == 0) {
        struct sockaddr_in sa = addr_of(argv[2], argv[3]);
        return connect_rate(&sa, atoi(argv[4]));
    }
    if (argc == 6 && strcmp(argv[1], "flows") == 0) {
        struct sockaddr_in sa = addr_of(argv[2], argv[3]);
        return flows(&sa, atoi(argv[4]), atof(argv[5]));
    }
    fprintf(stderr, "usage: probe server ECHO SINK | stats PORT | rr HOST PORT N | connect HOST PORT N | flows HOST PORT N SECONDS\n");
    return 2;
}
