/* Interpreter loop and integer instruction handlers (RV64IM + Zicsr + system). */
#include "emu.h"
#include <stdlib.h>

#define X(r) (c->x[i->r])
#define NEXT() (c->pc += i->len)
/* fast handlers: never trap, never read c->pc */
#define OP(name) uint64_t op_##name(Cpu *c, const Insn *i, uint64_t pc)
#define FALL (pc + i->len)

/* ---- upper immediates and jumps ---- */
OP(lui) { c->x[i->rd] = (uint64_t)(int64_t)i->imm; return FALL; }
OP(auipc) { c->x[i->rd] = pc + (int64_t)i->imm; return FALL; }
OP(jal) {
  c->x[i->rd] = FALL;
  return pc + (int64_t)i->imm;
}
OP(jalr) {
  uint64_t target = (X(rs1) + (int64_t)i->imm) & ~1ULL;
  c->x[i->rd] = FALL;
  return target;
}

#define BRANCH(name, cond)                                   \
  OP(name) {                                                 \
    return (cond) ? pc + (int64_t)i->imm : FALL;             \
  }
BRANCH(beq, X(rs1) == X(rs2))
BRANCH(bne, X(rs1) != X(rs2))
BRANCH(blt, (int64_t)X(rs1) < (int64_t)X(rs2))
BRANCH(bge, (int64_t)X(rs1) >= (int64_t)X(rs2))
BRANCH(bltu, X(rs1) < X(rs2))
BRANCH(bgeu, X(rs1) >= X(rs2))

/* ---- loads and stores ---- */
/* loads and stores publish pc only on their slow path (which may trap) */
#define LOAD(name, fn, conv)                                  \
  OP(name) {                                                  \
    uint64_t v;                                               \
    int r = fn##_pc(c, X(rs1) + (int64_t)i->imm, &v, pc);     \
    if (r) {                                                  \
      c->x[i->rd] = conv;                                     \
      return FALL | (uint64_t)(r >> 1);                       \
    }                                                         \
    return c->pc;                                             \
  }
LOAD(lb, ld_u8, (uint64_t)(int64_t)(int8_t)v)
LOAD(lh, ld_u16, (uint64_t)(int64_t)(int16_t)v)
LOAD(lw, ld_u32, (uint64_t)(int64_t)(int32_t)v)
LOAD(ld, ld_u64, v)
LOAD(lbu, ld_u8, v)
LOAD(lhu, ld_u16, v)
LOAD(lwu, ld_u32, v)

#define STORE(name, fn)                                       \
  OP(name) {                                                  \
    int r = fn##_pc(c, X(rs1) + (int64_t)i->imm, X(rs2), pc); \
    return r ? FALL | (uint64_t)(r >> 1) : c->pc;             \
  }
STORE(sb, st_u8)
STORE(sh, st_u16)
STORE(sw, st_u32)
STORE(sd, st_u64)

/* ---- ALU ---- */
#define SEXT32(v) ((uint64_t)(int64_t)(int32_t)(uint32_t)(v))
#define ALUI(name, expr) OP(name) { uint64_t a = X(rs1); int64_t imm = i->imm; c->x[i->rd] = (expr); return FALL; }
#define ALU(name, expr) OP(name) { uint64_t a = X(rs1), b = X(rs2); c->x[i->rd] = (expr); return FALL; }

ALUI(addi, a + imm)
ALUI(slti, (int64_t)a < imm)
ALUI(sltiu, a < (uint64_t)imm)
ALUI(xori, a ^ (uint64_t)imm)
ALUI(ori, a | (uint64_t)imm)
ALUI(andi, a & (uint64_t)imm)
ALUI(slli, a << (imm & 63))
ALUI(srli, a >> (imm & 63))
ALUI(srai, (uint64_t)((int64_t)a >> (imm & 63)))
ALUI(addiw, SEXT32(a + imm))
ALUI(slliw, SEXT32((uint32_t)a << (imm & 31)))
ALUI(srliw, SEXT32((uint32_t)a >> (imm & 31)))
ALUI(sraiw, SEXT32((int32_t)a >> (imm & 31)))

