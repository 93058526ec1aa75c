/* DHCPv4 client for init (freestanding, included by init.c): DISCOVER /
 * OFFER / REQUEST / ACK over a UDP socket bound to eth0 (broadcast flag
 * set, so the server answers by broadcast before we have an address), then
 * configures eth0's address, netmask and default route and writes
 * /etc/resolv.conf and /etc/hosts. */

#define SYS_setsockopt 208
#define SYS_bind 200
#define SYS_sendto 206
#define SYS_recvfrom 207
#define SOL_SOCKET 1
#define SO_BROADCAST 6
#define SO_BINDTODEVICE 25
#define SO_RCVTIMEO 20

struct sockaddr_in4 {
  unsigned short family, port; /* port big-endian */
  unsigned char addr[4];
  unsigned char zero[8];
};

typedef struct {
  unsigned char yiaddr[4], mask[4], router[4], server[4];
  unsigned char dns[3][4];
  int ndns, type;
} Lease;

static void mcopy(void *d, const void *s, ulong n) {
  for (ulong k = 0; k < n; k++) ((unsigned char *)d)[k] = ((const unsigned char *)s)[k];
}
static void mzero(void *d, ulong n) {
  for (ulong k = 0; k < n; k++) ((unsigned char *)d)[k] = 0;
}

static int get_mac(int sock, const char *name, unsigned char mac[6]) {
  struct ifreq_s r;
  ifname(&r, name);
  if (SYS(SYS_ioctl, sock, 0x8927 /* SIOCGIFHWADDR */, &r, 0, 0) < 0) return -1;
  mcopy(mac, r.u.addr + 2, 6);
  return 0;
}

/* Builds a DISCOVER (type 1) or REQUEST (type 3); returns its length. */
static int dhcp_build(unsigned char *p, int type, unsigned xid, const unsigned char mac[6], const Lease *offer) {
  mzero(p, 300);
  p[0] = 1; p[1] = 1; p[2] = 6;
  p[4] = (unsigned char)(xid >> 24); p[5] = (unsigned char)(xid >> 16);
  p[6] = (unsigned char)(xid >> 8); p[7] = (unsigned char)xid;
  p[10] = 0x80; /* broadcast replies */
  mcopy(p + 28, mac, 6);
  p[236] = 99; p[237] = 130; p[238] = 83; p[239] = 99;
  int o = 240;
  p[o++] = 53; p[o++] = 1; p[o++] = (unsigned char)type;
  if (type == 3) {
    p[o++] = 50; p[o++] = 4; mcopy(p + o, offer->yiaddr, 4); o += 4;
    p[o++] = 54; p[o++] = 4; mcopy(p + o, offer->server, 4); o += 4;
  }
  p[o++] = 55; p[o++] = 3; p[o++] = 1; p[o++] = 3; p[o++] = 6;
  p[o++] = 255;
  return o < 300 ? 300 : o;
}

/* Parses a reply for our xid; returns 1 if usable. */
static int dhcp_parse(const unsigned char *p, long n, unsigned xid, Lease *l) {
  if (n < 240 || p[0] != 2) return 0;
  if (((unsigned)p[4] << 24 | (unsigned)p[5] << 16 | (unsigned)p[6] << 8 | p[7]) != xid) return 0;
  if (p[236] != 99 || p[237] != 130 || p[238] != 83 || p[239] != 99) return 0;
  mzero(l, sizeof(*l));
  mcopy(l->yiaddr, p + 16, 4);
  for (long o = 240; o < n && p[o] != 255;) {
    int code = p[o];
    if (code == 0) { o++; continue; }
    if (o + 1 >= n) break;
    int len = p[o + 1];
    const unsigned char *v = p + o + 2;
    if (o + 2 + len > n) break;
    if (code == 53 && len >= 1) l->type = v[0];
    if (code == 1 && len >= 4) mcopy(l->mask, v, 4);
    if (code == 3 && len >= 4) mcopy(l->router, v, 4);
    if (code == 54 && len >= 4) mcopy(l->server, v, 4);
    if (code == 6) for (int k = 0; k + 4 <= len && l->ndns < 3; k += 4) mcopy(l->dns[l->ndns++], v + k, 4);
    o += 2 + len;
  }
  return l->type != 0;
}

/* Sends one message and waits (SO_RCVTIMEO) for a reply of type want. */
static int dhcp_exchange(int sock, const unsigned char *msg, int len, unsigned xid, int want, Lease *l) {
  static unsigned char buf[1500];
  struct sockaddr_in4 to;
  mzero(&to, sizeof(to));
  to.family = 2; to.port = (unsigned short)(67 << 8);
  to.addr[0] = to.addr[1] = to.addr[2] = to.addr[3] = 255;
  if (sys6(SYS_sendto, sock, (slong)msg, len, 0, (slong)&to, sizeof(to)) < 0) return 0;
  for (int k = 0; k < 8; k++) {
    long n = sys6(SYS_recvfrom, sock, (slong)buf, sizeof(buf), 0, 0, 0);
    if (n < 0) return 0; /* timeout */
    if (dhcp_parse(buf, n, xid, l) && (l->type == want || l->type == 6 /* NAK */)) return l->type == want;
  }
  return 0;
}

