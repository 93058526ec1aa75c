/* Decoder for 32-bit RV64IMA + Zicsr + Zifencei + system instructions. */
#include "ops.h"

static int32_t imm_i(uint32_t r) { return (int32_t)r >> 20; }
static int32_t imm_s(uint32_t r) {
  return ((int32_t)(r & 0xfe000000) >> 20) | (int32_t)((r >> 7) & 0x1f);
}
static int32_t imm_b(uint32_t r) {
  return ((int32_t)(r & 0x80000000) >> 19) | (int32_t)((r & 0x80) << 4) |
         (int32_t)((r >> 20) & 0x7e0) | (int32_t)((r >> 7) & 0x1e);
}
static int32_t imm_j(uint32_t r) {
  return ((int32_t)(r & 0x80000000) >> 11) | (int32_t)(r & 0xff000) |
         (int32_t)((r >> 9) & 0x800) | (int32_t)((r >> 20) & 0x7fe);
}

static void set(Insn *d, OpFn fn, int32_t imm) { d->fn = fn; d->imm = imm; }

static void dec_branch(uint32_t r, Insn *d) {
  static const OpFn t[8] = {op_beq, op_bne, 0, 0, op_blt, op_bge, op_bltu, op_bgeu};
  OpFn f = t[(r >> 12) & 7];
  set(d, f ? f : op_illegal, imm_b(r));
}
static void dec_load(uint32_t r, Insn *d) {
  static const OpFn t[8] = {op_lb, op_lh, op_lw, op_ld, op_lbu, op_lhu, op_lwu, 0};
  OpFn f = t[(r >> 12) & 7];
  set(d, f ? f : op_illegal, imm_i(r));
}
static void dec_store(uint32_t r, Insn *d) {
  static const OpFn t[8] = {op_sb, op_sh, op_sw, op_sd, 0, 0, 0, 0};
  OpFn f = t[(r >> 12) & 7];
  set(d, f ? f : op_illegal, imm_s(r));
}
static void dec_opimm(uint32_t r, Insn *d) {
  int f3 = (r >> 12) & 7, f6 = r >> 26;
  static const OpFn t[8] = {op_addi, 0, op_slti, op_sltiu, op_xori, 0, op_ori, op_andi};
  set(d, t[f3], imm_i(r));
  if (f3 == 1) d->fn = f6 == 0 ? op_slli : op_illegal;
  if (f3 == 5) d->fn = f6 == 0 ? op_srli : f6 == 0x10 ? op_srai : op_illegal;
  if (f3 == 1 || f3 == 5) d->imm &= 63;
}
static void dec_opimm32(uint32_t r, Insn *d) {
  int f3 = (r >> 12) & 7, f7 = r >> 25;
  set(d, op_illegal, imm_i(r));
  if (f3 == 0) d->fn = op_addiw;
  else if (f3 == 1 && f7 == 0) d->fn = op_slliw;
  else if (f3 == 5 && f7 == 0) d->fn = op_srliw;
  else if (f3 == 5 && f7 == 0x20) d->fn = op_sraiw;
  if (f3 != 0) d->imm &= 31;
}
static void dec_op(uint32_t r, Insn *d) {
  static const OpFn base[8] = {op_add, op_sll, op_slt, op_sltu, op_xor, op_srl, op_or, op_and};
  static const OpFn mext[8] = {op_mul, op_mulh, op_mulhsu, op_mulhu, op_div, op_divu, op_rem, op_remu};
  int f3 = (r >> 12) & 7, f7 = r >> 25;
  OpFn f = op_illegal;
  if (f7 == 0) f = base[f3];
  else if (f7 == 1) f = mext[f3];
  else if (f7 == 0x20 && f3 == 0) f = op_sub;
  else if (f7 == 0x20 && f3 == 5) f = op_sra;
  set(d, f, 0);
}
static void dec_op32(uint32_t r, Insn *d) {
  int f3 = (r >> 12) & 7, f7 = r >> 25;
  OpFn f = op_illegal;
  if (f7 == 0) f = f3 == 0 ? op_addw : f3 == 1 ? op_sllw : f3 == 5 ? op_srlw : op_illegal;
  else if (f7 == 0x20) f = f3 == 0 ? op_subw : f3 == 5 ? op_sraw : op_illegal;
  else if (f7 == 1) {
    static const OpFn m[8] = {op_mulw, 0, 0, 0, op_divw, op_divuw, op_remw, op_remuw};
    f = m[f3] ? m[f3] : op_illegal;
  }
  set(d, f, 0);
}
static void dec_system(uint32_t r, Insn *d) {
  int f3 = (r >> 12) & 7;
  set(d, op_illegal, 0);
  if (f3 == 0) {
    if (r == 0x00000073) d->fn = op_ecall;
    else if (r == 0x00100073) d->fn = op_ebreak;
    else if (r == 0x10200073) d->fn = op_sret;
    else if (r == 0x10500073) d->fn = op_wfi;
    else if ((r >> 25) == 0x09 && ((r >> 7) & 0x1f) == 0) d->fn = op_sfence_vma;
    return;
  }
  if (f3 == 4) return;
  d->fn = op_csr;
  d->imm = (int32_t)((r >> 20) | ((uint32_t)f3 << 12));
}
static void dec_amo(uint32_t r, Insn *d) {
  int f3 = (r >> 12) & 7, f5 = r >> 27;
  set(d, op_illegal, 0);
  if (f3 != 2 && f3 != 3) return;
  d->imm = f5;
  if (f5 == 0x02) {
    if (((r >> 20) & 0x1f) == 0) d->fn = f3 == 2 ? op_lr_w : op_lr_d;
  } else if (f5 == 0x03) {
    d->fn = f3 == 2 ? op_sc_w : op_sc_d;
  } else if (f5 == 0 || f5 == 1 || f5 == 4 || f5 == 8 || f5 == 0xc || f5 == 0x10 ||
             f5 == 0x14 || f5 == 0x18 || f5 == 0x1c) {
    d->fn = f3 == 2 ? op_amo_w : op_amo_d;
  }
}

