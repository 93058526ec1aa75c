/* Physical memory, MMIO dispatch, Sv39 translation, TLB fill and the slow
 * paths of loads, stores and instruction fetch. */
#include "emu.h"

void machine_add_mmio(Machine *m, uint64_t base, uint64_t size, void *opaque,
                      int (*rd)(void *, uint64_t, int, uint64_t *),
                      int (*wr)(void *, uint64_t, int, uint64_t)) {
  if (m->n_mmio >= MMIO_MAX) {
    emu_log("emulator: too many MMIO regions\n");
    return;
  }
  MmioRegion *r = &m->mmio[m->n_mmio++];
  r->base = base; r->size = size; r->opaque = opaque; r->read = rd; r->write = wr;
}

uint8_t *phys_ram_ptr(Machine *m, uint64_t pa, uint64_t len) {
  if (pa >= RAM_BASE && pa - RAM_BASE <= m->ram_size && len <= m->ram_size - (pa - RAM_BASE))
    return m->ram + (pa - RAM_BASE);
  return 0;
}

static MmioRegion *find_mmio(Machine *m, uint64_t pa) {
  for (int k = 0; k < m->n_mmio; k++) {
    MmioRegion *r = &m->mmio[k];
    if (pa >= r->base && pa - r->base < r->size) return r;
  }
  return 0;
}

/* Returns 1 on success, 0 on access fault. */
int phys_read(Machine *m, uint64_t pa, int size, uint64_t *val) {
  uint8_t *p = phys_ram_ptr(m, pa, (uint64_t)size);
  if (p) {
    uint64_t v = 0;
    memcpy(&v, p, (size_t)size); /* little-endian host (x86-64 and wasm) */
    *val = v;
    return 1;
  }
  MmioRegion *r = find_mmio(m, pa);
  if (!r || (pa & (uint64_t)(size - 1))) return 0;
  return r->read(r->opaque, pa - r->base, size, val);
}

int phys_write(Machine *m, uint64_t pa, int size, uint64_t val) {
  uint8_t *p = phys_ram_ptr(m, pa, (uint64_t)size);
  if (p) {
    memcpy(p, &val, (size_t)size);
    return 1;
  }
  MmioRegion *r = find_mmio(m, pa);
  if (!r || (pa & (uint64_t)(size - 1))) return 0;
  return r->write(r->opaque, pa - r->base, size, val);
}

void tlb_flush(Cpu *c) {
  memset(c->tlb_r, 0, sizeof(c->tlb_r));
  memset(c->tlb_w, 0, sizeof(c->tlb_w));
  memset(c->tlb_x, 0, sizeof(c->tlb_x));
  fetch_invalidate(c);
}

static uint64_t page_fault_cause(int acc) {
  return acc == ACC_FETCH ? EXC_INSN_PAGE : acc == ACC_WRITE ? EXC_STORE_PAGE : EXC_LOAD_PAGE;
}
static uint64_t access_fault_cause(int acc) {
  return acc == ACC_FETCH ? EXC_INSN_ACCESS : acc == ACC_WRITE ? EXC_STORE_ACCESS : EXC_LOAD_ACCESS;
}

#define PTE_V 1
#define PTE_R 2
#define PTE_W 4
#define PTE_X 8
#define PTE_U 16
#define PTE_A 64
#define PTE_D 128

static int leaf_allows(Cpu *c, uint64_t pte, int acc) {
  if (c->priv == PRV_U && !(pte & PTE_U)) return 0;
  if (c->priv == PRV_S && (pte & PTE_U) && (acc == ACC_FETCH || !(c->sstatus & SST_SUM))) return 0;
  if (acc == ACC_FETCH) return (pte & PTE_X) != 0;
  if (acc == ACC_WRITE) return (pte & PTE_W) != 0;
  return (pte & PTE_R) || ((pte & PTE_X) && (c->sstatus & SST_MXR));
}

/* Sv39 page walk. Returns 0 (ok), or the exception cause + 1 on failure. */
static int walk_sv39(Cpu *c, uint64_t va, int acc, uint64_t *pa, uint64_t *pte_out) {
  Machine *m = c->m;
  int64_t sva = (int64_t)(va << 25) >> 25;
  if ((uint64_t)sva != va) return (int)page_fault_cause(acc) + 1;
  uint64_t table = (c->satp & ((1ULL << 44) - 1)) << 12;
  for (int level = 2; level >= 0; level--) {
    uint64_t pte_addr = table + ((va >> (12 + 9 * level)) & 511) * 8;
    uint8_t *p = phys_ram_ptr(m, pte_addr, 8);
    if (!p) return (int)access_fault_cause(acc) + 1;
    uint64_t pte;
    memcpy(&pte, p, 8);
    if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W)) || (pte >> 54))
      return (int)page_fault_cause(acc) + 1;
    uint64_t ppn = (pte >> 10) & ((1ULL << 44) - 1);
    if (!(pte & (PTE_R | PTE_X))) {
      table = ppn << 12;
      continue;
    }
    if (!leaf_allows(c, pte, acc)) return (int)page_fault_cause(acc) + 1;
    uint64_t lowmask = (1ULL << (9 * level)) - 1;
    if (ppn & lowmask) return (int)page_fault_cause(acc) + 1; /* misaligned superpage */
    uint64_t want = PTE_A | (acc == ACC_WRITE ? PTE_D : 0);
    if ((pte & want) != want) { /* hardware A/D update */
      pte |= want;
      memcpy(p, &pte, 8);
    }
    *pa = ((ppn | ((va >> 12) & lowmask)) << 12) | (va & 0xfff);
    *pte_out = pte;
    return 0;
  }
  return (int)page_fault_cause(acc) + 1;
}

