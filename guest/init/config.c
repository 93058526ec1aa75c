/* Run configuration from the host ("info"), included by init.c.
 *
 * The emulator puts upstream c2w's info lines into the device tree
 * (/chosen/c2w,info; see guest/emulator/src/info.c for the format). init reads
 * them after /sys is mounted, sets the clock (t:), turns on DHCP (n:), adds
 * environment variables (env:), mounts 9p shares (m:) and takes the command
 * from e: and c: when present; otherwise the command is the kernel command
 * line's words after "--" (the image's default, written there at conversion).
 * Values are unescaped in place in one static buffer; everything is bounded:
 * a longer file is cut at the buffer size, extra words or variables are
 * dropped with a message. */

#define SYS_read 63
#define SYS_clock_settime 112
#define INFO_PATH "/sys/firmware/devicetree/base/chosen/c2w,info"
#define MAX_WORDS 128
#define MAX_ENV 192

static char info_buf[32768 + 1];
static char *cfg_entry[MAX_WORDS + 1], *cfg_args[MAX_WORDS + 1];
static int cfg_n_entry, cfg_n_args, cfg_net;
static int cfg_has_entry, cfg_has_args; /* an e: / c: line was given (maybe empty) */
static const char *cfg_root = ""; /* with a rootfs: where m: paths go ("/mnt/root") */
static char *cfg_env[MAX_ENV + 1];
static int cfg_n_env;
static char *cfg_argv[2 * MAX_WORDS + 1];

static int starts(const char *s, const char *prefix) {
  while (*prefix)
    if (*s++ != *prefix++) return 0;
  return 1;
}

/* Copies one escaped value from *sp to o, in place (o <= *sp): "\\" is a
 * backslash, "\n" a newline, "\ " a space; with words set an unescaped
 * space ends the value. Returns the end of the unescaped value; *sp is left
 * on the character that stopped it (a space or NUL). */
static char *unescape_run(char **sp, char *o, int words) {
  char *s = *sp;
  while (*s && !(words && *s == ' ')) {
    if (*s == '\\' && s[1]) {
      s++;
      *o++ = *s == 'n' ? '\n' : *s;
      s++;
    } else {
      *o++ = *s++;
    }
  }
  *sp = s;
  return o;
}

/* Splits an escaped word list in place. Returns the number of words. */
static int split_words(char *s, char **words, int max) {
  int n = 0;
  for (;;) {
    while (*s == ' ') s++;
    if (!*s) return n;
    char *w = s;
    char *end = unescape_run(&s, w, 1);
    int more = *s != 0;
    *end = 0;
    if (n < max) words[n++] = w;
    else { out("init: too many words in the run configuration\n"); return n; }
    if (!more) return n;
    s++;
  }
}

/* Unescapes a single value in place. */
static void unescape(char *s) {
  char *p = s;
  *unescape_run(&p, s, 0) = 0;
}

static ulong key_len(const char *kv) {
  ulong n = 0;
  while (kv[n] && kv[n] != '=') n++;
  return n;
}

/* Adds KEY=VALUE to the command's environment, replacing an earlier KEY. */
static void env_put(char *kv) {
  ulong kl = key_len(kv);
  if (!kv[kl] || !kl) return;
  for (int k = 0; k < cfg_n_env; k++) {
    if (key_len(cfg_env[k]) == kl && starts(cfg_env[k], kv) && cfg_env[k][kl] == '=') {
      cfg_env[k] = kv;
      return;
    }
  }
  if (cfg_n_env == MAX_ENV) { out("init: too many environment variables\n"); return; }
  cfg_env[cfg_n_env++] = kv;
  cfg_env[cfg_n_env] = 0;
}

static void mkdir_p(char *path) {
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    SYS(SYS_mkdirat, AT_FDCWD, path, 0755, 0, 0);
    *p = '/';
  }
  SYS(SYS_mkdirat, AT_FDCWD, path, 0755, 0, 0);
}

static void mount_share(char *line) {
  char *w[2];
  if (split_words(line, w, 2) != 2 || w[1][0] != '/') {
    out("init: bad m: line in the run configuration\n");
    return;
  }
  static char full[4096 + 16];
  char *dst = w[1];
  if (cfg_root[0]) { /* inside the container's root */
    ulong rl = slen(cfg_root), pl = slen(w[1]);
    if (rl + pl >= sizeof(full)) { out("init: m: path too long\n"); return; }
    mcopy(full, cfg_root, rl);
    mcopy(full + rl, w[1], pl + 1);
    dst = full;
  }
  mkdir_p(dst);
  slong r = SYS(SYS_mount, w[0], dst, "9p", 0, "trans=virtio,version=9p2000.L");
  if (r < 0) { out("init: mount of share "); out(w[0]); out(" at "); out(w[1]); out(" failed: "); out_num(r); out("\n"); }
}

static void set_clock(const char *s) {
  slong t[2] = {0, 0};
  for (; *s >= '0' && *s <= '9'; s++) t[0] = t[0] * 10 + (*s - '0');
  if (t[0] > 0 && SYS(SYS_clock_settime, 0 /* CLOCK_REALTIME */, t, 0, 0, 0) < 0) out("init: cannot set the clock\n");
}

/* Reads the info lines (if the emulator gave any) and applies the ones that
 * do not depend on the network. Without a rootfs the environment starts
 * from the kernel command line's KEY=VALUE words (kernel_env); with one,
 * from the image's env (rootfs.c). */
static void load_config(char **envp, int kernel_env) {
  for (; kernel_env && *envp; envp++) env_put(*envp);
  slong fd = SYS(SYS_openat, AT_FDCWD, INFO_PATH, 0, 0, 0);
  if (fd < 0) return;
  slong len = 0, r;
  while (len < (slong)sizeof(info_buf) - 1 &&
         (r = SYS(SYS_read, fd, info_buf + len, sizeof(info_buf) - 1 - len, 0, 0)) > 0)
    len += r;
  SYS(SYS_close, fd, 0, 0, 0, 0);
  info_buf[len] = 0;
  char *line = info_buf;
  while (*line) {
    char *nl = line;
    while (*nl && *nl != '\n') nl++;
    int last = *nl == 0;
    *nl = 0;
    if (starts(line, "t: ")) set_clock(line + 3);
    else if (starts(line, "n:")) cfg_net = 1;
    else if (starts(line, "env: ")) { unescape(line + 5); env_put(line + 5); }
    else if (starts(line, "e:")) { cfg_has_entry = 1; cfg_n_entry = split_words(line + 2, cfg_entry, MAX_WORDS); }
    else if (starts(line, "c:")) { cfg_has_args = 1; cfg_n_args = split_words(line + 2, cfg_args, MAX_WORDS); }
    else if (starts(line, "m: ")) mount_share(line + 3);
    if (last) break;
    line = nl + 1;
  }
  int has_path = 0;
  for (int k = 0; k < cfg_n_env; k++) has_path |= key_len(cfg_env[k]) == 4 && starts(cfg_env[k], "PATH=");
  if (!has_path) env_put("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

/* The command: e: words then c: words when the host gave either, otherwise
 * the kernel command line's (argv[1..]). NULL when there is none. */
static char **config_command(int argc, char **argv) {
  if (!cfg_n_entry && !cfg_n_args) return argc > 1 ? argv + 1 : 0;
  int n = 0;
  for (int k = 0; k < cfg_n_entry; k++) cfg_argv[n++] = cfg_entry[k];
  for (int k = 0; k < cfg_n_args; k++) cfg_argv[n++] = cfg_args[k];
  cfg_argv[n] = 0;
  return cfg_argv;
}