void decode(uint32_t raw, Insn *d) {
  memset(d, 0, sizeof(*d));
  d->raw = raw;
  if ((raw & 3) != 3) {
    d->len = 2;
    decode_c(raw & 0xffff, d);
    return;
  }
  d->len = 4;
  int rd = (raw >> 7) & 0x1f;
  d->rd = (uint8_t)(rd ? rd : REG_SINK);
  d->rs1 = (raw >> 15) & 0x1f;
  d->rs2 = (raw >> 20) & 0x1f;
  switch (raw & 0x7f) {
  case 0x37: set(d, op_lui, (int32_t)(raw & 0xfffff000)); break;
  case 0x17: set(d, op_auipc, (int32_t)(raw & 0xfffff000)); break;
  case 0x6f: set(d, op_jal, imm_j(raw)); break;
  case 0x67: set(d, ((raw >> 12) & 7) ? op_illegal : op_jalr, imm_i(raw)); break;
  case 0x63: dec_branch(raw, d); break;
  case 0x03: dec_load(raw, d); break;
  case 0x23: dec_store(raw, d); break;
  case 0x13: dec_opimm(raw, d); break;
  case 0x1b: dec_opimm32(raw, d); break;
  case 0x33: dec_op(raw, d); break;
  case 0x3b: dec_op32(raw, d); break;
  case 0x0f: set(d, ((raw >> 12) & 7) == 1 ? op_fence_i : ((raw >> 12) & 7) == 0 ? op_nop : op_illegal, 0); break;
  case 0x73: dec_system(raw, d); break;
  case 0x2f: dec_amo(raw, d); break;
  case 0x07: case 0x27: case 0x43: case 0x47: case 0x4b: case 0x4f: case 0x53:
    decode_fp(raw, d); break;
  default: set(d, op_illegal, 0); break;
  }
  if (!d->fn) d->fn = op_illegal;
}
