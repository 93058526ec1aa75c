/* virtio-9p: exports one host directory (a pre-opened directory under WASI)
 * to the guest with 9P2000.L: version, attach, walk, getattr, setattr (size,
 * mode, times), lopen, lcreate, read, write, readdir, readlink, mkdir,
 * symlink, link, renameat/rename, unlinkat, fsync, statfs, clunk, flush.
 * With read_only set, every change is answered EROFS. Anything else gets
 * EOPNOTSUPP. */
#define _GNU_SOURCE
#include "emu.h"
#include "virtio.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* rename */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define P9_MSIZE (128 * 1024)
#define MAX_FIDS 512

/* Linux errno values (the guest's), independent of the host libc */
#define L_EPERM 1
#define L_ENOENT 2
#define L_EIO 5
#define L_EBADF 9
#define L_EACCES 13
#define L_EEXIST 17
#define L_ENOTDIR 20
#define L_EISDIR 21
#define L_EINVAL 22
#define L_EROFS 30
#define L_ENAMETOOLONG 36
#define L_ENOSYS 38
#define L_ELOOP 40
#define L_EOPNOTSUPP 95
#define L_ENOTEMPTY 39
#define L_EXDEV 18
#define L_ENOSPC 28

typedef struct {
  int used;
  uint32_t fid;
  char *path;
  int fd; /* open file, -1 */
} Fid;

typedef struct {
  char *root;
  int read_only, verbose;
  Fid fids[MAX_FIDS];
  uint8_t req[P9_MSIZE], resp[P9_MSIZE];
  uint32_t msize;
  /* reply builder */
  uint32_t rlen;
  int overflow;
} P9;

static int linux_errno(int e) {
  switch (e) {
  case ENOENT: return L_ENOENT;
  case EACCES: return L_EACCES;
  case EPERM: return L_EPERM;
  case EEXIST: return L_EEXIST;
  case ENOTDIR: return L_ENOTDIR;
  case EISDIR: return L_EISDIR;
  case EINVAL: return L_EINVAL;
  case EROFS: return L_EROFS;
  case ENAMETOOLONG: return L_ENAMETOOLONG;
  case ELOOP: return L_ELOOP;
  case EBADF: return L_EBADF;
  case ENOTEMPTY: return L_ENOTEMPTY;
  case EXDEV: return L_EXDEV;
  case ENOSPC: return L_ENOSPC;
  default: return L_EIO;
  }
}

/* ---- little-endian wire helpers ---- */
typedef struct {
  const uint8_t *p;
  uint32_t len, off;
  int bad;
} Rd;

static uint64_t get(Rd *r, int n) {
  uint64_t v = 0;
  if (r->off + (uint32_t)n > r->len) { r->bad = 1; return 0; }
  for (int k = 0; k < n; k++) v |= (uint64_t)r->p[r->off + (uint32_t)k] << (8 * k);
  r->off += (uint32_t)n;
  return v;
}
/* Reads a string into buf (NUL-terminated); names with '/' or NUL are bad. */
static void get_str(Rd *r, char *buf, size_t cap) {
  uint32_t n = (uint32_t)get(r, 2);
  if (r->bad || r->off + n > r->len || n >= cap) { r->bad = 1; buf[0] = 0; return; }
  memcpy(buf, r->p + r->off, n);
  buf[n] = 0;
  r->off += n;
  if (strlen(buf) != n) r->bad = 1;
}

static void put(P9 *s, uint64_t v, int n) {
  if (s->rlen + (uint32_t)n > s->msize) { s->overflow = 1; return; }
  for (int k = 0; k < n; k++) s->resp[s->rlen + (uint32_t)k] = (uint8_t)(v >> (8 * k));
  s->rlen += (uint32_t)n;
}
static void put_bytes(P9 *s, const void *b, uint32_t n) {
  if (s->rlen + n > s->msize) { s->overflow = 1; return; }
  memcpy(s->resp + s->rlen, b, n);
  s->rlen += n;
}
static void put_str(P9 *s, const char *str) {
  uint32_t n = (uint32_t)strlen(str);
  put(s, n, 2);
  put_bytes(s, str, n);
}
static void begin(P9 *s, int type, uint16_t tag) {
  s->rlen = 0;
  s->overflow = 0;
  put(s, 0, 4);
  put(s, (uint64_t)type, 1);
  put(s, tag, 2);
}
static void error(P9 *s, uint16_t tag, int lerr) {
  begin(s, 7, tag);
  put(s, (uint64_t)lerr, 4);
}

