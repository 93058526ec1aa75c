/* Converted-module mode: the bundle descriptor (bundle.h), upstream's
 * module command line, and the pre-opened directories as 9p shares. */
#include "bundle.h"
#include "opts.h"
#include "virtio.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __wasi__
#include <wasi/api.h>
#endif

/* Patched by the converter; the initializer is the only copy of the magic. */
volatile struct c2w_bundle c2w_bundle = {.magic = "C2W-BUNDLE-V1", .version = 1};

int bundle_active(void) { return c2w_bundle.kernel_size != 0; }

/* Copies a NUL-terminated string out of the (volatile) bundle. */
static void bundle_str(char *dst, size_t cap, const volatile char *src, size_t n) {
  size_t k = 0;
  for (; k < n && k + 1 < cap && src[k]; k++) dst[k] = src[k];
  dst[k] = 0;
}

/* The linear-memory address the converter wrote (wasm32: a pointer). */
static const uint8_t *bundle_mem(uint32_t addr) { return (const uint8_t *)(uintptr_t)addr; }

static void module_usage(void) {
  emu_log("usage: MODULE [--entrypoint CMD] [--no-stdin] [--net=socket[=listenfd=N]] [--mac MAC]\n"
          "              [--] [COMMAND] [ARG...]\n"
          "  --entrypoint CMD  replaces the image's entrypoint (and drops its cmd)\n"
          "  --no-stdin        do not read the console from stdin\n"
          "  --net=socket      virtio-net over the listening socket on fd 3 (or listenfd=N)\n"
          "  --mac MAC         guest MAC address\n"
          "  COMMAND ARG...    replaces the image's cmd\n");
}

/* "-no-stdin", "--no-stdin", "...=true", "...=false": 1/0, or -1 if a is not that flag. */
static int no_stdin_flag(const char *a) {
  a += a[1] == '-' ? 2 : 1;
  if (strncmp(a, "no-stdin", 8) != 0) return -1;
  a += 8;
  if (!*a || !strcmp(a, "=true") || !strcmp(a, "=1")) return 1;
  if (!strcmp(a, "=false") || !strcmp(a, "=0")) return 0;
  return -1;
}

static int module_opt(int argc, char **argv, int *k, Options *o) {
  const char *v, *a = argv[*k];
  int b;
  if ((v = opt_value(argc, argv, k, "--entrypoint"))) {
    o->entrypoint[0] = (char *)v;
    o->n_entrypoint = 1;
  } else if ((v = opt_value(argc, argv, k, "--net"))) {
    if (!parse_net_value(v, &o->net_fd)) return 0;
  } else if ((v = opt_value(argc, argv, k, "--mac"))) {
    if (!virtio_net_parse_mac(v, o->mac)) { emu_log("c2w: bad --mac %s\n", v); return 0; }
  } else if ((b = no_stdin_flag(a)) >= 0) {
    o->no_stdin = b;
  } else if (!strcmp(a, "-h") || !strcmp(a, "-help") || !strcmp(a, "--help")) {
    module_usage();
    exit(0);
  } else {
    emu_log("c2w: unknown or incomplete option %s\n", a);
    module_usage();
    return 0;
  }
  return 1;
}

/* Options stop at the first non-option or after "--"; the rest is COMMAND ARG... */
int module_parse_args(int argc, char **argv, int start, Options *o) {
  int k = start;
  for (; k < argc; k++) {
    const char *a = argv[k];
    if (!strcmp(a, "--")) { k++; break; }
    if (a[0] != '-' || a[1] == 0) break;
    if (!module_opt(argc, argv, &k, o)) return 0;
  }
  o->args = argv + k;
  o->n_args = argc - k;
  return 1;
}

#ifdef __wasi__
#define MAX_PREOPEN_FD 1024

/* The name of pre-opened directory fd into buf (at most cap-1 bytes), or 0
 * when fd is not a pre-open; -1 when there are no more (EBADF). */
static int preopen_name(int fd, char *buf, size_t cap) {
  __wasi_prestat_t ps;
  __wasi_errno_t e = __wasi_fd_prestat_get((__wasi_fd_t)fd, &ps);
  if (e == __WASI_ERRNO_BADF) return -1;
  if (e != 0 || ps.tag != __WASI_PREOPENTYPE_DIR) return 0;
  size_t n = ps.u.dir.pr_name_len;
  if (n == 0 || n >= cap) return 0;
  if (__wasi_fd_prestat_dir_name((__wasi_fd_t)fd, (uint8_t *)buf, n) != 0) return 0;
  buf[n] = 0;
  return buf[0] != 0;
}

/* The external rootfs: external_name opened in the first pre-opened
 * directory that has it. Returns the pre-open's fd (its directory is not
 * shared), or -1 after a message. */
