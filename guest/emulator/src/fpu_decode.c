/* Decoder for the F and D extensions (and the compressed FP loads/stores). */
#include "ops.h"

#define B(r, hi, lo) (((r) >> (lo)) & ((1u << ((hi) - (lo) + 1)) - 1))

static void dec_fma(uint32_t r, Insn *d) {
  static const OpFn t[2][4] = {{op_fmadd_s, op_fmsub_s, op_fnmsub_s, op_fnmadd_s},
                               {op_fmadd_d, op_fmsub_d, op_fnmsub_d, op_fnmadd_d}};
  int fmt = B(r, 26, 25);
  if (fmt > 1) return;
  d->fn = t[fmt][B(r, 3, 2)];
  d->imm = (int32_t)(B(r, 14, 12) | (B(r, 31, 27) << 3));
}

/* ops whose destination is an integer register keep the x0 sink mapping */
static void int_dest(Insn *d, uint32_t r) { d->rd = (uint8_t)(B(r, 11, 7) ? B(r, 11, 7) : REG_SINK); }

static void dec_misc(uint32_t r, Insn *d, int f7, int dbl) {
  int f3 = B(r, 14, 12), rs2 = B(r, 24, 20);
  switch (f7 >> 2) {
  case 0x04: if (f3 <= 2) { d->fn = dbl ? op_fsgnj_d : op_fsgnj_s; d->imm = f3; } break;
  case 0x05: if (f3 <= 1) { d->fn = dbl ? op_fminmax_d : op_fminmax_s; d->imm = f3; } break;
  case 0x08:
    if (dbl && rs2 == 0) d->fn = op_fcvt_d_s;
    else if (!dbl && rs2 == 1) d->fn = op_fcvt_s_d;
    break;
  case 0x14: if (f3 <= 2) { d->fn = dbl ? op_fcmp_d : op_fcmp_s; d->imm = f3; int_dest(d, r); } break;
  case 0x18: if (rs2 <= 3) { d->fn = dbl ? op_fcvt_int_d : op_fcvt_int_s; int_dest(d, r); } break;
  case 0x1a: if (rs2 <= 3) d->fn = dbl ? op_fcvt_d_int : op_fcvt_s_int; break;
  case 0x1c:
    if (rs2 == 0 && f3 == 0) d->fn = dbl ? op_fmv_x_d : op_fmv_x_w;
    else if (rs2 == 0 && f3 == 1) d->fn = dbl ? op_fclass_d : op_fclass_s;
    int_dest(d, r);
    break;
  case 0x1e: if (rs2 == 0 && f3 == 0) d->fn = dbl ? op_fmv_d_x : op_fmv_w_x; break;
  }
}

static void dec_opfp(uint32_t r, Insn *d) {
  int f7 = B(r, 31, 25), dbl = f7 & 1;
  d->imm = (int32_t)B(r, 14, 12); /* rounding mode */
  if ((f7 & 2)) return;           /* fmt H/Q */
  switch (f7 >> 2) {
  case 0: d->fn = dbl ? op_fadd_d : op_fadd_s; return;
  case 1: d->fn = dbl ? op_fsub_d : op_fsub_s; return;
  case 2: d->fn = dbl ? op_fmul_d : op_fmul_s; return;
  case 3: d->fn = dbl ? op_fdiv_d : op_fdiv_s; return;
  case 0x0b: if (B(r, 24, 20) == 0) d->fn = dbl ? op_fsqrt_d : op_fsqrt_s; return;
  default: dec_misc(r, d, f7, dbl); return;
  }
}

static void dec_c_fp(uint32_t r, Insn *d) {
  int q = r & 3, f3 = B(r, 15, 13);
  uint32_t off_ld = (B(r, 12, 10) << 3) | (B(r, 6, 5) << 6);
  d->len = 2;
  if (q == 0) { /* c.fld / c.fsd */
    d->rs1 = (uint8_t)(8 + B(r, 9, 7));
    d->imm = (int32_t)off_ld;
    if (f3 == 1) { d->fn = op_fld; d->rd = (uint8_t)(8 + B(r, 4, 2)); }
    else { d->fn = op_fsd; d->rs2 = (uint8_t)(8 + B(r, 4, 2)); }
  } else { /* c.fldsp / c.fsdsp */
    d->rs1 = 2;
    if (f3 == 1) {
      d->fn = op_fld; d->rd = (uint8_t)B(r, 11, 7);
      d->imm = (int32_t)((B(r, 12, 12) << 5) | (B(r, 6, 5) << 3) | (B(r, 4, 2) << 6));
    } else {
      d->fn = op_fsd; d->rs2 = (uint8_t)B(r, 6, 2);
      d->imm = (int32_t)((B(r, 12, 10) << 3) | (B(r, 9, 7) << 6));
    }
  }
}

void decode_fp(uint32_t r, Insn *d) {
  d->fn = 0;
  if ((r & 3) != 3) { dec_c_fp(r, d); return; }
  d->rd = (uint8_t)B(r, 11, 7); /* FP destination: f0 is a real register */
  int f3 = B(r, 14, 12);
  switch (r & 0x7f) {
  case 0x07:
    d->imm = (int32_t)r >> 20;
    if (f3 == 2) d->fn = op_flw; else if (f3 == 3) d->fn = op_fld;
    break;
  case 0x27:
    d->imm = ((int32_t)(r & 0xfe000000) >> 20) | (int32_t)B(r, 11, 7);
    if (f3 == 2) d->fn = op_fsw; else if (f3 == 3) d->fn = op_fsd;
    break;
  case 0x53: dec_opfp(r, d); break;
  default: dec_fma(r, d); break;
  }
}
