/* Emulator options: filled from the command line (main.c) or, in a
 * converted module, from the bundle and upstream's module argv (bundle.c). */
#ifndef C2W_OPTS_H
#define C2W_OPTS_H
#include "emu.h"

#define MAX_SHARES 16
#define MAX_RUN_ITEMS 64

/* A kernel, initrd or disk image: a host file (path) or bytes in memory. */
typedef struct {
  const char *path;
  const uint8_t *mem;
  uint64_t size; /* for mem */
} Blob;

typedef struct {
  Blob kernel, initrd, blk;
  int blk_fd; /* open disk image file, -1: none (or blk.mem / blk.path) */
  const char *append, *isa;
  uint64_t mem_mib;
  uint64_t max_insns;
  int stats;
  int verbose;
  int no_stdin;
  int net_fd; /* listening socket for virtio-net, -1: no network */
  const char *p9_tag[MAX_SHARES], *p9_dir[MAX_SHARES];
  int p9_ro[MAX_SHARES], n_shares;
  uint8_t mac[6];
  /* run configuration for init (info.c) */
  const char *env[MAX_RUN_ITEMS];
  char *entrypoint[MAX_RUN_ITEMS];
  const char *mount_tag[MAX_SHARES], *mount_path[MAX_SHARES];
  int n_env, n_entrypoint, n_mounts;
  char **args; /* after "--" */
  int n_args;
} Options;

/* main.c */
void options_init(Options *o);
const char *opt_value(int argc, char **argv, int *k, const char *name);
int parse_net_value(const char *v, int *fd);

/* bundle.c: upstream module argv from argv[start] on (used for converted
 * modules and by the native --as-module test option). */
int module_parse_args(int argc, char **argv, int start, Options *o);
/* Options of a converted module: bundle, argv, pre-opened directories. */
int bundle_options(int argc, char **argv, Options *o);
#endif