/* ---- fids ---- */
static Fid *fid_get(P9 *s, uint32_t fid) {
  for (int k = 0; k < MAX_FIDS; k++)
    if (s->fids[k].used && s->fids[k].fid == fid) return &s->fids[k];
  return 0;
}
static void fid_free(Fid *f) {
  if (f->fd >= 0) close(f->fd);
  free(f->path);
  memset(f, 0, sizeof(*f));
  f->fd = -1;
}
static Fid *fid_new(P9 *s, uint32_t fid, const char *path) {
  Fid *f = fid_get(s, fid);
  if (f) fid_free(f);
  for (int k = 0; !f && k < MAX_FIDS; k++)
    if (!s->fids[k].used) f = &s->fids[k];
  if (!f) return 0;
  f->path = strdup(path);
  if (!f->path) return 0;
  f->used = 1;
  f->fid = fid;
  f->fd = -1;
  return f;
}

/* Linux open flags (from the guest) to the host's */
static int host_open_flags(uint32_t lf) {
  int fl = (lf & 3) == 1 ? O_WRONLY : (lf & 3) == 2 ? O_RDWR : O_RDONLY;
  if (lf & 0100) fl |= O_CREAT;
  if (lf & 0200) fl |= O_EXCL;
  if (lf & 01000) fl |= O_TRUNC;
  if (lf & 02000) fl |= O_APPEND;
  return fl;
}

/* ---- qids and attributes ---- */
static void put_qid(P9 *s, const struct stat *st) {
  int type = S_ISDIR(st->st_mode) ? 0x80 : S_ISLNK(st->st_mode) ? 0x02 : 0;
  put(s, (uint64_t)type, 1);
  put(s, (uint64_t)st->st_mtime, 4);
  put(s, (uint64_t)st->st_ino, 8);
}

/* Linux mode bits: the file type from stat, permissions from stat, or 0777
 * when the host reports none (WASI: the host decides what is allowed, so
 * the guest's permission checks must not refuse a container's non-root
 * user; a converted module shares its pre-opened directories this way). */
static uint32_t linux_mode(const struct stat *st) {
  uint32_t type = S_ISDIR(st->st_mode) ? 0040000 : S_ISLNK(st->st_mode) ? 0120000 :
                  S_ISREG(st->st_mode) ? 0100000 : S_ISCHR(st->st_mode) ? 0020000 :
                  S_ISBLK(st->st_mode) ? 0060000 : S_ISFIFO(st->st_mode) ? 0010000 : 0140000;
  uint32_t perm = (uint32_t)st->st_mode & 07777;
  return type | (perm ? perm : 0777);
}

static int child_path(P9 *s, const char *base, const char *name, char *out, size_t cap) {
  if (!strcmp(name, ".")) return emu_snprintf(out, cap, "%s", base) < (int)cap;
  if (!strcmp(name, "..")) {
    size_t rl = strlen(s->root);
    emu_snprintf(out, cap, "%s", base);
    char *slash = strrchr(out, '/');
    if (strlen(out) > rl && slash && slash >= out + rl) *slash = 0; /* never above the root */
    return 1;
  }
  return emu_snprintf(out, cap, "%s/%s", base, name) < (int)cap;
}

/* ---- requests ---- */
NOINLINE static void t_version(P9 *s, Rd *r, uint16_t tag) {
  char ver[32];
  uint32_t msize = (uint32_t)get(r, 4);
  get_str(r, ver, sizeof(ver));
  if (msize < 4096) { error(s, tag, L_EINVAL); return; }
  s->msize = msize < P9_MSIZE ? msize : P9_MSIZE;
  for (int k = 0; k < MAX_FIDS; k++) if (s->fids[k].used) fid_free(&s->fids[k]);
  begin(s, 101, tag);
  put(s, s->msize, 4);
  put_str(s, strcmp(ver, "9P2000.L") == 0 ? "9P2000.L" : "unknown");
}

