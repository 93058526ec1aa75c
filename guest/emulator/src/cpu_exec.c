/* Interpreter loop and integer instruction handlers (RV64IM + Zicsr + system). */
#include "emu.h"
#include <stdlib.h>

_Static_assert(offsetof(Insn, imm) == 0 && offsetof(Insn, rd) == 4 && offsetof(Insn, rs1) == 5 &&
                   offsetof(Insn, rs2) == 6 && offsetof(Insn, len) == 7 && offsetof(Insn, off) == 8 &&
                   offsetof(Insn, op) == 10,
               "insn_word and insn_loop_word read Insn's fields by position");

#define X(r) (c->x[i->r])
#define NEXT() (c->pc += i->len)
/* fast handlers: never trap, never read c->pc. They read the instruction's
 * fields with one load (W = insn_word): WX(RS1) is a source register. */
#define OP(name) NOINLINE uint64_t op_##name(Cpu *c, const Insn *i, uint64_t pc)
#define W_OP(name) OP(name) { const uint64_t W = insn_word(i);
#define WX(f) (c->x[W_##f(W)])
#define WIMM W_IMM(W)
#define FALL (pc + W_LEN(W))

/* ---- upper immediates and jumps ---- */
W_OP(lui) WX(RD) = (uint64_t)WIMM; return FALL; }
W_OP(auipc) WX(RD) = pc + WIMM; return FALL; }
W_OP(jal)
  WX(RD) = FALL;
  return pc + WIMM;
}
W_OP(jalr)
  uint64_t target = (WX(RS1) + WIMM) & ~1ULL;
  WX(RD) = FALL;
  return target;
}

/* The conditional branches, once for the handlers and the inline loop:
 * B(name, BOP, condition on a = rs1's value, b = rs2's value). */
#define FOR_BRANCHES(B, a, b)                                \
  B(beq, BOP_BEQ, (a) == (b))                                \
  B(bne, BOP_BNE, (a) != (b))                                \
  B(blt, BOP_BLT, (int64_t)(a) < (int64_t)(b))               \
  B(bge, BOP_BGE, (int64_t)(a) >= (int64_t)(b))              \
  B(bltu, BOP_BLTU, (a) < (b))                               \
  B(bgeu, BOP_BGEU, (a) >= (b))
#define BRANCH(name, BOP, cond)                              \
  W_OP(name)                                                 \
    return (cond) ? pc + WIMM : FALL;                        \
  }
FOR_BRANCHES(BRANCH, WX(RS1), WX(RS2))

/* ---- loads and stores ---- */
/* loads and stores publish pc only on their slow path (which may trap). The
 * load slow path is out of line and returns the value in c->ld_val: taking
 * the address of a local would put it on the Wasm shadow stack (a global
 * and a memory round trip on every load, costly in the JVM runner). */
static NOINLINE int load_slow(Cpu *c, uint64_t va, int size, uint64_t pc) {
  c->pc = pc;
  return mem_load_slow(c, va, size, &c->ld_val) ? 1 + c->stop : 0;
}
#define LOAD(name, TYPE, SIZE, conv)                          \
  W_OP(name)                                                  \
    uint64_t va = WX(RS1) + WIMM;                             \
    TlbEntry *e = tlb_slot(c->tlb_r[c->priv], va);            \
    TYPE v;                                                   \
    if (LIKELY(tlb_hit(e, va, SIZE))) {                       \
      memcpy(&v, (void *)(uintptr_t)(va + e->addend), SIZE);  \
      WX(RD) = conv;                                          \
      return FALL;                                            \
    }                                                         \
    int r = load_slow(c, va, SIZE, pc);                       \
    if (!r) return c->pc;                                     \
    v = (TYPE)c->ld_val;                                      \
    WX(RD) = conv;                                            \
    return FALL | (uint64_t)(r >> 1);                         \
  }
