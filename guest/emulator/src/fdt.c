/* Flattened device tree (DTB, version 17) generator for our machine. */
#include "emu.h"
#include <stdlib.h>

typedef struct {
  uint8_t st[8192 + INFO_MAX];
  size_t st_len;
  char str[2048];
  size_t str_len;
  int overflow;
} Fdt;

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static void emit(Fdt *f, const void *data, size_t len) {
  size_t padded = (len + 3) & ~(size_t)3;
  if (f->st_len + padded > sizeof(f->st)) { f->overflow = 1; return; }
  if (len) memcpy(f->st + f->st_len, data, len);
  memset(f->st + f->st_len + len, 0, padded - len);
  f->st_len += padded;
}
static void emit32(Fdt *f, uint32_t v) { uint8_t b[4]; put32(b, v); emit(f, b, 4); }

static uint32_t str_off(Fdt *f, const char *s) {
  size_t n = strlen(s) + 1;
  for (size_t off = 0; off < f->str_len; off += strlen(f->str + off) + 1)
    if (strcmp(f->str + off, s) == 0) return (uint32_t)off;
  if (f->str_len + n > sizeof(f->str)) { f->overflow = 1; return 0; }
  memcpy(f->str + f->str_len, s, n);
  f->str_len += n;
  return (uint32_t)(f->str_len - n);
}

static void begin(Fdt *f, const char *name) { emit32(f, 1); emit(f, name, strlen(name) + 1); }
static void end(Fdt *f) { emit32(f, 2); }
static void prop(Fdt *f, const char *name, const void *val, size_t len) {
  emit32(f, 3); emit32(f, (uint32_t)len); emit32(f, str_off(f, name)); emit(f, val, len);
}
static void prop_str(Fdt *f, const char *name, const char *s) { prop(f, name, s, strlen(s) + 1); }
static void prop_u32(Fdt *f, const char *name, uint32_t v) { uint8_t b[4]; put32(b, v); prop(f, name, b, 4); }
static void prop_cells(Fdt *f, const char *name, const uint32_t *cells, int n) {
  uint8_t b[64];
  for (int k = 0; k < n && k < 16; k++) put32(b + 4 * k, cells[k]);
  prop(f, name, b, (size_t)(4 * n));
}
static void prop_reg64(Fdt *f, uint64_t base, uint64_t size) {
  uint32_t c[4] = {(uint32_t)(base >> 32), (uint32_t)base, (uint32_t)(size >> 32), (uint32_t)size};
  prop_cells(f, "reg", c, 4);
}
static void prop_u64(Fdt *f, const char *name, uint64_t v) {
  uint32_t c[2] = {(uint32_t)(v >> 32), (uint32_t)v};
  prop_cells(f, name, c, 2);
}

#define PH_INTC 1
#define PH_PLIC 2

static void fdt_cpus(Fdt *f, const char *isa) {
  begin(f, "cpus");
  prop_u32(f, "#address-cells", 1);
  prop_u32(f, "#size-cells", 0);
  prop_u32(f, "timebase-frequency", (uint32_t)TIMEBASE_HZ);
  begin(f, "cpu@0");
  prop_str(f, "device_type", "cpu");
  prop_u32(f, "reg", 0);
  prop_str(f, "status", "okay");
  prop_str(f, "compatible", "riscv");
  prop_str(f, "riscv,isa", isa);
  prop_str(f, "mmu-type", "riscv,sv39");
  begin(f, "interrupt-controller");
  prop_u32(f, "#interrupt-cells", 1);
  prop(f, "interrupt-controller", 0, 0);
  prop_str(f, "compatible", "riscv,cpu-intc");
  prop_u32(f, "phandle", PH_INTC);
  end(f);
  end(f);
  end(f);
}

