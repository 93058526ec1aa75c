/* The container's root filesystem (spec/INTERFACES.md section 3), included
 * by init.c. When the emulator gives a disk (/dev/vda: the image's erofs),
 * init mounts it read-only under a tmpfs overlay at /mnt/root, mounts the
 * usual API filesystems inside, reads the image configuration from the
 * initramfs (/c2w/image.conf), writes /etc/resolv.conf, /etc/hosts and
 * /etc/hostname into the overlay and runs the command chrooted there with
 * the image's workdir, user and environment (docker's rules for the
 * command: see rootfs_command). */

#define SYS_unlinkat 35
#define SYS_faccessat 48
#define SYS_chdir 49
#define SYS_chroot 51
#define SYS_setgid 144
#define SYS_setuid 146
#define SYS_setgroups 159
#define SYS_sethostname 161
#define MS_RDONLY 1
#define ROOT "/mnt/root"
#define IMAGE_CONF "/c2w/image.conf"
#define MAX_GROUPS 64

static char conf_buf[65536 + 1];
static char *img_entry[MAX_WORDS + 1], *img_cmd[MAX_WORDS + 1];
static int img_n_entry, img_n_cmd;
static const char *img_workdir = "/", *img_home, *img_hostname = "c2w";
static unsigned img_uid, img_gid, img_groups[MAX_GROUPS];
static int img_n_groups;

static int rootfs_present(void) { return SYS(SYS_faccessat, AT_FDCWD, "/dev/vda", 0, 0, 0) == 0; }

/* "/mnt/root" + path (absolute) in a static buffer. */
static char *in_root(const char *path) {
  static char buf[4096 + 16];
  ulong n = slen(path);
  if (n > 4096) n = 4096;
  mcopy(buf, ROOT, sizeof(ROOT) - 1);
  mcopy(buf + sizeof(ROOT) - 1, path, n);
  buf[sizeof(ROOT) - 1 + n] = 0;
  return buf;
}

/* mkdir dst, then mount; 0 on success (a failure is reported). */
static int mount_data(const char *src, const char *dst, const char *type, ulong flags, const char *data) {
  SYS(SYS_mkdirat, AT_FDCWD, dst, 0755, 0, 0);
  slong r = SYS(SYS_mount, src, dst, type, flags, data);
  if (r < 0) { out("init: mount "); out(type); out(" on "); out(dst); out(" failed: "); out_num(r); out("\n"); }
  return r < 0 ? -1 : 0;
}

/* erofs (ro) + tmpfs upper = overlay on /mnt/root, then proc, sys, dev,
 * dev/pts, dev/shm, tmp and run inside it. 0 on success. */
static int rootfs_mount(void) {
  SYS(SYS_mkdirat, AT_FDCWD, "/mnt", 0755, 0, 0);
  if (mount_data("/dev/vda", "/mnt/lower", "erofs", MS_RDONLY, 0) < 0) return -1;
  if (mount_data("tmpfs", "/mnt/rw", "tmpfs", 0, "mode=0755") < 0) return -1;
  SYS(SYS_mkdirat, AT_FDCWD, "/mnt/rw/upper", 0755, 0, 0);
  SYS(SYS_mkdirat, AT_FDCWD, "/mnt/rw/work", 0755, 0, 0);
  if (mount_data("overlay", ROOT, "overlay", 0,
                 "lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work") < 0) return -1;
  mount_data("proc", ROOT "/proc", "proc", 0, 0);
  mount_data("sysfs", ROOT "/sys", "sysfs", 0, 0);
  mount_data("devtmpfs", ROOT "/dev", "devtmpfs", 0, 0);
  mount_data("devpts", ROOT "/dev/pts", "devpts", 0, "newinstance,ptmxmode=0666,mode=0620");
  mount_data("tmpfs", ROOT "/dev/shm", "tmpfs", 0, "mode=1777");
  mount_data("tmpfs", ROOT "/tmp", "tmpfs", 0, "mode=1777");
  mount_data("tmpfs", ROOT "/run", "tmpfs", 0, "mode=0755");
  return 0;
}

