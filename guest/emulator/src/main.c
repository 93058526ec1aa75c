/* c2w-java guest emulator: command line, machine setup and the main loop. */
#include "emu.h"
#include "virtio.h"
#include "opts.h"
#include "bundle.h"
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#define SLICE 20000


/* emu_log formats into 512 bytes: the usage text comes in parts */
static void usage(void) {
  emu_log("usage: c2w-emu [options] KERNEL\n"
          "  --memory MiB        guest RAM (default 256)\n"
          "  --initrd FILE       initramfs image\n"
          "  --append ARGS       kernel command line\n"
          "  --max-insns N       stop with exit code 125 after N instructions\n");
  emu_log(
          "  --net=socket        virtio-net over the listening socket on fd 3\n"
          "  --net=socket=listenfd=N  ... on fd N\n"
          "  --9p TAG=DIR        export host directory DIR as 9p TAG (--9p-ro: read-only;\n"
          "                      repeatable, up to 16 shares)\n"
          "  --mac MAC           guest MAC (default 02:00:00:00:00:01)\n"
          "  --blk FILE          read-only virtio-blk disk (guest /dev/vda) from FILE\n");
  emu_log("run configuration for the guest's init (see guest/README.md):\n"
          "  --env KEY=VALUE     environment variable for the command (repeatable; under\n"
          "                      WASI every variable of the module's environment too)\n"
          "  --entrypoint WORD   entrypoint word (repeatable); replaces the default command\n"
          "  --mount TAG=PATH    init mounts 9p share TAG at PATH (repeatable)\n"
          "  -- ARGS...          arguments for the command\n");
  emu_log("  --stats             print instruction count and MIPS to stderr (every 100 M\n"
          "                      instructions and at exit)\n"
          "  --dispatch=MODE     inline (default): frequent instructions run inside one\n"
          "                      big loop; calls: one small call per instruction, faster\n"
          "                      on the JVM (Chicory). Env C2W_EMU_DISPATCH sets the default\n"
          "  -v                  verbose (repeat for traps)\n");
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  if (!s || !*s) return 0;
  *out = strtoull(s, &end, 0);
  return *end == 0;
}

/* "--name=V", "--name V", and the single-dash forms upstream guests accept. */
const char *opt_value(int argc, char **argv, int *k, const char *name) {
  const char *a = argv[*k];
  if (a[0] != '-') return 0;
  a += a[1] == '-' ? 2 : 1;
  const char *nm = name + 2; /* name is given as "--x" */
  size_t n = strlen(nm);
  if (strncmp(a, nm, n) != 0) return 0;
  a += n;
  if (*a == '=') return a + 1;
  if (*a == 0 && *k + 1 < argc) return argv[++*k];
  return 0;
}

/* The TAG of "TAG=VALUE" copied into buf (tags are short: 1..63 bytes), or
 * NULL when there is no '=', no tag, or a tag that does not fit. */
static const char *tag_of(char buf[64], const char *v) {
  const char *eq = strchr(v, '=');
  if (!eq || eq == v || eq - v >= 64) return 0;
  memcpy(buf, v, (size_t)(eq - v));
  buf[eq - v] = 0;
  return buf;
}

/* TAG=DIR (repeatable, up to MAX_SHARES) */
static int parse_share(const char *v, Options *o, int ro) {
  static char tags[MAX_SHARES][64];
  if (o->n_shares == MAX_SHARES) { emu_log("c2w-emu: at most %d 9p shares\n", MAX_SHARES); return 0; }
  const char *tag = tag_of(tags[o->n_shares], v), *eq = strchr(v, '=');
  if (!tag || !eq[1]) {
    emu_log("c2w-emu: bad 9p share %s (TAG=DIR)\n", v);
    return 0;
  }
  o->p9_tag[o->n_shares] = tag;
  o->p9_dir[o->n_shares] = eq + 1;
  o->p9_ro[o->n_shares] = ro;
  o->n_shares++;
  return 1;
}

#ifdef __wasi__
/* Marks the module as our emulator for hosts that tune for it: the JVM runner
 * (c2w-net --invoke) sees this export and sets C2W_EMU_DISPATCH=calls, which
 * runs faster there (see guest/README.md); other engines ignore it. */
__attribute__((export_name("c2w_emulator"))) int c2w_emulator(void) { return 1; }
#endif

