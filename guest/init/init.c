/* c2w-java guest init (PID 1). Freestanding: raw Linux syscalls, no libc, no
 * floating point, so it runs on any RV64 core (built -march=rv64imac).
 *
 * Mounts /proc, /sys, /dev, /tmp and /run, reads the run configuration from
 * the host (config.c: clock, environment, 9p mounts, command), brings up lo
 * and eth0 (DHCP when the host turned networking on or with C2W_NET=dhcp, or
 * a static address from C2W_IP=a.b.c.d), then runs the command with
 * /dev/console as stdio, waits for it, reports its status and powers off.
 * With a disk (/dev/vda) the command runs in the container's root
 * filesystem: an overlay over the image's erofs (rootfs.c). */

typedef unsigned long ulong;
typedef long slong;

#define SYS_ioctl 29
#define SYS_socket 198
#define SYS_dup3 24
#define SYS_mkdirat 34
#define SYS_mount 40
#define SYS_openat 56
#define SYS_close 57
#define SYS_write 64
#define SYS_exit 93
#define SYS_reboot 142
#define SYS_sync 81
#define SYS_mmap 222
#define SYS_clone 220
#define SYS_execve 221
#define SYS_wait4 260
#define AT_FDCWD (-100)
#define O_RDWR 2
#define SIGCHLD 17

static slong sys6(slong n, slong a, slong b, slong c, slong d, slong e, slong f) {
  register slong a0 __asm__("a0") = a;
  register slong a1 __asm__("a1") = b;
  register slong a2 __asm__("a2") = c;
  register slong a3 __asm__("a3") = d;
  register slong a4 __asm__("a4") = e;
  register slong a5 __asm__("a5") = f;
  register slong a7 __asm__("a7") = n;
  __asm__ volatile("ecall"
                   : "+r"(a0)
                   : "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a7)
                   : "memory");
  return a0;
}
#define SYS(n, a, b, c, d, e) sys6(n, (slong)(a), (slong)(b), (slong)(c), (slong)(d), (slong)(e), 0)

static ulong slen(const char *s) {
  ulong n = 0;
  while (s[n]) n++;
  return n;
}
static void out(const char *s) { SYS(SYS_write, 2, s, slen(s), 0, 0); }
static void out_num(slong v) {
  char b[24];
  int k = 23;
  int neg = v < 0;
  ulong u = neg ? (ulong)(-v) : (ulong)v;
  b[k] = 0;
  do { b[--k] = (char)('0' + u % 10); u /= 10; } while (u);
  if (neg) b[--k] = '-';
  out(b + k);
}

static void mount_fs(const char *src, const char *dst, const char *type) {
  SYS(SYS_mkdirat, AT_FDCWD, dst, 0755, 0, 0);
  slong r = SYS(SYS_mount, src, dst, type, 0, 0);
  if (r < 0 && r != -16 /* EBUSY: already mounted */) {
    out("init: mount "); out(dst); out(" failed: "); out_num(r); out("\n");
  }
}

/* ---- network interfaces ---- */
struct ifreq_s {
  char name[16];
  union {
    short flags;
    unsigned char addr[24]; /* struct sockaddr_in at the start */
  } u;
};

static void ifname(struct ifreq_s *r, const char *name) {
  for (int k = 0; k < 16; k++) r->name[k] = 0;
  for (int k = 0; k < 15 && name[k]; k++) r->name[k] = name[k];
  for (int k = 0; k < 24; k++) r->u.addr[k] = 0;
}

static int if_up(int sock, const char *name) {
  struct ifreq_s r;
  ifname(&r, name);
  if (SYS(SYS_ioctl, sock, 0x8913 /* SIOCGIFFLAGS */, &r, 0, 0) < 0) return -1;
  r.u.flags |= 1; /* IFF_UP */
  return (int)SYS(SYS_ioctl, sock, 0x8914 /* SIOCSIFFLAGS */, &r, 0, 0);
}

/* Parses a dotted IPv4 address into 4 bytes; returns 0 on bad input. */
static int parse_ip4(const char *s, unsigned char out[4]) {
  for (int k = 0; k < 4; k++) {
    int v = 0, digits = 0;
    while (*s >= '0' && *s <= '9' && digits < 3) { v = v * 10 + (*s++ - '0'); digits++; }
    if (!digits || v > 255) return 0;
    out[k] = (unsigned char)v;
    if (k < 3 && *s++ != '.') return 0;
  }
  return *s == 0;
}