NOINLINE static void t_attach(P9 *s, Rd *r, uint16_t tag) {
  char name[256];
  struct stat st;
  uint32_t fid = (uint32_t)get(r, 4);
  get(r, 4);
  get_str(r, name, sizeof(name));
  get_str(r, name, sizeof(name));
  if (lstat(s->root, &st) != 0) { error(s, tag, linux_errno(errno)); return; }
  if (!fid_new(s, fid, s->root)) { error(s, tag, L_EIO); return; }
  begin(s, 105, tag);
  put_qid(s, &st);
}

NOINLINE static void t_walk(P9 *s, Rd *r, uint16_t tag) {
  static char path[4096], next[4096], name[256];
  uint32_t fid = (uint32_t)get(r, 4), newfid = (uint32_t)get(r, 4);
  uint32_t n = (uint32_t)get(r, 2);
  Fid *f = fid_get(s, fid);
  if (!f || n > 16) { error(s, tag, f ? L_EINVAL : L_EBADF); return; }
  emu_snprintf(path, sizeof(path), "%s", f->path);
  begin(s, 111, tag);
  put(s, 0, 2);
  uint32_t done = 0;
  for (; done < n; done++) {
    struct stat st;
    get_str(r, name, sizeof(name));
    if (r->bad || !child_path(s, path, name, next, sizeof(next)) || lstat(next, &st) != 0) break;
    put_qid(s, &st);
    memcpy(path, next, sizeof(path));
  }
  if (done < n && done == 0) { error(s, tag, r->bad ? L_EINVAL : linux_errno(errno)); return; }
  s->resp[7] = (uint8_t)done;
  s->resp[8] = (uint8_t)(done >> 8);
  if (done == n && !fid_new(s, newfid, path)) error(s, tag, L_EIO);
}

NOINLINE static void t_getattr(P9 *s, Rd *r, uint16_t tag) {
  struct stat st;
  Fid *f = fid_get(s, (uint32_t)get(r, 4));
  if (!f) { error(s, tag, L_EBADF); return; }
  if (lstat(f->path, &st) != 0) { error(s, tag, linux_errno(errno)); return; }
  begin(s, 25, tag);
  put(s, 0x7ff, 8); /* basic fields valid */
  put_qid(s, &st);
  put(s, linux_mode(&st), 4);
  put(s, 0, 4); put(s, 0, 4); /* uid, gid: root */
  put(s, (uint64_t)st.st_nlink, 8);
  put(s, 0, 8);
  put(s, (uint64_t)st.st_size, 8);
  put(s, 4096, 8);
  put(s, ((uint64_t)st.st_size + 511) / 512, 8);
  put(s, (uint64_t)st.st_atime, 8); put(s, 0, 8);
  put(s, (uint64_t)st.st_mtime, 8); put(s, 0, 8);
  put(s, (uint64_t)st.st_ctime, 8); put(s, 0, 8);
  put(s, 0, 8); put(s, 0, 8); put(s, 0, 8); put(s, 0, 8);
}

NOINLINE static void t_lopen(P9 *s, Rd *r, uint16_t tag) {
  struct stat st;
  Fid *f = fid_get(s, (uint32_t)get(r, 4));
  uint32_t flags = (uint32_t)get(r, 4);
  if (!f) { error(s, tag, L_EBADF); return; }
  int writes = (flags & 3) != 0 || (flags & 01000 /* O_TRUNC */);
  if (writes && s->read_only) { error(s, tag, L_EROFS); return; }
  if (lstat(f->path, &st) != 0) { error(s, tag, linux_errno(errno)); return; }
  if (!S_ISDIR(st.st_mode)) {
    int fd = open(f->path, host_open_flags(flags));
    if (fd < 0) { error(s, tag, linux_errno(errno)); return; }
    if (f->fd >= 0) close(f->fd);
    f->fd = fd;
  }
  begin(s, 13, tag);
  put_qid(s, &st);
  put(s, s->msize - 24, 4);
}