LOAD(lb, int8_t, 1, (uint64_t)(int64_t)v)
LOAD(lh, int16_t, 2, (uint64_t)(int64_t)v)
LOAD(lw, int32_t, 4, (uint64_t)(int64_t)v)
LOAD(ld, uint64_t, 8, v)
LOAD(lbu, uint8_t, 1, v)
LOAD(lhu, uint16_t, 2, v)
LOAD(lwu, uint32_t, 4, v)

#define STORE(name, fn)                                       \
  W_OP(name)                                                  \
    int r = fn##_pc(c, WX(RS1) + WIMM, WX(RS2), pc);          \
    return r ? FALL | (uint64_t)(r >> 1) : c->pc;             \
  }
STORE(sb, st_u8)
STORE(sh, st_u16)
STORE(sw, st_u32)
STORE(sd, st_u64)

/* ---- ALU ---- */
#define SEXT32(v) ((uint64_t)(int64_t)(int32_t)(uint32_t)(v))
#define ALUI(name, expr) W_OP(name) uint64_t a = WX(RS1); int64_t imm = WIMM; WX(RD) = (expr); return FALL; }
#define ALU(name, expr) W_OP(name) uint64_t a = WX(RS1), b = WX(RS2); WX(RD) = (expr); return FALL; }

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
W_OP(nop) (void)c; return FALL; }
SLOW_OP(illegal) { raise_exception(c, EXC_ILLEGAL, INSN_BITS(i)); }
SLOW_OP(ebreak) { raise_exception(c, EXC_BREAKPOINT, c->pc); }
SLOW_OP(ecall) {
  if (c->priv == PRV_S) {
    sbi_call(c); /* ends the slice itself when interrupt state changes */
    NEXT();
  } else {
    raise_exception(c, EXC_ECALL_U, 0);
  }
}
SLOW_OP(fence_i) {
  blocks_flush(c); /* decoded code is trusted until fence.i */
  NEXT();
  END_SLICE(c); /* leave the (now dropped) block */
}
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
 * and fetch_key its RAM offset. When invalid, fetch_page is FETCH_INVALID (a
 * non-canonical, non-RAM address) and fetch_key FETCH_KEY_INVALID (no block
 * has that key), so the next block lookup takes the slow path, which
 * translates pc and raises the right fault. Anything that changes
 * translation or privilege invalidates it and ends the slice, so no block
 * keeps running on a stale translation. */
static const uint8_t zero_page[4096];

void fetch_invalidate(Cpu *c) {
  c->fetch_page = FETCH_INVALID;
  c->fetch_base = (uint8_t *)zero_page;
  c->fetch_key = FETCH_KEY_INVALID;
  END_SLICE(c);
}

/* Decoded blocks. A block is the decoded form of up to BLOCK_MAX
 * instructions that follow each other in one guest page, ending after the
 * first jump or branch, followed by an end marker (op_block_end). Blocks are
 * keyed by the RAM offset of their first instruction (a physical address,
 * so the same code mapped in several address spaces or at several virtual
 * addresses is decoded once, and a remapped virtual page cannot reach stale
 * code) and trusted without re-reading memory until the guest executes
 * fence.i (or asks for it through SBI), which drops them all: RISC-V only
 * promises that stores become visible to instruction fetch after fence.i,
 * and Linux issues it (flush_icache_*) before it executes newly written or
 * newly mapped code. */
void blocks_flush(Cpu *c) {
  c->arena_used = 0;
  c->block_flushes++;
  if (++c->bgen == 0) { /* generation wrapped: clear the table for real */
    memset(c->btab, 0, BTAB_SIZE * sizeof(BlockEnt));
    c->bgen = 1;
  }
}

uint64_t op_block_end(Cpu *c, const Insn *i, uint64_t pc) { (void)c; (void)i; return pc; }

/* Block-loop opcodes: the frequent instructions run inline in run_inline's
 * switch (no call); BOP_CALL calls the handler. Some get a specialised form
 * (li, mv, compare with zero). */
