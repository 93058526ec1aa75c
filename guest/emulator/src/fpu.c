/* F and D extensions. The host does IEEE round-to-nearest-even arithmetic
 * (SSE2 natively, Wasm f32/f64); rounding modes and exception flags are done
 * here in software, because wasi-libc has no fenv control:
 *  - each operation computes its nearest-even result r and the sign of the
 *    exact error (exact - r) with error-free transformations (TwoSum, fma
 *    residuals); directed modes then step r by one ulp where needed;
 *  - single precision is computed in double and rounded once more (innocuous
 *    for + - * / sqrt); the sign of the error is then (d - f) or, if d == f,
 *    the double error.
 * Fast path: with round-to-nearest and the inexact flag already set (the
 * usual state of any program that has done floating point), no error terms
 * are computed. Known gaps: the error sign of fmadd and of results in the
 * subnormal range can be wrong in rare cases (affects NX/UF and directed
 * rounding there only). */
#include "fpu.h"
#include <math.h>

/* ---- bit helpers ---- */
uint64_t d2u(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
double u2d(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

int is_snan_d(uint64_t u) { return (u & 0x7ff0000000000000ULL) == 0x7ff0000000000000ULL && (u & 0x000fffffffffffffULL) && !(u & 0x0008000000000000ULL); }
int is_snan_f(uint32_t u) { return (u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) && !(u & 0x00400000u); }

/* single values live NaN-boxed in the 64-bit registers */
uint32_t unbox(uint64_t v) { return (v >> 32) == 0xffffffffu ? (uint32_t)v : CANON_NAN_F; }
uint64_t box(uint32_t v) { return 0xffffffff00000000ULL | v; }

float rs_f(Cpu *c, int r) { return u2f(unbox(c->f[r])); }
double rs_d(Cpu *c, int r) { return u2d(c->f[r]); }

void set_f(Cpu *c, int rd, uint64_t v) {
  c->f[rd] = v;
  c->sstatus |= SST_FS;
}
void raise_flags(Cpu *c, uint32_t fl) {
  if (fl) {
    c->fflags |= fl;
    c->sstatus |= SST_FS;
  }
}

/* one ulp toward +inf (up=1) or -inf (up=0) */
double step_d(double r, int up) {
  uint64_t u = d2u(r);
  if (r != r) return r;
  if (r == 0) return up ? u2d(1) : -u2d(1);
  if ((r > 0) == (up != 0)) u++; else u--;
  return u2d(u);
}
float step_f(float r, int up) {
  uint32_t u = f2u(r);
  if (r != r) return r;
  if (r == 0) return up ? u2f(1) : -u2f(1);
  if ((r > 0) == (up != 0)) u++; else u--;
  return u2f(u);
}

/* Applies rounding mode rm to a nearest-even result r whose exact value is
 * r + e with sign(e) = err; tie says the exact value was halfway. */
static int adjust_dir(int rm, int r_neg, int err, int tie) {
  switch (rm) {
  case RM_RTZ: return err && ((err > 0) == r_neg) ? (r_neg ? 1 : -1) : 0;
  case RM_RDN: return err < 0 ? -1 : 0;
  case RM_RUP: return err > 0 ? 1 : 0;
  case RM_RMM: return tie && ((err > 0) != r_neg) ? (r_neg ? -1 : 1) : 0;
  default: return 0;
  }
}

double round_d(Cpu *c, double r, int err, int tie, int rm) {
  int dir = adjust_dir(rm, signbit(r) != 0, err, tie);
  int was_inf = isinf(r);
  if (dir) r = step_d(r, dir > 0);
  uint32_t fl = err ? FL_NX : 0;
  if (err && (isinf(r) || was_inf)) fl |= FL_OF;
  if (err && fabs(r) < 2.2250738585072014e-308) fl |= FL_UF;
  raise_flags(c, fl);
  return r;
}

float round_f(Cpu *c, float r, int err, int tie, int rm) {
  int dir = adjust_dir(rm, signbit(r) != 0, err, tie);
  int was_inf = isinf(r);
  if (dir) r = step_f(r, dir > 0);
  uint32_t fl = err ? FL_NX : 0;
  if (err && (isinf(r) || was_inf)) fl |= FL_OF;
  if (err && fabsf(r) < 1.17549435e-38f) fl |= FL_UF;
  raise_flags(c, fl);
  return r;
}

/* sign of x as -1/0/1 */
int sgn(double x) { return (x > 0) - (x < 0); }

/* Error sign of rounding the double d (which is exact + e_d) to float f. */
int f_err(double d, float f, int err_d, int *tie) {
  double diff = d - (double)f; /* exact (Sterbenz) */
  *tie = 0;
  if (diff != 0) {
    if (err_d == 0) {
      double half = fabs((double)step_f(f, diff > 0) - (double)f) / 2;
      *tie = fabs(diff) == half;
    }
    return sgn(diff);
  }
  return err_d;
}

/* Overflow of a finite exact result: nearest-even gives inf with error of
 * the opposite sign. */
int overflow_err(double r) { return isinf(r) ? -sgn(r) : 0; }
