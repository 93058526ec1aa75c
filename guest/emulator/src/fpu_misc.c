/* F/D loads, stores, moves, sign injection, min/max, compares, classify and
 * conversions. */
#include "fpu.h"
#include <math.h>

int fp_enter(Cpu *c, const Insn *i);

static int fs_on(Cpu *c, const Insn *i) {
  if (c->sstatus & SST_FS) return 1;
  raise_exception(c, EXC_ILLEGAL, INSN_BITS(i));
  return 0;
}
#define NEXT() (c->pc += i->len)

/* ---- loads and stores ---- */
SLOW_OP(flw) {
  uint64_t v;
  if (fs_on(c, i) && ld_u32(c, c->x[i->rs1] + (int64_t)i->imm, &v)) { set_f(c, i->rd, box((uint32_t)v)); NEXT(); }
}
SLOW_OP(fld) {
  uint64_t v;
  if (fs_on(c, i) && ld_u64(c, c->x[i->rs1] + (int64_t)i->imm, &v)) { set_f(c, i->rd, v); NEXT(); }
}
SLOW_OP(fsw) {
  if (fs_on(c, i) && st_u32(c, c->x[i->rs1] + (int64_t)i->imm, (uint32_t)c->f[i->rs2])) NEXT();
}
SLOW_OP(fsd) {
  if (fs_on(c, i) && st_u64(c, c->x[i->rs1] + (int64_t)i->imm, c->f[i->rs2])) NEXT();
}

/* ---- sign injection (imm: 0 sgnj, 1 sgnjn, 2 sgnjx) ---- */
SLOW_OP(fsgnj_d) {
  if (!fs_on(c, i)) return;
  uint64_t a = c->f[i->rs1], b = c->f[i->rs2], s = b & (1ULL << 63);
  if (i->imm == 1) s ^= 1ULL << 63;
  if (i->imm == 2) s = (a ^ b) & (1ULL << 63);
  set_f(c, i->rd, (a & ~(1ULL << 63)) | s);
  NEXT();
}
SLOW_OP(fsgnj_s) {
  if (!fs_on(c, i)) return;
  uint32_t a = unbox(c->f[i->rs1]), b = unbox(c->f[i->rs2]), s = b & 0x80000000u;
  if (i->imm == 1) s ^= 0x80000000u;
  if (i->imm == 2) s = (a ^ b) & 0x80000000u;
  set_f(c, i->rd, box((a & 0x7fffffffu) | s));
  NEXT();
}

/* ---- min / max (imm: 0 min, 1 max) ---- */
SLOW_OP(fminmax_d) {
  if (!fs_on(c, i)) return;
  uint64_t ua = c->f[i->rs1], ub = c->f[i->rs2];
  double a = u2d(ua), b = u2d(ub), r;
  if (is_snan_d(ua) || is_snan_d(ub)) raise_flags(c, FL_NV);
  if (a != a && b != b) r = u2d(CANON_NAN_D);
  else if (a != a) r = b;
  else if (b != b) r = a;
  else if (a == b) r = (signbit(a) != 0) == (i->imm == 0) ? a : b; /* -0 < +0 */
  else r = (a < b) == (i->imm == 0) ? a : b;
  set_f(c, i->rd, d2u(r));
  NEXT();
}
SLOW_OP(fminmax_s) {
  if (!fs_on(c, i)) return;
  uint32_t ua = unbox(c->f[i->rs1]), ub = unbox(c->f[i->rs2]);
  float a = u2f(ua), b = u2f(ub), r;
  if (is_snan_f(ua) || is_snan_f(ub)) raise_flags(c, FL_NV);
  if (a != a && b != b) r = u2f(CANON_NAN_F);
  else if (a != a) r = b;
  else if (b != b) r = a;
  else if (a == b) r = (signbit(a) != 0) == (i->imm == 0) ? a : b;
  else r = (a < b) == (i->imm == 0) ? a : b;
  set_f(c, i->rd, box(f2u(r)));
  NEXT();
}

