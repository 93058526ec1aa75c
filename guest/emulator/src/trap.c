/* Traps, interrupts, supervisor CSRs, the timer and the SBI implementation. */
#include "emu.h"

static void trap_enter(Cpu *c, uint64_t cause, uint64_t tval, int is_irq) {
  uint64_t s = c->sstatus;
  c->scause = cause | (is_irq ? (1ULL << 63) : 0);
  c->sepc = c->pc;
  c->stval = tval;
  s = (c->priv == PRV_S) ? (s | SST_SPP) : (s & ~SST_SPP);
  s = (s & SST_SIE) ? (s | SST_SPIE) : (s & ~SST_SPIE);
  s &= ~SST_SIE;
  c->sstatus = s;
  c->priv = PRV_S;
  c->pc = c->stvec & ~3ULL;
  if ((c->stvec & 1) && is_irq) c->pc += 4 * cause;
  fetch_invalidate(c);
  c->resv_valid = 0;
}

void raise_exception(Cpu *c, uint64_t cause, uint64_t tval) {
  if (c->m->verbose > 1)
    emu_log("trap cause=%llu tval=%llx pc=%llx\n", (unsigned long long)cause,
            (unsigned long long)tval, (unsigned long long)c->pc);
  trap_enter(c, cause, tval, 0);
}

void take_interrupt(Cpu *c, int irq) {
  c->wfi = 0;
  trap_enter(c, (uint64_t)irq, 0, 1);
}

/* Returns the interrupt to take now, or -1. */
int check_interrupts(Cpu *c) {
  uint64_t pend = c->sip & c->sie;
  if (!pend) return -1;
  if (c->priv == PRV_S && !(c->sstatus & SST_SIE)) return -1;
  if (pend & (1ULL << IRQ_SEI)) return IRQ_SEI;
  if (pend & (1ULL << IRQ_SSI)) return IRQ_SSI;
  if (pend & (1ULL << IRQ_STI)) return IRQ_STI;
  return -1;
}

uint64_t machine_time_at(Machine *m, uint64_t now_ns) {
  return (now_ns - m->time_origin_ns) / (1000000000ULL / TIMEBASE_HZ);
}

uint64_t machine_time(Machine *m) { return machine_time_at(m, host_now_ns()); }

void cpu_update_timer_irq_at(Cpu *c, uint64_t now_ns) {
  if (machine_time_at(c->m, now_ns) >= c->stimecmp) c->sip |= 1ULL << IRQ_STI;
  else c->sip &= ~(1ULL << IRQ_STI);
}

void cpu_update_timer_irq(Cpu *c) { cpu_update_timer_irq_at(c, host_now_ns()); }

/* ---- CSRs ---- */
#define SSTATUS_WMASK (SST_SIE | SST_SPIE | SST_SPP | SST_FS | SST_SUM | SST_MXR)
#define SIE_MASK ((1ULL << IRQ_SSI) | (1ULL << IRQ_STI) | (1ULL << IRQ_SEI))

static uint64_t retired(Cpu *c) {
  return c->insn_count; /* exact: counter reads start their block */
}

static int counter_allowed(Cpu *c, int csr) {
  if (c->priv == PRV_S) return 1;
  return (c->scounteren >> (csr & 31)) & 1;
}

static int fp_enabled(Cpu *c) { return (c->sstatus & SST_FS) != 0; }

int csr_read(Cpu *c, int csr, uint64_t *val) {
  if (((csr >> 8) & 3) > (unsigned)c->priv) return 0;
  switch (csr) {
  case 0x001: if (!fp_enabled(c)) return 0; *val = c->fflags; return 1;
  case 0x002: if (!fp_enabled(c)) return 0; *val = c->frm; return 1;
  case 0x003: if (!fp_enabled(c)) return 0; *val = c->fflags | (c->frm << 5); return 1;
  case 0x100: {
    uint64_t s = c->sstatus;
    if ((s & SST_FS) == SST_FS) s |= SST_SD;
    *val = s;
    return 1;
  }
  case 0x104: *val = c->sie; return 1;
  case 0x105: *val = c->stvec; return 1;
  case 0x106: *val = c->scounteren; return 1;
  case 0x10a: *val = c->senvcfg; return 1;
  case 0x140: *val = c->sscratch; return 1;
  case 0x141: *val = c->sepc; return 1;
  case 0x142: *val = c->scause; return 1;
  case 0x143: *val = c->stval; return 1;
  case 0x144: *val = c->sip; return 1;
  case 0x180: *val = c->satp; return 1;
  case 0xc00: case 0xc02:
    if (!counter_allowed(c, csr)) return 0;
    *val = retired(c);
    return 1;
  case 0xc01:
    if (!counter_allowed(c, csr)) return 0;
    *val = machine_time(c->m);
    return 1;
  default:
    if (csr >= 0xc03 && csr <= 0xc1f) {
      if (!counter_allowed(c, csr)) return 0;
      *val = 0;
      return 1;
    }
    return 0;
  }
}

static void end_slice(Cpu *c) { END_SLICE(c); }