ALU(add, a + b)
ALU(sub, a - b)
ALU(sll, a << (b & 63))
ALU(slt, (int64_t)a < (int64_t)b)
ALU(sltu, a < b)
ALU(xor, a ^ b)
ALU(srl, a >> (b & 63))
ALU(sra, (uint64_t)((int64_t)a >> (b & 63)))
ALU(or, a | b)
ALU(and, a & b)
ALU(addw, SEXT32(a + b))
ALU(subw, SEXT32(a - b))
ALU(sllw, SEXT32((uint32_t)a << (b & 31)))
ALU(srlw, SEXT32((uint32_t)a >> (b & 31)))
ALU(sraw, SEXT32((int32_t)a >> (b & 31)))

/* ---- M extension ---- */
static uint64_t mulhu64(uint64_t a, uint64_t b) {
  uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
  uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
  uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
  return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}
static uint64_t mulh64(int64_t a, int64_t b) {
  uint64_t r = mulhu64((uint64_t)a, (uint64_t)b);
  if (a < 0) r -= (uint64_t)b;
  if (b < 0) r -= (uint64_t)a;
  return r;
}
static uint64_t mulhsu64(int64_t a, uint64_t b) {
  uint64_t r = mulhu64((uint64_t)a, b);
  if (a < 0) r -= b;
  return r;
}
static uint64_t div64(int64_t a, int64_t b) {
  if (b == 0) return ~0ULL;
  if (a == INT64_MIN && b == -1) return (uint64_t)a;
  return (uint64_t)(a / b);
}
static uint64_t rem64(int64_t a, int64_t b) {
  if (b == 0) return (uint64_t)a;
  if (a == INT64_MIN && b == -1) return 0;
  return (uint64_t)(a % b);
}
static uint64_t div32(int32_t a, int32_t b) {
  if (b == 0) return ~0ULL;
  if (a == INT32_MIN && b == -1) return SEXT32(a);
  return SEXT32(a / b);
}
static uint64_t rem32(int32_t a, int32_t b) {
  if (b == 0) return SEXT32(a);
  if (a == INT32_MIN && b == -1) return 0;
  return SEXT32(a % b);
}
ALU(mul, a * b)
ALU(mulh, mulh64((int64_t)a, (int64_t)b))
ALU(mulhsu, mulhsu64((int64_t)a, b))
ALU(mulhu, mulhu64(a, b))
ALU(div, div64((int64_t)a, (int64_t)b))
ALU(divu, b == 0 ? ~0ULL : a / b)
ALU(rem, rem64((int64_t)a, (int64_t)b))
ALU(remu, b == 0 ? a : a % b)
ALU(mulw, SEXT32((uint32_t)a * (uint32_t)b))
ALU(divw, div32((int32_t)a, (int32_t)b))
ALU(divuw, (uint32_t)b == 0 ? ~0ULL : SEXT32((uint32_t)a / (uint32_t)b))
ALU(remw, rem32((int32_t)a, (int32_t)b))
ALU(remuw, (uint32_t)b == 0 ? SEXT32(a) : SEXT32((uint32_t)a % (uint32_t)b))

/* ---- system ---- */
OP(nop) { (void)c; return FALL; }
SLOW_OP(illegal) {
  if (UNLIKELY(c->fetch_page == FETCH_INVALID)) { /* see fetch_invalidate */
    if (fetch_slow(c) < 0) return;
  }
  raise_exception(c, EXC_ILLEGAL, INSN_BITS(i));
}
SLOW_OP(ebreak) { raise_exception(c, EXC_BREAKPOINT, c->pc); }
SLOW_OP(ecall) {
  if (c->priv == PRV_S) {
    sbi_call(c); /* ends the slice itself when interrupt state changes */
    NEXT();
  } else {
    raise_exception(c, EXC_ECALL_U, 0);
  }
}
SLOW_OP(fence_i) { NEXT(); }
SLOW_OP(sret) {
  if (c->priv == PRV_U) { raise_exception(c, EXC_ILLEGAL, INSN_BITS(i)); return; }
  uint64_t s = c->sstatus;
  c->priv = (s & SST_SPP) ? PRV_S : PRV_U;
  s = (s & SST_SPIE) ? (s | SST_SIE) : (s & ~SST_SIE);
  s |= SST_SPIE;
  s &= ~SST_SPP;
  c->sstatus = s;
  c->pc = c->sepc;
  c->resv_valid = 0;
  fetch_invalidate(c);
  END_SLICE(c); /* re-check interrupts */
}
SLOW_OP(wfi) {
  if (c->priv == PRV_U) { raise_exception(c, EXC_ILLEGAL, INSN_BITS(i)); return; }
  NEXT();
  if (!(c->sip & c->sie)) c->wfi = 1;
  END_SLICE(c);
}
SLOW_OP(sfence_vma) {
  if (c->priv == PRV_U) { raise_exception(c, EXC_ILLEGAL, INSN_BITS(i)); return; }
  tlb_flush(c);
  NEXT();
}