/* ---- compares (imm: 0 fle, 1 flt, 2 feq) ---- */
static uint64_t compare(Cpu *c, double a, double b, int snan, int kind) {
  if (a != a || b != b) {
    if (kind != 2 || snan) raise_flags(c, FL_NV);
    return 0;
  }
  return kind == 0 ? a <= b : kind == 1 ? a < b : a == b;
}
SLOW_OP(fcmp_d) {
  if (!fs_on(c, i)) return;
  int snan = is_snan_d(c->f[i->rs1]) || is_snan_d(c->f[i->rs2]);
  c->x[i->rd] = compare(c, rs_d(c, i->rs1), rs_d(c, i->rs2), snan, i->imm);
  NEXT();
}
SLOW_OP(fcmp_s) {
  if (!fs_on(c, i)) return;
  int snan = is_snan_f(unbox(c->f[i->rs1])) || is_snan_f(unbox(c->f[i->rs2]));
  c->x[i->rd] = compare(c, rs_f(c, i->rs1), rs_f(c, i->rs2), snan, i->imm);
  NEXT();
}

/* ---- classify ---- */
static uint64_t classify(int neg, int inf, int nan, int snan, int zero, int sub) {
  if (nan) return snan ? 1 << 8 : 1 << 9;
  if (inf) return neg ? 1 << 0 : 1 << 7;
  if (zero) return neg ? 1 << 3 : 1 << 4;
  if (sub) return neg ? 1 << 2 : 1 << 5;
  return neg ? 1 << 1 : 1 << 6;
}
SLOW_OP(fclass_d) {
  if (!fs_on(c, i)) return;
  uint64_t u = c->f[i->rs1];
  double d = u2d(u);
  c->x[i->rd] = classify(signbit(d) != 0, isinf(d), d != d, is_snan_d(u), d == 0,
                         d != 0 && fabs(d) < 2.2250738585072014e-308);
  NEXT();
}
SLOW_OP(fclass_s) {
  if (!fs_on(c, i)) return;
  uint32_t u = unbox(c->f[i->rs1]);
  float f = u2f(u);
  c->x[i->rd] = classify(signbit(f) != 0, isinf(f), f != f, is_snan_f(u), f == 0,
                         f != 0 && fabsf(f) < 1.17549435e-38f);
  NEXT();
}

/* ---- moves ---- */
SLOW_OP(fmv_x_w) {
  if (fs_on(c, i)) { c->x[i->rd] = (uint64_t)(int64_t)(int32_t)(uint32_t)c->f[i->rs1]; NEXT(); }
}
SLOW_OP(fmv_x_d) {
  if (fs_on(c, i)) { c->x[i->rd] = c->f[i->rs1]; NEXT(); }
}
SLOW_OP(fmv_w_x) {
  if (fs_on(c, i)) { set_f(c, i->rd, box((uint32_t)c->x[i->rs1])); NEXT(); }
}
SLOW_OP(fmv_d_x) {
  if (fs_on(c, i)) { set_f(c, i->rd, c->x[i->rs1]); NEXT(); }
}

/* ---- float <-> float ---- */
SLOW_OP(fcvt_s_d) {
  int rm = fp_enter(c, i), tie = 0;
  if (rm < 0) return;
  double d = rs_d(c, i->rs1);
  float f = (float)d;
  if (d != d) {
    if (is_snan_d(c->f[i->rs1])) raise_flags(c, FL_NV);
    f = u2f(CANON_NAN_F);
  } else if (!isinf(d)) {
    int err = isinf(f) ? -sgn(f) : f_err(d, f, 0, &tie);
    f = round_f(c, f, err, tie, rm);
  }
  set_f(c, i->rd, box(f2u(f)));
  NEXT();
}
SLOW_OP(fcvt_d_s) {
  if (fp_enter(c, i) < 0) return;
  uint32_t u = unbox(c->f[i->rs1]);
  double d = u2f(u);
  if (d != d) {
    if (is_snan_f(u)) raise_flags(c, FL_NV);
    d = u2d(CANON_NAN_D);
  }
  set_f(c, i->rd, d2u(d));
  NEXT();
}

