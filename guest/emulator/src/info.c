/* The run configuration handed to the guest's init ("info").
 *
 * Upstream c2w guests get their run configuration from a small text file the
 * emulator serves over 9p; ours gets the same lines through the device tree
 * (property "c2w,info" of /chosen, read by init from
 * /sys/firmware/devicetree/base/chosen/c2w,info). The device tree is in guest
 * RAM before the kernel starts, so no 9p share is needed and nothing can race
 * with the guest. The line format is upstream's, one "key: value" per line:
 *
 *   t: <unix time, seconds>        host wall clock at boot (init sets the clock)
 *   n: <mac>                       networking is on (init runs DHCP on eth0)
 *   env: <KEY=VALUE>               one per variable, added to the command's env
 *   e: <word> <word> ...           entrypoint (replaces the default command)
 *   c: <word> <word> ...           arguments (after the entrypoint, or the
 *                                  whole command when there is no entrypoint)
 *   m: <tag> <path>                mount 9p share <tag> at <path>
 *
 * Escapes in values: "\\" for a backslash, "\n" for a newline and, inside the
 * word lists of e: and c:, "\ " for a space that belongs to a word.
 * Upstream limits the file to 1024 bytes; we allow INFO_MAX. */
#include "emu.h"

typedef struct {
  char *out;
  size_t cap, len;
  int overflow;
} Buf;

static void put_c(Buf *b, char ch) {
  if (b->len + 1 >= b->cap) { b->overflow = 1; return; }
  b->out[b->len++] = ch;
  b->out[b->len] = 0;
}
static void put_s(Buf *b, const char *s) { while (*s) put_c(b, *s++); }

/* A value with backslash, newline (and, for words, space) escaped. */
static void put_escaped(Buf *b, const char *s, int word) {
  for (; *s; s++) {
    if (*s == '\\') put_s(b, "\\\\");
    else if (*s == '\n') put_s(b, "\\n");
    else if (word && *s == ' ') put_s(b, "\\ ");
    else put_c(b, *s);
  }
}

static void put_words(Buf *b, const char *key, char *const *words, int n) {
  put_s(b, key);
  for (int k = 0; k < n; k++) {
    put_c(b, ' ');
    put_escaped(b, words[k], 1);
  }
  put_c(b, '\n');
}

size_t info_build(char *out, size_t cap, const RunInfo *ri) {
  Buf b = {out, cap, 0, 0};
  char num[32];
  if (cap) out[0] = 0;
  emu_snprintf(num, sizeof(num), "t: %llu\n", (unsigned long long)ri->unix_time);
  put_s(&b, num);
  if (ri->mac) {
    put_s(&b, "n: ");
    for (int k = 0; k < 6; k++) {
      if (k) put_c(&b, ':');
      put_c(&b, "0123456789abcdef"[ri->mac[k] >> 4]);
      put_c(&b, "0123456789abcdef"[ri->mac[k] & 15]);
    }
    put_c(&b, '\n');
  }
  for (int k = 0; k < ri->n_env; k++) {
    put_s(&b, "env: ");
    put_escaped(&b, ri->env[k], 0);
    put_c(&b, '\n');
  }
  if (ri->n_entrypoint) put_words(&b, "e:", ri->entrypoint, ri->n_entrypoint);
  if (ri->n_args) put_words(&b, "c:", ri->args, ri->n_args);
  for (int k = 0; k < ri->n_mounts; k++) {
    put_s(&b, "m: ");
    put_escaped(&b, ri->mount_tag[k], 1);
    put_c(&b, ' ');
    put_escaped(&b, ri->mount_path[k], 1);
    put_c(&b, '\n');
  }
  return b.overflow ? 0 : b.len;
}