/* CSR instructions: imm = csr number | kind << 12, rs1 = register or uimm; kind
 * (bit0..1: 1 write, 2 set, 3 clear; bit2: immediate form). */
SLOW_OP(csr) {
  int kind = (i->imm >> 12) & 3, isimm = (i->imm >> 12) & 4;
  uint64_t src = isimm ? i->rs1 : X(rs1);
  uint64_t old = 0;
  int csr = i->imm & 0xfff;
  int writes = kind == 1 || i->rs1 != 0;
  if ((csr == 0xc00 || csr == 0xc02) && !c->first) { /* exact count: re-run first in a slice */
    c->redo = 1;
    END_SLICE(c);
    return;
  }
  /* csrrw with rd=x0 must not read (side effects); reading is side-effect free here */
  if (!csr_read(c, csr, &old)) { raise_exception(c, EXC_ILLEGAL, INSN_BITS(i)); return; }
  if (writes) {
    if ((csr >> 10) == 3) { raise_exception(c, EXC_ILLEGAL, INSN_BITS(i)); return; }
    uint64_t nv = kind == 1 ? src : kind == 2 ? (old | src) : (old & ~src);
    if (!csr_write(c, csr, nv)) { raise_exception(c, EXC_ILLEGAL, INSN_BITS(i)); return; }
  }
  c->x[i->rd] = old;
  NEXT();
}

/* ---- A extension ---- */
static int amo_addr(Cpu *c, const Insn *i, int size, uint64_t *a) {
  *a = X(rs1);
  if (*a & (size - 1)) {
    raise_exception(c, EXC_STORE_MISALIGNED, *a);
    return 0;
  }
  return 1;
}
SLOW_OP(lr_w) {
  uint64_t a = X(rs1), v;
  if (a & 3) { raise_exception(c, EXC_LOAD_MISALIGNED, a); return; }
  if (!ld_u32(c, a, &v)) return;
  c->resv_addr = a; c->resv_valid = 1;
  c->x[i->rd] = SEXT32(v); NEXT();
}
SLOW_OP(lr_d) {
  uint64_t a = X(rs1), v;
  if (a & 7) { raise_exception(c, EXC_LOAD_MISALIGNED, a); return; }
  if (!ld_u64(c, a, &v)) return;
  c->resv_addr = a; c->resv_valid = 1;
  c->x[i->rd] = v; NEXT();
}
SLOW_OP(sc_w) {
  uint64_t a;
  if (!amo_addr(c, i, 4, &a)) return;
  if (c->resv_valid && c->resv_addr == a) {
    if (!st_u32(c, a, X(rs2))) return;
    c->x[i->rd] = 0;
  } else {
    c->x[i->rd] = 1;
  }
  c->resv_valid = 0; NEXT();
}
SLOW_OP(sc_d) {
  uint64_t a;
  if (!amo_addr(c, i, 8, &a)) return;
  if (c->resv_valid && c->resv_addr == a) {
    if (!st_u64(c, a, X(rs2))) return;
    c->x[i->rd] = 0;
  } else {
    c->x[i->rd] = 1;
  }
  c->resv_valid = 0; NEXT();
}

/* AMO: imm holds the operation (funct5). A store-permission check comes first
 * so that a read-only page raises a store fault, as the spec requires. */