static int if_set_ip4(int sock, const char *name, const unsigned char ip[4], int prefix) {
  struct ifreq_s r;
  ifname(&r, name);
  r.u.addr[0] = 2; /* AF_INET */
  for (int k = 0; k < 4; k++) r.u.addr[4 + k] = ip[k];
  if (SYS(SYS_ioctl, sock, 0x8916 /* SIOCSIFADDR */, &r, 0, 0) < 0) return -1;
  unsigned mask = prefix ? ~0u << (32 - prefix) : 0;
  for (int k = 0; k < 4; k++) r.u.addr[4 + k] = (unsigned char)(mask >> (24 - 8 * k));
  return (int)SYS(SYS_ioctl, sock, 0x891c /* SIOCSIFNETMASK */, &r, 0, 0);
}

static int strcmp_(const char *a, const char *b) {
  while (*a && *a == *b) { a++; b++; }
  return (unsigned char)*a - (unsigned char)*b;
}

static const char *getenv_(char **envp, const char *key) {
  for (; *envp; envp++) {
    const char *e = *envp, *k = key;
    while (*k && *e == *k) { e++; k++; }
    if (!*k && *e == '=') return e + 1;
  }
  return 0;
}

#include "dhcp.c"
#include "config.c"
#include "rootfs.c"

/* Brings up lo and eth0. Kernel command line words (passed to init as
 * environment): C2W_NET=dhcp configures eth0 by DHCP (and writes
 * /etc/resolv.conf and /etc/hosts); C2W_IP=a.b.c.d gives it a static /24. */
static const char *getenv2(char **envp, char **kenv, const char *key) {
  const char *v = getenv_(envp, key);
  return v ? v : getenv_(kenv, key);
}

/* envp: the command's environment, kenv: the kernel's (both are searched) */
static void setup_network(char **envp, char **kenv, int dhcp_on) {
  slong sock = SYS(SYS_socket, 2 /* AF_INET */, 2 /* SOCK_DGRAM */, 0, 0, 0);
  if (sock < 0) { out("init: no socket for interface setup\n"); return; }
  if_up((int)sock, "lo");
  if (if_up((int)sock, "eth0") == 0) {
    const char *ip = getenv2(envp, kenv, "C2W_IP"), *net = getenv2(envp, kenv, "C2W_NET");
    unsigned char a[4];
    if (ip && parse_ip4(ip, a)) {
      if (if_set_ip4((int)sock, "eth0", a, 24) < 0) out("init: cannot set eth0 address\n");
    } else if (ip) {
      out("init: bad C2W_IP "); out(ip); out("\n");
    } else if (dhcp_on || (net && !strcmp_(net, "dhcp"))) {
      dhcp_eth0((int)sock);
    }
  }
  SYS(SYS_close, sock, 0, 0, 0, 0);
}

/* Ends the machine with the command's exit status: the emulator's exit
 * device (0x100000, see guest/README.md) through /dev/mem; if that is not
 * available, a plain power-off (the emulator then exits 0). */
static void power_off(int status) {
  SYS(SYS_sync, 0, 0, 0, 0, 0);
  slong fd = SYS(SYS_openat, AT_FDCWD, "/dev/mem", 0x101002 /* O_RDWR|O_SYNC */, 0, 0);
  if (fd >= 0) {
    slong p = sys6(SYS_mmap, 0, 4096, 3 /* PROT_READ|WRITE */, 1 /* MAP_SHARED */, fd, 0x100000);
    if (p > 0 || p < -4095) *(volatile unsigned *)p = (unsigned)status;
    out("init: exit device unavailable\n");
  }
  SYS(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, 0, 0);
  for (;;) SYS(SYS_exit, 0, 0, 0, 0, 0);
}

static void setup_console(void) {
  slong fd = SYS(SYS_openat, AT_FDCWD, "/dev/console", O_RDWR, 0, 0);
  if (fd < 0) return;
  for (int k = 0; k < 3; k++)
    if (fd != k) SYS(SYS_dup3, fd, k, 0, 0, 0);
  if (fd > 2) SYS(SYS_close, fd, 0, 0, 0, 0);
}