int csr_write(Cpu *c, int csr, uint64_t v) {
  switch (csr) {
  case 0x001: c->fflags = v & 0x1f; c->sstatus |= SST_FS; return 1;
  case 0x002: c->frm = v & 7; c->sstatus |= SST_FS; return 1;
  case 0x003: c->fflags = v & 0x1f; c->frm = (v >> 5) & 7; c->sstatus |= SST_FS; return 1;
  case 0x100: {
    uint64_t old = c->sstatus;
    c->sstatus = (old & ~SSTATUS_WMASK) | (v & SSTATUS_WMASK);
    if ((old ^ c->sstatus) & (SST_SUM | SST_MXR)) tlb_flush(c);
    end_slice(c);
    return 1;
  }
  case 0x104: c->sie = v & SIE_MASK; end_slice(c); return 1;
  case 0x105: c->stvec = v & ~2ULL; return 1;
  case 0x106: c->scounteren = v & 0xffffffffULL; return 1;
  case 0x10a: c->senvcfg = v & 1; return 1;
  case 0x140: c->sscratch = v; return 1;
  case 0x141: c->sepc = v & ~1ULL; return 1;
  case 0x142: c->scause = v; return 1;
  case 0x143: c->stval = v; return 1;
  case 0x144:
    c->sip = (c->sip & ~(1ULL << IRQ_SSI)) | (v & (1ULL << IRQ_SSI));
    end_slice(c);
    return 1;
  case 0x180: {
    uint64_t mode = v >> 60;
    if (mode != 0 && mode != 8) return 1; /* only Bare and Sv39; others ignored */
    c->satp = (mode << 60) | (v & ((1ULL << 44) - 1)); /* no ASID bits */
    tlb_flush(c);
    return 1;
  }
  default: return 0;
  }
}

/* ---- SBI ---- */
#define SBI_EXT_BASE 0x10
#define SBI_EXT_TIME 0x54494D45
#define SBI_EXT_IPI 0x735049
#define SBI_EXT_RFENCE 0x52464E43
#define SBI_EXT_SRST 0x53525354
#define SBI_EXT_C2W 0x0A000C2A /* firmware-specific range: c2w test/exit */
#define SBI_ERR_NOT_SUPPORTED (-2)

#define A(n) c->x[10 + (n)]

static void sbi_set_timer(Cpu *c, uint64_t t) {
  c->stimecmp = t;
  cpu_update_timer_irq(c);
  END_SLICE(c); /* the main loop re-checks interrupts */
}

static void sbi_halt(Cpu *c, int code) {
  if (c->halted) return; /* the first reported status wins */
  c->halted = 1;
  c->exit_code = code;
  END_SLICE(c);
}

static int64_t sbi_probe(uint64_t ext) {
  switch (ext) {
  case SBI_EXT_BASE: case SBI_EXT_TIME: case SBI_EXT_IPI: case SBI_EXT_RFENCE:
  case SBI_EXT_SRST: case SBI_EXT_C2W:
    return 1;
  default:
    return ext <= 8 ? 1 : 0;
  }
}

static int sbi_legacy(Cpu *c, uint64_t eid) {
  uint8_t ch;
  switch (eid) {
  case 0: sbi_set_timer(c, A(0)); A(0) = 0; return 1;
  case 1: ch = (uint8_t)A(0); host_console_write(&ch, 1); A(0) = 0; return 1;
  case 2: A(0) = (uint64_t)(int64_t)console_getchar(c->m); return 1;
  case 3: c->sip &= ~(1ULL << IRQ_SSI); A(0) = 0; END_SLICE(c); return 1;
  case 4: c->sip |= 1ULL << IRQ_SSI; A(0) = 0; END_SLICE(c); return 1;
  case 5: blocks_flush(c); END_SLICE(c); A(0) = 0; return 1; /* remote fence.i */
  case 6: case 7: tlb_flush(c); A(0) = 0; return 1;
  case 8: sbi_halt(c, 0); A(0) = 0; return 1;
  default: return 0;
  }
}

static void sbi_base(Cpu *c, uint64_t fid) {
  int64_t val = 0;
  switch (fid) {
  case 0: val = 1 << 24; break;           /* spec version 1.0 */
  case 1: val = 0xC2A; break;             /* implementation id (ours) */
  case 2: val = 1; break;
  case 3: val = sbi_probe(A(0)); break;
  default: val = 0; break;               /* mvendorid, marchid, mimpid */
  }
  A(0) = 0;
  A(1) = (uint64_t)val;
}

void sbi_call(Cpu *c) {
  uint64_t eid = c->x[17], fid = c->x[16];
  if (eid <= 8) {
    if (!sbi_legacy(c, eid)) A(0) = (uint64_t)SBI_ERR_NOT_SUPPORTED;
    return;
  }
  int64_t err = 0;
  switch (eid) {
  case SBI_EXT_BASE: sbi_base(c, fid); return;
  case SBI_EXT_TIME:
    if (fid == 0) sbi_set_timer(c, A(0)); else err = SBI_ERR_NOT_SUPPORTED;
    break;
  case SBI_EXT_IPI: /* single hart: hart 0 is bit 0 of the mask at base a1 */
    if (A(1) == (uint64_t)-1 || ((A(0) << A(1)) & 1) || (A(1) == 0 && (A(0) & 1)))
      c->sip |= 1ULL << IRQ_SSI;
    END_SLICE(c);
    break;
  case SBI_EXT_RFENCE: /* one hart: every remote fence is local */
    if (fid == 0) { blocks_flush(c); END_SLICE(c); } /* remote fence.i */
    tlb_flush(c);
    break;
  case SBI_EXT_SRST:
    if (fid == 0 && A(0) <= 2) sbi_halt(c, A(1) == 0 ? 0 : 1);
    else err = SBI_ERR_NOT_SUPPORTED;
    break;
  case SBI_EXT_C2W:
    if (fid == 0) sbi_halt(c, (int)(A(0) & 0xff)); else err = SBI_ERR_NOT_SUPPORTED;
    break;
  default: err = SBI_ERR_NOT_SUPPORTED; break;
  }
  A(0) = (uint64_t)err;
  if (err == 0 && eid != SBI_EXT_BASE) A(1) = 0;
}