static uint64_t amo_op(int op, uint64_t old, uint64_t b, int w) {
  int64_t so = w ? (int32_t)old : (int64_t)old, sb = w ? (int32_t)b : (int64_t)b;
  uint64_t uo = w ? (uint32_t)old : old, ub = w ? (uint32_t)b : b;
  switch (op) {
  case 0x01: return b;
  case 0x00: return old + b;
  case 0x04: return old ^ b;
  case 0x0c: return old & b;
  case 0x08: return old | b;
  case 0x10: return so < sb ? old : b;
  case 0x14: return so > sb ? old : b;
  case 0x18: return uo < ub ? old : b;
  default: return uo > ub ? old : b; /* 0x1c amomaxu */
  }
}
static int amo_probe_write(Cpu *c, uint64_t a) {
  uint64_t pa;
  TlbEntry *e = tlb_slot(c->tlb_w[c->priv], a);
  if (e->tag == (a >> 12) + 1) return 1;
  return translate(c, a, ACC_WRITE, &pa, 1);
}
SLOW_OP(amo_w) {
  uint64_t a, old;
  if (!amo_addr(c, i, 4, &a) || !amo_probe_write(c, a)) return;
  if (!ld_u32(c, a, &old)) return;
  if (!st_u32(c, a, amo_op(i->imm, old, X(rs2), 1))) return;
  c->x[i->rd] = SEXT32(old); NEXT();
}
SLOW_OP(amo_d) {
  uint64_t a, old;
  if (!amo_addr(c, i, 8, &a) || !amo_probe_write(c, a)) return;
  if (!ld_u64(c, a, &old)) return;
  if (!st_u64(c, a, amo_op(i->imm, old, X(rs2), 0))) return;
  c->x[i->rd] = old; NEXT();
}

/* ---- the interpreter loop ---- */
/* Fast fetch: fetch_page is the page-aligned va of the current fetch page
 * (one XOR and compare tests "same page and the 32 bits fit"). When invalid
 * it is FETCH_INVALID (a non-canonical, non-RAM address) and fetch_base
 * points to a zero page: a pc inside that page then reads 0, decodes as
 * illegal, and op_illegal takes the slow path, which raises the right fault. */
static const uint8_t zero_page[4096];

void fetch_invalidate(Cpu *c) {
  c->fetch_page = FETCH_INVALID;
  c->fetch_base = (uint8_t *)zero_page;
}

/* Executes the instruction at pc; returns the next pc. */
static inline uint64_t step(Cpu *c, Insn *cache, uint64_t pc) {
  uint32_t raw;
  if (LIKELY((pc ^ c->fetch_page) <= 0xffc)) {
    memcpy(&raw, c->fetch_base + (pc & 0xfff), 4);
  } else {
    c->pc = pc;
    int64_t r = fetch_slow(c);
    if (r < 0) return c->pc;
    raw = (uint32_t)r;
  }
  Insn *d = &cache[(pc >> 1) & (DCACHE_SIZE - 1)];
  if (UNLIKELY(d->raw != raw)) decode(raw, d);
  return d->fn(c, d, pc);
}

/* Runs at most n instructions; a handler ends the slice early with
 * END_SLICE (c->stop). The first instruction runs with c->first set, so a
 * handler that needs an exact retired-instruction count (counter CSRs) can
 * ask to be re-run at the start of the next slice (c->redo).
 * The decode cache is keyed by pc and validated by the 32 raw bits at pc
 * (for a compressed instruction these include the next halfword, which only
 * costs a re-decode when that halfword changes). Returns the number run. */
int64_t cpu_run(Cpu *c, int64_t n) {
  Insn *cache = c->dcache;
  if (n <= 0) return 0;
  if (n > 1000000000) n = 1000000000;
  c->stop = 0;
  c->redo = 0;
  c->first = 1;
  uint64_t pc = step(c, cache, c->pc);
  c->first = 0;
  int32_t left = (int32_t)(n - 1); /* slices are small */
  while (left > 0 && !(pc & 1)) { /* bit 0: a SLOW_OP ended the slice */
    left--;
    pc = step(c, cache, pc);
  }
  c->pc = pc & ~1ULL;
  int64_t done = n - left - c->redo;
  c->insn_count += (uint64_t)done;
  return done;
}

void cpu_reset(Cpu *c, Machine *m, uint64_t pc) {
  Insn *dc = c->dcache;
  memset(c, 0, sizeof(*c));
  c->m = m;
  c->dcache = dc ? dc : calloc(DCACHE_SIZE, sizeof(Insn));
  for (uint32_t k = 0; k < DCACHE_SIZE; k++) decode(0, &c->dcache[k]);
  c->pc = pc;
  c->priv = PRV_S;
  c->sstatus = SST_UXL;
  c->stimecmp = ~0ULL;
  fetch_invalidate(c);
}
