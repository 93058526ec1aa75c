/* F/D arithmetic: add, sub, mul, div, sqrt, fused multiply-add. */
#include "fpu.h"
#include <math.h>

#define DBL_MIN_ 2.2250738585072014e-308
#define FLT_MIN_ 1.17549435e-38f

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_SQRT };

/* Returns the resolved rounding mode, or -1 (illegal) */
static int fp_rm(Cpu *c, const Insn *i) {
  int rm = i->imm & 7;
  if (rm == 7) rm = (int)c->frm;
  return rm > 4 ? -1 : rm;
}

/* FP instructions are illegal while sstatus.FS is Off. Returns rm or -1. */
int fp_enter(Cpu *c, const Insn *i) {
  int rm = fp_rm(c, i);
  if (!(c->sstatus & SST_FS) || rm < 0) {
    raise_exception(c, EXC_ILLEGAL, INSN_BITS(i));
    return -1;
  }
  return rm;
}

static double calc(int op, double a, double b) {
  switch (op) {
  case OP_ADD: return a + b;
  case OP_SUB: return a - b;
  case OP_MUL: return a * b;
  case OP_DIV: return a / b;
  default: return sqrt(a);
  }
}

static int tie_of(double r, double e) {
  if (e == 0) return 0;
  double ulp = fabs(step_d(r, e > 0) - r);
  return fabs(e) * 2 == ulp;
}

/* Results below 2^-960 have error terms that underflow: redo the operation
 * with operands scaled by powers of two (exact) so that it stays normal, and
 * compare with the scaled result. */
#define TINY 1.0261342003245941e-289 /* 2^-960 */
#define SMALL 4.9090934652977266e-91 /* 2^-300 */
#define BIG 2.037035976334486e+90    /* 2^300 */
#define UP 4.149515568880993e+180    /* 2^600 */
#define OPND_TINY 1.1830521861667747e-271 /* 2^-900 */
#define DOWN 2.409919865102884e-181  /* 2^-600 */

static double up(double x, int k) {
  while (k-- > 0) x *= UP;
  return x;
}

static int tiny_mul_err(double a, double b, double r, int *tie) {
  int k = 0;
  if (a == 0 || b == 0) return 0;
  if (fabs(a) < SMALL) { a *= UP; k++; }
  if (fabs(b) < SMALL) { b *= UP; k++; }
  double r2 = a * b, rs = up(r, k);
  double diff = (r2 - rs) + fma(a, b, -r2);
  *tie = fabs(diff) * 2 == up(fabs(step_d(r, diff > 0) - r), k);
  return sgn(diff);
}

static int tiny_div_err(double a, double b, double r, int *tie) {
  int k = 0;
  if (a == 0 || isinf(b)) return 0;
  if (fabs(a) < SMALL) { a *= UP; k++; }
  if (fabs(b) > BIG) { b *= DOWN; k++; }
  double q2 = a / b, rs = up(r, k), rem = fma(-q2, b, a);
  *tie = rem == 0 && fabs(q2 - rs) * 2 == up(fabs(step_d(r, q2 > rs) - r), k);
  return q2 != rs ? sgn(q2 - rs) : sgn(rem) * sgn(b);
}

/* Sign of (exact - r) for a finite nearest-even result r; *tie when halfway. */
static int calc_err(int op, double a, double b, double r, int *tie) {
  double e;
  *tie = 0;
  switch (op) {
  case OP_ADD: case OP_SUB: {
    if (op == OP_SUB) b = -b;
    double bp = r - a;
    e = (a - (r - bp)) + (b - bp);
    *tie = tie_of(r, e);
    return sgn(e);
  }
  case OP_MUL:
    if (fabs(r) < TINY) return tiny_mul_err(a, b, r, tie);
    e = fma(a, b, -r);
    *tie = tie_of(r, e);
    return sgn(e);
  case OP_DIV:
    if (fabs(r) < TINY || (fabs(a) < OPND_TINY && fabs(r) < BIG)) return tiny_div_err(a, b, r, tie);
    return sgn(fma(-r, b, a)) * sgn(b);
  default:
    if (a < OPND_TINY) { /* sqrt(a * 2^600) = sqrt(a) * 2^300: exact scaling */
      double a2 = a * UP, r2 = sqrt(a2);
      return sgn(fma(-r2, r2, a2));
    }
    return sgn(fma(-r, r, a));
  }
}

