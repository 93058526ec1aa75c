/* Decoder for the C extension: each compressed instruction is expanded to the
 * handler of its 32-bit equivalent with len = 2. */
#include "ops.h"

#define B(r, hi, lo) (((r) >> (lo)) & ((1u << ((hi) - (lo) + 1)) - 1))
static int32_t sext(uint32_t v, int bits) { return (int32_t)(v << (32 - bits)) >> (32 - bits); }
static uint8_t rd_(int r) { return (uint8_t)(r ? r : REG_SINK); }
static void set(Insn *d, OpFn fn, int rd, int rs1, int rs2, int32_t imm) {
  d->fn = fn; d->rd = rd_(rd); d->rs1 = (uint8_t)rs1; d->rs2 = (uint8_t)rs2; d->imm = imm;
}

static int32_t ci_imm(uint32_t r) { return sext((B(r, 12, 12) << 5) | B(r, 6, 2), 6); }
static uint32_t cl_w(uint32_t r) { return (B(r, 12, 10) << 3) | (B(r, 6, 6) << 2) | (B(r, 5, 5) << 6); }
static uint32_t cl_d(uint32_t r) { return (B(r, 12, 10) << 3) | (B(r, 6, 5) << 6); }

static void dec_q0(uint32_t r, Insn *d) {
  int rdp = 8 + B(r, 4, 2), rs1p = 8 + B(r, 9, 7);
  switch (B(r, 15, 13)) {
  case 0: {
    uint32_t u = (B(r, 12, 11) << 4) | (B(r, 10, 7) << 6) | (B(r, 6, 6) << 2) | (B(r, 5, 5) << 3);
    if (u) set(d, op_addi, rdp, 2, 0, (int32_t)u);
    break;
  }
  case 1: decode_fp(r, d); break; /* c.fld */
  case 2: set(d, op_lw, rdp, rs1p, 0, (int32_t)cl_w(r)); break;
  case 3: set(d, op_ld, rdp, rs1p, 0, (int32_t)cl_d(r)); break;
  case 5: decode_fp(r, d); break; /* c.fsd */
  case 6: set(d, op_sw, 0, rs1p, rdp, (int32_t)cl_w(r)); break;
  case 7: set(d, op_sd, 0, rs1p, rdp, (int32_t)cl_d(r)); break;
  default: break;
  }
}

static void dec_q1_alu(uint32_t r, Insn *d) {
  int rp = 8 + B(r, 9, 7), rs2p = 8 + B(r, 4, 2);
  uint32_t sh = (B(r, 12, 12) << 5) | B(r, 6, 2);
  switch (B(r, 11, 10)) {
  case 0: set(d, op_srli, rp, rp, 0, (int32_t)sh); return;
  case 1: set(d, op_srai, rp, rp, 0, (int32_t)sh); return;
  case 2: set(d, op_andi, rp, rp, 0, ci_imm(r)); return;
  default: break;
  }
  static const OpFn t[8] = {op_sub, op_xor, op_or, op_and, op_subw, op_addw, 0, 0};
  OpFn f = t[(B(r, 12, 12) << 2) | B(r, 6, 5)];
  if (f) set(d, f, rp, rp, rs2p, 0);
}

static int32_t cj_imm(uint32_t r) {
  uint32_t v = (B(r, 12, 12) << 11) | (B(r, 11, 11) << 4) | (B(r, 10, 9) << 8) |
               (B(r, 8, 8) << 10) | (B(r, 7, 7) << 6) | (B(r, 6, 6) << 7) |
               (B(r, 5, 3) << 1) | (B(r, 2, 2) << 5);
  return sext(v, 12);
}
static int32_t cb_imm(uint32_t r) {
  uint32_t v = (B(r, 12, 12) << 8) | (B(r, 11, 10) << 3) | (B(r, 6, 5) << 6) |
               (B(r, 4, 3) << 1) | (B(r, 2, 2) << 5);
  return sext(v, 9);
}

static void dec_q1(uint32_t r, Insn *d) {
  int rd = B(r, 11, 7);
  switch (B(r, 15, 13)) {
  case 0: set(d, op_addi, rd, rd, 0, ci_imm(r)); break;
  case 1: if (rd) set(d, op_addiw, rd, rd, 0, ci_imm(r)); break;
  case 2: set(d, op_addi, rd, 0, 0, ci_imm(r)); break;
  case 3:
    if (rd == 2) {
      uint32_t v = (B(r, 12, 12) << 9) | (B(r, 6, 6) << 4) | (B(r, 5, 5) << 6) |
                   (B(r, 4, 3) << 7) | (B(r, 2, 2) << 5);
      if (v) set(d, op_addi, 2, 2, 0, sext(v, 10));
    } else if (ci_imm(r)) {
      set(d, op_lui, rd, 0, 0, (int32_t)((uint32_t)ci_imm(r) << 12));
    }
    break;
  case 4: dec_q1_alu(r, d); break;
  case 5: set(d, op_jal, 0, 0, 0, cj_imm(r)); break;
  case 6: set(d, op_beq, 0, 8 + B(r, 9, 7), 0, cb_imm(r)); break;
  case 7: set(d, op_bne, 0, 8 + B(r, 9, 7), 0, cb_imm(r)); break;
  }
}

static void dec_q2_jr(uint32_t r, Insn *d) {
  int rs1 = B(r, 11, 7), rs2 = B(r, 6, 2);
  if (!B(r, 12, 12)) {
    if (rs2 == 0) { if (rs1) set(d, op_jalr, 0, rs1, 0, 0); }
    else set(d, op_add, rs1, 0, rs2, 0);
  } else {
    if (rs1 == 0 && rs2 == 0) set(d, op_ebreak, 0, 0, 0, 0);
    else if (rs2 == 0) set(d, op_jalr, 1, rs1, 0, 0);
    else set(d, op_add, rs1, rs1, rs2, 0);
  }
}

static void dec_q2(uint32_t r, Insn *d) {
  int rd = B(r, 11, 7), rs2 = B(r, 6, 2);
  uint32_t lw = (B(r, 12, 12) << 5) | (B(r, 6, 4) << 2) | (B(r, 3, 2) << 6);
  uint32_t ldo = (B(r, 12, 12) << 5) | (B(r, 6, 5) << 3) | (B(r, 4, 2) << 6);
  switch (B(r, 15, 13)) {
  case 0: set(d, op_slli, rd, rd, 0, (int32_t)((B(r, 12, 12) << 5) | B(r, 6, 2))); break;
  case 1: decode_fp(r, d); break; /* c.fldsp */
  case 2: if (rd) set(d, op_lw, rd, 2, 0, (int32_t)lw); break;
  case 3: if (rd) set(d, op_ld, rd, 2, 0, (int32_t)ldo); break;
  case 4: dec_q2_jr(r, d); break;
  case 5: decode_fp(r, d); break; /* c.fsdsp */
  case 6: set(d, op_sw, 0, 2, rs2, (int32_t)((B(r, 12, 9) << 2) | (B(r, 8, 7) << 6))); break;
  case 7: set(d, op_sd, 0, 2, rs2, (int32_t)((B(r, 12, 10) << 3) | (B(r, 9, 7) << 6))); break;
  }
}

void decode_c(uint32_t raw, Insn *d) {
  d->fn = 0;
  if (raw == 0) { d->fn = op_illegal; return; }
  switch (raw & 3) {
  case 0: dec_q0(raw, d); break;
  case 1: dec_q1(raw, d); break;
  default: dec_q2(raw, d); break;
  }
  if (!d->fn) d->fn = op_illegal;
}
