/* Small formatted output (no printf: wasi-libc's printf_core is one 9 KB Wasm
 * function, over our per-function size limit) and a simple allocator for the
 * wasm build (wasi-libc's dlmalloc is a 7 KB function). */
#include "emu.h"
#include <stdarg.h>
#include <unistd.h>

typedef struct {
  char *buf;
  size_t cap, len;
} Out;

static void out_c(Out *o, char c) {
  if (o->len + 1 < o->cap) o->buf[o->len] = c;
  o->len++;
}
static void out_s(Out *o, const char *s) {
  while (*s) out_c(o, *s++);
}
static void out_u(Out *o, unsigned long long v, int base) {
  char tmp[24];
  int n = 0;
  do { tmp[n++] = "0123456789abcdef"[v % (unsigned)base]; v /= (unsigned)base; } while (v);
  while (n) out_c(o, tmp[--n]);
}

/* Supports %s %c %d %i %u %x %p %% with l, ll and z length modifiers. */
static void vformat(Out *o, const char *fmt, va_list ap) {
  for (; *fmt; fmt++) {
    if (*fmt != '%') { out_c(o, *fmt); continue; }
    int lng = 0;
    fmt++;
    while (*fmt == 'l' || *fmt == 'z') { lng++; fmt++; }
    switch (*fmt) {
    case 's': { const char *s = va_arg(ap, const char *); out_s(o, s ? s : "(null)"); break; }
    case 'c': out_c(o, (char)va_arg(ap, int)); break;
    case 'd': case 'i': {
      long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);
      if (v < 0) { out_c(o, '-'); out_u(o, (unsigned long long)(-(v + 1)) + 1, 10); }
      else out_u(o, (unsigned long long)v, 10);
      break;
    }
    case 'u': out_u(o, lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned), 10); break;
    case 'x': out_u(o, lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned), 16); break;
    case 'p': out_s(o, "0x"); out_u(o, (uintptr_t)va_arg(ap, void *), 16); break;
    case '%': out_c(o, '%'); break;
    default: out_c(o, '?'); break;
    }
    if (!*fmt) break;
  }
}

int emu_snprintf(char *buf, size_t cap, const char *fmt, ...) {
  Out o = {buf, cap, 0};
  va_list ap;
  va_start(ap, fmt);
  vformat(&o, fmt, ap);
  va_end(ap);
  if (cap) buf[o.len < cap ? o.len : cap - 1] = 0;
  return (int)o.len;
}

void emu_log(const char *fmt, ...) {
  char buf[512];
  Out o = {buf, sizeof(buf), 0};
  va_list ap;
  va_start(ap, fmt);
  vformat(&o, fmt, ap);
  va_end(ap);
  size_t n = o.len < sizeof(buf) ? o.len : sizeof(buf) - 1;
  size_t off = 0;
  while (off < n) {
    ssize_t w = write(2, buf + off, n - off);
    if (w <= 0) break;
    off += (size_t)w;
  }
}

#if defined(__wasi__)
/* Size-class allocator on top of sbrk: classes of 2^k bytes (k = 5..20) with
 * free lists; bigger blocks come straight from sbrk and are reused first-fit. */
#include <errno.h>
typedef struct Block {
  size_t cap;          /* usable bytes */
  struct Block *next;  /* free-list link (only while free) */
} Block;
#define HDR 16
#define MIN_SHIFT 5
#define MAX_SHIFT 20
static Block *free_small[MAX_SHIFT + 1];
static Block *free_large;

/* wasi-libc's sbrk only takes whole 64 KiB pages: carve from an arena. */
static char *arena, *arena_end;
static void *grab(size_t n) {
  n = (n + 15) & ~(size_t)15;
  if ((size_t)(arena_end - arena) < n) {
    size_t chunk = (n + 0xffff) & ~(size_t)0xffff;
    if (chunk < ((size_t)1 << 20)) chunk = (size_t)1 << 20;
    char *p = sbrk((intptr_t)chunk);
    if (p == (void *)-1) return 0;
    if (p != arena_end) arena = p; /* not contiguous: drop the old tail */
    arena_end = p + chunk;
  }
  void *r = arena;
  arena += n;
  return r;
}

static int class_of(size_t n) {
  int k = MIN_SHIFT;
  while (((size_t)1 << k) < n) k++;
  return k;
}

void *malloc(size_t n) {
  if (n == 0) n = 1;
  if (n > ((size_t)1 << MAX_SHIFT)) {
    size_t need = (n + 0xffff) & ~(size_t)0xffff;
    for (Block **pp = &free_large; *pp; pp = &(*pp)->next) {
      if ((*pp)->cap >= need) {
        Block *b = *pp;
        *pp = b->next;
        return (char *)b + HDR;
      }
    }
    Block *b = grab(need + HDR);
    if (!b) { errno = ENOMEM; return 0; }
    b->cap = need;
    return (char *)b + HDR;
  }
  int k = class_of(n);
  Block *b = free_small[k];
  if (b) {
    free_small[k] = b->next;
  } else {
    b = grab(((size_t)1 << k) + HDR);
    if (!b) { errno = ENOMEM; return 0; }
    b->cap = (size_t)1 << k;
  }
  return (char *)b + HDR;
}

void free(void *p) {
  if (!p) return;
  Block *b = (Block *)((char *)p - HDR);
  if (b->cap > ((size_t)1 << MAX_SHIFT)) {
    b->next = free_large;
    free_large = b;
  } else {
    int k = class_of(b->cap);
    b->next = free_small[k];
    free_small[k] = b;
  }
}

void *calloc(size_t a, size_t b) {
  if (b && a > (size_t)-1 / b) { errno = ENOMEM; return 0; }
  void *p = malloc(a * b);
  if (p) memset(p, 0, a * b);
  return p;
}

void *realloc(void *p, size_t n) {
  if (!p) return malloc(n);
  Block *b = (Block *)((char *)p - HDR);
  if (n <= b->cap) return p;
  void *q = malloc(n);
  if (q) { memcpy(q, p, b->cap); free(p); }
  return q;
}

int posix_memalign(void **out, size_t align, size_t n) {
  /* blocks are 16-byte aligned; larger alignments are not needed here */
  if (align > HDR) return EINVAL;
  *out = malloc(n);
  return *out ? 0 : ENOMEM;
}

void *aligned_alloc(size_t align, size_t n) {
  void *p = 0;
  return posix_memalign(&p, align, n) ? 0 : p;
}
#endif