/* execve, searching PATH (from envp) when the name has no '/'. */
static slong exec_path(char **argv, char **envp) {
  const char *name = argv[0];
  for (const char *p = name; *p; p++)
    if (*p == '/') return SYS(SYS_execve, name, argv, envp, 0, 0);
  const char *path = getenv_(envp, "PATH");
  slong r = -2; /* ENOENT */
  static char full[4096];
  while (path && *path) {
    ulong n = 0;
    while (path[n] && path[n] != ':') n++;
    ulong nl = slen(name);
    if (n + 1 + nl < sizeof(full)) {
      for (ulong k = 0; k < n; k++) full[k] = path[k];
      full[n] = '/';
      for (ulong k = 0; k <= nl; k++) full[n + 1 + k] = name[k];
      slong e = SYS(SYS_execve, full, argv, envp, 0, 0);
      if (e != -2) r = e; /* remember e.g. EACCES, keep looking */
    }
    path += n + (path[n] == ':');
  }
  return r;
}

/* Runs argv (in the container's root when rootfs is set), reaps every
 * child until it ends, returns its status. */
static int run(char **argv, char **envp, int rootfs) {
  slong pid = SYS(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) { out("init: fork failed\n"); return 127; }
  if (pid == 0) {
    if (rootfs) rootfs_enter();
    slong r = exec_path(argv, envp);
    out("init: cannot run "); out(argv[0]); out(": "); out_num(r); out("\n");
    /* found but not executable (EACCES, ENOEXEC, EPERM, EISDIR): 126, as docker */
    int not_exec = r == -13 || r == -8 || r == -1 || r == -21;
    SYS(SYS_exit, rootfs && not_exec ? 126 : 127, 0, 0, 0, 0);
  }
  int status = 0;
  for (;;) {
    slong w = SYS(SYS_wait4, -1, &status, 0, 0, 0);
    if (w == pid) break;
    if (w < 0 && w != -4 /* EINTR */) return 127;
  }
  if ((status & 0x7f) == 0) return (status >> 8) & 0xff;
  return 128 + (status & 0x7f);
}

int cmain(slong *sp) {
  int argc = (int)sp[0];
  char **argv = (char **)(sp + 1);
  char **envp = argv + argc + 1;
  mount_fs("devtmpfs", "/dev", "devtmpfs");
  setup_console();
  mount_fs("proc", "/proc", "proc");
  mount_fs("sysfs", "/sys", "sysfs");
  mount_fs("tmpfs", "/tmp", "tmpfs");
  mount_fs("tmpfs", "/run", "tmpfs");
  int rootfs = rootfs_present();
  if (rootfs && rootfs_prepare() < 0) {
    out("init: cannot mount the container's root filesystem\n");
    power_off(125);
  }
  load_config(envp, !rootfs);
  if (rootfs) rootfs_env_defaults();
  setup_network(cfg_env, envp, cfg_net);
  int status = 0;
  if (rootfs) {
    rootfs_write_etc();
    char **cmd = rootfs_command();
    if (cmd) status = run(cmd, cfg_env, 1);
    else { out("init: no command: the image has no entrypoint or cmd, and none was given\n"); status = 127; }
    if (status) { out("init: command exited with status "); out_num(status); out("\n"); }
    power_off(status);
  }
  char **cmd = config_command(argc, argv);
  if (cmd) {
    status = run(cmd, cfg_env, 0);
  } else {
    out("init: no command given (emulator: -- ARGS or --entrypoint; kernel command line: ... -- CMD ARGS)\n");
  }
  if (status) { out("init: command exited with status "); out_num(status); out("\n"); }
  power_off(status);
  return 0;
}

__asm__(".section .text._start\n"
        ".globl _start\n"
        "_start:\n"
        "  .option push\n"
        "  .option norelax\n"
        "  lla gp, __global_pointer$\n"
        "  .option pop\n"
        "  mv a0, sp\n"
        "  andi sp, sp, -16\n"
        "  call cmain\n"
        "1: j 1b\n");