enum {
  BOP_CALL, BOP_END,
  BOP_ADDI, BOP_LI, BOP_MV, BOP_ADDIW, BOP_ANDI, BOP_ORI, BOP_XORI, BOP_SLLI, BOP_SRLI, BOP_SRAI,
  BOP_SLLIW, BOP_SRLIW, BOP_SRAIW, BOP_SLTIU,
  BOP_ADD, BOP_SUB, BOP_ADDW, BOP_SUBW, BOP_AND, BOP_OR, BOP_XOR, BOP_SLL, BOP_SRL, BOP_SLTU,
  BOP_SLT, BOP_MUL,
  BOP_LUI, BOP_AUIPC,
  BOP_LD, BOP_LW, BOP_LWU, BOP_LBU, BOP_LHU, BOP_LB, BOP_LH,
  BOP_SD, BOP_SW, BOP_SH, BOP_SB,
  BOP_BEQ, BOP_BNE, BOP_BLT, BOP_BGE, BOP_BLTU, BOP_BGEU, BOP_BEQZ, BOP_BNEZ,
  BOP_JAL, BOP_JALR,
};

static const struct { OpFn fn; uint8_t op; } bop_list[] = {
  {op_addi, BOP_ADDI}, {op_addiw, BOP_ADDIW}, {op_andi, BOP_ANDI}, {op_ori, BOP_ORI},
  {op_xori, BOP_XORI}, {op_slli, BOP_SLLI}, {op_srli, BOP_SRLI}, {op_srai, BOP_SRAI},
  {op_slliw, BOP_SLLIW}, {op_srliw, BOP_SRLIW}, {op_sraiw, BOP_SRAIW}, {op_sltiu, BOP_SLTIU},
  {op_add, BOP_ADD}, {op_sub, BOP_SUB}, {op_addw, BOP_ADDW}, {op_subw, BOP_SUBW},
  {op_and, BOP_AND}, {op_or, BOP_OR}, {op_xor, BOP_XOR}, {op_sll, BOP_SLL}, {op_srl, BOP_SRL},
  {op_sltu, BOP_SLTU}, {op_slt, BOP_SLT}, {op_mul, BOP_MUL},
  {op_lui, BOP_LUI}, {op_auipc, BOP_AUIPC},
  {op_ld, BOP_LD}, {op_lw, BOP_LW}, {op_lwu, BOP_LWU}, {op_lbu, BOP_LBU}, {op_lhu, BOP_LHU},
  {op_lb, BOP_LB}, {op_lh, BOP_LH},
  {op_sd, BOP_SD}, {op_sw, BOP_SW}, {op_sh, BOP_SH}, {op_sb, BOP_SB},
  {op_beq, BOP_BEQ}, {op_bne, BOP_BNE}, {op_blt, BOP_BLT}, {op_bge, BOP_BGE},
  {op_bltu, BOP_BLTU}, {op_bgeu, BOP_BGEU}, {op_jal, BOP_JAL}, {op_jalr, BOP_JALR},
};

/* fn -> BOP_* (open addressing on the handler address; built once) */
#define BOP_HASH 256
static OpFn bop_keys[BOP_HASH];
static uint8_t bop_vals[BOP_HASH];
static unsigned bop_slot(OpFn f) {
  uint32_t h = (uint32_t)(uintptr_t)f ^ (uint32_t)((uint64_t)(uintptr_t)f >> 32);
  return (h * 2654435761u) >> 24;
}
static void bop_init(void) {
  if (bop_keys[bop_slot(bop_list[0].fn)]) return;
  for (size_t k = 0; k < sizeof(bop_list) / sizeof(bop_list[0]); k++) {
    unsigned h = bop_slot(bop_list[k].fn);
    while (bop_keys[h]) h = (h + 1) & (BOP_HASH - 1);
    bop_keys[h] = bop_list[k].fn;
    bop_vals[h] = bop_list[k].op;
  }
}
static void set_bop(Insn *d) {
  unsigned h = bop_slot(d->fn);
  uint8_t op = BOP_CALL;
  for (; bop_keys[h]; h = (h + 1) & (BOP_HASH - 1))
    if (bop_keys[h] == d->fn) { op = bop_vals[h]; break; }
  if (op == BOP_ADDI && d->rs1 == 0) op = BOP_LI;
  else if (op == BOP_ADDI && d->imm == 0) op = BOP_MV;
  else if ((op == BOP_ADD || op == BOP_OR || op == BOP_XOR) && (d->rs1 == 0 || d->rs2 == 0)) {
    if (d->rs1 == 0) { d->rs1 = d->rs2; d->rs2 = 0; } /* the handler computes the same */
    d->imm = 0; /* (unused by add/or/xor) so that addi computes the same, too */
    op = BOP_MV;
  } else if ((op == BOP_BEQ || op == BOP_BNE) && (d->rs1 == 0 || d->rs2 == 0)) {
    if (d->rs1 == 0) { d->rs1 = d->rs2; d->rs2 = 0; }
    op = op == BOP_BEQ ? BOP_BEQZ : BOP_BNEZ;
  }
  d->op = op;
}

