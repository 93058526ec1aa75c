/* virtio-net over a host stream socket with QEMU's stream framing: each
 * Ethernet frame is sent as a 4-byte big-endian length followed by the raw
 * frame (no FCS, no virtio header). One connection at a time, accepted
 * non-blockingly on an inherited listening socket; when the peer goes away
 * we accept again. Frames over 64 KiB are refused in both directions. */
#include "emu.h"
#include "virtio.h"
#include "host_net.h"
#include <poll.h>
#include <stdlib.h>

#define NET_MAX_FRAME 65536
#define NET_HDR 12 /* struct virtio_net_hdr_v1 */
#define RXQ 0
#define TXQ 1

typedef struct {
  int listen_fd, conn_fd;
  /* peer -> guest stream parser */
  uint8_t lenbuf[4];
  int len_have;
  uint32_t frame_len, frame_have;
  int frame_ready;
  uint8_t rx[NET_MAX_FRAME];
  /* guest -> peer bytes not yet accepted by the socket */
  uint8_t tx[NET_MAX_FRAME + 4];
  size_t tx_len, tx_off;
  /* counters */
  uint64_t tx_frames, rx_frames, tx_dropped_no_peer, tx_refused, rx_refused, rx_dropped_small_buf;
} NetState;

static VirtioDev *g_net;

static void net_disconnect(VirtioDev *d, NetState *s, const char *why) {
  if (s->conn_fd >= 0) {
    if (d->m->verbose) emu_log("c2w-emu: net: peer disconnected (%s)\n", why);
    host_sock_close(s->conn_fd);
  }
  s->conn_fd = -1;
  s->len_have = 0; s->frame_len = 0; s->frame_have = 0; s->frame_ready = 0;
  s->tx_len = 0; s->tx_off = 0;
}

/* Writes pending bytes; returns 1 when nothing is left pending. */
static int net_flush(VirtioDev *d, NetState *s) {
  while (s->conn_fd >= 0 && s->tx_off < s->tx_len) {
    int again;
    long n = host_sock_send(s->conn_fd, s->tx + s->tx_off, s->tx_len - s->tx_off, &again);
    if (n < 0) {
      if (again) return 0;
      net_disconnect(d, s, "send failed");
      return 1;
    }
    s->tx_off += (size_t)n;
  }
  s->tx_len = s->tx_off = 0;
  return 1;
}

static void net_tx(VirtioDev *d) {
  NetState *s = d->priv;
  VirtChain ch;
  while (net_flush(d, s) && virtq_pop(d, TXQ, &ch)) {
    uint32_t flen = ch.rlen >= NET_HDR ? ch.rlen - NET_HDR : 0;
    if (flen == 0 || flen > NET_MAX_FRAME) {
      s->tx_refused++;
    } else if (s->conn_fd < 0) {
      s->tx_dropped_no_peer++;
    } else {
      /* gather [header][frame] then overwrite the header tail with the prefix */
      static uint8_t tmp[NET_MAX_FRAME + NET_HDR];
      chain_read(&ch, tmp, flen + NET_HDR);
      s->tx[0] = (uint8_t)(flen >> 24); s->tx[1] = (uint8_t)(flen >> 16);
      s->tx[2] = (uint8_t)(flen >> 8); s->tx[3] = (uint8_t)flen;
      memcpy(s->tx + 4, tmp + NET_HDR, flen);
      s->tx_len = flen + 4;
      s->tx_off = 0;
      s->tx_frames++;
    }
    virtq_push(d, TXQ, &ch, 0);
  }
}

/* Hands a complete frame to the guest if it has posted a receive buffer. */
static int net_deliver(VirtioDev *d, NetState *s) {
  VirtChain ch;
  if (!virtq_pop(d, RXQ, &ch)) return 0;
  if (ch.wlen < NET_HDR + s->frame_len) {
    s->rx_dropped_small_buf++;
    virtq_push(d, RXQ, &ch, 0);
  } else {
    static uint8_t tmp[NET_MAX_FRAME + NET_HDR];
    memset(tmp, 0, NET_HDR);
    tmp[10] = 1; /* num_buffers */
    memcpy(tmp + NET_HDR, s->rx, s->frame_len);
    chain_write(&ch, tmp, NET_HDR + s->frame_len);
    virtq_push(d, RXQ, &ch, NET_HDR + s->frame_len);
    s->rx_frames++;
  }
  s->frame_ready = 0; s->len_have = 0; s->frame_have = 0; s->frame_len = 0;
  return 1;
}