static void tlb_fill(Cpu *c, uint64_t va, uint64_t pa, int acc, uint64_t pte) {
  uint8_t *host = phys_ram_ptr(c->m, pa & ~0xfffULL, 4096);
  if (!host) return;
  uint64_t tag = (va >> 12) + 1;
  uint64_t addend = (uint64_t)(uintptr_t)host - (va & ~0xfffULL);
  TlbEntry *e;
  if (acc == ACC_FETCH) e = tlb_slot(c->tlb_x[c->priv], va);
  else if (acc == ACC_WRITE) e = tlb_slot(c->tlb_w[c->priv], va);
  else e = tlb_slot(c->tlb_r[c->priv], va);
  e->tag = tag;
  e->addend = addend;
  /* a write-enabled dirty page may also be read through the read TLB */
  if (acc == ACC_WRITE && leaf_allows(c, pte, ACC_READ)) {
    e = tlb_slot(c->tlb_r[c->priv], va);
    e->tag = tag;
    e->addend = addend;
  }
}

/* Translate va for an access. On failure raises the exception and returns 0. */
int translate(Cpu *c, uint64_t va, int acc, uint64_t *pa, int fill_tlb) {
  uint64_t pte = PTE_R | PTE_W | PTE_X | PTE_A | PTE_D | (c->priv == PRV_U ? PTE_U : 0);
  if ((c->satp >> 60) == 8) {
    int r = walk_sv39(c, va, acc, pa, &pte);
    if (r) {
      raise_exception(c, (uint64_t)(r - 1), va);
      return 0;
    }
  } else {
    *pa = va;
  }
  if (fill_tlb) tlb_fill(c, va, *pa, acc, pte);
  return 1;
}

static int cross_page(uint64_t va, int size) { return (va & 0xfff) + (uint64_t)size > 4096; }

int mem_load_slow(Cpu *c, uint64_t va, int size, uint64_t *out) {
  uint64_t pa;
  if (cross_page(va, size)) {
    uint64_t v = 0, b;
    for (int k = 0; k < size; k++) {
      if (!mem_load_slow(c, va + (uint64_t)k, 1, &b)) return 0;
      v |= b << (8 * k);
    }
    *out = v;
    return 1;
  }
  if (!translate(c, va, ACC_READ, &pa, 1)) return 0;
  if (!phys_read(c->m, pa, size, out)) {
    raise_exception(c, EXC_LOAD_ACCESS, va);
    return 0;
  }
  return 1;
}

int mem_store_slow(Cpu *c, uint64_t va, int size, uint64_t val) {
  uint64_t pa;
  if (cross_page(va, size)) {
    uint64_t pa2;
    /* check both pages first so a fault leaves memory untouched */
    if (!translate(c, va, ACC_WRITE, &pa, 0)) return 0;
    if (!translate(c, (va | 0xfff) + 1, ACC_WRITE, &pa2, 0)) return 0;
    for (int k = 0; k < size; k++)
      if (!mem_store_slow(c, va + (uint64_t)k, 1, (val >> (8 * k)) & 0xff)) return 0;
    return 1;
  }
  if (!translate(c, va, ACC_WRITE, &pa, 1)) return 0;
  if (!phys_write(c->m, pa, size, val)) {
    raise_exception(c, EXC_STORE_ACCESS, va);
    return 0;
  }
  return 1;
}

static int fetch16(Cpu *c, uint64_t va, uint32_t *half, int set_fast) {
  uint64_t pa;
  TlbEntry *e = tlb_slot(c->tlb_x[c->priv], va);
  uint8_t *host;
  if (e->tag == (va >> 12) + 1) {
    host = (uint8_t *)(uintptr_t)((va & ~0xfffULL) + e->addend);
  } else {
    if (!translate(c, va, ACC_FETCH, &pa, 1)) return 0;
    host = phys_ram_ptr(c->m, pa & ~0xfffULL, 4096);
    if (!host) {
      raise_exception(c, EXC_INSN_ACCESS, va);
      return 0;
    }
  }
  if (set_fast) {
    c->fetch_page = va & ~0xfffULL;
    c->fetch_base = host;
    c->fetch_key = (uint32_t)(host - c->m->ram);
  }
  uint16_t h;
  memcpy(&h, host + (va & 0xfff), 2);
  *half = h;
  return 1;
}

int64_t fetch_slow(Cpu *c) {
  uint64_t pc = c->pc;
  uint32_t lo, hi, raw;
  if (!fetch16(c, pc, &lo, 1)) return -1;
  if ((pc & 0xfff) != 0xffe) { /* same 32 bits as the fast path */
    memcpy(&raw, c->fetch_base + (pc & 0xfff), 4);
    return raw;
  }
  if ((lo & 3) != 3) return lo;
  if (!fetch16(c, pc + 2, &hi, 0)) return -1;
  return lo | (hi << 16);
}