static int ends_block(OpFn f) {
  return f == op_jal || f == op_jalr || f == op_beq || f == op_bne || f == op_blt ||
         f == op_bge || f == op_bltu || f == op_bgeu || f == op_fence_i || f == op_sret ||
         f == op_wfi || f == op_ecall || f == op_ebreak || f == op_illegal ||
         f == op_sfence_vma;
}
static int reads_counter(const Insn *d) {
  int csr = d->imm & 0xfff;
  return d->fn == op_csr && (csr == 0xc00 || csr == 0xc02);
}

static void end_marker(Insn *d, uint32_t off) {
  memset(d, 0, sizeof(*d));
  d->fn = op_block_end;
  d->len = 2; /* op_block_end returns its pc: never pc + len, so the block ends */
  d->off = (uint16_t)off;
  d->op = BOP_END;
}

/* Decodes the block at page offset po of the current fetch page. */
static NOINLINE Insn *block_build(Cpu *c, uint32_t po) {
  if (c->arena_used + BLOCK_MAX + 1 > ARENA_INSNS) blocks_flush(c);
  Insn *b = c->arena + c->arena_used, *d = b;
  const uint8_t *page = c->fetch_base;
  uint32_t off = 0;
  while (d - b < BLOCK_MAX && po + off <= 4094) {
    uint16_t lo;
    uint32_t raw;
    memcpy(&lo, page + po + off, 2);
    raw = lo;
    if ((lo & 3) == 3) {
      if (po + off > 4092) break; /* straddles the page end: its own block */
      memcpy(&raw, page + po + off, 4);
    }
    decode(raw, d);
    set_bop(d);
    /* counter reads come first in their block, where insn_count is exact */
    if (d != b && reads_counter(d)) break;
    d->off = (uint16_t)off;
    off += d->len;
    if (ends_block((d++)->fn)) break;
  }
  end_marker(d, off);
  c->arena_used += (uint32_t)(d - b) + 1;
  uint32_t key = c->fetch_key + po;
  BlockEnt *e = &c->btab[(key >> 1) & (BTAB_SIZE - 1)];
  e->tag = (uint64_t)c->bgen << 32 | key;
  e->ins = b;
  return b;
}

/* Slow path of the block lookup: translates pc (may raise a fetch fault:
 * returns 0, c->pc is then the trap vector). */
static NOINLINE Insn *block_miss(Cpu *c, uint64_t pc) {
  uint32_t po = (uint32_t)(pc & 0xfff);
  TlbEntry *t = tlb_slot(c->tlb_x[c->priv], pc);
  if (t->tag == (pc >> 12) + 1 && po < 0xffe) { /* another page in the fetch TLB */
    uint8_t *host = (uint8_t *)(uintptr_t)((pc & ~0xfffULL) + t->addend);
    c->fetch_page = pc & ~0xfffULL;
    c->fetch_base = host;
    c->fetch_key = (uint32_t)(host - c->m->ram);
    uint32_t key = c->fetch_key + po;
    BlockEnt *e = &c->btab[(key >> 1) & (BTAB_SIZE - 1)];
    if (e->tag == ((uint64_t)c->bgen << 32 | key)) return e->ins;
    return block_build(c, po);
  }
  c->pc = pc;
  int64_t r = fetch_slow(c);
  if (r < 0) return 0;
  if (po == 0xffe && (r & 3) == 3) { /* straddles two pages: decode each time */
    decode((uint32_t)r, &c->scratch[0]);
    c->scratch[0].off = 0;
    end_marker(&c->scratch[1], 4);
    return c->scratch;
  }
  uint32_t key = c->fetch_key + po;
  BlockEnt *e = &c->btab[(key >> 1) & (BTAB_SIZE - 1)];
  if (e->tag == ((uint64_t)c->bgen << 32 | key)) return e->ins;
  return block_build(c, po);
}