/* ---- float -> integer (imm low bits: rm; rs2 field: 0 w, 1 wu, 2 l, 3 lu) ---- */
static double round_int(double x, int rm) {
  switch (rm) {
  case RM_RTZ: return trunc(x);
  case RM_RDN: return floor(x);
  case RM_RUP: return ceil(x);
  case RM_RMM: return round(x);
  default: return nearbyint(x);
  }
}

static uint64_t to_int(Cpu *c, double x, int rm, int kind) {
  static const double lo[4] = {-2147483648.0, 0.0, -9223372036854775808.0, 0.0};
  static const double hi[4] = {2147483648.0, 4294967296.0, 9223372036854775808.0, 18446744073709551616.0};
  static const uint64_t min_v[4] = {0xffffffff80000000ULL, 0, 0x8000000000000000ULL, 0};
  static const uint64_t max_v[4] = {0x7fffffffULL, 0xffffffffffffffffULL, 0x7fffffffffffffffULL, 0xffffffffffffffffULL};
  if (x != x) { raise_flags(c, FL_NV); return max_v[kind]; }
  double r = round_int(x, rm);
  if (r < lo[kind]) { raise_flags(c, FL_NV); return min_v[kind]; }
  if (r >= hi[kind]) { raise_flags(c, FL_NV); return max_v[kind]; }
  if (r != x) raise_flags(c, FL_NX);
  switch (kind) {
  case 0: return (uint64_t)(int64_t)(int32_t)r;
  case 1: return (uint64_t)(int64_t)(int32_t)(uint32_t)r;
  case 2: return (uint64_t)(int64_t)r;
  default: return (uint64_t)r;
  }
}
SLOW_OP(fcvt_int_d) {
  int rm = fp_enter(c, i);
  if (rm < 0) return;
  c->x[i->rd] = to_int(c, rs_d(c, i->rs1), rm, i->rs2 & 3);
  NEXT();
}
SLOW_OP(fcvt_int_s) {
  int rm = fp_enter(c, i);
  if (rm < 0) return;
  c->x[i->rd] = to_int(c, rs_f(c, i->rs1), rm, i->rs2 & 3);
  NEXT();
}

/* ---- integer -> float ---- */
static int64_t int_src(Cpu *c, const Insn *i, uint64_t *u, int *is_unsigned) {
  uint64_t v = c->x[i->rs1];
  int kind = i->rs2 & 3;
  *is_unsigned = kind & 1;
  if (kind == 0) v = (uint64_t)(int64_t)(int32_t)v;
  if (kind == 1) v = (uint32_t)v;
  *u = v;
  return (int64_t)v;
}
/* sign of (exact integer - r) for an integral double r */
static int int_err(double r, uint64_t u, int is_unsigned) {
  if (is_unsigned) {
    if (r >= 18446744073709551616.0) return -1;
    uint64_t back = (uint64_t)r;
    return u > back ? 1 : u < back ? -1 : 0;
  }
  if (r >= 9223372036854775808.0) return -1;
  int64_t back = (int64_t)r, s = (int64_t)u;
  return s > back ? 1 : s < back ? -1 : 0;
}
SLOW_OP(fcvt_d_int) {
  int rm = fp_enter(c, i), uns;
  if (rm < 0) return;
  uint64_t u;
  int64_t s = int_src(c, i, &u, &uns);
  double r = uns ? (double)u : (double)s;
  int err = int_err(r, u, uns);
  set_f(c, i->rd, d2u(round_d(c, r, err, 0, rm)));
  NEXT();
}
SLOW_OP(fcvt_s_int) {
  int rm = fp_enter(c, i), uns;
  if (rm < 0) return;
  uint64_t u;
  int64_t s = int_src(c, i, &u, &uns);
  float f = uns ? (float)u : (float)s;
  int err = int_err((double)f, u, uns);
  set_f(c, i->rd, box(f2u(round_f(c, f, err, 0, rm))));
  NEXT();
}