static int set_dispatch(const char *v) {
  if (!strcmp(v, "inline")) cpu_dispatch_calls = 0;
  else if (!strcmp(v, "calls")) cpu_dispatch_calls = 1;
  else { emu_log("c2w-emu: bad --dispatch %s (inline or calls)\n", v); return 0; }
  return 1;
}

void options_init(Options *o) {
  memset(o, 0, sizeof(*o));
  o->mem_mib = 256;
  o->isa = "rv64imafdc_zicsr_zifencei";
  o->net_fd = -1;
  o->blk_fd = -1;
  virtio_net_parse_mac("02:00:00:00:00:01", o->mac);
}

/* "socket" (fd 3) or "socket=listenfd=N" */
int parse_net_value(const char *v, int *fd) {
  uint64_t n = 3;
  if (strcmp(v, "socket") != 0 &&
      (strncmp(v, "socket=listenfd=", 16) != 0 || !parse_u64(v + 16, &n) || n > 1000000)) {
    emu_log("c2w-emu: bad --net %s (socket or socket=listenfd=N)\n", v);
    return 0;
  }
  *fd = (int)n;
  return 1;
}

static int check_mounts(const Options *o);

static NOINLINE int parse_args(int argc, char **argv, Options *o) {
  options_init(o);
  const char *env = getenv("C2W_EMU_DISPATCH");
  if (env && *env && !set_dispatch(env)) return 0;
  for (int k = 1; k < argc; k++) {
    const char *v;
    if ((v = opt_value(argc, argv, &k, "--memory"))) {
      if (!parse_u64(v, &o->mem_mib) || o->mem_mib < 16 || o->mem_mib > 2048) {
        emu_log("c2w-emu: bad --memory %s (16..2048 MiB)\n", v);
        return 0;
      }
    } else if ((v = opt_value(argc, argv, &k, "--initrd"))) o->initrd.path = v;
    else if ((v = opt_value(argc, argv, &k, "--append"))) o->append = v;
    else if ((v = opt_value(argc, argv, &k, "--isa"))) o->isa = v;
    else if ((v = opt_value(argc, argv, &k, "--max-insns"))) {
      if (!parse_u64(v, &o->max_insns)) { emu_log("c2w-emu: bad --max-insns\n"); return 0; }
    } else if ((v = opt_value(argc, argv, &k, "--net"))) {
      if (!parse_net_value(v, &o->net_fd)) return 0;
    } else if ((v = opt_value(argc, argv, &k, "--blk"))) o->blk.path = v;
    else if (!strcmp(argv[k], "--as-module")) {
      /* test aid: the rest of argv as a converted module's (bundle.c) */
      if (!module_parse_args(argc, argv, k + 1, o)) return 0;
      break;
    } else if ((v = opt_value(argc, argv, &k, "--9p"))) {
      if (!parse_share(v, o, 0)) return 0;
    } else if ((v = opt_value(argc, argv, &k, "--9p-ro"))) {
      if (!parse_share(v, o, 1)) return 0;
    } else if ((v = opt_value(argc, argv, &k, "--mac"))) {
      if (!virtio_net_parse_mac(v, o->mac)) { emu_log("c2w-emu: bad --mac %s\n", v); return 0; }
    } else if ((v = opt_value(argc, argv, &k, "--dispatch"))) {
      if (!set_dispatch(v)) return 0;
    } else if ((v = opt_value(argc, argv, &k, "--env"))) {
      if (!strchr(v, '=') || *v == '=' || o->n_env == MAX_RUN_ITEMS) {
        emu_log("c2w-emu: bad --env %s (KEY=VALUE, at most %d)\n", v, MAX_RUN_ITEMS);
        return 0;
      }
      o->env[o->n_env++] = v;
    } else if ((v = opt_value(argc, argv, &k, "--entrypoint"))) {
      if (o->n_entrypoint == MAX_RUN_ITEMS) { emu_log("c2w-emu: too many --entrypoint words\n"); return 0; }
      o->entrypoint[o->n_entrypoint++] = (char *)v;
    } else if ((v = opt_value(argc, argv, &k, "--mount"))) {
      static char mtags[MAX_SHARES][64];
      const char *tag = o->n_mounts < MAX_SHARES ? tag_of(mtags[o->n_mounts], v) : 0;
      if (!tag || strchr(v, '=')[1] != '/') {
        emu_log("c2w-emu: bad --mount %s (TAG=/guest/path, at most %d)\n", v, MAX_SHARES);
        return 0;
      }
      o->mount_tag[o->n_mounts] = tag;
      o->mount_path[o->n_mounts++] = strchr(v, '=') + 1;
    } else if (!strcmp(argv[k], "--")) {
      o->args = argv + k + 1;
      o->n_args = argc - k - 1;
      break;
    } else if (!strcmp(argv[k], "--stats")) o->stats = 1;
    else if (!strcmp(argv[k], "-v")) o->verbose++;
    else if (!strcmp(argv[k], "-h") || !strcmp(argv[k], "--help")) { usage(); exit(0); }
    else if (argv[k][0] == '-') { emu_log("c2w-emu: unknown option %s\n", argv[k]); return 0; }
    else if (!o->kernel.path) o->kernel.path = argv[k];
    else { emu_log("c2w-emu: unexpected argument %s\n", argv[k]); return 0; }
  }
  if (!o->kernel.path) { usage(); return 0; }
  return check_mounts(o);
}