static inline Insn *block_find(Cpu *c, uint64_t pc) {
  if (LIKELY((pc ^ c->fetch_page) < 4096)) {
    uint32_t key = c->fetch_key + (uint32_t)(pc & 0xfff);
    BlockEnt *e = &c->btab[(key >> 1) & (BTAB_SIZE - 1)];
    if (LIKELY(e->tag == ((uint64_t)c->bgen << 32 | key))) return e->ins;
  }
  return block_miss(c, pc);
}

/* Runs blocks until at least n instructions ran or a handler ended the
 * slice (END_SLICE: c->stop, also bit 0 of a handler's returned pc).
 * Frequent instructions run inline in the switch; the others call their
 * handler, which returns the next pc: anything but pc + len (a trap, bit 0)
 * leaves the block. Jumps and branches end their block. c->insn_count is
 * exact at every block start (counter CSR reads start their block).
 * Privilege and translation only change in handlers that end the slice, so
 * the TLBs of the current privilege are fixed for the whole run.
 * Returns the number of instructions run (a faulting one counts). */
#define RX(r) x[d->r]
#define IMM ((int64_t)d->imm)
#define IPC (pc + d->off)
#define ALU_CASE(OPC, expr) case OPC: x[d->rd] = (expr); d++; continue;
#define LOAD_CASE(OPC, TYPE, SIZE, CONV)                                        \
  case OPC: {                                                                 \
    uint64_t va = RX(rs1) + IMM;                                              \
    TlbEntry *e = &tr[(va >> 12) & (TLB_SIZE - 1)];                           \
    if (UNLIKELY(!tlb_hit(e, va, SIZE))) goto call;                           \
    TYPE v;                                                                   \
    memcpy(&v, (void *)(uintptr_t)(va + e->addend), SIZE);                    \
    x[d->rd] = CONV;                                                          \
    d++;                                                                      \
    continue;                                                                 \
  }
#define STORE_CASE(OPC, TYPE, SIZE)                                             \
  case OPC: {                                                                 \
    uint64_t va = RX(rs1) + IMM;                                              \
    TlbEntry *e = &tw[(va >> 12) & (TLB_SIZE - 1)];                           \
    if (UNLIKELY(!tlb_hit(e, va, SIZE))) goto call;                           \
    TYPE v = (TYPE)RX(rs2);                                                   \
    memcpy((void *)(uintptr_t)(va + e->addend), &v, SIZE);                    \
    d++;                                                                      \
    continue;                                                                 \
  }
