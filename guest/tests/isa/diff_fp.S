#include "test.h"
/* Differential F/D test: for each operation and each rounding mode (set in
 * frm, instructions use the dynamic mode), 300 operand triples (special
 * values, values of moderate exponent, random bit patterns) are run; the
 * result bits and fflags are folded into a checksum that is printed.
 * test.sh compares the output with qemu-system-riscv64. */
#define N 300
/* r = result of "insn" with operands in fa0/fa1/fa2 (or a0 for int->fp) */
#define RUN(gen, insn, getres) \
  li s7, 0; \
  7: csrw frm, s7; li s5, 0x9e3779b97f4a7c15; li s4, 0; li s6, N; \
  1: call gen; csrw fflags, zero; insn; getres; csrr t0, fflags; \
  xor s4, s4, a3; slli t1, s4, 5; srli t2, s4, 59; or s4, t1, t2; add s4, s4, t0; add s4, s4, a3; \
  addi s6, s6, -1; bnez s6, 1b; \
  mv a0, s4; call puthex; li a0, ' '; li a7, 1; ecall; \
  addi s7, s7, 1; li t0, 5; blt s7, t0, 7b; \
  li a0, '\n'; li a7, 1; ecall;
#define RD fmv.x.d a3, fa3
#define RS fmv.x.w a3, fa3
#define RI mv a3, a4
#define D3(op) RUN(gen_d, op fa3 COMMA fa0 COMMA fa1, RD)
#define COMMA ,
TEST_BEGIN
  li t0, 0x2000; csrs sstatus, t0   /* FS = Initial */
  PUTS(msg_begin)
  RUN(gen_d, fadd.d fa3 COMMA fa0 COMMA fa1, RD)
  RUN(gen_d, fsub.d fa3 COMMA fa0 COMMA fa1, RD)
  RUN(gen_d, fmul.d fa3 COMMA fa0 COMMA fa1, RD)
  RUN(gen_d, fdiv.d fa3 COMMA fa0 COMMA fa1, RD)
  RUN(gen_d, fsqrt.d fa3 COMMA fa0, RD)
  RUN(gen_d, fmadd.d fa3 COMMA fa0 COMMA fa1 COMMA fa2, RD)
  RUN(gen_d, fnmsub.d fa3 COMMA fa0 COMMA fa1 COMMA fa2, RD)
  RUN(gen_d, fmin.d fa3 COMMA fa0 COMMA fa1, RD)
  RUN(gen_d, fmax.d fa3 COMMA fa0 COMMA fa1, RD)
  RUN(gen_d, fsgnjn.d fa3 COMMA fa0 COMMA fa1, RD)
  RUN(gen_d, fsgnjx.d fa3 COMMA fa0 COMMA fa1, RD)
  RUN(gen_d, feq.d a4 COMMA fa0 COMMA fa1, RI)
  RUN(gen_d, flt.d a4 COMMA fa0 COMMA fa1, RI)
  RUN(gen_d, fle.d a4 COMMA fa0 COMMA fa1, RI)
  RUN(gen_d, fclass.d a4 COMMA fa0, RI)
  RUN(gen_d, fcvt.w.d a4 COMMA fa0, RI)
  RUN(gen_d, fcvt.wu.d a4 COMMA fa0, RI)
  RUN(gen_d, fcvt.l.d a4 COMMA fa0, RI)
  RUN(gen_d, fcvt.lu.d a4 COMMA fa0, RI)
  RUN(gen_d, fcvt.s.d fa3 COMMA fa0, RD)
  RUN(gen_d, fcvt.d.l fa3 COMMA a0, RD)
  RUN(gen_d, fcvt.d.lu fa3 COMMA a0, RD)
  RUN(gen_d, fcvt.d.w fa3 COMMA a0, RD)
  RUN(gen_s, fadd.s fa3 COMMA fa0 COMMA fa1, RD)
  RUN(gen_s, fsub.s fa3 COMMA fa0 COMMA fa1, RD)
  RUN(gen_s, fmul.s fa3 COMMA fa0 COMMA fa1, RD)
  RUN(gen_s, fdiv.s fa3 COMMA fa0 COMMA fa1, RD)
  RUN(gen_s, fsqrt.s fa3 COMMA fa0, RD)
  RUN(gen_s, fmadd.s fa3 COMMA fa0 COMMA fa1 COMMA fa2, RD)
  RUN(gen_s, fmin.s fa3 COMMA fa0 COMMA fa1, RD)
  RUN(gen_s, fmax.s fa3 COMMA fa0 COMMA fa1, RD)
  RUN(gen_s, fsgnj.s fa3 COMMA fa0 COMMA fa1, RD)
  RUN(gen_s, feq.s a4 COMMA fa0 COMMA fa1, RI)
  RUN(gen_s, flt.s a4 COMMA fa0 COMMA fa1, RI)
  RUN(gen_s, fclass.s a4 COMMA fa0, RI)
  RUN(gen_s, fcvt.w.s a4 COMMA fa0, RI)
  RUN(gen_s, fcvt.lu.s a4 COMMA fa0, RI)
  RUN(gen_s, fcvt.d.s fa3 COMMA fa0, RD)
  RUN(gen_s, fcvt.s.l fa3 COMMA a0, RS)
  RUN(gen_s, fcvt.s.wu fa3 COMMA a0, RS)
  RUN(gen_s, fmv.x.w a4 COMMA fa0, RI)
  j pass