NOINLINE static void t_read(P9 *s, Rd *r, uint16_t tag) {
  Fid *f = fid_get(s, (uint32_t)get(r, 4));
  uint64_t off = get(r, 8);
  uint32_t count = (uint32_t)get(r, 4);
  if (!f || f->fd < 0) { error(s, tag, L_EBADF); return; }
  if (count > s->msize - 11) count = s->msize - 11;
  begin(s, 117, tag);
  put(s, 0, 4);
  ssize_t n = pread(f->fd, s->resp + 11, count, (off_t)off);
  if (n < 0) { error(s, tag, linux_errno(errno)); return; }
  s->resp[7] = (uint8_t)n; s->resp[8] = (uint8_t)(n >> 8);
  s->resp[9] = (uint8_t)(n >> 16); s->resp[10] = (uint8_t)(n >> 24);
  s->rlen += (uint32_t)n;
}

NOINLINE static void t_write(P9 *s, Rd *r, uint16_t tag) {
  Fid *f = fid_get(s, (uint32_t)get(r, 4));
  uint64_t off = get(r, 8);
  uint32_t count = (uint32_t)get(r, 4);
  if (!f || f->fd < 0) { error(s, tag, L_EBADF); return; }
  if (r->bad || r->off + count > r->len) { error(s, tag, L_EINVAL); return; }
  ssize_t n = pwrite(f->fd, r->p + r->off, count, (off_t)off);
  if (n < 0) { error(s, tag, linux_errno(errno)); return; }
  begin(s, 119, tag);
  put(s, (uint64_t)n, 4);
}

static int dt_type(const struct stat *st) {
  return S_ISDIR(st->st_mode) ? 4 : S_ISREG(st->st_mode) ? 8 : S_ISLNK(st->st_mode) ? 10 :
         S_ISCHR(st->st_mode) ? 2 : S_ISBLK(st->st_mode) ? 6 : S_ISFIFO(st->st_mode) ? 1 : 12;
}

/* Directory offsets are entry indexes: each call reopens and skips. */
NOINLINE static void t_readdir(P9 *s, Rd *r, uint16_t tag) {
  static char child[4096];
  Fid *f = fid_get(s, (uint32_t)get(r, 4));
  uint64_t off = get(r, 8);
  uint32_t count = (uint32_t)get(r, 4);
  if (!f) { error(s, tag, L_EBADF); return; }
  DIR *d = opendir(f->path);
  if (!d) { error(s, tag, linux_errno(errno)); return; }
  if (count > s->msize - 11) count = s->msize - 11;
  begin(s, 41, tag);
  put(s, 0, 4);
  uint64_t idx = 0;
  struct dirent *e;
  while ((e = readdir(d)) != 0) {
    if (idx++ < off) continue;
    struct stat st;
    emu_snprintf(child, sizeof(child), "%s/%s", f->path, e->d_name);
    if (lstat(child, &st) != 0) memset(&st, 0, sizeof(st));
    uint32_t need = 13 + 8 + 1 + 2 + (uint32_t)strlen(e->d_name);
    if (s->rlen - 11 + need > count) break;
    put_qid(s, &st);
    put(s, idx, 8);
    put(s, (uint64_t)dt_type(&st), 1);
    put_str(s, e->d_name);
  }
  closedir(d);
  uint32_t n = s->rlen - 11;
  s->resp[7] = (uint8_t)n; s->resp[8] = (uint8_t)(n >> 8);
  s->resp[9] = (uint8_t)(n >> 16); s->resp[10] = (uint8_t)(n >> 24);
}

NOINLINE static void t_readlink(P9 *s, Rd *r, uint16_t tag) {
  static char target[4096];
  Fid *f = fid_get(s, (uint32_t)get(r, 4));
  if (!f) { error(s, tag, L_EBADF); return; }
  ssize_t n = readlink(f->path, target, sizeof(target) - 1);
  if (n < 0) { error(s, tag, linux_errno(errno)); return; }
  target[n] = 0;
  begin(s, 23, tag);
  put_str(s, target);
}

