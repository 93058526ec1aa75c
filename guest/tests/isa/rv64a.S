#include "test.h"
TEST_BEGIN
  la s0, data
  li t0, 10; sd t0, 0(s0)
  li gp, 1; li t1, 5; amoadd.d t2, t1, (s0); li t3, 10; bne t2, t3, fail
  ld t2, 0(s0); li t3, 15; bne t2, t3, fail
  li gp, 2; li t1, 0xff; amoswap.d t2, t1, (s0); li t3, 15; bne t2, t3, fail
  li gp, 3; li t1, 0x0f; amoand.d t2, t1, (s0); ld t2, 0(s0); li t3, 0x0f; bne t2, t3, fail
  li gp, 4; li t1, 0xf0; amoor.d t2, t1, (s0); ld t2, 0(s0); li t3, 0xff; bne t2, t3, fail
  li gp, 5; li t1, 0xf; amoxor.d t2, t1, (s0); ld t2, 0(s0); li t3, 0xf0; bne t2, t3, fail
  li gp, 6; li t1, -1; amomin.d t2, t1, (s0); ld t2, 0(s0); li t3, -1; bne t2, t3, fail
  li gp, 7; li t1, 1; amomax.d t2, t1, (s0); ld t2, 0(s0); li t3, 1; bne t2, t3, fail
  li gp, 8; li t1, -1; amominu.d t2, t1, (s0); ld t2, 0(s0); li t3, 1; bne t2, t3, fail
  li gp, 9; li t1, -1; amomaxu.d t2, t1, (s0); ld t2, 0(s0); li t3, -1; bne t2, t3, fail
  /* word forms sign-extend the old value and leave the upper word alone */
  li gp, 10; li t0, 0x7fffffff; sw t0, 8(s0); li t1, 1; addi a0, s0, 8
  amoadd.w t2, t1, (a0); li t3, 0x7fffffff; bne t2, t3, fail
  lw t2, 8(s0); li t3, -2147483648; bne t2, t3, fail
  li gp, 11; li t1, 5; amomin.w t2, t1, (a0); lw t2, 8(s0); li t3, -2147483648; bne t2, t3, fail
  li gp, 12; li t1, 5; amominu.w t2, t1, (a0); lw t2, 8(s0); li t3, 5; bne t2, t3, fail
  li gp, 13; li t1, -7; amoswap.w t2, t1, (a0); li t3, 5; bne t2, t3, fail
  ld t2, 8(s0); li t3, 0x00000000fffffff9; bne t2, t3, fail
  /* lr/sc */
  li gp, 20; lr.d t0, (s0); addi t0, t0, 1; sc.d t1, t0, (s0); bnez t1, fail
  li gp, 21; sc.d t1, t0, (s0); beqz t1, fail     /* no reservation: fails */
  li gp, 22; lr.w t0, (a0); sc.w t1, zero, (a0); bnez t1, fail; lw t2, 8(s0); bnez t2, fail
  li gp, 23; lr.d t0, (s0); addi a1, s0, 16; sc.d t1, t0, (a1); beqz t1, fail /* other address */
  /* misaligned AMO raises a misaligned/access exception (cause 6 or 7) */
  SKIP_UNLESS_C2W(pass)
  li gp, 30; la t0, amo_trap; csrw stvec, t0
  addi a1, s0, 1; amoadd.w t2, t1, (a1)
  j fail
  .align 2
amo_trap:
  csrr t0, scause; li t1, 6; beq t0, t1, 1f; li t1, 7; bne t0, t1, fail
1: j pass
TEST_END
  .section .data
  .align 4
data: .space 64