/* next random 64-bit value in a0 (state s5) */
rand64:
  li t0, 6364136223846793005; mul s5, s5, t0; li t0, 1442695040888963407; add s5, s5, t0
  srli t0, s5, 29; xor a0, s5, t0; ret

/* one double operand pattern in a0 */
pick_d:
  addi sp, sp, -16; sd ra, 0(sp)
  call rand64; andi t3, a0, 15; srli a0, a0, 4
  li t4, 6; bge t3, t4, 1f
  /* moderate: exponent 1023-32..1023+31, random mantissa and sign */
  li t4, 0x800fffffffffffff; and a0, a0, t4; srli t5, s5, 40; andi t5, t5, 63; addi t5, t5, 1023-32
  slli t5, t5, 52; or a0, a0, t5; j 3f
1: li t4, 8; bge t3, t4, 2f
  call rand64; j 3f
2: srli t5, s5, 33; andi t5, t5, 31; slli t5, t5, 3; la t4, special_d; add t4, t4, t5; ld a0, 0(t4)
3: ld ra, 0(sp); addi sp, sp, 16; ret

pick_s:
  addi sp, sp, -16; sd ra, 0(sp)
  call rand64; andi t3, a0, 15; srli a0, a0, 4
  li t4, 6; bge t3, t4, 1f
  li t4, 0x807fffff; and a0, a0, t4; srli t5, s5, 40; andi t5, t5, 31; addi t5, t5, 127-16
  slli t5, t5, 23; or a0, a0, t5; j 3f
1: li t4, 8; bge t3, t4, 2f
  call rand64; j 3f
2: srli t5, s5, 33; andi t5, t5, 31; slli t5, t5, 2; la t4, special_s; add t4, t4, t5; lwu a0, 0(t4)
3: li t4, 0xffffffff; and a0, a0, t4; ld ra, 0(sp); addi sp, sp, 16; ret

gen_d:
  addi sp, sp, -16; sd ra, 0(sp)
  call pick_d; fmv.d.x fa0, a0
  call pick_d; fmv.d.x fa1, a0
  call pick_d; fmv.d.x fa2, a0
  call rand64; andi t0, a0, 3; bnez t0, 1f; srai a0, a0, 20   /* a0 = integer source */
1: ld ra, 0(sp); addi sp, sp, 16; ret
gen_s:
  addi sp, sp, -16; sd ra, 0(sp)
  call pick_s; fmv.w.x fa0, a0
  call pick_s; fmv.w.x fa1, a0
  call pick_s; fmv.w.x fa2, a0
  call rand64; andi t0, a0, 3; bnez t0, 1f; srai a0, a0, 40
1: ld ra, 0(sp); addi sp, sp, 16; ret
TEST_END
  .section .rodata
msg_begin: .asciz "BEGIN\n"
  .align 3
special_d:
  .dword 0x0000000000000000, 0x8000000000000000, 0x3ff0000000000000, 0xbff0000000000000
  .dword 0x3fe0000000000000, 0x3ff8000000000000, 0x4004000000000000, 0x7fefffffffffffff
  .dword 0x0010000000000000, 0x000fffffffffffff, 0x0000000000000001, 0x7ff0000000000000
  .dword 0xfff0000000000000, 0x7ff8000000000000, 0x7ff0000000000001, 0x3fd5555555555555
  .dword 0x41dfffffffc00000, 0x41e0000000000000, 0xc1e0000000000000, 0x43e0000000000000
  .dword 0x43f0000000000000, 0xc3e0000000000000, 0x3fe0000000000001, 0x4330000000000001
  .dword 0x7fe0000000000000, 0x0020000000000000, 0x8010000000000000, 0x3ca0000000000000
  .dword 0xbfe0000000000000, 0x4002000000000000, 0x41f0000000000000, 0xfff8000000000001
special_s:
  .word 0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3f000000, 0x3fc00000, 0x40200000, 0x7f7fffff
  .word 0x00800000, 0x007fffff, 0x00000001, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0x3eaaaaab
  .word 0x4effffff, 0x4f000000, 0xcf000000, 0x5f000000, 0x5f800000, 0xdf000000, 0x3f000001, 0x4b000001
  .word 0x7f000000, 0x01000000, 0x80800000, 0x33800000, 0xbf000000, 0x40100000, 0x4f800000, 0xffc00001