static int open_external_rootfs(Options *o) {
  static char name[129];
  char dir[256];
  bundle_str(name, sizeof(name), c2w_bundle.external_name, sizeof(c2w_bundle.external_name));
  if (!name[0] || name[0] == '/' || strstr(name, "..")) {
    emu_log("c2w: bad external rootfs name '%s'\n", name);
    return -1;
  }
  for (int fd = 3; fd < MAX_PREOPEN_FD; fd++) {
    int r = preopen_name(fd, dir, sizeof(dir));
    if (r < 0) break;
    if (r == 0) continue;
    int f = openat(fd, name, O_RDONLY);
    if (f >= 0) {
      o->blk_fd = f;
      o->blk.path = name;
      return fd;
    }
  }
  emu_log("c2w: rootfs %s not found in any pre-opened directory (e.g. --dir DIR::/pack)\n", name);
  return -1;
}

/* The guest path of a pre-open: its name, absolute, without a trailing '/'.
 * 0 for names that are no place to mount ("." and "/"). */
static int guest_path_of(const char *name, char *out, size_t cap) {
  size_t n = strlen(name);
  while (n > 1 && name[n - 1] == '/') n--;
  if (name[0] == '.' && (n == 1 || name[1] == '/')) return 0;
  if (n == 1 && name[0] == '/') return 0;
  size_t lead = name[0] != '/';
  if (n + lead + 1 > cap) return 0;
  out[0] = '/';
  memcpy(out + lead, name, n);
  out[n + lead] = 0;
  return 1;
}

/* Every pre-opened directory but skip_fd: a read-write 9p share "wasiN"
 * that init mounts at the pre-open's name. */
static int add_preopen_shares(Options *o, int skip_fd) {
  static char names[MAX_SHARES][256], paths[MAX_SHARES][258], tags[MAX_SHARES][12];
  char name[256], path[258];
  int n = 0;
  for (int fd = 3; fd < MAX_PREOPEN_FD; fd++) {
    int r = preopen_name(fd, name, sizeof(name));
    if (r < 0) break;
    if (r == 0 || fd == skip_fd || !guest_path_of(name, path, sizeof(path))) continue;
    if (o->n_shares == MAX_SHARES || o->n_mounts == MAX_SHARES) {
      emu_log("c2w: more than %d pre-opened directories; %s is not shared\n", MAX_SHARES, name);
      continue;
    }
    memcpy(names[n], name, sizeof(name));
    memcpy(paths[n], path, sizeof(path));
    emu_snprintf(tags[n], sizeof(tags[n]), "wasi%d", n);
    o->p9_tag[o->n_shares] = tags[n];
    o->p9_dir[o->n_shares] = names[n];
    o->p9_ro[o->n_shares++] = 0;
    o->mount_tag[o->n_mounts] = tags[n];
    o->mount_path[o->n_mounts++] = paths[n];
    n++;
  }
  return 1;
}
#endif

/* Kernel, initrd, rootfs, memory and command line from the bundle. */
static int bundle_machine(Options *o) {
  static char cmdline[513];
  uint32_t mib = c2w_bundle.memory_mib;
  if (mib) {
    if (mib < 16 || mib > 2048) { emu_log("c2w: bad bundle memory_mib %u (16..2048)\n", (unsigned)mib); return 0; }
    o->mem_mib = mib;
  }
  o->kernel.mem = bundle_mem(c2w_bundle.kernel_addr);
  o->kernel.size = c2w_bundle.kernel_size;
  if (c2w_bundle.initrd_size) {
    o->initrd.mem = bundle_mem(c2w_bundle.initrd_addr);
    o->initrd.size = c2w_bundle.initrd_size;
  }
  if (!(c2w_bundle.flags & BUNDLE_FLAG_EXTERNAL_ROOTFS) && c2w_bundle.rootfs_size) {
    o->blk.mem = bundle_mem(c2w_bundle.rootfs_addr);
    o->blk.size = c2w_bundle.rootfs_size;
  }
  bundle_str(cmdline, sizeof(cmdline), c2w_bundle.cmdline, sizeof(c2w_bundle.cmdline));
  if (cmdline[0]) o->append = cmdline;
  return 1;
}

int bundle_options(int argc, char **argv, Options *o) {
  options_init(o);
  if (!bundle_machine(o) || !module_parse_args(argc, argv, 1, o)) return 0;
#ifdef __wasi__
  int skip_fd = -1;
  if (c2w_bundle.flags & BUNDLE_FLAG_EXTERNAL_ROOTFS) {
    skip_fd = open_external_rootfs(o);
    if (skip_fd < 0) return 0;
  }
  return add_preopen_shares(o, skip_fd);
#else
  if (c2w_bundle.flags & BUNDLE_FLAG_EXTERNAL_ROOTFS) {
    emu_log("c2w: external rootfs needs WASI pre-opened directories\n");
    return 0;
  }
  return 1;
#endif
}