static int prefix_len(const unsigned char m[4]) {
  int n = 0;
  for (int k = 0; k < 4; k++) for (int b = 7; b >= 0; b--) if ((m[k] >> b) & 1) n++;
  return n ? n : 24;
}

static void put_ip(char *out, int *o, const unsigned char ip[4]) {
  for (int k = 0; k < 4; k++) {
    int v = ip[k];
    if (v >= 100) out[(*o)++] = (char)('0' + v / 100);
    if (v >= 10) out[(*o)++] = (char)('0' + v / 10 % 10);
    out[(*o)++] = (char)('0' + v % 10);
    if (k < 3) out[(*o)++] = '.';
  }
}

static void write_file(const char *path, const char *data, int len) {
  slong fd = SYS(SYS_openat, AT_FDCWD, path, 01 | 0100 | 01000 /* WRONLY|CREAT|TRUNC */, 0644, 0);
  if (fd < 0) { out("init: cannot write "); out(path); out("\n"); return; }
  SYS(SYS_write, fd, data, len, 0, 0);
  SYS(SYS_close, fd, 0, 0, 0, 0);
}

static int add_default_route(int sock, const unsigned char gw[4]) {
  unsigned char rt[112];
  mzero(rt, sizeof(rt));
  rt[8] = 2;                 /* rt_dst: AF_INET 0.0.0.0 */
  rt[24] = 2;                /* rt_gateway */
  mcopy(rt + 28, gw, 4);
  rt[40] = 2;                /* rt_genmask 0.0.0.0 */
  rt[56] = 1 | 2;            /* RTF_UP | RTF_GATEWAY */
  return (int)SYS(SYS_ioctl, sock, 0x890b /* SIOCADDRT */, rt, 0, 0);
}

static void apply_lease(int sock, const Lease *l) {
  static char text[256];
  int o = 0;
  if (if_set_ip4(sock, "eth0", l->yiaddr, prefix_len(l->mask)) < 0) out("init: cannot set eth0 address\n");
  if ((l->router[0] | l->router[1] | l->router[2] | l->router[3]) && add_default_route(sock, l->router) < 0)
    out("init: cannot add default route\n");
  SYS(SYS_mkdirat, AT_FDCWD, "/etc", 0755, 0, 0);
  for (int k = 0; k < l->ndns; k++) {
    mcopy(text + o, "nameserver ", 11); o += 11;
    put_ip(text, &o, l->dns[k]);
    text[o++] = '\n';
  }
  write_file("/etc/resolv.conf", text, o);
  static const char hosts[] = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  write_file("/etc/hosts", hosts, sizeof(hosts) - 1);
  out("init: eth0 ");
  o = 0;
  put_ip(text, &o, l->yiaddr);
  text[o] = 0;
  out(text);
  out(" (DHCP)\n");
}

/* Returns 0 when eth0 was configured. */
static int dhcp_eth0(int ifsock) {
  unsigned char mac[6];
  static unsigned char msg[400];
  Lease offer, ack;
  if (get_mac(ifsock, "eth0", mac) < 0) return -1;
  slong sock = SYS(SYS_socket, 2, 2, 0, 0, 0);
  if (sock < 0) return -1;
  int one = 1;
  slong tv[2] = {2, 0};
  sys6(SYS_setsockopt, sock, SOL_SOCKET, SO_BROADCAST, (slong)&one, sizeof(one), 0);
  sys6(SYS_setsockopt, sock, SOL_SOCKET, SO_BINDTODEVICE, (slong)"eth0", 5, 0);
  sys6(SYS_setsockopt, sock, SOL_SOCKET, SO_RCVTIMEO, (slong)tv, sizeof(tv), 0);
  struct sockaddr_in4 me;
  mzero(&me, sizeof(me));
  me.family = 2; me.port = (unsigned short)(68 << 8);
  int rc = -1;
  if (SYS(SYS_bind, sock, &me, sizeof(me), 0, 0) == 0) {
    unsigned xid = ((unsigned)mac[2] << 24 | (unsigned)mac[3] << 16 | (unsigned)mac[4] << 8 | mac[5]) ^ 0x63327700u;
    for (int attempt = 0; attempt < 4 && rc; attempt++) {
      int len = dhcp_build(msg, 1, xid, mac, 0);
      if (!dhcp_exchange((int)sock, msg, len, xid, 2, &offer)) continue;
      len = dhcp_build(msg, 3, xid, mac, &offer);
      if (!dhcp_exchange((int)sock, msg, len, xid, 5, &ack)) continue;
      if (!(ack.server[0] | ack.server[1] | ack.server[2] | ack.server[3])) mcopy(ack.server, offer.server, 4);
      apply_lease(ifsock, &ack);
      rc = 0;
    }
  }
  SYS(SYS_close, sock, 0, 0, 0, 0);
  if (rc) out("init: DHCP on eth0 failed\n");
  return rc;
}