static void fdt_soc(Fdt *f, int n_virtio) {
  char name[64];
  static const char plic_compat[] = "sifive,plic-1.0.0\0riscv,plic0";
  begin(f, "soc");
  prop_u32(f, "#address-cells", 2);
  prop_u32(f, "#size-cells", 2);
  prop_str(f, "compatible", "simple-bus");
  prop(f, "ranges", 0, 0);
  emu_snprintf(name, sizeof(name), "plic@%llx", (unsigned long long)PLIC_BASE);
  begin(f, name);
  prop(f, "compatible", plic_compat, sizeof(plic_compat));
  prop_reg64(f, PLIC_BASE, PLIC_SIZE);
  uint32_t ie[2] = {PH_INTC, IRQ_SEI};
  prop_cells(f, "interrupts-extended", ie, 2); /* context 0 = S-mode hart 0 */
  prop(f, "interrupt-controller", 0, 0);
  prop_u32(f, "#interrupt-cells", 1);
  prop_u32(f, "#address-cells", 0);
  prop_u32(f, "riscv,ndev", 31);
  prop_u32(f, "phandle", PH_PLIC);
  end(f);
  emu_snprintf(name, sizeof(name), "exit@%llx", (unsigned long long)EXITDEV_BASE);
  begin(f, name);
  prop_str(f, "compatible", "c2w-java,exit");
  prop_reg64(f, EXITDEV_BASE, EXITDEV_SIZE);
  end(f);
  for (int k = 0; k < n_virtio; k++) {
    uint64_t base = VIRTIO_BASE + VIRTIO_STRIDE * (uint64_t)k;
    emu_snprintf(name, sizeof(name), "virtio_mmio@%llx", (unsigned long long)base);
    begin(f, name);
    prop_str(f, "compatible", "virtio,mmio");
    prop_reg64(f, base, VIRTIO_STRIDE);
    prop_u32(f, "interrupts", (uint32_t)(k + 1));
    prop_u32(f, "interrupt-parent", PH_PLIC);
    end(f);
  }
  end(f);
}

/* Builds the DTB into out; returns its size, or 0 if it does not fit. */
size_t fdt_build(Machine *m, uint8_t *out, size_t cap, const char *bootargs,
                 uint64_t initrd_start, uint64_t initrd_end, int n_virtio, const char *isa,
                 const char *info) {
  Fdt *f = calloc(1, sizeof(Fdt));
  char name[64];
  if (!f) return 0;
  begin(f, "");
  prop_u32(f, "#address-cells", 2);
  prop_u32(f, "#size-cells", 2);
  prop_str(f, "compatible", "c2w-java,riscv-virtio");
  prop_str(f, "model", "c2w-java riscv64 virtual machine");
  begin(f, "chosen");
  prop_str(f, "bootargs", bootargs ? bootargs : "");
  if (info) prop_str(f, "c2w,info", info);
  if (initrd_end > initrd_start) {
    prop_u64(f, "linux,initrd-start", initrd_start);
    prop_u64(f, "linux,initrd-end", initrd_end);
  }
  end(f);
  fdt_cpus(f, isa);
  emu_snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)RAM_BASE);
  begin(f, name);
  prop_str(f, "device_type", "memory");
  prop_reg64(f, RAM_BASE, m->ram_size);
  end(f);
  fdt_soc(f, n_virtio);
  end(f);
  emit32(f, 9);

  size_t off_rsv = 40, off_st = off_rsv + 16, off_str = off_st + f->st_len;
  size_t total = off_str + f->str_len;
  if (f->overflow || total > cap) { free(f); return 0; }
  memset(out, 0, total);
  put32(out, 0xd00dfeed);
  put32(out + 4, (uint32_t)total);
  put32(out + 8, (uint32_t)off_st);
  put32(out + 12, (uint32_t)off_str);
  put32(out + 16, (uint32_t)off_rsv);
  put32(out + 20, 17);
  put32(out + 24, 16);
  put32(out + 28, 0);
  put32(out + 32, (uint32_t)f->str_len);
  put32(out + 36, (uint32_t)f->st_len);
  memcpy(out + off_st, f->st, f->st_len);
  memcpy(out + off_str, f->str, f->str_len);
  free(f);
  return total;
}