static int check_mounts(const Options *o) {
  for (int k = 0; k < o->n_mounts; k++) {
    int found = 0;
    for (int j = 0; j < o->n_shares; j++) found |= !strcmp(o->mount_tag[k], o->p9_tag[j]);
    if (!found) { emu_log("c2w-emu: --mount %s: no --9p share with that tag\n", o->mount_tag[k]); return 0; }
  }
  return 1;
}

/* The "info" text for init: the options above, the WASI environment, the
 * host's wall clock. NULL (after a message) if it does not fit. */
static char *build_info(const Options *o) {
  static char info[INFO_MAX];
  const char *env[2 * MAX_RUN_ITEMS];
  int n_env = 0;
#ifdef __wasi__
  extern char **environ;
  /* C2W_EMU_* variables configure the emulator, not the container */
  for (char **e = environ; e && *e && n_env < MAX_RUN_ITEMS; e++)
    if (strncmp(*e, "C2W_EMU_", 8) != 0) env[n_env++] = *e;
#endif
  for (int k = 0; k < o->n_env; k++) env[n_env++] = o->env[k];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  RunInfo ri = {(uint64_t)ts.tv_sec, o->net_fd >= 0 ? o->mac : 0, env, n_env,
                o->entrypoint, o->args, o->n_entrypoint, o->n_args,
                o->mount_tag, o->mount_path, o->n_mounts};
  if (!info_build(info, sizeof(info), &ri)) {
    emu_log("c2w-emu: run configuration (environment, arguments) over %d bytes\n", INFO_MAX);
    return 0;
  }
  return info;
}

/* Size of a host file, or -1. */
static long file_size(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return -1;
  return (long)st.st_size;
}

/* Size of a blob (file or memory), or -1. */
static long blob_size(const Blob *b) {
  return b->mem ? (long)b->size : file_size(b->path);
}

/* Reads a whole file into dst (size bytes); 0 after a message. */
static int read_file_into(const char *path, uint8_t *dst, long size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) { emu_log("c2w-emu: cannot open %s\n", path); return 0; }
  long got = 0;
  while (got < size) {
    ssize_t n = read(fd, dst + got, (size_t)(size - got));
    if (n <= 0) break;
    got += n;
  }
  close(fd);
  if (got != size) { emu_log("c2w-emu: short read on %s\n", path); return 0; }
  return 1;
}

/* Loads a whole blob into guest RAM at pa; returns its size or -1. A blob
 * in memory (converted module) is copied just as a file is read. */
static int64_t load_blob(Machine *m, const Blob *b, const char *what, uint64_t pa, uint64_t limit) {
  const char *name = b->path ? b->path : what;
  long size = blob_size(b);
  if (size < 0) { emu_log("c2w-emu: cannot open %s\n", name); return -1; }
  uint8_t *dst = phys_ram_ptr(m, pa, (uint64_t)size);
  if (!dst || (uint64_t)size > limit) {
    emu_log("c2w-emu: %s (%ld bytes) does not fit in guest RAM\n", name, size);
    return -1;
  }
  if (b->mem) memcpy(dst, b->mem, (size_t)size);
  else if (!read_file_into(b->path, dst, size)) return -1;
  return size;
}