static int invalid_inputs(int op, double a, double b) {
  switch (op) {
  case OP_ADD: return isinf(a) && isinf(b) && signbit(a) != signbit(b);
  case OP_SUB: return isinf(a) && isinf(b) && signbit(a) == signbit(b);
  case OP_MUL: return (isinf(a) && b == 0) || (isinf(b) && a == 0);
  case OP_DIV: return (a == 0 && b == 0) || (isinf(a) && isinf(b));
  default: return a < 0;
  }
}

/* NaN results and the flags of special operands. Returns 1 if r is final. */
static int special(Cpu *c, int op, double a, double b, int snan, double r) {
  if (r == r) {
    if (op == OP_DIV && b == 0 && isfinite(a) && a != 0) { raise_flags(c, FL_DZ); return 1; }
    return isinf(r) && (isinf(a) || (op != OP_SQRT && isinf(b)));
  }
  if (snan || invalid_inputs(op, a, b)) raise_flags(c, FL_NV);
  return 1;
}

/* x + (-x) is -0 when rounding down */
static double zero_sign(int op, double a, double b, double r, int rm) {
  if (r != 0 || rm != RM_RDN || (op != OP_ADD && op != OP_SUB)) return r;
  if (op == OP_SUB) b = -b;
  return (a == 0 && b == 0 && !signbit(a) && !signbit(b)) ? r : -0.0;
}

/* The rounding of arith_d when the exact error is needed, out of line: &tie
 * puts tie on the Wasm shadow stack, which the fast path then avoids. */
static NOINLINE double arith_d_exact(Cpu *c, int op, double a, double b, double r, int rm) {
  int tie = 0;
  int err = isinf(r) ? overflow_err(r) : calc_err(op, a, b, r, &tie);
  return round_d(c, zero_sign(op, a, b, r, rm), err, tie, rm);
}

static void arith_d(Cpu *c, const Insn *i, int op) {
  int rm = fp_enter(c, i);
  if (rm < 0) return;
  double a = rs_d(c, i->rs1), b = op == OP_SQRT ? 0 : rs_d(c, i->rs2);
  double r = calc(op, a, b);
  int snan = is_snan_d(c->f[i->rs1]) || (op != OP_SQRT && is_snan_d(c->f[i->rs2]));
  if (special(c, op, a, b, snan, r)) {
    if (r != r) r = u2d(CANON_NAN_D);
  } else {
    int need = !(rm == RM_RNE && (c->fflags & FL_NX)) || isinf(r) || fabs(r) < DBL_MIN_;
    r = need ? arith_d_exact(c, op, a, b, r, rm) : round_d(c, zero_sign(op, a, b, r, rm), 0, 0, rm);
  }
  set_f(c, i->rd, d2u(r));
  c->pc += i->len;
}

static void arith_s(Cpu *c, const Insn *i, int op) {
  int rm = fp_enter(c, i), err = 0, tie = 0;
  if (rm < 0) return;
  double a = rs_f(c, i->rs1), b = op == OP_SQRT ? 0 : rs_f(c, i->rs2);
  double d = calc(op, a, b);
  float f = (float)d;
  int snan = is_snan_f(unbox(c->f[i->rs1])) || (op != OP_SQRT && is_snan_f(unbox(c->f[i->rs2])));
  if (special(c, op, a, b, snan, d)) {
    if (d != d) f = u2f(CANON_NAN_F);
  } else {
    int need = !(rm == RM_RNE && (c->fflags & FL_NX)) || isinf(f) || fabsf(f) < FLT_MIN_;
    if (need) {
      int derr = d != 0 || op == OP_MUL || op == OP_DIV ? calc_err(op, a, b, d, &tie) : 0;
      err = isinf(f) ? -sgn(f) : f_err(d, f, derr, &tie);
    }
    f = (float)zero_sign(op, a, b, f, rm);
    f = round_f(c, f, err, tie, rm);
  }
  set_f(c, i->rd, box(f2u(f)));
  c->pc += i->len;
}

#define ARITH(name, fn, op) SLOW_OP(name) { fn(c, i, op); }
ARITH(fadd_d, arith_d, OP_ADD)
ARITH(fsub_d, arith_d, OP_SUB)
ARITH(fmul_d, arith_d, OP_MUL)
ARITH(fdiv_d, arith_d, OP_DIV)
ARITH(fsqrt_d, arith_d, OP_SQRT)
ARITH(fadd_s, arith_s, OP_ADD)
ARITH(fsub_s, arith_s, OP_SUB)
ARITH(fmul_s, arith_s, OP_MUL)
ARITH(fdiv_s, arith_s, OP_DIV)
ARITH(fsqrt_s, arith_s, OP_SQRT)

