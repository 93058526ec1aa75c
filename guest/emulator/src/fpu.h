/* Shared helpers of the F/D implementation. */
#ifndef C2W_FPU_H
#define C2W_FPU_H
#include "ops.h"

#define FL_NX 1
#define FL_UF 2
#define FL_OF 4
#define FL_DZ 8
#define FL_NV 16
#define RM_RNE 0
#define RM_RTZ 1
#define RM_RDN 2
#define RM_RUP 3
#define RM_RMM 4
#define CANON_NAN_F 0x7fc00000u
#define CANON_NAN_D 0x7ff8000000000000ULL

uint64_t d2u(double d);
double u2d(uint64_t u);
uint32_t f2u(float f);
float u2f(uint32_t u);
int is_snan_d(uint64_t u);
int is_snan_f(uint32_t u);
uint32_t unbox(uint64_t v);
uint64_t box(uint32_t v);
float rs_f(Cpu *c, int r);
double rs_d(Cpu *c, int r);
void set_f(Cpu *c, int rd, uint64_t v);
void raise_flags(Cpu *c, uint32_t fl);
double step_d(double r, int up);
float step_f(float r, int up);
double round_d(Cpu *c, double r, int err, int tie, int rm);
float round_f(Cpu *c, float r, int err, int tie, int rm);
int sgn(double x);
int f_err(double d, float f, int err_d, int *tie);
int overflow_err(double r);
#endif