NOINLINE static void t_statfs(P9 *s, Rd *r, uint16_t tag) {
  if (!fid_get(s, (uint32_t)get(r, 4))) { error(s, tag, L_EBADF); return; }
  begin(s, 9, tag);
  put(s, 0x01021997, 4); /* V9FS_MAGIC */
  put(s, 4096, 4);
  put(s, 1 << 20, 8); put(s, 0, 8); put(s, 0, 8); /* blocks, free, avail */
  put(s, 1 << 20, 8); put(s, 0, 8);               /* files, free */
  put(s, 0, 8);
  put(s, 255, 4);
}

NOINLINE static void t_clunk(P9 *s, Rd *r, uint16_t tag) {
  Fid *f = fid_get(s, (uint32_t)get(r, 4));
  if (!f) { error(s, tag, L_EBADF); return; }
  fid_free(f);
  begin(s, 121, tag);
}

/* Resolves (directory fid, name) to a host path; names may not contain '/'
 * or be "." / "..". Returns 0 (and answers the error) on failure. */
static int dir_child(P9 *s, Rd *r, uint32_t dfid, uint16_t tag, char *out, size_t cap) {
  char name[256];
  Fid *d = fid_get(s, dfid);
  get_str(r, name, sizeof(name));
  if (!d) { error(s, tag, L_EBADF); return 0; }
  if (r->bad || !name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
    error(s, tag, L_EINVAL);
    return 0;
  }
  if (emu_snprintf(out, cap, "%s/%s", d->path, name) >= (int)cap) { error(s, tag, L_ENAMETOOLONG); return 0; }
  return 1;
}

static int reply_qid_of(P9 *s, uint16_t tag, int type, const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) { error(s, tag, linux_errno(errno)); return 0; }
  begin(s, type, tag);
  put_qid(s, &st);
  return 1;
}

NOINLINE static void t_lcreate(P9 *s, Rd *r, uint16_t tag) {
  static char path[4096];
  uint32_t fid = (uint32_t)get(r, 4);
  if (!dir_child(s, r, fid, tag, path, sizeof(path))) return;
  uint32_t flags = (uint32_t)get(r, 4), mode = (uint32_t)get(r, 4);
  get(r, 4);
  int fd = open(path, host_open_flags(flags) | O_CREAT, (mode_t)(mode & 07777));
  if (fd < 0) { error(s, tag, linux_errno(errno)); return; }
  Fid *f = fid_get(s, fid);
  if (f->fd >= 0) close(f->fd);
  f->fd = fd;
  char *np = strdup(path);
  if (np) { free(f->path); f->path = np; }
  if (reply_qid_of(s, tag, 15, path)) put(s, s->msize - 24, 4);
}

NOINLINE static void t_mkdir(P9 *s, Rd *r, uint16_t tag) {
  static char path[4096];
  if (!dir_child(s, r, (uint32_t)get(r, 4), tag, path, sizeof(path))) return;
  uint32_t mode = (uint32_t)get(r, 4);
  get(r, 4);
  if (mkdir(path, (mode_t)(mode & 07777)) != 0) { error(s, tag, linux_errno(errno)); return; }
  reply_qid_of(s, tag, 73, path);
}

NOINLINE static void t_symlink(P9 *s, Rd *r, uint16_t tag) {
  static char path[4096], target[4096];
  if (!dir_child(s, r, (uint32_t)get(r, 4), tag, path, sizeof(path))) return;
  get_str(r, target, sizeof(target));
  get(r, 4);
  if (r->bad) { error(s, tag, L_EINVAL); return; }
  if (symlink(target, path) != 0) { error(s, tag, linux_errno(errno)); return; }
  reply_qid_of(s, tag, 17, path);
}

NOINLINE static void t_link(P9 *s, Rd *r, uint16_t tag) {
  static char path[4096];
  uint32_t dfid = (uint32_t)get(r, 4);
  Fid *f = fid_get(s, (uint32_t)get(r, 4));
  if (!dir_child(s, r, dfid, tag, path, sizeof(path))) return;
  if (!f) { error(s, tag, L_EBADF); return; }
  if (link(f->path, path) != 0) { error(s, tag, linux_errno(errno)); return; }
  begin(s, 71, tag);
}

