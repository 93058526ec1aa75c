/* PLIC (platform-level interrupt controller) with one context: S-mode hart 0. */
#include "emu.h"
#include <stdlib.h>

typedef struct Plic {
  Machine *m;
  int ndev;
  uint32_t priority[32];
  uint32_t pending, enable, claimed, threshold;
  uint32_t level; /* current line levels (level-triggered sources) */
} Plic;

static int plic_best(Plic *p) {
  uint32_t cand = p->pending & p->enable & ~p->claimed;
  int best = 0;
  uint32_t best_prio = p->threshold;
  for (int k = 1; k <= p->ndev; k++) {
    if ((cand >> k) & 1 && p->priority[k] > best_prio) {
      best = k;
      best_prio = p->priority[k];
    }
  }
  return best;
}

static void plic_update(Plic *p) {
  Cpu *c = &p->m->cpu;
  if (plic_best(p)) c->sip |= 1ULL << IRQ_SEI;
  else c->sip &= ~(1ULL << IRQ_SEI);
}

void plic_set_irq(Plic *p, int irq, int level) {
  if (irq <= 0 || irq > p->ndev) return;
  if (level) {
    p->level |= 1u << irq;
    if (!(p->claimed & (1u << irq))) p->pending |= 1u << irq;
  } else {
    p->level &= ~(1u << irq);
    p->pending &= ~(1u << irq);
  }
  plic_update(p);
}

static int plic_read(void *opaque, uint64_t off, int size, uint64_t *val) {
  Plic *p = opaque;
  if (size != 4) return 0;
  *val = 0;
  if (off < 0x80) *val = p->priority[off / 4];
  else if (off == 0x1000) *val = p->pending;
  else if (off == 0x2000) *val = p->enable;
  else if (off == 0x200000) *val = p->threshold;
  else if (off == 0x200004) {
    int best = plic_best(p);
    if (best) {
      p->claimed |= 1u << best;
      p->pending &= ~(1u << best);
    }
    *val = (uint64_t)best;
    plic_update(p);
  }
  return 1;
}

static int plic_write(void *opaque, uint64_t off, int size, uint64_t val) {
  Plic *p = opaque;
  if (size != 4) return 0;
  if (off < 0x80) p->priority[off / 4] = (uint32_t)val & 7;
  else if (off == 0x2000) p->enable = (uint32_t)val & ~1u;
  else if (off == 0x200000) p->threshold = (uint32_t)val & 7;
  else if (off == 0x200004) {
    if (val < 32) {
      p->claimed &= ~(1u << val);
      p->pending |= p->level & (1u << val); /* still asserted: pend again */
    }
  }
  plic_update(p);
  return 1;
}

Plic *plic_new(Machine *m, int ndev) {
  Plic *p = calloc(1, sizeof(Plic));
  if (!p) return 0;
  p->m = m;
  p->ndev = ndev > 31 ? 31 : ndev;
  machine_add_mmio(m, PLIC_BASE, PLIC_SIZE, p, plic_read, plic_write);
  m->plic = p;
  return p;
}