#define BRANCH_CASE(OPC, cond) case OPC: npc = IPC + ((cond) ? IMM : (int64_t)d->len); goto out;
#define BRANCH_CASE_OF(name, OPC, cond) BRANCH_CASE(OPC, cond)
static NOINLINE int64_t run_inline(Cpu *c, int64_t n) {
  uint64_t *x = c->x;
  TlbEntry *tr = c->tlb_r[c->priv], *tw = c->tlb_w[c->priv];
  uint64_t pc = c->pc;
  uint64_t start = c->insn_count;
  int64_t end = (int64_t)start + n;
  do {
    Insn *b = block_find(c, pc), *d = b;
    uint64_t npc;
    if (UNLIKELY(!b)) { /* fetch fault */
      c->insn_count++;
      pc = c->pc;
      continue;
    }
    for (;;) {
      switch (d->op) {
      case BOP_END:
        c->insn_count += (uint64_t)(d - b);
        pc = IPC;
        goto next;
      ALU_CASE(BOP_ADDI, RX(rs1) + IMM)
      ALU_CASE(BOP_LI, IMM)
      ALU_CASE(BOP_MV, RX(rs1))
      ALU_CASE(BOP_ADDIW, SEXT32(RX(rs1) + IMM))
      ALU_CASE(BOP_ANDI, RX(rs1) & IMM)
      ALU_CASE(BOP_ORI, RX(rs1) | IMM)
      ALU_CASE(BOP_XORI, RX(rs1) ^ IMM)
      ALU_CASE(BOP_SLLI, RX(rs1) << d->imm)
      ALU_CASE(BOP_SRLI, RX(rs1) >> d->imm)
      ALU_CASE(BOP_SRAI, (uint64_t)((int64_t)RX(rs1) >> d->imm))
      ALU_CASE(BOP_SLLIW, SEXT32((uint32_t)RX(rs1) << d->imm))
      ALU_CASE(BOP_SRLIW, SEXT32((uint32_t)RX(rs1) >> d->imm))
      ALU_CASE(BOP_SRAIW, SEXT32((int32_t)RX(rs1) >> d->imm))
      ALU_CASE(BOP_SLTIU, RX(rs1) < (uint64_t)IMM)
      ALU_CASE(BOP_ADD, RX(rs1) + RX(rs2))
      ALU_CASE(BOP_SUB, RX(rs1) - RX(rs2))
      ALU_CASE(BOP_ADDW, SEXT32(RX(rs1) + RX(rs2)))
      ALU_CASE(BOP_SUBW, SEXT32(RX(rs1) - RX(rs2)))
      ALU_CASE(BOP_AND, RX(rs1) & RX(rs2))
      ALU_CASE(BOP_OR, RX(rs1) | RX(rs2))
      ALU_CASE(BOP_XOR, RX(rs1) ^ RX(rs2))
      ALU_CASE(BOP_SLL, RX(rs1) << (RX(rs2) & 63))
      ALU_CASE(BOP_SRL, RX(rs1) >> (RX(rs2) & 63))
      ALU_CASE(BOP_SLTU, RX(rs1) < RX(rs2))
      ALU_CASE(BOP_SLT, (int64_t)RX(rs1) < (int64_t)RX(rs2))
      ALU_CASE(BOP_MUL, RX(rs1) * RX(rs2))
      ALU_CASE(BOP_LUI, IMM)
      ALU_CASE(BOP_AUIPC, IPC + IMM)
      LOAD_CASE(BOP_LD, uint64_t, 8, v)
      LOAD_CASE(BOP_LW, int32_t, 4, (uint64_t)(int64_t)v)
      LOAD_CASE(BOP_LWU, uint32_t, 4, v)
      LOAD_CASE(BOP_LBU, uint8_t, 1, v)
      LOAD_CASE(BOP_LHU, uint16_t, 2, v)
      LOAD_CASE(BOP_LB, int8_t, 1, (uint64_t)(int64_t)v)
      LOAD_CASE(BOP_LH, int16_t, 2, (uint64_t)(int64_t)v)
      STORE_CASE(BOP_SD, uint64_t, 8)
      STORE_CASE(BOP_SW, uint32_t, 4)
      STORE_CASE(BOP_SH, uint16_t, 2)
      STORE_CASE(BOP_SB, uint8_t, 1)
      FOR_BRANCHES(BRANCH_CASE_OF, RX(rs1), RX(rs2))
      BRANCH_CASE(BOP_BEQZ, RX(rs1) == 0)
      BRANCH_CASE(BOP_BNEZ, RX(rs1) != 0)
      case BOP_JAL:
        npc = IPC + IMM;
        x[d->rd] = IPC + d->len;
        goto out;
      case BOP_JALR:
        npc = (RX(rs1) + IMM) & ~1ULL; /* read rs1 before writing rd (may be equal) */
        x[d->rd] = IPC + d->len;
        goto out;
      default:
      call: {
        uint64_t ipc = IPC;
        npc = d->fn(c, d, ipc);
        if (npc != ipc + d->len) goto out;
        d++;
        continue;
      }
      }
    }
  out:
    c->insn_count += (uint64_t)(d - b) + 1;
    pc = npc & ~1ULL;
  next:;
  } while (!c->stop && (int64_t)c->insn_count < end);
  c->pc = pc;
  return (int64_t)(c->insn_count - start);
}