NOINLINE static void t_unlinkat(P9 *s, Rd *r, uint16_t tag) {
  static char path[4096];
  if (!dir_child(s, r, (uint32_t)get(r, 4), tag, path, sizeof(path))) return;
  uint32_t flags = (uint32_t)get(r, 4);
  int rc = (flags & 0x200) ? rmdir(path) : unlink(path);
  if (rc != 0) { error(s, tag, linux_errno(errno)); return; }
  begin(s, 77, tag);
}

NOINLINE static void t_renameat(P9 *s, Rd *r, uint16_t tag) {
  static char from[4096], to[4096];
  if (!dir_child(s, r, (uint32_t)get(r, 4), tag, from, sizeof(from))) return;
  if (!dir_child(s, r, (uint32_t)get(r, 4), tag, to, sizeof(to))) return;
  if (rename(from, to) != 0) { error(s, tag, linux_errno(errno)); return; }
  begin(s, 75, tag);
}

/* Trename: fid is renamed into directory dfid under name */
NOINLINE static void t_rename(P9 *s, Rd *r, uint16_t tag) {
  static char to[4096];
  Fid *f = fid_get(s, (uint32_t)get(r, 4));
  if (!dir_child(s, r, (uint32_t)get(r, 4), tag, to, sizeof(to))) return;
  if (!f) { error(s, tag, L_EBADF); return; }
  if (rename(f->path, to) != 0) { error(s, tag, linux_errno(errno)); return; }
  char *np = strdup(to);
  if (np) { free(f->path); f->path = np; }
  begin(s, 21, tag);
}

/* ftruncate on the fid's file, opening it for writing if needed (WASI
 * runtimes differ in path-based truncate support) */
static int truncate_path(Fid *f, off_t size) {
  if (f->fd >= 0 && ftruncate(f->fd, size) == 0) return 0;
  int fd = open(f->path, O_WRONLY);
  if (fd < 0) return -1;
  int rc = ftruncate(fd, size);
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}

NOINLINE static void t_setattr(P9 *s, Rd *r, uint16_t tag) {
  Fid *f = fid_get(s, (uint32_t)get(r, 4));
  uint32_t valid = (uint32_t)get(r, 4), mode = (uint32_t)get(r, 4);
  get(r, 4); get(r, 4);
  uint64_t size = get(r, 8);
  struct timespec ts[2];
  ts[0].tv_sec = (time_t)get(r, 8); ts[0].tv_nsec = (long)get(r, 8);
  ts[1].tv_sec = (time_t)get(r, 8); ts[1].tv_nsec = (long)get(r, 8);
  if (!f) { error(s, tag, L_EBADF); return; }
  if ((valid & 8) && truncate_path(f, (off_t)size) != 0) { error(s, tag, linux_errno(errno)); return; }
#if !defined(__wasi__)
  if ((valid & 1) && chmod(f->path, (mode_t)(mode & 07777)) != 0) { error(s, tag, linux_errno(errno)); return; }
#else
  (void)mode; /* WASI has no permission bits */
#endif
  if (valid & (0x10 | 0x20)) { /* ATIME, MTIME; without *_SET: now */
    if (!(valid & 0x80)) ts[0].tv_nsec = (valid & 0x10) ? UTIME_NOW : UTIME_OMIT;
    if (!(valid & 0x100)) ts[1].tv_nsec = (valid & 0x20) ? UTIME_NOW : UTIME_OMIT;
    /* best effort: some WASI runtimes reject "now" timestamps (EINVAL), and
       the kernel sends these with every truncate */
    if (utimensat(AT_FDCWD, f->path, ts, AT_SYMLINK_NOFOLLOW) != 0 && s->verbose)
      emu_log("c2w-emu: 9p: cannot set times on %s\n", f->path);
  }
  begin(s, 27, tag);
}

NOINLINE static void t_fsync(P9 *s, Rd *r, uint16_t tag) {
  Fid *f = fid_get(s, (uint32_t)get(r, 4));
  if (!f) { error(s, tag, L_EBADF); return; }
  if (f->fd >= 0 && fsync(f->fd) != 0) { error(s, tag, linux_errno(errno)); return; }
  begin(s, 51, tag);
}