/* Decimal number at *s (advanced past it); -1 when there is none. */
static long parse_num(char **s) {
  long v = 0;
  int digits = 0;
  while (**s >= '0' && **s <= '9' && digits < 10) { v = v * 10 + (*(*s)++ - '0'); digits++; }
  return digits ? v : -1;
}

/* "UID GID [G1,G2,...]" */
static void parse_user(char *s) {
  long uid = parse_num(&s), gid;
  while (*s == ' ') s++;
  gid = parse_num(&s);
  if (uid < 0 || gid < 0) { out("init: bad user: line in " IMAGE_CONF "\n"); return; }
  img_uid = (unsigned)uid;
  img_gid = (unsigned)gid;
  while (*s == ' ') s++;
  while (*s && img_n_groups < MAX_GROUPS) {
    long g = parse_num(&s);
    if (g < 0) break;
    img_groups[img_n_groups++] = (unsigned)g;
    if (*s == ',') s++;
  }
}

static void conf_line(char *line) {
  if (starts(line, "entrypoint:")) img_n_entry = split_words(line + 11, img_entry, MAX_WORDS);
  else if (starts(line, "cmd:")) img_n_cmd = split_words(line + 4, img_cmd, MAX_WORDS);
  else if (starts(line, "env: ")) { unescape(line + 5); env_put(line + 5); }
  else if (starts(line, "workdir: ")) { unescape(line + 9); if (line[9] == '/') img_workdir = line + 9; }
  else if (starts(line, "user: ")) parse_user(line + 6);
  else if (starts(line, "home: ")) { unescape(line + 6); img_home = line + 6; }
  else if (starts(line, "hostname: ")) { unescape(line + 10); if (line[10]) img_hostname = line + 10; }
}

/* Reads /c2w/image.conf (absent: no entrypoint/cmd/env, root in /). */
static void rootfs_load_conf(void) {
  slong fd = SYS(SYS_openat, AT_FDCWD, IMAGE_CONF, 0, 0, 0);
  if (fd < 0) { out("init: no " IMAGE_CONF "\n"); return; }
  slong len = 0, r;
  while (len < (slong)sizeof(conf_buf) - 1 &&
         (r = SYS(SYS_read, fd, conf_buf + len, sizeof(conf_buf) - 1 - len, 0, 0)) > 0)
    len += r;
  SYS(SYS_close, fd, 0, 0, 0, 0);
  conf_buf[len] = 0;
  char *line = conf_buf;
  while (*line) {
    char *nl = line;
    while (*nl && *nl != '\n') nl++;
    int last = *nl == 0;
    *nl = 0;
    conf_line(line);
    if (last) break;
    line = nl + 1;
  }
}

/* Mounts the root and reads the image configuration; the image env goes
 * into the command's environment before the run-time env (load_config).
 * 0 on success. */
static int rootfs_prepare(void) {
  if (rootfs_mount() < 0) return -1;
  rootfs_load_conf();
  cfg_root = ROOT;
  return 0;
}

static int has_env(const char *key) {
  ulong kl = slen(key);
  for (int k = 0; k < cfg_n_env; k++)
    if (key_len(cfg_env[k]) == kl && starts(cfg_env[k], key)) return 1;
  return 0;
}

/* HOME from the image's home: unless an env sets it. */
static void rootfs_env_defaults(void) {
  static char home[4096 + 8];
  if (has_env("HOME")) return;
  const char *h = img_home ? img_home : "/";
  ulong n = slen(h);
  if (n > 4096) return;
  mcopy(home, "HOME=", 5);
  mcopy(home + 5, h, n + 1);
  env_put(home);
}

/* Replaces path (in the root) with data: unlinked first, so a symbolic
 * link in the image is not followed out of the root. */
