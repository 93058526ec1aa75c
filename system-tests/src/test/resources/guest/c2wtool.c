/*
 * c2wtool: guest-side network helpers for the c2w-java guest tests, linked statically.
 *
 *   c2wtool udpecho IPV4 PORT COUNT SIZE
 *     Sends COUNT datagrams of SIZE bytes (a pattern that embeds the sequence number)
 *     and checks that each comes back unchanged from the same peer. A datagram without
 *     a reply in 2 s is sent again, up to 5 times. Prints "udpecho ok COUNT x SIZE bytes".
 *
 *   c2wtool tcpput IPV4 PORT FILE [half-close]
 *     Connects, sends "PUT <length>\n" and the file's bytes, then copies whatever the
 *     peer answers to stdout until it closes. With "half-close" it shuts down its
 *     sending side after the file (the peer then sees EOF); without, it keeps the
 *     connection fully open until the peer closes, which works through stacks that
 *     close both directions when one ends.
 *
 * Exit status 0 on success, 1 on a network failure, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static int peer_address(const char *ip, const char *port, struct sockaddr_in *peer) {
    memset(peer, 0, sizeof *peer);
    peer->sin_family = AF_INET;
    peer->sin_port = htons((unsigned short) atoi(port));
    if (inet_pton(AF_INET, ip, &peer->sin_addr) != 1) {
        fprintf(stderr, "c2wtool: bad address %s\n", ip);
        return -1;
    }
    return 0;
}

static void fill(unsigned char *buf, int size, int seq) {
    for (int i = 0; i < size; i++) {
        buf[i] = (unsigned char) ((seq * 131 + i * 7 + (i >> 8)) & 0xff);
    }
    if (size >= 4) {
        buf[0] = 'E'; buf[1] = 'C';
        buf[2] = (unsigned char) (seq >> 8); buf[3] = (unsigned char) seq;
    }
}

static int udpecho(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: c2wtool udpecho IPV4 PORT COUNT SIZE\n");
        return 2;
    }
    struct sockaddr_in peer;
    if (peer_address(argv[2], argv[3], &peer) != 0) return 2;
    int count = atoi(argv[4]);
    int size = atoi(argv[5]);
    if (count < 1 || size < 1 || size > 65507) {
        fprintf(stderr, "c2wtool: bad count or size\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) { perror("c2wtool: socket"); return 1; }
    struct timeval tv = { 2, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *) &peer, sizeof peer) != 0) {
        perror("c2wtool: connect");
        return 1;
    }
    unsigned char *out = malloc(size), *in = malloc(size + 1);
    if (out == NULL || in == NULL) return 1;
    for (int seq = 0; seq < count; seq++) {
        fill(out, size, seq);
        int done = 0;
        for (int attempt = 0; attempt < 5 && !done; attempt++) {
            if (send(fd, out, size, 0) != size) { perror("c2wtool: send"); return 1; }
            for (;;) {
                ssize_t n = recv(fd, in, size + 1, 0);
                if (n < 0) {
                    if (errno == EAGAIN || errno == EWOULDBLOCK) break; /* send again */
                    perror("c2wtool: recv");
                    return 1;
                }
                if (n == size && memcmp(in, out, size) == 0) { done = 1; break; }
                fprintf(stderr, "c2wtool: seq %d: unexpected reply of %zd bytes\n", seq, n);
            }
        }
        if (!done) {
            fprintf(stderr, "c2wtool: seq %d: no echo\n", seq);
            return 1;
        }
    }
    printf("udpecho ok %d x %d bytes\n", count, size);
    return 0;
}

static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += n;
        len -= (size_t) n;
    }
    return 0;
}

static int tcpput(int argc, char **argv) {
    if (argc != 5 && !(argc == 6 && strcmp(argv[5], "half-close") == 0)) {
        fprintf(stderr, "usage: c2wtool tcpput IPV4 PORT FILE [half-close]\n");
        return 2;
    }
    struct sockaddr_in peer;
    if (peer_address(argv[2], argv[3], &peer) != 0) return 2;
    int file = open(argv[4], O_RDONLY);
    struct stat st;
    if (file < 0 || fstat(file, &st) != 0) { perror("c2wtool: open"); return 2; }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { perror("c2wtool: socket"); return 1; }
    if (connect(fd, (struct sockaddr *) &peer, sizeof peer) != 0) {
        perror("c2wtool: connect");
        return 1;
    }
    static char buf[65536];
    int header = snprintf(buf, sizeof buf, "PUT %lld\n", (long long) st.st_size);
    if (write_all(fd, buf, (size_t) header) != 0) { perror("c2wtool: send"); return 1; }
    for (;;) {
        ssize_t n = read(file, buf, sizeof buf);
        if (n < 0) { perror("c2wtool: read"); return 1; }
        if (n == 0) break;
        if (write_all(fd, buf, (size_t) n) != 0) { perror("c2wtool: send"); return 1; }
    }
    if (argc == 6 && shutdown(fd, SHUT_WR) != 0) { perror("c2wtool: shutdown"); return 1; }
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("c2wtool: recv");
            return 1;
        }
        if (n == 0) break;
        if (write_all(1, buf, (size_t) n) != 0) return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "udpecho") == 0) return udpecho(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "tcpput") == 0) return tcpput(argc, argv);
    fprintf(stderr, "usage: c2wtool udpecho|tcpput ...\n");
    return 2;
}