static int is_change(int type) {
  return type == 14 || type == 16 || type == 18 || type == 20 || type == 26 || type == 70 ||
         type == 72 || type == 74 || type == 76 || type == 118;
}

static void dispatch_change(P9 *s, Rd *r, int type, uint16_t tag) {
  switch (type) {
  case 14: t_lcreate(s, r, tag); break;
  case 16: t_symlink(s, r, tag); break;
  case 20: t_rename(s, r, tag); break;
  case 26: t_setattr(s, r, tag); break;
  case 70: t_link(s, r, tag); break;
  case 72: t_mkdir(s, r, tag); break;
  case 74: t_renameat(s, r, tag); break;
  case 76: t_unlinkat(s, r, tag); break;
  case 118: t_write(s, r, tag); break;
  default: error(s, tag, L_EPERM); break; /* mknod */
  }
}

static void dispatch(P9 *s, Rd *r, int type, uint16_t tag) {
  if (is_change(type)) {
    if (s->read_only) error(s, tag, L_EROFS);
    else dispatch_change(s, r, type, tag);
    return;
  }
  switch (type) {
  case 100: t_version(s, r, tag); break;
  case 104: t_attach(s, r, tag); break;
  case 110: t_walk(s, r, tag); break;
  case 24: t_getattr(s, r, tag); break;
  case 12: t_lopen(s, r, tag); break;
  case 116: t_read(s, r, tag); break;
  case 40: t_readdir(s, r, tag); break;
  case 22: t_readlink(s, r, tag); break;
  case 8: t_statfs(s, r, tag); break;
  case 120: t_clunk(s, r, tag); break;
  case 108: begin(s, 109, tag); break; /* flush: requests complete synchronously */
  case 50: t_fsync(s, r, tag); break;
  default: error(s, tag, L_EOPNOTSUPP); break;
  }
}

static void p9_notify(VirtioDev *d, int q) {
  P9 *s = d->priv;
  VirtChain ch;
  (void)q;
  while (virtq_pop(d, 0, &ch)) {
    uint32_t n = (uint32_t)chain_read(&ch, s->req, sizeof(s->req));
    Rd r = {s->req, n, 0, 0};
    uint32_t size = (uint32_t)get(&r, 4);
    int type = (int)get(&r, 1);
    uint16_t tag = (uint16_t)get(&r, 2);
    if (r.bad || size != n) {
      error(s, tag, L_EINVAL);
    } else {
      dispatch(s, &r, type, tag);
      if (r.bad || s->overflow) error(s, tag, r.bad ? L_EINVAL : L_EIO);
    }
    for (int k = 0; k < 4; k++) s->resp[k] = (uint8_t)(s->rlen >> (8 * k));
    uint32_t w = (uint32_t)chain_write(&ch, s->resp, s->rlen);
    virtq_push(d, 0, &ch, w);
  }
}

VirtioDev *virtio_9p_new(Machine *m, int index, int irq, const char *tag, const char *dir, int read_only) {
  size_t tl = strlen(tag);
  if (tl == 0 || tl > 32) { emu_log("c2w-emu: bad 9p tag %s\n", tag); return 0; }
  VirtioDev *d = virtio_new(m, index, irq, 9, 1);
  P9 *s = calloc(1, sizeof(P9));
  if (!d || !s) return 0;
  s->root = strdup(dir);
  s->read_only = read_only;
  s->verbose = m->verbose;
  size_t rl = strlen(s->root);
  while (rl > 1 && s->root[rl - 1] == '/') s->root[--rl] = 0;
  s->msize = P9_MSIZE;
  for (int k = 0; k < MAX_FIDS; k++) s->fids[k].fd = -1;
  d->priv = s;
  d->features |= 1; /* VIRTIO_9P_MOUNT_TAG */
  d->config[0] = (uint8_t)tl;
  d->config[1] = 0;
  memcpy(d->config + 2, tag, tl);
  d->notify = p9_notify;
  return d;
}
