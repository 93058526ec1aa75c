/* The bundle descriptor of a converted module (spec/INTERFACES.md section 1).
 *
 * The converter finds the 16 magic bytes in the module's data, patches the
 * fields in place and appends data segments holding the kernel, the initrd
 * and (unless external) the erofs rootfs beyond the original memory end.
 * A plain emulator build has kernel_size == 0: options select everything.
 * The magic must occur exactly once in the module, so no code compares
 * against a literal of it; kernel_size != 0 is the test. */
#ifndef C2W_BUNDLE_H
#define C2W_BUNDLE_H
#include <stddef.h>
#include <stdint.h>

struct c2w_bundle {
  char magic[16];          /* "C2W-BUNDLE-V1" + 3 NUL bytes */
  uint32_t version;        /* 1 */
  uint32_t flags;          /* bit0: rootfs is the file external_name in a pre-opened dir */
  uint32_t kernel_addr;    /* linear-memory address of the kernel Image */
  uint32_t kernel_size;    /* 0: not a converted module */
  uint32_t initrd_addr;
  uint32_t initrd_size;
  uint32_t rootfs_addr;    /* erofs image in linear memory (0: external or none) */
  uint32_t rootfs_size;
  uint32_t memory_mib;     /* guest RAM, 0: default */
  uint32_t reserved[3];
  char cmdline[512];       /* kernel command line, NUL-terminated; empty: default */
  char external_name[128]; /* file name of the external rootfs */
};

#define BUNDLE_FLAG_EXTERNAL_ROOTFS 1u

_Static_assert(sizeof(struct c2w_bundle) == 704, "bundle size");
_Static_assert(offsetof(struct c2w_bundle, version) == 16, "version offset");
_Static_assert(offsetof(struct c2w_bundle, flags) == 20, "flags offset");
_Static_assert(offsetof(struct c2w_bundle, kernel_addr) == 24, "kernel_addr offset");
_Static_assert(offsetof(struct c2w_bundle, kernel_size) == 28, "kernel_size offset");
_Static_assert(offsetof(struct c2w_bundle, initrd_addr) == 32, "initrd_addr offset");
_Static_assert(offsetof(struct c2w_bundle, initrd_size) == 36, "initrd_size offset");
_Static_assert(offsetof(struct c2w_bundle, rootfs_addr) == 40, "rootfs_addr offset");
_Static_assert(offsetof(struct c2w_bundle, rootfs_size) == 44, "rootfs_size offset");
_Static_assert(offsetof(struct c2w_bundle, memory_mib) == 48, "memory_mib offset");
_Static_assert(offsetof(struct c2w_bundle, reserved) == 52, "reserved offset");
_Static_assert(offsetof(struct c2w_bundle, cmdline) == 64, "cmdline offset");
_Static_assert(offsetof(struct c2w_bundle, external_name) == 576, "external_name offset");

extern volatile struct c2w_bundle c2w_bundle;

/* 1 when this module was converted (the bundle carries a kernel). */
int bundle_active(void);
#endif