static void write_root_file(const char *path, const char *data, ulong len) {
  char *full = in_root(path);
  SYS(SYS_unlinkat, AT_FDCWD, full, 0, 0, 0);
  write_file(full, data, (int)len);
}

static ulong append(char *buf, ulong o, ulong cap, const char *s) {
  for (; *s && o + 1 < cap; s++) buf[o++] = *s;
  buf[o] = 0;
  return o;
}

/* /etc/resolv.conf (DHCP's, in the initramfs, when there is one),
 * /etc/hosts and /etc/hostname; sethostname. */
static void rootfs_write_etc(void) {
  static char text[8192];
  SYS(SYS_mkdirat, AT_FDCWD, in_root("/etc"), 0755, 0, 0);
  slong len = 0, r, fd = SYS(SYS_openat, AT_FDCWD, "/etc/resolv.conf", 0, 0, 0);
  while (fd >= 0 && len < (slong)sizeof(text) && (r = SYS(SYS_read, fd, text + len, sizeof(text) - len, 0, 0)) > 0)
    len += r;
  if (fd >= 0) SYS(SYS_close, fd, 0, 0, 0, 0);
  write_root_file("/etc/resolv.conf", text, (ulong)len);
  ulong o = append(text, 0, sizeof(text), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t");
  o = append(text, o, sizeof(text), img_hostname);
  o = append(text, o, sizeof(text), "\n");
  write_root_file("/etc/hosts", text, o);
  o = append(text, 0, sizeof(text), img_hostname);
  o = append(text, o, sizeof(text), "\n");
  write_root_file("/etc/hostname", text, o);
  if (SYS(SYS_sethostname, img_hostname, slen(img_hostname), 0, 0, 0) < 0) out("init: sethostname failed\n");
  static char wd[4096 + 16];
  char *p = in_root(img_workdir);
  mcopy(wd, p, slen(p) + 1);
  mkdir_p(wd); /* docker creates a missing workdir */
}

/* Docker's rules: a run-time entrypoint (e:) replaces the image's and
 * drops its cmd unless c: is given; c: replaces the image's cmd; the
 * command is entrypoint + cmd. NULL when that is empty. */
static char **rootfs_command(void) {
  char **entry = cfg_has_entry ? cfg_entry : img_entry, **cmd = img_cmd;
  int ne = cfg_has_entry ? cfg_n_entry : img_n_entry, nc = cfg_has_entry ? 0 : img_n_cmd;
  if (cfg_has_args) { cmd = cfg_args; nc = cfg_n_args; }
  int n = 0;
  for (int k = 0; k < ne; k++) cfg_argv[n++] = entry[k];
  for (int k = 0; k < nc; k++) cfg_argv[n++] = cmd[k];
  cfg_argv[n] = 0;
  return n ? cfg_argv : 0;
}

/* In the child: into the root, its workdir, the image's user. */
static void rootfs_enter(void) {
  slong r;
  if ((r = SYS(SYS_chroot, ROOT, 0, 0, 0, 0)) < 0) { out("init: chroot failed: "); out_num(r); out("\n"); SYS(SYS_exit, 127, 0, 0, 0, 0); }
  if ((r = SYS(SYS_chdir, img_workdir, 0, 0, 0, 0)) < 0) {
    out("init: cannot chdir to "); out(img_workdir); out(": "); out_num(r); out("\n");
    SYS(SYS_exit, 127, 0, 0, 0, 0);
  }
  if (SYS(SYS_setgroups, img_n_groups, img_groups, 0, 0, 0) < 0 || SYS(SYS_setgid, img_gid, 0, 0, 0, 0) < 0 ||
      SYS(SYS_setuid, img_uid, 0, 0, 0, 0) < 0) {
    out("init: cannot switch to the image's user\n");
    SYS(SYS_exit, 127, 0, 0, 0, 0);
  }
}