static int exitdev_read(void *opaque, uint64_t off, int size, uint64_t *val) {
  *val = 0;
  return 1;
}
static int exitdev_write(void *opaque, uint64_t off, int size, uint64_t val) {
  Machine *m = opaque;
  if (off == 0 && size == 4 && !m->cpu.halted) {
    m->cpu.halted = 1;
    m->cpu.exit_code = (int)(val & 0xff);
    END_SLICE(&m->cpu);
  }
  return 1;
}

/* The read-only disk (guest /dev/vda), if any: bytes in memory (bundle),
 * a file opened already (bundle, external rootfs) or --blk FILE. */
static int add_blk(Machine *m, const Options *o, int vidx) {
  int fd = o->blk_fd;
  if (!o->blk.mem && fd < 0 && o->blk.path) {
    fd = open(o->blk.path, O_RDONLY);
    if (fd < 0) { emu_log("c2w-emu: cannot open %s\n", o->blk.path); return 0; }
  }
  if (!o->blk.mem && fd < 0) return 1;
  uint64_t size = o->blk.size;
  struct stat st;
  if (!o->blk.mem) {
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      emu_log("c2w-emu: %s is not a regular file\n", o->blk.path ? o->blk.path : "disk image");
      return 0;
    }
    size = (uint64_t)st.st_size;
  }
  return virtio_blk_new(m, vidx, vidx + 1, o->blk.mem, fd, size) != 0;
}

static NOINLINE int machine_setup(Machine *m, const Options *o) {
  memset(m, 0, sizeof(*m));
  m->verbose = o->verbose;
  m->ram_size = o->mem_mib << 20;
  m->console_eof = o->no_stdin; /* --no-stdin: never read the console */
  m->ram = calloc(1, (size_t)m->ram_size);
  if (!m->ram) { emu_log("c2w-emu: cannot allocate %llu MiB of guest RAM\n", (unsigned long long)o->mem_mib); return 0; }
  plic_new(m, 31);
  machine_add_mmio(m, EXITDEV_BASE, EXITDEV_SIZE, m, exitdev_read, exitdev_write);
  virtio_console_new(m, 0, 1);
  virtio_rng_new(m, 1, 2);
  int vidx = 2;
  if (o->net_fd >= 0) {
    if (!virtio_net_new(m, vidx, vidx + 1, o->net_fd, o->mac)) return 0;
    vidx++;
  }
  for (int k = 0; k < o->n_shares; k++, vidx++)
    if (!virtio_9p_new(m, vidx, vidx + 1, o->p9_tag[k], o->p9_dir[k], o->p9_ro[k])) return 0;
  if (!add_blk(m, o, vidx)) return 0;
  uint64_t kbase = RAM_BASE + KERNEL_OFFSET;
  uint64_t dtb_pa = RAM_BASE + m->ram_size - 0x10000;
  uint64_t initrd_start = 0, initrd_end = 0;
  if (o->initrd.path || o->initrd.mem) {
    long isz = blob_size(&o->initrd);
    if (isz < 0) { emu_log("c2w-emu: cannot open %s\n", o->initrd.path); return 0; }
    initrd_start = (dtb_pa - (uint64_t)isz) & ~0xfffULL;
    if (initrd_start < kbase + 0x1000000) { emu_log("c2w-emu: initrd too large for RAM\n"); return 0; }
    if (load_blob(m, &o->initrd, "initrd", initrd_start, dtb_pa - initrd_start) < 0) return 0;
    initrd_end = initrd_start + (uint64_t)isz;
  }
  uint64_t klimit = (initrd_start ? initrd_start : dtb_pa) - kbase;
  if (load_blob(m, &o->kernel, "kernel", kbase, klimit) < 0) return 0;
  const char *info = build_info(o);
  if (!info) return 0;
  size_t dsz = fdt_build(m, phys_ram_ptr(m, dtb_pa, 0x10000), 0x10000, o->append, initrd_start,
                         initrd_end, virtio_count(), o->isa, info);
  if (!dsz) { emu_log("c2w-emu: device tree too large\n"); return 0; }
  cpu_reset(&m->cpu, m, kbase);
  m->cpu.x[10] = 0;      /* a0: hart id */
  m->cpu.x[11] = dtb_pa; /* a1: device tree */
  m->time_origin_ns = host_now_ns();
  return 1;
}