/* ---- fused multiply-add: the third source register is imm >> 3 ---- */
static int fma_tie;
static int fma_err_basic(double a, double b, double c3, double r) {
  double p = a * b, e1 = fma(a, b, -p);
  double s = p + c3, bp = s - p, e2 = (p - (s - bp)) + (c3 - bp);
  double d = (s - r) + (e2 + e1);
  fma_tie = tie_of(r, d);
  return sgn(d);
}

/* With a tiny product or result the error terms underflow: scale the
 * product and the addend by 2^600 (up to twice) and compare. */
static int fma_err(double a, double b, double c3, double r) {
  int k = 0;
  while (k < 2 && (fabs(a * b) < TINY || fabs(up(r, k)) < TINY) && a != 0 && b != 0) {
    if (fabs(c3) > BIG) return up(r, k) == c3 ? sgn(a) * sgn(b) : fma_err_basic(a, b, c3, up(r, k));
    if (fabs(a) < fabs(b)) a *= UP; else b *= UP;
    c3 *= UP;
    k++;
  }
  if (!k) return fma_err_basic(a, b, c3, r);
  double r2 = fma(a, b, c3), rs = up(r, k);
  return r2 != rs ? sgn(r2 - rs) : fma_err_basic(a, b, c3, r2);
}

static void fused_d(Cpu *c, const Insn *i, int negp, int negc) {
  int rm = fp_enter(c, i), err = 0;
  if (rm < 0) return;
  double a = rs_d(c, i->rs1), b = rs_d(c, i->rs2), c3 = rs_d(c, i->imm >> 3);
  if (negp) a = -a;
  if (negc) c3 = -c3;
  double r = fma(a, b, c3);
  int snan = is_snan_d(c->f[i->rs1]) || is_snan_d(c->f[i->rs2]) || is_snan_d(c->f[i->imm >> 3]);
  int inv = ((isinf(a) && b == 0) || (isinf(b) && a == 0)) ||
            ((isinf(a) || isinf(b)) && isinf(c3) && signbit(a * b) != signbit(c3) && a == a && b == b);
  if (r != r || inv) {
    if (snan || inv) raise_flags(c, FL_NV);
    r = u2d(CANON_NAN_D);
  } else if (isfinite(a) && isfinite(b) && isfinite(c3)) {
    fma_tie = 0;
    err = isinf(r) ? overflow_err(r) : fma_err(a, b, c3, r);
    r = round_d(c, r, err, fma_tie, rm);
  }
  set_f(c, i->rd, d2u(r));
  c->pc += i->len;
}

static void fused_s(Cpu *c, const Insn *i, int negp, int negc) {
  int rm = fp_enter(c, i), tie = 0;
  if (rm < 0) return;
  double a = rs_f(c, i->rs1), b = rs_f(c, i->rs2), c3 = rs_f(c, i->imm >> 3);
  if (negp) a = -a;
  if (negc) c3 = -c3;
  double d = a * b + c3; /* product exact in double; one rounding here */
  float f = (float)d;
  int snan = is_snan_f(unbox(c->f[i->rs1])) || is_snan_f(unbox(c->f[i->rs2])) || is_snan_f(unbox(c->f[i->imm >> 3]));
  int inv = ((isinf(a) && b == 0) || (isinf(b) && a == 0)) ||
            ((isinf(a) || isinf(b)) && isinf(c3) && signbit(a * b) != signbit(c3) && a == a && b == b);
  if (d != d || inv) {
    if (snan || inv) raise_flags(c, FL_NV);
    f = u2f(CANON_NAN_F);
  } else if (isfinite(a) && isfinite(b) && isfinite(c3)) {
    double p = a * b, bp = d - p;
    int derr = sgn((p - (d - bp)) + (c3 - bp));
    int err = isinf(f) ? -sgn(f) : f_err(d, f, derr, &tie);
    f = round_f(c, f, err, tie, rm);
  }
  set_f(c, i->rd, box(f2u(f)));
  c->pc += i->len;
}

SLOW_OP(fmadd_d) { fused_d(c, i, 0, 0); }
SLOW_OP(fmsub_d) { fused_d(c, i, 0, 1); }
SLOW_OP(fnmsub_d) { fused_d(c, i, 1, 0); }
SLOW_OP(fnmadd_d) { fused_d(c, i, 1, 1); }
SLOW_OP(fmadd_s) { fused_s(c, i, 0, 0); }
SLOW_OP(fmsub_s) { fused_s(c, i, 0, 1); }
SLOW_OP(fnmsub_s) { fused_s(c, i, 1, 0); }
SLOW_OP(fnmadd_s) { fused_s(c, i, 1, 1); }