/* The same with a call per instruction, for engines where one big function
 * is slow: the JVM runner (Chicory) turns each Wasm function into one JVM
 * method, and HotSpot stops inlining into a method once it has taken in
 * about 8000 bytes of bytecode; after that even Chicory's one-line helpers
 * (memory accesses, comparisons) stay calls. So this loop is kept small: the
 * four most frequent instructions get a direct call (which HotSpot inlines),
 * all others call through their handler pointer (one call_indirect: a
 * switch in a method of its own). Measured in the runner (awk, steady
 * state): direct calls for 4 or 8 instructions ran at 60-65 MIPS, for all
 * 50 at 45-50, for none at 50-55; 4 booted fastest. */
static NOINLINE int64_t run_calls(Cpu *c, int64_t n) {
  uint64_t pc = c->pc;
  uint64_t start = c->insn_count;
  int64_t end = (int64_t)start + n;
  do {
    Insn *b = block_find(c, pc), *d = b;
    if (UNLIKELY(!b)) { /* fetch fault */
      c->insn_count++;
      pc = c->pc;
      continue;
    }
    for (;;) {
      const uint64_t lw = insn_loop_word(d); /* off, len and op in one load */
      uint64_t ipc = pc + LW_OFF(lw), fall = ipc + LW_LEN(lw), npc;
      switch (LW_OP(lw)) {
      case BOP_END:
        c->insn_count += (uint64_t)(d - b);
        pc = ipc;
        goto next;
      case BOP_ADDI: npc = op_addi(c, d, ipc); break;
      case BOP_LD: npc = op_ld(c, d, ipc); break;
      case BOP_SD: npc = op_sd(c, d, ipc); break;
      case BOP_MV: npc = op_addi(c, d, ipc); break; /* imm 0, or add/or/xor with x0 as rs2 */
      default: npc = d->fn(c, d, ipc); break;
      }
      if (npc != fall) {
        c->insn_count += (uint64_t)(d - b) + 1;
        pc = npc & ~1ULL;
        break;
      }
      d++;
    }
  next:;
  } while (!c->stop && (int64_t)c->insn_count < end);
  c->pc = pc;
  return (int64_t)(c->insn_count - start);
}

int cpu_dispatch_calls; /* --dispatch=calls */

int64_t cpu_run(Cpu *c, int64_t n) {
  if (n <= 0) return 0;
  if (n > 1000000000) n = 1000000000;
  c->stop = 0;
  return cpu_dispatch_calls ? run_calls(c, n) : run_inline(c, n);
}

void cpu_reset(Cpu *c, Machine *m, uint64_t pc) {
  BlockEnt *bt = c->btab;
  Insn *arena = c->arena;
  memset(c, 0, sizeof(*c));
  c->m = m;
  c->btab = bt ? bt : calloc(BTAB_SIZE, sizeof(BlockEnt));
  c->arena = arena ? arena : calloc(ARENA_INSNS, sizeof(Insn));
  if (!c->btab || !c->arena) {
    emu_log("c2w-emu: out of memory for the decoded-code cache\n");
    exit(1);
  }
  memset(c->btab, 0, BTAB_SIZE * sizeof(BlockEnt));
  c->bgen = 1;
  bop_init();
  c->pc = pc;
  c->priv = PRV_S;
  c->sstatus = SST_UXL;
  /* time readable in U-mode from the start (the reset value is the
   * platform's choice): Linux 6.1 enables it only in its SBI PMU driver,
   * which our kernel does not have, and the vDSO's clock_gettime (e.g.
   * CLOCK_MONOTONIC) reads time directly; without it programs die of
   * SIGILL. cycle and instret stay off (as Linux >= 6.6 has them). */
  c->scounteren = 2;
  c->stimecmp = ~0ULL;
  fetch_invalidate(c);
}
