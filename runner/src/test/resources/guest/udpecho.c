/*
 * udpecho: guest-side UDP echo client for the c2w-java guest tests.
 * Usage: udpecho IPV4 PORT COUNT SIZE
 * Sends COUNT datagrams of SIZE bytes (a pattern that embeds the sequence
 * number) and checks that each comes back unchanged from the same peer.
 * A datagram without a reply in 2 s is sent again, up to 5 times.
 * Exit status 0 when every datagram came back intact.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void fill(unsigned char *buf, int size, int seq) {
    for (int i = 0; i < size; i++) {
        buf[i] = (unsigned char) ((seq * 131 + i * 7 + (i >> 8)) & 0xff);
    }
    if (size >= 4) {
        buf[0] = 'E'; buf[1] = 'C';
        buf[2] = (unsigned char) (seq >> 8); buf[3] = (unsigned char) seq;
    }
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: udpecho IPV4 PORT COUNT SIZE\n");
        return 2;
    }
    struct sockaddr_in peer;
    memset(&peer, 0, sizeof peer);
    peer.sin_family = AF_INET;
    peer.sin_port = htons((unsigned short) atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &peer.sin_addr) != 1) {
        fprintf(stderr, "udpecho: bad address %s\n", argv[1]);
        return 2;
    }
    int count = atoi(argv[3]);
    int size = atoi(argv[4]);
    if (count < 1 || size < 1 || size > 65507) {
        fprintf(stderr, "udpecho: bad count or size\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) { perror("udpecho: socket"); return 1; }
    struct timeval tv = { 2, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *) &peer, sizeof peer) != 0) {
        perror("udpecho: connect");
        return 1;
    }
    unsigned char *out = malloc(size), *in = malloc(size + 1);
    int ok = 0;
    for (int seq = 0; seq < count; seq++) {
        fill(out, size, seq);
        int done = 0;
        for (int attempt = 0; attempt < 5 && !done; attempt++) {
            if (send(fd, out, size, 0) != size) { perror("udpecho: send"); return 1; }
            for (;;) {
                ssize_t n = recv(fd, in, size + 1, 0);
                if (n < 0) {
                    if (errno == EAGAIN || errno == EWOULDBLOCK) break; /* resend */
                    perror("udpecho: recv");
                    return 1;
                }
                if (n == size && memcmp(in, out, size) == 0) { done = 1; break; }
                fprintf(stderr, "udpecho: seq %d: unexpected reply of %zd bytes\n", seq, n);
            }
        }
        if (!done) {
            fprintf(stderr, "udpecho: seq %d: no echo\n", seq);
            return 1;
        }
        ok++;
    }
    printf("udpecho ok %d x %d bytes\n", ok, size);
    return 0;
}
