/*
 * bridge: copies Ethernet frames between a TAP device inside a network namespace and a
 * QEMU-stream connection (4-byte big-endian length + frame) to a user-mode network stack.
 *
 *   bridge NETNS TAPNAME unix:/path/to/socket
 *   bridge NETNS TAPNAME tcp:127.0.0.1:PORT
 *
 * The stream socket is connected in the caller's namespace (so tcp:127.0.0.1 is the host's
 * loopback), then the bridge enters NETNS and attaches to TAPNAME (which must exist there,
 * created with `ip tuntap add dev TAPNAME mode tap`). Connect is retried for 10 s so the bridge
 * can be started together with the stack; "bridge: connected" on stdout says the path is up.
 *
 * Data path, identical for every stack under test:
 *  - TAP -> stream: each read() of the TAP returns one frame; up to 64 frames are read per turn
 *    straight into an output buffer behind their length prefix, then each frame goes out with one
 *    write() of prefix + frame, as QEMU's stream netdev does (a stack may rely on reads that end
 *    on frame boundaries; Debian 12's passt loses frames otherwise). When the buffer is full the
 *    TAP is not read (backpressure stays in the guest kernel's queue).
 *  - stream -> TAP: large read()s into an input buffer, then one write() per complete frame.
 * Both fds are nonblocking; one poll() loop; no threads. Prints counters on exit to stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME 65536 + 14 + 4
#define OUT_CAP (1 << 20)
#define IN_CAP (1 << 20)

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

static int connect_stream(const char *spec) {
    for (int attempt = 0; attempt < 2000; attempt++) {
        int fd = -1;
        int rc = -1;
        if (strncmp(spec, "unix:", 5) == 0) {
            struct sockaddr_un sa = {.sun_family = AF_UNIX};
            snprintf(sa.sun_path, sizeof sa.sun_path, "%s", spec + 5);
            fd = socket(AF_UNIX, SOCK_STREAM, 0);
            rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
        } else if (strncmp(spec, "tcp:", 4) == 0) {
            char host[64];
            const char *colon = strrchr(spec + 4, ':');
            if (!colon || (size_t)(colon - spec - 4) >= sizeof host) {
                fprintf(stderr, "bridge: bad address %s\n", spec);
                exit(2);
            }
            memcpy(host, spec + 4, colon - spec - 4);
            host[colon - spec - 4] = 0;
            struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(colon + 1))};
            if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
                fprintf(stderr, "bridge: bad host %s\n", host);
                exit(2);
            }
            fd = socket(AF_INET, SOCK_STREAM, 0);
            rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
            int one = 1;
            if (rc == 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        } else {
            fprintf(stderr, "bridge: address must be unix:PATH or tcp:HOST:PORT\n");
            exit(2);
        }
        if (rc == 0) return fd;
        close(fd);
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "bridge: cannot connect to %s: %s\n", spec, strerror(errno));
    exit(1);
}

static int open_tap(const char *netns, const char *name) {
    char path[256];
    snprintf(path, sizeof path, "/var/run/netns/%s", netns);
    int nsfd = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
        fprintf(stderr, "bridge: cannot enter netns %s: %s\n", netns, strerror(errno));
        exit(1);
    }
    close(nsfd);
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        perror("bridge: /dev/net/tun");
        exit(1);
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        fprintf(stderr, "bridge: TUNSETIFF %s: %s\n", name, strerror(errno));
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: bridge NETNS TAPNAME unix:PATH|tcp:HOST:PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    int sock = connect_stream(argv[3]);
    int tap = open_tap(argv[1], argv[2]);
    /* tells the caller that frames flow now (it starts DHCP on this line) */
    printf("bridge: connected\n");
    fflush(stdout);
    fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
    int bufsz = 4 << 20;
    setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);

    unsigned char *out = malloc(OUT_CAP);
    unsigned char *in = malloc(IN_CAP);
    size_t out_start = 0, out_end = 0;   /* pending bytes towards the stack */
    size_t frame_left = 0;               /* bytes of the frame at out_start not yet written */
    size_t in_len = 0;                   /* buffered bytes from the stack */
    unsigned long long frames_to_stack = 0, frames_to_tap = 0, tap_write_drops = 0;
    int peer_closed = 0;

    while (!stop && !peer_closed) {
        struct pollfd p[2];
        int room = OUT_CAP - out_end >= MAX_FRAME;
        p[0].fd = tap;
        p[0].events = room ? POLLIN : 0;
        p[1].fd = sock;
        p[1].events = POLLIN | (out_end > out_start ? POLLOUT : 0);
        if (poll(p, 2, 1000) < 0) {
            if (errno == EINTR) continue;
            perror("bridge: poll");
            break;
        }
        if (p[0].revents & POLLIN) {
            for (int i = 0; i < 64 && OUT_CAP - out_end >= MAX_FRAME; i++) {
                ssize_t n = read(tap, out + out_end + 4, MAX_FRAME - 4);
                if (n <= 0) break;
                uint32_t be = htonl((uint32_t)n);
                memcpy(out + out_end, &be, 4);
                out_end += 4 + (size_t)n;
                frames_to_stack++;
            }
        }
        while (out_end > out_start) {
            if (frame_left == 0) {
                uint32_t be;
                memcpy(&be, out + out_start, 4);
                frame_left = 4 + ntohl(be);
            }
            ssize_t n = write(sock, out + out_start, frame_left);
            if (n <= 0) {
                if (n < 0 && errno != EAGAIN && errno != EINTR) peer_closed = 1;
                break;
            }
            out_start += (size_t)n;
            frame_left -= (size_t)n;
        }
        if (out_start == out_end) {
            out_start = out_end = 0;
        } else if (out_start > OUT_CAP / 2) {
            memmove(out, out + out_start, out_end - out_start);
            out_end -= out_start;
            out_start = 0;
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            for (int i = 0; i < 16; i++) {
                ssize_t n = read(sock, in + in_len, IN_CAP - in_len);
                if (n == 0) { peer_closed = 1; break; }
                if (n < 0) {
                    if (errno != EAGAIN && errno != EINTR) peer_closed = 1;
                    break;
                }
                in_len += (size_t)n;
                size_t off = 0;
                while (in_len - off >= 4) {
                    uint32_t be;
                    memcpy(&be, in + off, 4);
                    uint32_t len = ntohl(be);
                    if (len == 0 || len > MAX_FRAME - 4) {
                        fprintf(stderr, "bridge: bad frame length %u from the stack\n", len);
                        peer_closed = 1;
                        break;
                    }
                    if (in_len - off < 4 + len) break;
                    if (write(tap, in + off + 4, len) != (ssize_t)len) tap_write_drops++;
                    frames_to_tap++;
                    off += 4 + len;
                }
                if (off > 0) {
                    memmove(in, in + off, in_len - off);
                    in_len -= off;
                }
                if (in_len == IN_CAP) break;
            }
        }
    }
    fprintf(stderr, "bridge: exit: frames to stack %llu, to tap %llu, tap write failures %llu%s\n",
            frames_to_stack, frames_to_tap, tap_write_drops, peer_closed ? " (stack closed)" : "");
    return 0;
}
