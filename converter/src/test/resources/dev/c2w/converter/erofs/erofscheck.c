/*
 * /init for ErofsGuestKernelTest: runs under the guest's Linux 6.1 kernel, mounts /dev/vda
 * (erofs, read-only) and prints one line per file as the kernel reports it, between BEGIN and END,
 * then powers off. Directories are listed in readdir order (the test checks that order).
 *
 * Line: path TAB mode(octal) TAB uid TAB gid TAB nlink TAB ino TAB size TAB major:minor TAB mtime
 *       TAB fnv1a64(contents) TAB symlink target TAB xattrs as name=hex,name=hex (listxattr order)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static char buf[1 << 16];

static uint64_t fnv(const char *path) {
  uint64_t h = 0xcbf29ce484222325ULL;
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    printf("ERROR open %s: %s\n", path, strerror(errno));
    return 0;
  }
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; i++) {
      h ^= (unsigned char)buf[i];
      h *= 0x100000001b3ULL;
    }
  }
  if (n < 0) printf("ERROR read %s: %s\n", path, strerror(errno));
  close(fd);
  return h;
}

static void xattrs(const char *path) {
  static char names[1 << 16];
  static unsigned char val[1 << 16];
  ssize_t len = llistxattr(path, names, sizeof names);
  if (len < 0) {
    printf("ERROR listxattr %s: %s", path, strerror(errno));
    return;
  }
  int first = 1;
  for (char *n = names; n < names + len; n += strlen(n) + 1) {
    ssize_t v = lgetxattr(path, n, val, sizeof val);
    if (v < 0) {
      printf("ERROR getxattr %s %s: %s", path, n, strerror(errno));
      continue;
    }
    printf("%s%s=", first ? "" : ",", n);
    first = 0;
    for (ssize_t i = 0; i < v; i++) printf("%02x", val[i]);
  }
}

static void walk(const char *path, const char *shown) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    printf("ERROR lstat %s: %s\n", path, strerror(errno));
    return;
  }
  uint64_t h = S_ISREG(st.st_mode) ? fnv(path) : 0;
  static char target[8192];
  target[0] = 0;
  if (S_ISLNK(st.st_mode)) {
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0) printf("ERROR readlink %s: %s\n", path, strerror(errno));
    else target[n] = 0;
  }
  printf("%s\t%o\t%u\t%u\t%lu\t%lu\t%lld\t%u:%u\t%lld\t%016llx\t%s\t", shown, st.st_mode, st.st_uid, st.st_gid,
         (unsigned long)st.st_nlink, (unsigned long)st.st_ino, (long long)st.st_size, major(st.st_rdev),
         minor(st.st_rdev), (long long)st.st_mtime, (unsigned long long)h, target);
  xattrs(path);
  printf("\n");
  if (!S_ISDIR(st.st_mode)) return;
  DIR *d = opendir(path);
  if (!d) {
    printf("ERROR opendir %s: %s\n", path, strerror(errno));
    return;
  }
  /* read the whole directory first: recursion must not share the stream */
  size_t cap = 64, cnt = 0;
  char **names = malloc(cap * sizeof *names);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (cnt == cap) names = realloc(names, (cap *= 2) * sizeof *names);
    names[cnt++] = strdup(e->d_name);
  }
  closedir(d);
  for (size_t i = 0; i < cnt; i++) {
    size_t pl = strlen(path), sl = strlen(shown), nl = strlen(names[i]);
    char *p = malloc(pl + nl + 2), *s = malloc(sl + nl + 2);
    sprintf(p, "%s/%s", path, names[i]);
    sprintf(s, "%s/%s", shown, names[i]);
    walk(p, s);
    free(p);
    free(s);
    free(names[i]);
  }
  free(names);
}

int main(void) {
  mkdir("/dev", 0755);
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  mkdir("/mnt", 0755);
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  printf("\nBEGIN\n");
  if (mount("/dev/vda", "/mnt", "erofs", MS_RDONLY, NULL) != 0) {
    printf("ERROR mount: %s\n", strerror(errno));
  } else {
    walk("/mnt", "");
    umount("/mnt");
  }
  printf("END\n");
  fflush(stdout);
  sync();
  reboot(RB_POWER_OFF);
  return 0;
}