/* Reads from the socket; returns 0 when it would block or the link closed. */
static int net_read_some(VirtioDev *d, NetState *s) {
  int again;
  long n;
  if (s->len_have < 4) {
    n = host_sock_recv(s->conn_fd, s->lenbuf + s->len_have, (size_t)(4 - s->len_have), &again);
  } else {
    n = host_sock_recv(s->conn_fd, s->rx + s->frame_have, s->frame_len - s->frame_have, &again);
  }
  if (n < 0 && again) return 0;
  if (n <= 0) { net_disconnect(d, s, n == 0 ? "end of stream" : "receive failed"); return 0; }
  if (s->len_have < 4) {
    s->len_have += (int)n;
    if (s->len_have == 4) {
      s->frame_len = ((uint32_t)s->lenbuf[0] << 24) | ((uint32_t)s->lenbuf[1] << 16) |
                     ((uint32_t)s->lenbuf[2] << 8) | s->lenbuf[3];
      if (s->frame_len > NET_MAX_FRAME) {
        s->rx_refused++;
        emu_log("c2w-emu: net: peer sent a %u-byte frame (limit %u): closing the connection\n",
                (unsigned)s->frame_len, (unsigned)NET_MAX_FRAME);
        net_disconnect(d, s, "oversized frame");
        return 0;
      }
      if (s->frame_len == 0) s->len_have = 0; /* empty frame: ignore */
    }
  } else {
    s->frame_have += (uint32_t)n;
  }
  if (s->len_have == 4 && s->frame_have == s->frame_len) s->frame_ready = 1;
  return 1;
}

static void net_poll(VirtioDev *d) {
  NetState *s = d->priv;
  if (s->conn_fd < 0) {
    int again;
    int fd = host_sock_accept(s->listen_fd, &again);
    if (fd < 0) return; /* no peer yet: retried on the next poll */
    s->conn_fd = fd;
    if (d->m->verbose) emu_log("c2w-emu: net: peer connected\n");
  }
  net_tx(d);
  for (int budget = 256; budget > 0 && s->conn_fd >= 0; budget--) {
    if (s->frame_ready) {
      if (!net_deliver(d, s)) break; /* guest has no receive buffer yet */
      continue;
    }
    if (!net_read_some(d, s)) break;
  }
}

static void net_notify(VirtioDev *d, int q) {
  NetState *s = d->priv;
  if (q == TXQ) net_tx(d);
  else if (s->frame_ready) net_deliver(d, s);
}

/* Adds the descriptors the main loop should wait on while the guest idles. */
int virtio_net_pollfds(struct pollfd *p, int max) {
  if (!g_net || max < 1) return 0;
  NetState *s = g_net->priv;
  if (s->conn_fd < 0) {
    p[0].fd = s->listen_fd; p[0].events = POLLIN; p[0].revents = 0;
    return 1;
  }
  p[0].fd = s->conn_fd;
  p[0].events = (short)((s->frame_ready ? 0 : POLLIN) | (s->tx_len ? POLLOUT : 0));
  p[0].revents = 0;
  return p[0].events ? 1 : 0;
}

static int parse_mac(const char *str, uint8_t mac[6]) {
  for (int k = 0; k < 6; k++) {
    int v = 0;
    for (int j = 0; j < 2; j++) {
      char ch = *str++;
      int dgt = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 :
                ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
      if (dgt < 0) return 0;
      v = v * 16 + dgt;
    }
    mac[k] = (uint8_t)v;
    if (k < 5 && *str++ != ':') return 0;
  }
  return *str == 0;
}

int virtio_net_parse_mac(const char *str, uint8_t mac[6]) { return parse_mac(str, mac); }

VirtioDev *virtio_net_new(Machine *m, int index, int irq, int listen_fd, const uint8_t mac[6]) {
  VirtioDev *d = virtio_new(m, index, irq, 1, 2);
  if (!d) return 0;
  NetState *s = calloc(1, sizeof(NetState));
  if (!s) return 0;
  s->listen_fd = listen_fd;
  s->conn_fd = -1;
  d->priv = s;
  d->features |= 1ULL << 5; /* VIRTIO_NET_F_MAC */
  memcpy(d->config, mac, 6);
  d->notify = net_notify;
  d->poll = net_poll;
  g_net = d;
  return d;
}