/* Sleeps until the next timer deadline or host input while the hart waits. */
static uint64_t g_idle_waits, g_slices;

static void idle_wait(Machine *m) {
  g_idle_waits++;
  Cpu *c = &m->cpu;
  uint64_t now = machine_time(m);
  uint64_t ticks = c->stimecmp > now ? c->stimecmp - now : 0;
  uint64_t ns = ticks > 100000000ULL ? 1000000000ULL : ticks * (1000000000ULL / TIMEBASE_HZ);
  if (ns) host_wait(ns, !m->console_eof);
}

/* --stats: MIPS of every 100 M instructions (steady state after warm-up) */
#define STATS_INTERVAL 100000000ULL
static uint64_t g_interval_t0, g_interval_n0;

static void stats_interval(Cpu *c, uint64_t *next) {
  uint64_t now = host_now_ns();
  uint64_t us = (now - g_interval_t0) / 1000;
  uint64_t mips10 = us ? (c->insn_count - g_interval_n0) * 10 / us : 0;
  emu_log("c2w-emu: %llu M instructions: %llu.%llu MIPS over the last %llu M\n",
          (unsigned long long)(c->insn_count / 1000000), (unsigned long long)(mips10 / 10),
          (unsigned long long)(mips10 % 10),
          (unsigned long long)((c->insn_count - g_interval_n0) / 1000000));
  g_interval_t0 = now;
  g_interval_n0 = c->insn_count;
  *next = c->insn_count + STATS_INTERVAL;
}

#define CLOCK_EVERY 2000

static int run(Machine *m, const Options *o) {
  Cpu *c = &m->cpu;
  uint64_t last_poll = 0, next_report = STATS_INTERVAL;
  g_interval_t0 = host_now_ns();
  uint64_t now = host_now_ns(), clock_insns = 0;
  while (!c->halted) {
    /* Read the host clock (a WASI call) at most every CLOCK_EVERY
     * instructions: slices often end early (traps, CSR writes); the timer
     * interrupt is then at most that late. Always around wfi. */
    if (c->wfi || c->insn_count - clock_insns >= CLOCK_EVERY) {
      now = host_now_ns();
      clock_insns = c->insn_count;
    }
    if (c->wfi || now - last_poll > 1000000) {
      if (c->wfi) idle_wait(m);
      virtio_poll(m);
      now = last_poll = host_now_ns();
      clock_insns = c->insn_count;
    }
    cpu_update_timer_irq_at(c, now);
    if (c->wfi && (c->sip & c->sie)) c->wfi = 0;
    if (c->wfi) continue;
    int irq = check_interrupts(c);
    if (irq >= 0) take_interrupt(c, irq);
    cpu_run(c, SLICE);
    g_slices++;
    if (o->stats && c->insn_count >= next_report) stats_interval(c, &next_report);
    host_console_flush();
    if (o->max_insns && c->insn_count >= o->max_insns) {
      emu_log("c2w-emu: instruction limit reached (pc=%llx)\n", (unsigned long long)c->pc);
      return 125;
    }
  }
  return c->exit_code;
}

int main(int argc, char **argv) {
  static Options o;
  static Machine m;
  int ok = bundle_active() ? bundle_options(argc, argv, &o) && check_mounts(&o) : parse_args(argc, argv, &o);
  if (!ok) return 2;
  if (!machine_setup(&m, &o)) return 1;
  uint64_t t0 = host_now_ns();
  int rc = run(&m, &o);
  host_console_flush();
  if (o.stats) {
    uint64_t us = (host_now_ns() - t0) / 1000;
    uint64_t mips10 = us ? m.cpu.insn_count * 10 / us : 0;
    emu_log("c2w-emu: %llu instructions in %llu ms = %llu.%llu MIPS, %llu idle waits, "
            "%llu slices, %llu code flushes, dispatch %s\n",
            (unsigned long long)m.cpu.insn_count, (unsigned long long)(us / 1000),
            (unsigned long long)(mips10 / 10), (unsigned long long)(mips10 % 10),
            (unsigned long long)g_idle_waits, (unsigned long long)g_slices,
            (unsigned long long)m.cpu.block_flushes, cpu_dispatch_calls ? "calls" : "inline");
  }
  return rc;
}
